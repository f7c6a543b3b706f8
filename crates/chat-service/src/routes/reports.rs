//! Reports: `POST /messages/{id}/reports` (anyone who can read the message), and the queue
//! of who moderates: `GET /reports`, `POST /reports/{id}/resolve`.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use service_kit::RequestId;
use tokens::actix::AuthUser;

use super::publish;
use crate::error::ApiResult;
use crate::ops::reports::{Query, Resolve};
use crate::ops::{self, Actor, Caller};
use crate::startup::AppState;
use crate::views::ReportView;

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ReportBody {
    /// 1 to 1000 characters once trimmed.
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 1000, pattern = r"\S")]
    reason: String,
}

#[utoipa::path(tag = "reports", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ReportBody,
    responses((status = 201, description = "Reported: the room's moderators (staff for general and direct rooms) see it in their queue, with the text as it is now", body = ReportView),
              (status = 400, body = service_kit::openapi::ProblemDoc),
              (status = 404, description = "message_not_found: no such message, a deleted one, or one in a room the caller cannot read", body = service_kit::openapi::ProblemDoc),
              (status = 409, description = "cannot_target_self (one's own message) or already_reported (an open report of the caller's)", body = service_kit::openapi::ProblemDoc),
              (status = 429, description = "rate_limited: CHAT_REPORTS_PER_HOUR per user, with Retry-After", body = service_kit::openapi::ProblemDoc)))]
#[post("/messages/{id}/reports")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: web::Json<ReportBody>,
) -> ApiResult<HttpResponse> {
    let report = ops::reports::create(
        &state,
        &Caller::from(&user),
        path.into_inner(),
        &body.reason,
    )
    .await?;
    Ok(HttpResponse::Created().json(ReportView::from(&report)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportsQuery {
    status: Option<String>,
    room_id: Option<i64>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportPage {
    reports: Vec<ReportView>,
    /// What to send as `cursor` for the next page; null on the last.
    next_cursor: Option<String>,
    has_more: bool,
}

#[utoipa::path(tag = "reports", security(("bearer" = [])),
    params(("status" = Option<String>, Query, pattern = "^(open|resolved)$", description = "open (the default) or resolved"),
           ("roomId" = Option<i64>, Query, description = "only this room's (the caller must moderate it)"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1 to 100 (default 50)"),
           ("cursor" = Option<String>, Query, pattern = "^[1-9][0-9]{0,17}$", description = "the nextCursor of the previous page")),
    responses((status = 200, description = "Reports, newest first: staff see every one, the owners and moderators of group rooms those of their rooms", body = ReportPage),
              (status = 400, body = service_kit::openapi::ProblemDoc),
              (status = 403, description = "moderator_required: the caller moderates no room (or not the room asked)", body = service_kit::openapi::ProblemDoc)))]
#[get("/reports")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ReportsQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let page = ops::reports::list(
        &state,
        &Caller::from(&user),
        Query {
            status: query.status.as_deref(),
            room_id: query.room_id,
            limit: query.limit,
            cursor: query.cursor.as_deref(),
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(ReportPage {
        reports: page.reports.iter().map(ReportView::from).collect(),
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResolveBody {
    /// `dismiss`, `delete_message`, `mute` or `suspend`.
    #[serde(default)]
    #[schema(required = true, pattern = "^(dismiss|delete_message|mute|suspend)$")]
    action: String,
    /// At most 1000 characters; the reason recorded (and, for `suspend`, the suspension's).
    #[schema(max_length = 1000)]
    note: Option<String>,
    /// `mute`: how long (required, CHAT_MIN_MUTE_SECONDS to CHAT_MAX_MUTE_SECONDS); `suspend`:
    /// how long (left out: until lifted).
    #[serde(default, deserialize_with = "service_kit::number::optional_whole")]
    #[schema(minimum = 1)]
    duration_seconds: Option<i64>,
    /// `suspend`: hide the author's messages from everyone but staff while suspended.
    hide_messages: Option<bool>,
}

#[utoipa::path(tag = "reports", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ResolveBody,
    responses((status = 200, description = "Resolved, with every other open report of the same message alike: `delete_message` deletes it (the room hears messageDeleted with byModerator), `mute` mutes its author in the room (memberMuted), `suspend` suspends its author through auth-service. Recorded in the audit log (report.resolve, and the action's own row)", body = ReportView),
              (status = 400, body = service_kit::openapi::ProblemDoc),
              (status = 403, description = "moderator_required (the caller does not moderate the report's room; staff only for general and direct rooms), admin_required (`suspend`), direct_room (`mute` in a direct room)", body = service_kit::openapi::ProblemDoc),
              (status = 404, description = "report_not_found", body = service_kit::openapi::ProblemDoc),
              (status = 409, description = "report_resolved; cannot_target_self or target_is_admin (`suspend`)", body = service_kit::openapi::ProblemDoc),
              (status = 503, description = "auth_unavailable (`suspend`): nothing was done, the report stays open", body = service_kit::openapi::ProblemDoc)))]
#[post("/reports/{id}/resolve")]
pub(crate) async fn resolve(
    state: web::Data<AppState>,
    actor: Actor,
    request_id: RequestId,
    path: web::Path<i64>,
    body: web::Json<ResolveBody>,
) -> ApiResult<HttpResponse> {
    let outcome = ops::reports::resolve(
        &state,
        &actor,
        path.into_inner(),
        Resolve {
            action: &body.action,
            note: body.note.as_deref(),
            duration_seconds: body.duration_seconds,
            hide_messages: body.hide_messages,
        },
        request_id.as_str(),
    )
    .await?;
    let report = publish(&state, outcome, &request_id);
    Ok(HttpResponse::Ok().json(ReportView::from(&report)))
}
