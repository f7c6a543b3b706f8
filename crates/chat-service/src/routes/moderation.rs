//! Room moderation: `/rooms/{id}/members/{userId}/role` (the owner names moderators) and
//! `/rooms/{id}/mutes` (who moderates the room mutes members).

use actix_web::{HttpResponse, delete, get, put, web};
use serde::{Deserialize, Serialize};
use service_kit::RequestId;
use tokens::actix::AuthUser;
use uuid::Uuid;

use super::publish;
use crate::error::ApiResult;
use crate::ops::{self, Actor, Caller};
use crate::startup::AppState;
use crate::views::{MemberView, MuteView};

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RoleBody {
    /// `moderator` or `member`.
    #[serde(default)]
    #[schema(required = true, pattern = "^(moderator|member)$")]
    role: String,
}

#[utoipa::path(tag = "moderation", security(("bearer" = [])), params(("id" = i64, Path), ("userId" = Uuid, Path)), request_body = RoleBody,
    responses((status = 200, description = "The member with their new role; the room hears memberRoleChanged (unless it was their role already). Recorded in the audit log (member.role)", body = MemberView),
              (status = 400, body = service_kit::openapi::ProblemDoc),
              (status = 403, description = "not_room_owner (only the owner and staff name moderators), general_room or direct_room", body = service_kit::openapi::ProblemDoc),
              (status = 404, description = "room_not_found or member_not_found", body = service_kit::openapi::ProblemDoc),
              (status = 409, description = "cannot_target_self: the owner's own role", body = service_kit::openapi::ProblemDoc)))]
#[put("/rooms/{id}/members/{userId}/role")]
pub(crate) async fn set_role(
    state: web::Data<AppState>,
    actor: Actor,
    request_id: RequestId,
    path: web::Path<(i64, Uuid)>,
    body: web::Json<RoleBody>,
) -> ApiResult<HttpResponse> {
    let (room_id, target) = path.into_inner();
    let outcome =
        ops::moderation::set_room_role(&state, &actor, room_id, target, &body.role).await?;
    let view = publish(&state, outcome, &request_id);
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MuteBody {
    /// CHAT_MIN_MUTE_SECONDS (60) to CHAT_MAX_MUTE_SECONDS (2592000, 30 days); the bounds
    /// in this document are the defaults.
    #[serde(default, deserialize_with = "service_kit::number::optional_whole")]
    #[schema(required = true, value_type = i64, minimum = 60, maximum = 2592000)]
    duration_seconds: Option<i64>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    reason: Option<String>,
}

#[utoipa::path(tag = "moderation", security(("bearer" = [])), params(("id" = i64, Path), ("userId" = Uuid, Path)), request_body = MuteBody,
    responses((status = 200, description = "Muted (a mute in force is replaced): their sends to the room are refused with `muted` until then; the room hears memberMuted. Recorded in the audit log (member.mute)", body = MuteView),
              (status = 400, body = service_kit::openapi::ProblemDoc),
              (status = 403, description = "moderator_required: the caller does not moderate the room, or the target is its owner, staff, or (unless the caller is the owner or staff) one of its moderators", body = service_kit::openapi::ProblemDoc),
              (status = 404, description = "room_not_found; member_not_found (a group room); user_not_found (general: a user chat-service never met)", body = service_kit::openapi::ProblemDoc),
              (status = 409, description = "cannot_target_self", body = service_kit::openapi::ProblemDoc)))]
#[put("/rooms/{id}/mutes/{userId}")]
pub(crate) async fn mute(
    state: web::Data<AppState>,
    actor: Actor,
    request_id: RequestId,
    path: web::Path<(i64, Uuid)>,
    body: web::Json<MuteBody>,
) -> ApiResult<HttpResponse> {
    let (room_id, target) = path.into_inner();
    let outcome = ops::moderation::mute(
        &state,
        &actor,
        room_id,
        target,
        body.duration_seconds,
        body.reason.as_deref(),
    )
    .await?;
    let view = publish(&state, outcome, &request_id);
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(tag = "moderation", security(("bearer" = [])), params(("id" = i64, Path), ("userId" = Uuid, Path)),
    responses((status = 204, description = "Not muted any more; the room hears memberUnmuted (nothing happens, and nothing is recorded, when they were not muted)"),
              (status = 403, description = "moderator_required", body = service_kit::openapi::ProblemDoc),
              (status = 404, body = service_kit::openapi::ProblemDoc),
              (status = 409, description = "cannot_target_self", body = service_kit::openapi::ProblemDoc)))]
#[delete("/rooms/{id}/mutes/{userId}")]
pub(crate) async fn unmute(
    state: web::Data<AppState>,
    actor: Actor,
    request_id: RequestId,
    path: web::Path<(i64, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (room_id, target) = path.into_inner();
    let outcome = ops::moderation::unmute(&state, &actor, room_id, target).await?;
    publish(&state, outcome, &request_id);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct MuteList {
    mutes: Vec<MuteView>,
}

#[utoipa::path(tag = "moderation", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The mutes in force, the soonest to end first", body = MuteList),
              (status = 403, description = "moderator_required", body = service_kit::openapi::ProblemDoc),
              (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[get("/rooms/{id}/mutes")]
pub(crate) async fn mutes(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let mutes = ops::moderation::mutes(&state, &Caller::from(&user), path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(MuteList { mutes }))
}
