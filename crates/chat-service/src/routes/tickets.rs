//! `POST /ws-tickets`: a 30-second, single-use ticket for opening a WebSocket, so that no
//! long-lived token ever sits in a URL or a log.

use actix_web::{HttpResponse, post, web};
use serde::Serialize;

use super::VerifiedUser;
use crate::error::ApiResult;
use crate::ops::{self, Caller};
use crate::startup::AppState;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TicketAnswer {
    ticket: String,
    expires_in: u64,
}

#[utoipa::path(tag = "websocket", security(("bearer" = [])), responses((status = 201, description = "Connect with /ws?ticket=...", body = TicketAnswer), (status = 403, description = "email_unverified: the account has not verified its e-mail address and the instance requires it (REQUIRE_EMAIL_VERIFICATION)", body = service_kit::openapi::ProblemDoc)))]
#[post("/ws-tickets")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    VerifiedUser(user): VerifiedUser,
) -> ApiResult<HttpResponse> {
    let ttl = state.settings.ticket_ttl;
    let caller = Caller::from(&user);
    let ticket = ops::tickets::issue(&state, &caller, user.session_id, user.claims.exp).await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(TicketAnswer {
            ticket,
            expires_in: ttl.as_secs(),
        }))
}
