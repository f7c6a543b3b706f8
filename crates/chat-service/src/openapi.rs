//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the handlers.

use service_kit::openapi::{BearerAuth, SharedAnswers};
use utoipa::OpenApi;

use crate::routes::{dms, members, mentions, messages, presence, rooms, tickets};

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
        service_kit::openapi::assert_checked_in(&super::document(), dir, "chat-service");
    }
}
