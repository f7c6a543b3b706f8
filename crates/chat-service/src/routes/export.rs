//! `GET /internal/users/{id}/export` (auth-service's key): the person's data chat-service
//! holds, as JSON Lines streamed page by page; auth-service wraps it into
//! `POST /users/me/export` (docs/architecture.md, "Data export").

use actix_web::{HttpResponse, get, web};
use futures_util::TryStreamExt;
use service_kit::FromAuth;
use uuid::Uuid;

use crate::ops;
use crate::startup::AppState;

#[get("/internal/users/{id}/export")]
pub(crate) async fn export(
    _caller: FromAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let user = path.into_inner();
    let lines = ops::export::lines(state, user).map_err(move |e| {
        // The answer has started: the connection is cut, and auth-service's export then
        // lacks its `end` line.
        tracing::error!(error = ?e, %user, "a data export failed midway");
        actix_web::error::ErrorInternalServerError("export failed")
    });
    HttpResponse::Ok()
        .content_type(wire::export::EXPORT_CONTENT_TYPE)
        .streaming(lines)
}
