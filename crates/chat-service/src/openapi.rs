//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the handlers.

use service_kit::openapi::{BearerAuth, SharedAnswers};
use utoipa::OpenApi;

use crate::routes::{
    admin, blocks, dms, files, members, mentions, messages, moderation, notifications, presence,
    push, reports, rooms, search, tickets, unsubscribe, uploads,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Cloud Chat chat-service", description = "Rooms, members and messages; room moderation, blocks, reports and the admin pages' reads."),
    paths(
        rooms::list, rooms::create, rooms::get, rooms::delete, rooms::hide, dms::open,
        members::list, members::add, members::remove,
        messages::history, messages::changes, messages::post, messages::edit, messages::delete, messages::react, messages::unreact, messages::mark_read, messages::read_markers,
        mentions::list,
        search::search,
        tickets::create,
        presence::get,
        notifications::get, notifications::put, notifications::put_room,
        push::vapid_public_key, push::subscribe, push::list, push::unsubscribe,
        uploads::create, files::set_cookie, files::clear_cookie, files::download, files::download_thumbnail,
        unsubscribe::page, unsubscribe::unsubscribe,
        moderation::set_role, moderation::mute, moderation::unmute, moderation::mutes,
        blocks::list, blocks::block, blocks::unblock,
        reports::create, reports::list, reports::resolve,
        admin::audit, admin::stats,
    ),
    modifiers(&BearerAuth, &FilesCookie, &SharedAnswers, &FieldRules)
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
            "/search",
            "cursor",
            crate::ops::search::CURSOR_PATTERN,
        );
        for param in ["before", "after"] {
            param_pattern(
                openapi,
                "/search",
                param,
                crate::domain::search::DATE_PATTERN,
            );
        }
        param_pattern(
            openapi,
            "/admin/audit",
            "cursor",
            crate::domain::moderation::AUDIT_CURSOR_PATTERN,
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
        // POST /rooms/{id}/messages: text that is not only white space, or at least one file.
        use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder};
        let text = ObjectBuilder::new()
            .schema_type(Type::Object)
            .required("content")
            .property(
                "content",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .pattern(Some(crate::domain::NOT_ONLY_SPACE_PATTERN)),
            );
        let files = ObjectBuilder::new()
            .schema_type(Type::Object)
            .required("attachmentIds")
            .property(
                "attachmentIds",
                ArrayBuilder::new().min_items(Some(1)).items(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
                ),
            );
        add_rule(
            openapi,
            "PostMessageBody",
            AnyOfBuilder::new().item(text).item(files),
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
