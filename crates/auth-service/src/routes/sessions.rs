//! `/auth/sessions`: the caller's active sessions (one per log-in), and revoking one.

use actix_web::{HttpResponse, delete, get, web};
use serde::Serialize;
use service_kit::RequestId;
use tokens::actix::AuthUser;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::sessions;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    id: Uuid,
    device: Option<String>,
    ip: Option<String>,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    /// Whether this is the session the request's access token belongs to.
    current: bool,
}

#[utoipa::path(tag = "sessions", security(("bearer" = [])), responses((status = 200, description = "Active sessions", body = [SessionView])))]
#[get("/auth/sessions")]
pub(crate) async fn list(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let active = sessions::active(&state.db.pool, user.id, store_kit::now_ms()).await?;
    let views: Vec<SessionView> = active
        .into_iter()
        .map(|s| SessionView {
            id: s.id,
            device: s.user_agent,
            ip: s.ip,
            created_at: store_kit::rfc3339(s.created_at),
            last_used_at: store_kit::rfc3339(s.last_used_at),
            expires_at: store_kit::rfc3339(s.expires_at),
            current: user.session_id == Some(s.id),
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(tag = "sessions", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Session id")), responses((status = 204, description = "Revoked: its sockets are closed with 4003 and its access tokens refused (401 session_revoked)"), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[delete("/auth/sessions/{id}")]
pub(crate) async fn revoke(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let family_id = path.into_inner();
    if sessions::revoke_users_family(&state.db.pool, user.id, family_id, store_kit::now_ms())
        .await?
    {
        tracing::info!(user_id = %user.id, %family_id, "session revoked");
        super::disconnect_sessions(&state, [family_id], &request_id);
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("session"))
    }
}
