//! `/rooms/{id}/members`: list, add (owner), remove (owner) or leave (member).

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use service_kit::RequestId;
use service_kit::ratelimit::Quota;
use tokens::actix::AuthUser;
use uuid::Uuid;
use wire::Control;

use crate::chat::{self, Caller, to_room, to_user};
use crate::domain::MemberCursor;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{members, rooms};
use crate::views::{self, MemberView, frames};

#[derive(Deserialize)]
pub struct MembersQuery {
    after: Option<String>,
    limit: Option<i64>,
}

pub const DEFAULT_MEMBERS_PAGE: i64 = 100;
pub const MAX_MEMBERS_PAGE: i64 = 200;

/// A page of a member list, for clients that ask for pages (`after` or `limit` given).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembersPage {
    members: Vec<MemberView>,
    /// What to send as `after` for the next page; null on the last page.
    next_cursor: Option<String>,
    has_more: bool,
}

/// The answer's shape: the page object when the client asked for pages, else the plain
/// array of earlier versions (the first page only).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum MembersAnswer {
    Page(MembersPage),
    List(Vec<MemberView>),
}

#[utoipa::path(tag = "members", security(("bearer" = [])),
    params(("id" = i64, Path),
           ("after" = Option<String>, Query, description = "the nextCursor of the previous page"),
           ("limit" = Option<i64>, Query, description = "1 to 200 (default 100; larger values are capped)")),
    responses((status = 200, description = "Members by join time. With `after` or `limit`: a page object `{members, nextCursor, hasMore}`; with neither: a plain array of the first 100 (the shape of earlier versions)", body = MembersAnswer),
              (status = 400, description = "validation_failed: a bad cursor or limit", body = service_kit::openapi::ProblemDoc),
              (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[get("/rooms/{id}/members")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    query: web::Query<MembersQuery>,
) -> ApiResult<HttpResponse> {
    let MembersQuery { after, limit } = query.into_inner();
    let paged = after.is_some() || limit.is_some();
    let after = after
        .as_deref()
        .map(MemberCursor::parse)
        .transpose()
        .map_err(|e| ApiError::Validation(vec![e]))?;
    if limit.is_some_and(|l| l < 1) {
        return Err(ApiError::field(
            "limit",
            "must be at least 1 (at most 200 are returned)",
        ));
    }
    let room = chat::visible_room(&state, &Caller::from(&user), path.into_inner()).await?;
    if room.is_general {
        return Err(ApiError::GeneralRoom);
    }
    let limit = limit.unwrap_or(DEFAULT_MEMBERS_PAGE).min(MAX_MEMBERS_PAGE);
    let (list, has_more) = members::page(&state.db.pool, room.id, after.as_ref(), limit).await?;
    let members: Vec<MemberView> = list.iter().map(|m| views::member(m, &room)).collect();
    if !paged {
        return Ok(HttpResponse::Ok().json(MembersAnswer::List(members)));
    }
    let next_cursor = list.last().filter(|_| has_more).map(|m| {
        MemberCursor {
            joined_at: m.joined_at,
            user_id: m.user_id,
        }
        .to_string()
    });
    Ok(HttpResponse::Ok().json(MembersAnswer::Page(MembersPage {
        members,
        next_cursor,
        has_more,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddMemberBody {
    #[serde(default)]
    username: String,
}

#[utoipa::path(tag = "members", security(("bearer" = [])), params(("id" = i64, Path)), request_body = AddMemberBody, responses((status = 201, body = MemberView),
    (status = 403, description = "not_room_owner, room_full (CHAT_MAX_MEMBERS_PER_ROOM) or too_many_rooms (the added user is in CHAT_MAX_ROOMS_PER_USER rooms)", body = service_kit::openapi::ProblemDoc),
    (status = 404, description = "room_not_found or user_not_found", body = service_kit::openapi::ProblemDoc),
    (status = 409, description = "already_member", body = service_kit::openapi::ProblemDoc),
    (status = 429, description = "rate_limited: CHAT_MEMBER_ADDS_PER_MINUTE per owner, with Retry-After", body = service_kit::openapi::ProblemDoc)))]
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
    let per_minute = Quota::per_minute(state.settings.limits.member_adds_per_minute);
    chat::rate_limit(&state, &format!("member_add:{}", user.id), per_minute).await?;
    let target = state
        .auth
        .user_by_username(wanted, request_id.as_str())
        .await?
        .ok_or(ApiError::UserNotFound)?;
    let caps = chat::caps(&state);
    let member = members::add(
        &state.db.pool,
        room.id,
        target.id,
        &target.username,
        store_kit::now_ms(),
        caps,
    )
    .await
    .map_err(|e| match e {
        members::AddMemberError::AlreadyMember => ApiError::AlreadyMember,
        members::AddMemberError::RoomGone => ApiError::RoomNotFound,
        members::AddMemberError::RoomFull => ApiError::RoomFull(caps.max_members_per_room),
        members::AddMemberError::TooManyRooms => ApiError::TooManyRooms(caps.max_rooms_per_user),
        members::AddMemberError::Unexpected(e) => ApiError::Unexpected(e),
    })?;
    tracing::info!(room_id = room.id, member = %member.user_id, "member added");
    let view = views::member(&member, &room);
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
