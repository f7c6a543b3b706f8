//! `/dms`: open the caller's direct room with someone.

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use service_kit::RequestId;
use uuid::Uuid;

use super::{VerifiedUser, publish};
use crate::error::{ApiError, ApiResult};
use crate::ops::rooms::DirectPeer;
use crate::ops::{self, Caller};
use crate::startup::AppState;
use crate::views::RoomView;

/// Who to talk to: `userId` or `username`, not both.
// The rule between the two fields is stated by `crate::openapi::FieldRules`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OpenDirectBody {
    user_id: Option<Uuid>,
    /// 1 to 64 characters once trimmed.
    username: Option<String>,
}

#[utoipa::path(tag = "rooms", security(("bearer" = [])), request_body = OpenDirectBody,
    responses((status = 201, description = "The direct room, opened now (both people's sockets are subscribed)", body = RoomView),
              (status = 200, description = "The direct room the pair already had, whoever opened it (shown again in the caller's list if they had hidden it)", body = RoomView),
              (status = 400, description = "validation_failed: neither or both of userId and username", body = service_kit::openapi::ProblemDoc),
              (status = 403, description = "email_unverified: the account has not verified its e-mail address and the instance requires it (REQUIRE_EMAIL_VERIFICATION)", body = service_kit::openapi::ProblemDoc),
              (status = 404, description = "user_not_found", body = service_kit::openapi::ProblemDoc),
              (status = 429, description = "rate_limited: CHAT_DM_CREATES_PER_HOUR new direct rooms per user, with Retry-After", body = service_kit::openapi::ProblemDoc),
              (status = 503, description = "auth_unavailable: the user could not be looked up", body = service_kit::openapi::ProblemDoc)))]
#[post("/dms")]
pub(crate) async fn open(
    state: web::Data<AppState>,
    VerifiedUser(user): VerifiedUser,
    request_id: RequestId,
    body: web::Json<OpenDirectBody>,
) -> ApiResult<HttpResponse> {
    let peer = match body.into_inner() {
        OpenDirectBody {
            user_id: Some(id),
            username: None,
        } => DirectPeer::Id(id),
        OpenDirectBody {
            user_id: None,
            username: Some(name),
        } => DirectPeer::Name(name),
        _ => {
            return Err(ApiError::field(
                "userId",
                "give exactly one of userId and username",
            ));
        }
    };
    let outcome =
        ops::rooms::open_direct(&state, &Caller::from(&user), peer, &request_id.to_string())
            .await?;
    let (summary, created) = publish(&state, outcome, &request_id);
    let status = if created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(RoomView::from(&summary)))
}
