//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the handlers.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes::{auth, jwks, sessions, users};

/// RFC 9457 problem details, as every error is answered.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProblemDoc {
    /// Always `about:blank`.
    #[schema(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    /// Stable machine-readable snake_case code.
    code: String,
    detail: Option<String>,
    /// Offending fields, for validation errors.
    errors: Option<Vec<FieldErrorDoc>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FieldErrorDoc {
    field: String,
    message: String,
}

/// A public profile.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PublicUserDoc {
    id: uuid::Uuid,
    username: String,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Cloud Chat auth-service", description = "Accounts, sessions and signing keys."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout, auth::logout_all,
        auth::forgot_password, auth::reset_password,
        sessions::list, sessions::revoke,
        users::me, users::update_me, users::change_password, users::search, users::by_id,
        jwks::jwks,
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
