//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the handlers.

use service_kit::openapi::{BearerAuth, SharedAnswers};
use utoipa::OpenApi;

use crate::routes::{dms, files, members, mentions, messages, presence, rooms, tickets, uploads};

#[derive(OpenApi)]
#[openapi(
    info(title = "Cloud Chat chat-service", description = "Rooms, members and messages."),
    paths(
        rooms::list, rooms::create, rooms::get, rooms::delete, rooms::hide, dms::open,
        members::list, members::add, members::remove,
        messages::history, messages::changes, messages::post, messages::edit, messages::delete, messages::react, messages::unreact, messages::mark_read, messages::read_markers,
        mentions::list,
        tickets::create,
        presence::get,
        uploads::create, files::set_cookie, files::clear_cookie, files::download, files::download_thumbnail,
    ),
    modifiers(&BearerAuth, &FilesCookie, &SharedAnswers)
)]
struct ApiDoc;

/// Downloads also take the access token from the `cc_files` cookie (`POST /files/cookie`).
struct FilesCookie;

impl utoipa::Modify for FilesCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "filesCookie",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                    crate::routes::files::FILES_COOKIE,
                    "The access token, set by POST /files/cookie; only GET /files/* read it",
                ))),
            );
        }
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
        service_kit::openapi::assert_checked_in(&super::document(), dir, "chat-service");
    }
}
