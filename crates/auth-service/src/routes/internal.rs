//! `/internal/*`: user look-ups for chat-service, and revoked sessions for chat-service and the
//! relays (each behind its caller's internal key).

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use service_kit::{FromChat, FromRelayOrChat};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{sessions, users};

#[get("/internal/users/{id}")]
pub(crate) async fn user_by_id(
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
pub(crate) async fn user_by_username(
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

#[derive(Deserialize)]
pub(super) struct RevokedQuery {
    /// Unix ms; the previous answer's `now`.
    #[serde(default)]
    since: i64,
}

/// Sessions revoked at or after `since`, but never further back than the access-token
/// lifetime: older revocations concern only tokens that have expired. The answer is as large
/// as the revocations of one token lifetime.
#[get("/internal/sessions/revoked")]
pub(crate) async fn revoked_sessions(
    _caller: FromRelayOrChat,
    state: web::Data<AppState>,
    query: web::Query<RevokedQuery>,
) -> ApiResult<HttpResponse> {
    let now = store_kit::now_ms();
    let since = query
        .since
        .max(now.saturating_sub(state.revocation_window_ms()));
    let rows = sessions::revoked_since(&state.db.pool, since).await?;
    Ok(HttpResponse::Ok().json(wire::RevokedSessions {
        sessions: rows
            .into_iter()
            .map(|(session_id, revoked_at)| wire::RevokedSession {
                session_id,
                revoked_at,
            })
            .collect(),
        now,
    }))
}
