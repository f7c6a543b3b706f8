//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the handlers.

use service_kit::openapi::BearerAuth;
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
    modifiers(&BearerAuth)
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
