//! `/rooms/{id}/members`: list, add (owner), remove (owner) or leave (member).

use actix_web::{HttpResponse, delete, get, post, web};
use serde::Deserialize;
use service_kit::RequestId;
use tokens::actix::AuthUser;
use uuid::Uuid;
use wire::Control;

use crate::chat::{self, Caller, to_room, to_user};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{members, rooms};
use crate::views::{MemberView, frames};

#[utoipa::path(tag = "members", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = [MemberView]), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[get("/rooms/{id}/members")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let room = chat::visible_room(&state, &Caller::from(&user), path.into_inner()).await?;
    if room.is_general {
        return Err(ApiError::GeneralRoom);
    }
    let list = members::list(&state.db.pool, room.id).await?;
    let views: Vec<MemberView> = list.iter().map(|m| MemberView::new(m, &room)).collect();
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddMemberBody {
    #[serde(default)]
    username: String,
}

#[utoipa::path(tag = "members", security(("bearer" = [])), params(("id" = i64, Path)), request_body = AddMemberBody, responses((status = 201, body = MemberView), (status = 403, body = service_kit::openapi::ProblemDoc), (status = 404, description = "room_not_found or user_not_found", body = service_kit::openapi::ProblemDoc), (status = 409, description = "already_member", body = service_kit::openapi::ProblemDoc)))]
#[post("/rooms/{id}/members")]
pub async fn add(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<i64>,
    body: web::Json<AddMemberBody>,
) -> ApiResult<HttpResponse> {
    let room = chat::owned_room(&state, &Caller::from(&user), path.into_inner()).await?;
    let wanted = body.username.trim();
    if wanted.is_empty() || wanted.len() > 64 {
        return Err(ApiError::field("username", "must be a username"));
    }
    let target = state
        .auth
        .user_by_username(wanted, request_id.as_str())
        .await?
        .ok_or(ApiError::UserNotFound)?;
    let member = members::add(
        &state.db.pool,
        room.id,
        target.id,
        &target.username,
        store_kit::now_ms(),
    )
    .await
    .map_err(|e| match e {
        members::AddMemberError::AlreadyMember => ApiError::AlreadyMember,
        members::AddMemberError::RoomGone => ApiError::RoomNotFound,
        members::AddMemberError::Unexpected(e) => ApiError::Unexpected(e),
    })?;
    tracing::info!(room_id = room.id, member = %member.user_id, "member added");
    let view = MemberView::new(&member, &room);
    // The relay applies `subscribe` first, so the new member's sockets hear the event too.
    chat::publish(
        &state,
        vec![to_room(room.id, frames::member_added(&room, &view))],
        vec![Control::Subscribe {
            user_id: member.user_id,
            room_id: room.id,
        }],
        &request_id,
    );
    Ok(HttpResponse::Created().json(view))
}

/// The owner removes a member, or a member leaves. When the owner leaves, the longest-standing
/// member becomes owner; when the last member leaves, the room is deleted.
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("id" = i64, Path), ("userId" = Uuid, Path)), responses((status = 204, description = "Removed"), (status = 403, body = service_kit::openapi::ProblemDoc), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[delete("/rooms/{id}/members/{userId}")]
pub async fn remove(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<(i64, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (room_id, target) = path.into_inner();
    let caller = Caller::from(&user);
    let room = chat::visible_room(&state, &caller, room_id).await?;
    if room.is_general {
        return Err(ApiError::GeneralRoom);
    }
    let is_owner = room.owner_user_id == Some(user.id);
    if target != user.id && !is_owner {
        return Err(ApiError::NotRoomOwner);
    }
    let mut tx = state.db.pool.begin().await?;
    if !members::remove(&mut tx, room.id, target).await? {
        return Err(ApiError::MemberNotFound);
    }
    let mut new_owner = None;
    let mut room_emptied = false;
    if room.owner_user_id == Some(target) {
        match members::longest_standing(&mut tx, room.id).await? {
            Some(heir) => {
                rooms::set_owner(&mut tx, room.id, heir.user_id, &heir.username).await?;
                new_owner = Some(heir.user_id);
            }
            None => room_emptied = true,
        }
    }
    tx.commit().await?;
    if room_emptied {
        rooms::delete(&state.db.pool, room.id).await?;
        tracing::info!(room_id = room.id, "last member left; room deleted");
    }
    tracing::info!(room_id = room.id, member = %target, by = %user.id, ?new_owner, "member removed");
    let event = frames::member_removed(room.id, target, new_owner);
    // The removed user hears it on their own sockets too, since they leave the room's fan-out.
    chat::publish(
        &state,
        vec![to_room(room.id, event.clone()), to_user(target, event)],
        vec![Control::Unsubscribe {
            user_id: target,
            room_id: room.id,
        }],
        &request_id,
    );
    Ok(HttpResponse::NoContent().finish())
}
