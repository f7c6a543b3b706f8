//! `/rooms/{id}/members`: list, add (owner), remove (who moderates the room) or leave
//! (member).

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use service_kit::RequestId;
use tokens::actix::AuthUser;
use uuid::Uuid;

use super::publish;
use crate::error::ApiResult;
use crate::ops::{self, Actor, Caller};
use crate::startup::AppState;
use crate::views::MemberView;

#[derive(Deserialize)]
pub(crate) struct MembersQuery {
    after: Option<String>,
    limit: Option<i64>,
}

/// A page of a member list, for clients that ask for pages (`after` or `limit` given).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MembersPage {
    members: Vec<MemberView>,
    /// What to send as `after` for the next page; null on the last page.
    next_cursor: Option<String>,
    has_more: bool,
}

/// The answer's shape: the page object when the client asked for pages, else the plain
/// array of earlier versions (the first page only).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum MembersAnswer {
    Page(MembersPage),
    List(Vec<MemberView>),
}

#[utoipa::path(tag = "members", security(("bearer" = [])),
    params(("id" = i64, Path),
           ("after" = Option<String>, Query, description = "the nextCursor of the previous page"),
           ("limit" = Option<i64>, Query, minimum = 1, description = "1 to 200 (default 100; larger values are capped)")),
    responses((status = 200, description = "Members by join time. With `after` or `limit`: a page object `{members, nextCursor, hasMore}`; with neither: a plain array of the first 100 (the shape of earlier versions)", body = MembersAnswer),
              (status = 400, description = "validation_failed: a bad cursor or limit", body = service_kit::openapi::ProblemDoc),
              (status = 403, description = "general_room: everyone is a member of general; its members are not listed", body = service_kit::openapi::ProblemDoc),
              (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[get("/rooms/{id}/members")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    query: web::Query<MembersQuery>,
) -> ApiResult<HttpResponse> {
    let MembersQuery { after, limit } = query.into_inner();
    let paged = after.is_some() || limit.is_some();
    let page = ops::members::page(
        &state,
        &Caller::from(&user),
        path.into_inner(),
        after.as_deref(),
        limit,
    )
    .await?;
    let members = page.views();
    if !paged {
        return Ok(HttpResponse::Ok().json(MembersAnswer::List(members)));
    }
    Ok(HttpResponse::Ok().json(MembersAnswer::Page(MembersPage {
        members,
        next_cursor: page.next_cursor(),
        has_more: page.has_more,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct AddMemberBody {
    /// 1 to 64 characters once trimmed.
    #[serde(default)]
    #[schema(required = true)]
    username: String,
}

#[utoipa::path(tag = "members", security(("bearer" = [])), params(("id" = i64, Path)), request_body = AddMemberBody, responses((status = 201, body = MemberView),
    (status = 403, description = "not_room_owner, general_room, direct_room (a direct room has exactly its two people), room_full (CHAT_MAX_MEMBERS_PER_ROOM) or too_many_rooms (the added user is in CHAT_MAX_ROOMS_PER_USER group rooms)", body = service_kit::openapi::ProblemDoc),
    (status = 404, description = "room_not_found or user_not_found", body = service_kit::openapi::ProblemDoc),
    (status = 409, description = "already_member", body = service_kit::openapi::ProblemDoc),
    (status = 429, description = "rate_limited: CHAT_MEMBER_ADDS_PER_MINUTE per owner, with Retry-After", body = service_kit::openapi::ProblemDoc)))]
#[post("/rooms/{id}/members")]
pub(crate) async fn add(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<i64>,
    body: web::Json<AddMemberBody>,
) -> ApiResult<HttpResponse> {
    let outcome = ops::members::add(
        &state,
        &Caller::from(&user),
        path.into_inner(),
        &body.username,
        request_id.as_str(),
    )
    .await?;
    let view = publish(&state, outcome, &request_id);
    Ok(HttpResponse::Created().json(view))
}

/// A member leaves, or someone who moderates the room removes them (the owner and staff
/// anyone; a room moderator anyone but the owner and the other moderators). When the owner
/// leaves, the longest-standing member becomes owner; when the last member leaves, the room
/// is deleted.
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("id" = i64, Path), ("userId" = Uuid, Path)), responses((status = 204, description = "Removed (by someone else: recorded in the audit log, member.remove)"), (status = 403, description = "not_room_owner (removing someone else without moderating the room, or a room moderator removing the owner or another moderator), general_room or direct_room", body = service_kit::openapi::ProblemDoc), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[delete("/rooms/{id}/members/{userId}")]
pub(crate) async fn remove(
    state: web::Data<AppState>,
    actor: Actor,
    request_id: RequestId,
    path: web::Path<(i64, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (room_id, target) = path.into_inner();
    let outcome = ops::members::remove(&state, &actor, room_id, target).await?;
    publish(&state, outcome, &request_id);
    Ok(HttpResponse::NoContent().finish())
}
