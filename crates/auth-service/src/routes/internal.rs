//! `/internal/users/*`: user look-ups for chat-service (its internal key required).

use actix_web::{HttpResponse, get, web};
use service_kit::FromChat;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::users;

#[get("/internal/users/{id}")]
pub async fn user_by_id(
    _caller: FromChat,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let user = users::by_id(&state.db.pool, path.into_inner())
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(HttpResponse::Ok().json(wire::PublicUser {
        id: user.id,
        username: user.username,
    }))
}

#[get("/internal/users/by-username/{username}")]
pub async fn user_by_username(
    _caller: FromChat,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let user = users::by_username(&state.db.pool, &path.into_inner())
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(HttpResponse::Ok().json(wire::PublicUser {
        id: user.id,
        username: user.username,
    }))
}
