//! `GET /presence?userIds=a,b`: who is online (docs/protocol.md, "Presence"). The relays hold
//! presence; this asks one of them and answers in the order asked.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use service_kit::{FieldError, RequestId};
use tokens::actix::AuthUser;
use wire::protocol::PresenceView;

use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;

#[derive(Deserialize)]
pub(crate) struct PresenceQuery {
    #[serde(rename = "userIds", default)]
    user_ids: String,
}

#[utoipa::path(tag = "presence", security(("bearer" = [])),
    params(("userIds" = Option<String>, Query, description = "user ids (UUIDs, hyphenated) separated by commas, at most 200; empty or left out asks about nobody")),
    responses((status = 200, description = "The users' presence in the order asked; a user never seen is offline with `lastSeenAt: null`", body = [PresenceView]),
              (status = 400, description = "validation_failed: an id that is not a UUID, or more than 200", body = service_kit::openapi::ProblemDoc),
              (status = 401, description = "missing, invalid or expired access token", body = service_kit::openapi::ProblemDoc),
              (status = 503, description = "relay_unavailable: no relay answered; retry shortly", body = service_kit::openapi::ProblemDoc)))]
#[get("/presence")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    _user: AuthUser,
    query: web::Query<PresenceQuery>,
    request_id: RequestId,
) -> ApiResult<HttpResponse> {
    let users = wire::protocol::parse_presence_query(&query.user_ids)
        .map_err(|message| ApiError::Validation(vec![FieldError::new("userIds", message)]))?;
    let list = state
        .relay
        .presence(&users, &request_id.to_string())
        .await
        .map_err(|err| {
            tracing::warn!(error = %err, "GET /presence: no relay answered");
            ApiError::RelayUnavailable
        })?;
    Ok(HttpResponse::Ok().json(list))
}
