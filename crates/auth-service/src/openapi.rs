//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the handlers.

use service_kit::openapi::BearerAuth;
use utoipa::{OpenApi, ToSchema};

use crate::routes::{auth, jwks, sessions, users};

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

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
