//! Messages: history, posting over REST, edit, soft delete, read markers.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use service_kit::RequestId;
use tokens::actix::AuthUser;

use crate::chat::{self, Caller, to_room};
use crate::domain::MessageContent;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::messages::{self, Message};
use crate::views::{MessageView, frames};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryQuery {
    after_seq: Option<i64>,
    before_seq: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    messages: Vec<MessageView>,
    has_more: bool,
}

#[utoipa::path(
    tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("afterSeq" = Option<i64>, Query, description = "messages after this seq, oldest first"),
           ("beforeSeq" = Option<i64>, Query, description = "messages before this seq"),
           ("limit" = Option<i64>, Query, description = "1 to 200 (default 50; larger values are capped). The messages also stay within CHAT_REPLY_MAX_BYTES (512 KiB) serialised: `hasMore` is then true and the next page starts after the last seq received (before the first, reading back)")),
    responses((status = 200, body = HistoryPage), (status = 404, body = service_kit::openapi::ProblemDoc))
)]
#[get("/rooms/{id}/messages")]
pub async fn history(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    query: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let (page, has_more) = chat::history(
        &state,
        &Caller::from(&user),
        path.into_inner(),
        query.after_seq,
        query.before_seq,
        query.limit,
        state.settings.limits.reply_max_bytes,
    )
    .await?;
    Ok(HttpResponse::Ok().json(HistoryPage {
        messages: page.iter().map(MessageView::from).collect(),
        has_more,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostMessageBody {
    #[serde(default)]
    content: String,
    client_msg_id: Option<String>,
}

#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path)), request_body = PostMessageBody,
    responses((status = 201, description = "Stored and fanned out", body = MessageView),
              (status = 200, description = "A retried send: the original message", body = MessageView),
              (status = 400, body = service_kit::openapi::ProblemDoc), (status = 404, body = service_kit::openapi::ProblemDoc),
              (status = 429, body = service_kit::openapi::ProblemDoc)))]
#[post("/rooms/{id}/messages")]
pub async fn post(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<i64>,
    body: web::Json<PostMessageBody>,
) -> ApiResult<HttpResponse> {
    let stored = chat::send(
        &state,
        &Caller::from(&user),
        path.into_inner(),
        &body.content,
        body.client_msg_id.as_deref(),
    )
    .await?;
    let view = MessageView::from(&stored.message);
    if stored.duplicate {
        return Ok(HttpResponse::Ok().json(view));
    }
    chat::publish(
        &state,
        vec![to_room(
            stored.message.room_id,
            frames::message(&stored.message),
        )],
        Vec::new(),
        &request_id,
    );
    Ok(HttpResponse::Created().json(view))
}

/// The message, if the caller can see its room.
async fn visible_message(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> ApiResult<(Message, crate::store::rooms::Room)> {
    let message = messages::get(&state.db.pool, id)
        .await?
        .ok_or(ApiError::MessageNotFound)?;
    let room = chat::visible_room(state, caller, message.room_id)
        .await
        .map_err(|_| ApiError::MessageNotFound)?;
    Ok((message, room))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EditMessageBody {
    #[serde(default)]
    content: String,
}

#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path)), request_body = EditMessageBody,
    responses((status = 200, body = MessageView), (status = 403, body = service_kit::openapi::ProblemDoc), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[patch("/messages/{id}")]
pub async fn edit(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<i64>,
    body: web::Json<EditMessageBody>,
) -> ApiResult<HttpResponse> {
    let content =
        MessageContent::parse(&body.content).map_err(|e| ApiError::Validation(vec![e]))?;
    let caller = Caller::from(&user);
    let (message, _) = visible_message(&state, &caller, path.into_inner()).await?;
    if message.user_id != user.id {
        return Err(ApiError::NotAuthor);
    }
    if !messages::edit(&state.db.pool, message.id, &content, store_kit::now_ms()).await? {
        return Err(ApiError::MessageNotFound);
    }
    let edited = messages::get(&state.db.pool, message.id)
        .await?
        .ok_or(ApiError::MessageNotFound)?;
    chat::publish(
        &state,
        vec![to_room(edited.room_id, frames::message_edited(&edited))],
        Vec::new(),
        &request_id,
    );
    Ok(HttpResponse::Ok().json(MessageView::from(&edited)))
}

#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Soft-deleted (idempotent)"), (status = 403, body = service_kit::openapi::ProblemDoc), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[delete("/messages/{id}")]
pub async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let caller = Caller::from(&user);
    let (message, room) = visible_message(&state, &caller, path.into_inner()).await?;
    let may_delete =
        message.user_id == user.id || (!room.is_general && room.owner_user_id == Some(user.id));
    if !may_delete {
        return Err(ApiError::NotAuthor);
    }
    if messages::soft_delete(&state.db.pool, message.id, store_kit::now_ms()).await? {
        tracing::info!(message_id = message.id, room_id = room.id, by = %user.id, "message deleted");
        chat::publish(
            &state,
            vec![to_room(room.id, frames::message_deleted(&message))],
            Vec::new(),
            &request_id,
        );
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReadBody {
    seq: i64,
}

#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ReadBody,
    responses((status = 204, description = "Marker moved (never backwards)"), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[post("/rooms/{id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: web::Json<ReadBody>,
) -> ApiResult<HttpResponse> {
    chat::mark_read(&state, &Caller::from(&user), path.into_inner(), body.seq).await?;
    Ok(HttpResponse::NoContent().finish())
}
