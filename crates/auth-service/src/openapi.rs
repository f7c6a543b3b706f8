//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the handlers.

use service_kit::openapi::{BearerAuth, SharedAnswers};
use utoipa::{OpenApi, ToSchema};

use crate::routes::{admin, auth, email_verification, jwks, mfa, oidc, sessions, users};

/// A public profile.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PublicUserDoc {
    id: uuid::Uuid,
    username: String,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Cloud Chat auth-service", description = "Accounts, sessions, signing keys, and instance roles and suspensions."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout, auth::logout_all,
        auth::forgot_password, auth::reset_password, auth::login_mfa,
        email_verification::verify, email_verification::resend,
        mfa::enrol, mfa::confirm, mfa::disable, mfa::recovery_codes,
        oidc::status, oidc::start, oidc::callback, oidc::link,
        sessions::list, sessions::revoke,
        users::me, users::update_me, users::delete_me, users::change_password, users::export,
        users::search, users::by_id,
        admin::list, admin::by_id, admin::set_role, admin::suspend, admin::lift,
        jwks::jwks,
    ),
    modifiers(&BearerAuth, &SharedAnswers, &FieldRules)
)]
struct ApiDoc;

/// What the derives cannot state: patterns kept in constants the server applies, and rules
/// between fields.
struct FieldRules;

impl utoipa::Modify for FieldRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use service_kit::openapi::{add_rule, field_pattern, requires};
        // The rule `Email::parse` applies (log-in takes any text: a wrong address is a wrong
        // credential).
        for body in ["RegisterBody", "ForgotBody", "UpdateMeBody", "ResendBody"] {
            field_pattern(openapi, body, "email", crate::domain::EMAIL_PATTERN);
        }
        use utoipa::openapi::Type;
        use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder};
        // PATCH /users/me: something to change; a new e-mail address needs the password.
        add_rule(
            openapi,
            "UpdateMeBody",
            AnyOfBuilder::new()
                .item(
                    requires(&["username"], 3)
                        .property("email", ObjectBuilder::new().schema_type(Type::Null)),
                )
                .item(requires(&["email", "currentPassword"], 1)),
        );
    }
}

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
}
