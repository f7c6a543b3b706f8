//! Messages: history, posting over REST, edit, soft delete, read markers.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use service_kit::RequestId;
use tokens::actix::AuthUser;

use super::{VerifiedUser, publish};
use crate::error::{ApiError, ApiResult};
use crate::ops::messages::SendRequest;
use crate::ops::{self, Actor, Caller};
use crate::startup::AppState;
use crate::views::MessageView;
use wire::protocol::ReadMarkerView;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HistoryQuery {
    after_seq: Option<i64>,
    before_seq: Option<i64>,
    around_seq: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HistoryPage {
    messages: Vec<MessageView>,
    has_more: bool,
    /// The room's revision when the page was read: every change up to it is reflected in the
    /// page, so it is where a client's change-feed cursor starts.
    rev: i64,
    /// With `aroundSeq`: older messages lie before the page.
    #[serde(skip_serializing_if = "Option::is_none")]
    has_more_before: Option<bool>,
    /// With `aroundSeq`: newer messages lie after the page.
    #[serde(skip_serializing_if = "Option::is_none")]
    has_more_after: Option<bool>,
}

#[utoipa::path(
    tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("afterSeq" = Option<i64>, Query, minimum = 0, description = "messages after this seq, oldest first"),
           ("beforeSeq" = Option<i64>, Query, minimum = 0, description = "messages before this seq"),
           ("aroundSeq" = Option<i64>, Query, minimum = 0, description = "the messages around this seq (about half the limit before it, the rest from it on), with `hasMoreBefore` and `hasMoreAfter`; not with afterSeq or beforeSeq"),
           ("limit" = Option<i64>, Query, minimum = 1, description = "1 to 200 (default 50; larger values are capped). The messages also stay within CHAT_REPLY_MAX_BYTES (512 KiB) serialised: `hasMore` is then true and the next page starts after the last seq received (before the first, reading back)")),
    responses((status = 200, body = HistoryPage), (status = 404, body = service_kit::openapi::ProblemDoc))
)]
#[get("/rooms/{id}/messages")]
pub(crate) async fn history(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    query: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let caller = Caller::from(&user);
    let room_id = path.into_inner();
    let budget = state.settings.limits.reply_max_bytes;
    if let Some(seq) = query.around_seq {
        if query.after_seq.is_some() || query.before_seq.is_some() {
            return Err(ApiError::field(
                "aroundSeq",
                "cannot be combined with afterSeq or beforeSeq",
            ));
        }
        let around =
            ops::messages::read_around(&state, &caller, room_id, seq, query.limit, budget).await?;
        return Ok(HttpResponse::Ok().json(HistoryPage {
            messages: around.messages.iter().map(MessageView::from).collect(),
            has_more: around.has_more_before,
            rev: around.rev,
            has_more_before: Some(around.has_more_before),
            has_more_after: Some(around.has_more_after),
        }));
    }
    let cursor = ops::messages::cursor(query.after_seq, query.before_seq, None)?;
    let page = ops::messages::read(&state, &caller, room_id, cursor, query.limit, budget).await?;
    Ok(HttpResponse::Ok().json(HistoryPage {
        messages: page.messages.iter().map(MessageView::from).collect(),
        has_more: page.has_more,
        rev: page.rev,
        has_more_before: None,
        has_more_after: None,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangesQuery {
    since_rev: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangesPage {
    room_id: i64,
    /// Every message changed after `sinceRev`, whole, in revision order; a deleted one has
    /// `deleted: true` and no content.
    messages: Vec<MessageView>,
    /// The room's current revision: the next `sinceRev` once `hasMore` is false.
    rev: i64,
    /// More changes follow: ask again from the `rev` of the last message.
    has_more: bool,
}

#[utoipa::path(
    tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("sinceRev" = Option<i64>, Query, minimum = 0, description = "changes after this room revision (0, the default, for all)"),
           ("limit" = Option<i64>, Query, minimum = 1, description = "1 to 200 (default 50; larger values are capped); the answer also stays within CHAT_REPLY_MAX_BYTES")),
    responses((status = 200, body = ChangesPage), (status = 400, body = service_kit::openapi::ProblemDoc), (status = 404, body = service_kit::openapi::ProblemDoc))
)]
#[get("/rooms/{id}/changes")]
pub(crate) async fn changes(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    query: web::Query<ChangesQuery>,
) -> ApiResult<HttpResponse> {
    let room_id = path.into_inner();
    let cursor = ops::messages::cursor(None, None, Some(query.since_rev.unwrap_or(0)))?;
    let page = ops::messages::read(
        &state,
        &Caller::from(&user),
        room_id,
        cursor,
        query.limit,
        state.settings.limits.reply_max_bytes,
    )
    .await?;
    Ok(HttpResponse::Ok().json(ChangesPage {
        room_id,
        messages: page.messages.iter().map(MessageView::from).collect(),
        rev: page.rev,
        has_more: page.has_more,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostMessageBody {
    /// 1 to 4000 characters, not only white space; may be empty (or left out) when
    /// `attachmentIds` names at least one file.
    #[serde(default)]
    #[schema(max_length = 4000)]
    content: String,
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    client_msg_id: Option<String>,
    /// The message this one answers: a message of the same room that is not deleted.
    #[serde(default, deserialize_with = "service_kit::number::optional_whole")]
    reply_to_id: Option<i64>,
    /// Uploads of the sender (`POST /uploads`) that no message carries yet, in the order
    /// shown (one named twice is attached once): at most CHAT_MAX_ATTACHMENTS_PER_MESSAGE
    /// (10). With at least one, `content` may be empty.
    #[serde(default)]
    #[schema(max_items = 10)]
    attachment_ids: Vec<uuid::Uuid>,
}

#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path)), request_body = PostMessageBody,
    responses((status = 201, description = "Stored and fanned out", body = MessageView),
              (status = 200, description = "A retried send: the original message", body = MessageView),
              (status = 400, body = service_kit::openapi::ProblemDoc),
              (status = 403, description = "room_mention_forbidden: @room by someone other than the room's owner, or in general; email_unverified: the account has not verified its e-mail address and the instance requires it (REQUIRE_EMAIL_VERIFICATION)", body = service_kit::openapi::ProblemDoc),
              (status = 404, description = "room_not_found; message_not_found: `replyToId` names no message of this room that is not deleted; attachment_not_found: an `attachmentIds` entry is not the caller's upload, is on a message already, or was deleted", body = service_kit::openapi::ProblemDoc),
              (status = 422, description = "too_many_mentions: more than CHAT_MAX_MENTIONS_PER_MESSAGE people named, or @room in a room of more than CHAT_ROOM_MENTION_MAX_MEMBERS members", body = service_kit::openapi::ProblemDoc),
              (status = 429, body = service_kit::openapi::ProblemDoc)))]
#[post("/rooms/{id}/messages")]
pub(crate) async fn post(
    state: web::Data<AppState>,
    VerifiedUser(user): VerifiedUser,
    request_id: RequestId,
    path: web::Path<i64>,
    body: web::Json<PostMessageBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let send = SendRequest {
        caller: Caller::from(&user),
        room_id: path.into_inner(),
        content: body.content,
        client_msg_id: body.client_msg_id,
        reply_to_id: body.reply_to_id,
        attachment_ids: body.attachment_ids,
    };
    let outcome = ops::messages::send(&state, send).await?;
    let stored = publish(&state, outcome, &request_id);
    let view = MessageView::from(&stored.message);
    Ok(if stored.duplicate {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Created().json(view)
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct EditMessageBody {
    /// 1 to 4000 characters, not only white space.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 4000,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    content: String,
}

#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path)), request_body = EditMessageBody,
    responses((status = 200, description = "Edited; whom it mentions is resolved again from the new text", body = MessageView),
              (status = 400, body = service_kit::openapi::ProblemDoc),
              (status = 403, description = "not_message_author, or room_mention_forbidden", body = service_kit::openapi::ProblemDoc),
              (status = 404, body = service_kit::openapi::ProblemDoc),
              (status = 422, description = "too_many_mentions", body = service_kit::openapi::ProblemDoc)))]
#[patch("/messages/{id}")]
pub(crate) async fn edit(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<i64>,
    body: web::Json<EditMessageBody>,
) -> ApiResult<HttpResponse> {
    let outcome = ops::messages::edit(
        &state,
        &Caller::from(&user),
        path.into_inner(),
        &body.content,
    )
    .await?;
    let edited = publish(&state, outcome, &request_id);
    Ok(HttpResponse::Ok().json(MessageView::from(&edited)))
}

#[derive(Deserialize)]
pub(crate) struct DeleteQuery {
    reason: Option<String>,
}

#[utoipa::path(tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("reason" = Option<String>, Query, max_length = 500, description = "why a moderator deletes someone else's message (recorded in the audit log)")),
    responses((status = 204, description = "Soft-deleted (idempotent) by its author, or by someone who moderates its room: its owner or moderators, or staff (the room hears messageDeleted with `byModerator`, and the audit log records message.delete)"),
              (status = 400, body = service_kit::openapi::ProblemDoc),
              (status = 403, description = "not_message_author: someone else's message in a room the caller does not moderate", body = service_kit::openapi::ProblemDoc),
              (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[delete("/messages/{id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    actor: Actor,
    request_id: RequestId,
    path: web::Path<i64>,
    query: web::Query<DeleteQuery>,
) -> ApiResult<HttpResponse> {
    let outcome =
        ops::messages::delete(&state, &actor, path.into_inner(), query.reason.as_deref()).await?;
    publish(&state, outcome, &request_id);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ReactionBody {
    /// One emoji (such as 👍) or a shortcode such as `:thumbsup:`.
    #[serde(default)]
    #[schema(required = true, max_length = 16)]
    emoji: String,
}

#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ReactionBody,
    responses((status = 200, description = "The message with its reactions (adding a reaction the caller already has changes nothing)", body = MessageView),
              (status = 400, description = "validation_failed: not one emoji or a known shortcode", body = service_kit::openapi::ProblemDoc),
              (status = 403, description = "email_unverified: the account has not verified its e-mail address and the instance requires it (REQUIRE_EMAIL_VERIFICATION)", body = service_kit::openapi::ProblemDoc),
              (status = 404, description = "message_not_found: no such message, a deleted one, or one in a room the caller cannot see", body = service_kit::openapi::ProblemDoc),
              (status = 409, description = "too_many_reactions: CHAT_MAX_REACTIONS_PER_MESSAGE distinct emoji already", body = service_kit::openapi::ProblemDoc),
              (status = 429, description = "rate_limited: CHAT_REACTIONS_PER_MINUTE per user, with Retry-After", body = service_kit::openapi::ProblemDoc)))]
#[post("/messages/{id}/reactions")]
pub(crate) async fn react(
    state: web::Data<AppState>,
    VerifiedUser(user): VerifiedUser,
    request_id: RequestId,
    path: web::Path<i64>,
    body: web::Json<ReactionBody>,
) -> ApiResult<HttpResponse> {
    let caller = Caller::from(&user);
    let outcome =
        ops::messages::react(&state, &caller, path.into_inner(), None, &body.emoji, true).await?;
    let message = publish(&state, outcome, &request_id);
    Ok(HttpResponse::Ok().json(MessageView::from(&message)))
}

#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path), ("emoji" = String, Path, max_length = 16, description = "the emoji or shortcode, URL-encoded")),
    responses((status = 200, description = "The message with its reactions (removing a reaction the caller does not have changes nothing)", body = MessageView),
              (status = 400, body = service_kit::openapi::ProblemDoc), (status = 404, body = service_kit::openapi::ProblemDoc),
              (status = 429, body = service_kit::openapi::ProblemDoc)))]
#[delete("/messages/{id}/reactions/{emoji}")]
pub(crate) async fn unreact(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<(i64, String)>,
) -> ApiResult<HttpResponse> {
    let (id, emoji) = path.into_inner();
    let caller = Caller::from(&user);
    let outcome = ops::messages::react(&state, &caller, id, None, &emoji, false).await?;
    let message = publish(&state, outcome, &request_id);
    Ok(HttpResponse::Ok().json(MessageView::from(&message)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ReadBody {
    #[schema(minimum = 0)]
    #[serde(deserialize_with = "service_kit::number::whole")]
    seq: i64,
}

#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ReadBody,
    responses((status = 204, description = "Marker moved (never backwards); the room hears `readMarker` (in general, only the reader's own sockets), at most once a user and room every CHAT_READ_RECEIPT_INTERVAL_MS"), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[post("/rooms/{id}/read")]
pub(crate) async fn mark_read(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<i64>,
    body: web::Json<ReadBody>,
) -> ApiResult<HttpResponse> {
    let outcome =
        ops::messages::mark_read(&state, &Caller::from(&user), path.into_inner(), body.seq).await?;
    publish(&state, outcome, &request_id);
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The read markers of the room's members who have one, in no particular order", body = [ReadMarkerView]),
              (status = 403, description = "general_room: the general room has no receipts", body = service_kit::openapi::ProblemDoc),
              (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[get("/rooms/{id}/read-markers")]
pub(crate) async fn read_markers(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let markers =
        ops::messages::read_markers(&state, &Caller::from(&user), path.into_inner()).await?;
    let views: Vec<ReadMarkerView> = markers
        .into_iter()
        .map(|m| ReadMarkerView {
            user_id: m.user_id,
            username: m.username,
            seq: m.seq,
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}
