//! `POST /internal/user-events` (auth-service's key): the instance roles and suspensions
//! auth-service changed, kept by version (docs/architecture.md, "Moderation"), and the
//! accounts deleted ("Deleting an account").

use actix_web::{HttpResponse, post, web};
use service_kit::{FromAuth, RequestId};
use wire::moderation::UserEventBatch;

use crate::error::ApiResult;
use crate::ops;
use crate::startup::AppState;

#[post("/internal/user-events")]
pub(crate) async fn receive(
    _caller: FromAuth,
    state: web::Data<AppState>,
    request_id: RequestId,
    body: web::Json<UserEventBatch>,
) -> ApiResult<HttpResponse> {
    let outcome = ops::moderation::apply_user_events(&state, &body.events).await?;
    super::publish(&state, outcome, &request_id);
    Ok(HttpResponse::NoContent().finish())
}
