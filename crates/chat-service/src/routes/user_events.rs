//! `POST /internal/user-events` (auth-service's key): the instance roles and suspensions
//! auth-service changed, kept by version (docs/architecture.md, "Moderation").

use actix_web::{HttpResponse, post, web};
use service_kit::FromAuth;
use wire::moderation::UserEventBatch;

use crate::error::ApiResult;
use crate::ops;
use crate::startup::AppState;

#[post("/internal/user-events")]
pub(crate) async fn receive(
    _caller: FromAuth,
    state: web::Data<AppState>,
    body: web::Json<UserEventBatch>,
) -> ApiResult<HttpResponse> {
    ops::moderation::apply_user_events(&state, &body.events).await?;
    Ok(HttpResponse::NoContent().finish())
}
