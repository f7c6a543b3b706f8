//! `/rooms`: list, create, read, delete.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::Deserialize;
use service_kit::RequestId;
use service_kit::ratelimit::Quota;
use tokens::actix::AuthUser;
use wire::Control;

use crate::chat::{self, Caller, to_user};
use crate::domain::RoomName;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{members, rooms};
use crate::views::{RoomView, frames};

#[utoipa::path(tag = "rooms", security(("bearer" = [])), responses((status = 200, description = "The caller's rooms, general first", body = [RoomView])))]
#[get("/rooms")]
pub async fn list(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let summaries = rooms::list_for_user(&state.db.pool, user.id).await?;
    let views: Vec<RoomView> = summaries.iter().map(RoomView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateRoomBody {
    #[serde(default)]
    name: String,
}

#[utoipa::path(tag = "rooms", security(("bearer" = [])), request_body = CreateRoomBody, responses((status = 201, body = RoomView),
    (status = 403, description = "too_many_rooms_owned (CHAT_MAX_ROOMS_OWNED) or too_many_rooms (CHAT_MAX_ROOMS_PER_USER)", body = service_kit::openapi::ProblemDoc),
    (status = 409, description = "room_name_taken", body = service_kit::openapi::ProblemDoc),
    (status = 429, description = "rate_limited: CHAT_ROOM_CREATES_PER_HOUR per user, with Retry-After", body = service_kit::openapi::ProblemDoc)))]
#[post("/rooms")]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    body: web::Json<CreateRoomBody>,
) -> ApiResult<HttpResponse> {
    let name = RoomName::parse(&body.name).map_err(|e| ApiError::Validation(vec![e]))?;
    let per_hour = Quota::per_hour(state.settings.limits.room_creates_per_hour);
    chat::rate_limit(&state, &format!("room_create:{}", user.id), per_hour).await?;
    let caps = chat::caps(&state);
    let room = rooms::create(
        &state.db,
        &name,
        user.id,
        &user.username,
        store_kit::now_ms(),
        caps,
    )
    .await
    .map_err(|e| match e {
        rooms::CreateRoomError::NameTaken => ApiError::RoomNameTaken,
        rooms::CreateRoomError::TooManyOwned => ApiError::TooManyRoomsOwned(caps.max_rooms_owned),
        rooms::CreateRoomError::TooManyRooms => ApiError::TooManyRooms(caps.max_rooms_per_user),
        rooms::CreateRoomError::Unexpected(e) => ApiError::Unexpected(e),
    })?;
    tracing::info!(room_id = room.id, owner = %user.id, "room created");
    // The owner's open sockets start receiving the room at once.
    chat::publish(
        &state,
        Vec::new(),
        vec![Control::Subscribe {
            user_id: user.id,
            room_id: room.id,
        }],
        &request_id,
    );
    Ok(HttpResponse::Created().json(RoomView::new(&room, 1, 0)))
}

#[utoipa::path(tag = "rooms", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = RoomView), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[get("/rooms/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let room_id = path.into_inner();
    let summaries = rooms::list_for_user(&state.db.pool, user.id).await?;
    let summary = summaries
        .iter()
        .find(|s| s.room.id == room_id)
        .ok_or(ApiError::RoomNotFound)?;
    Ok(HttpResponse::Ok().json(RoomView::from(summary)))
}

#[utoipa::path(tag = "rooms", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204, description = "Deleted with its messages"), (status = 403, body = service_kit::openapi::ProblemDoc), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[delete("/rooms/{id}")]
pub async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let room = chat::owned_room(&state, &Caller::from(&user), path.into_inner()).await?;
    let members = members::list(&state.db.pool, room.id).await?;
    if !rooms::delete(&state.db.pool, room.id).await? {
        return Err(ApiError::RoomNotFound);
    }
    tracing::info!(room_id = room.id, owner = %user.id, "room deleted");
    // The relay applies control items before deliveries: once unsubscribed, members hear of
    // the deletion through their user target.
    let event = frames::room_deleted(room.id);
    let (deliveries, unsubscribe) = members
        .iter()
        .map(|m| {
            (
                to_user(m.user_id, event.clone()),
                Control::Unsubscribe {
                    user_id: m.user_id,
                    room_id: room.id,
                },
            )
        })
        .unzip();
    chat::publish(&state, deliveries, unsubscribe, &request_id);
    Ok(HttpResponse::NoContent().finish())
}
