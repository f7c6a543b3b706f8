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
    modifiers(&BearerAuth, &SharedAnswers, &FieldRules)
)]
struct ApiDoc;

/// What the derives cannot state: patterns kept in constants the server applies, and rules
/// between fields.
struct FieldRules;

impl utoipa::Modify for FieldRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use crate::domain::{EMOJI_PATTERN, MEMBER_CURSOR_PATTERN, PEER_NAME_PATTERN};
        use service_kit::openapi::{add_rule, field_pattern, param_pattern, requires};
        field_pattern(openapi, "OpenDirectBody", "username", PEER_NAME_PATTERN);
        field_pattern(openapi, "AddMemberBody", "username", PEER_NAME_PATTERN);
        field_pattern(openapi, "ReactionBody", "emoji", EMOJI_PATTERN);
        param_pattern(
            openapi,
            "/messages/{id}/reactions/{emoji}",
            "emoji",
            EMOJI_PATTERN,
        );
        param_pattern(
            openapi,
            "/rooms/{id}/members",
            "after",
            MEMBER_CURSOR_PATTERN,
        );
        param_pattern(
            openapi,
            "/presence",
            "userIds",
            &wire::protocol::presence_query_pattern(),
        );
        use utoipa::openapi::Type;
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat};
        // POST /dms: `userId` or `username`, not both (the other absent or null).
        let null = || ObjectBuilder::new().schema_type(Type::Null);
        let uuid = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
        add_rule(
            openapi,
            "OpenDirectBody",
            OneOfBuilder::new()
                .item(
                    requires(&["userId"], 0)
                        .property("userId", uuid)
                        .property("username", null()),
                )
                .item(requires(&["username"], 1).property("userId", null())),
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
        service_kit::openapi::assert_checked_in(&super::document(), dir, "chat-service");
    }
}
