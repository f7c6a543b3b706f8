//! `/rooms`: list, create, read, delete, hide.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::Deserialize;
use service_kit::RequestId;
use tokens::actix::AuthUser;

use super::{VerifiedUser, publish};
use crate::error::ApiResult;
use crate::ops::{self, Caller};
use crate::startup::AppState;
use crate::views::RoomView;

#[utoipa::path(tag = "rooms", security(("bearer" = [])), responses((status = 200, description = "The caller's rooms, general first", body = [RoomView])))]
#[get("/rooms")]
pub(crate) async fn list(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let summaries = ops::rooms::list(&state, &Caller::from(&user)).await?;
    let views: Vec<RoomView> = summaries.iter().map(RoomView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateRoomBody {
    /// 2 to 64 characters once trimmed, no control characters; unique without regard to case.
    #[serde(default)]
    #[schema(
        required = true,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]{0,62}[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f][\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: String,
}

#[utoipa::path(tag = "rooms", security(("bearer" = [])), request_body = CreateRoomBody, responses((status = 201, body = RoomView),
    (status = 403, description = "too_many_rooms_owned (CHAT_MAX_ROOMS_OWNED) or too_many_rooms (CHAT_MAX_ROOMS_PER_USER); email_unverified: the account has not verified its e-mail address and the instance requires it (REQUIRE_EMAIL_VERIFICATION)", body = service_kit::openapi::ProblemDoc),
    (status = 409, description = "room_name_taken", body = service_kit::openapi::ProblemDoc),
    (status = 429, description = "rate_limited: CHAT_ROOM_CREATES_PER_HOUR per user, with Retry-After", body = service_kit::openapi::ProblemDoc)))]
#[post("/rooms")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    VerifiedUser(user): VerifiedUser,
    request_id: RequestId,
    body: web::Json<CreateRoomBody>,
) -> ApiResult<HttpResponse> {
    let outcome = ops::rooms::create(&state, &Caller::from(&user), &body.name).await?;
    let room = publish(&state, outcome, &request_id);
    Ok(HttpResponse::Created().json(RoomView::from(&room)))
}

#[utoipa::path(tag = "rooms", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = RoomView), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[get("/rooms/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let summary = ops::rooms::get(&state, &Caller::from(&user), path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(RoomView::from(&summary)))
}

#[utoipa::path(tag = "rooms", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204, description = "Deleted with its messages"), (status = 403, description = "not_room_owner, general_room, or direct_room (direct rooms are hidden, not deleted)", body = service_kit::openapi::ProblemDoc), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[delete("/rooms/{id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let outcome = ops::rooms::delete(&state, &Caller::from(&user), path.into_inner()).await?;
    publish(&state, outcome, &request_id);
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "rooms", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Hidden from the caller's list until the room's next message (or POST /dms with the same person); the caller's sockets receive roomHidden"),
              (status = 403, description = "not_direct_room: only direct rooms can be hidden", body = service_kit::openapi::ProblemDoc),
              (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[post("/rooms/{id}/hide")]
pub(crate) async fn hide(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let outcome = ops::rooms::hide(&state, &Caller::from(&user), path.into_inner()).await?;
    publish(&state, outcome, &request_id);
    Ok(HttpResponse::NoContent().finish())
}
