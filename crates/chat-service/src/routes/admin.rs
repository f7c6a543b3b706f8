//! The admin pages' reads (staff): `GET /admin/audit` and `GET /admin/stats`.

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use service_kit::RequestId;
use tokens::actix::AuthUser;
use wire::moderation::AuditEntry;

use crate::error::ApiResult;
use crate::ops::admin::{AdminStats, AuditRequest};
use crate::ops::{self, Caller};
use crate::startup::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditQuery {
    actor_id: Option<String>,
    target_user_id: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditPage {
    entries: Vec<AuditEntry>,
    /// What to send as `cursor` for the next page (`<at_ms>:<id>` of the last entry); null on
    /// the last page.
    next_cursor: Option<String>,
    has_more: bool,
}

#[utoipa::path(tag = "admin", security(("bearer" = [])),
    params(("actorId" = Option<uuid::Uuid>, Query, description = "only this actor's entries"),
           ("targetUserId" = Option<uuid::Uuid>, Query, description = "only the entries about this user"),
           ("action" = Option<String>, Query, max_length = 64, description = "only this action (e.g. `member.mute`, `role.change`)"),
           ("since" = Option<String>, Query, format = DateTime, description = "RFC 3339: entries at or after it"),
           ("until" = Option<String>, Query, format = DateTime, description = "RFC 3339: entries before it"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1 to 100 (default 50)"),
           ("cursor" = Option<String>, Query, description = "the nextCursor of the previous page")),
    responses((status = 200, description = "The audit log of both services (`source`: auth or chat), newest first", body = AuditPage),
              (status = 400, body = service_kit::openapi::ProblemDoc),
              (status = 403, description = "staff_required", body = service_kit::openapi::ProblemDoc),
              (status = 503, description = "auth_unavailable: auth-service's half of the log could not be read (never a partial log)", body = service_kit::openapi::ProblemDoc)))]
#[get("/admin/audit")]
pub(crate) async fn audit(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    query: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let page = ops::admin::audit(
        &state,
        &Caller::from(&user),
        AuditRequest {
            actor_id: q.actor_id.as_deref(),
            target_user_id: q.target_user_id.as_deref(),
            action: q.action.as_deref(),
            since: q.since.as_deref(),
            until: q.until.as_deref(),
            limit: q.limit,
            cursor: q.cursor.as_deref(),
        },
        request_id.as_str(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        entries: page.entries,
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    }))
}

#[utoipa::path(tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "The instance's figures; those of a service that did not answer are null", body = AdminStats),
              (status = 403, description = "staff_required", body = service_kit::openapi::ProblemDoc)))]
#[get("/admin/stats")]
pub(crate) async fn stats(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
) -> ApiResult<HttpResponse> {
    let stats = ops::admin::stats(&state, &Caller::from(&user), request_id.as_str()).await?;
    Ok(HttpResponse::Ok().json(stats))
}
