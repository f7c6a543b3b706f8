//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the handlers.

use service_kit::openapi::{BearerAuth, SharedAnswers};
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
    modifiers(&BearerAuth, &SharedAnswers)
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[cfg(test)]
mod tests {
    #[test]
    fn openapi_document_is_checked_in() {
        let dir = env!("CARGO_MANIFEST_DIR");
        service_kit::openapi::assert_checked_in(&super::document(), dir, "auth-service");
    }

    /// Every `email` field with a pattern states the rule `Email::parse` applies (log-in takes
    /// any text: a wrong address is a wrong credential).
    #[test]
    fn email_fields_state_the_parsers_rule() {
        let doc = serde_json::to_value(super::document()).unwrap();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut seen = 0;
        for schema in schemas.values() {
            if let Some(email) = schema["properties"].get("email")
                && email.get("pattern").is_some()
            {
                assert_eq!(email["pattern"], crate::domain::EMAIL_PATTERN, "{schema}");
                seen += 1;
            }
        }
        assert!(seen >= 3, "register, forgot-password and PATCH /users/me");
    }
}
