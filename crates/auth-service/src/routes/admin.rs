//! `/admin/users*`: the accounts as staff see them (moderators and admins), and the role and
//! suspension changes only admins make. The caller's role is read from the database on every
//! request, never from the token, so a revoked role stops working at once.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, delete, get, put, web};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use service_kit::RequestId;
use service_kit::ratelimit::Quota;
use tokens::actix::AuthUser;
use uuid::Uuid;
use wire::moderation::{AccountStatus, AdminUser, SuspensionView};

use super::{client_ip, rate_limit};
use crate::domain::moderation::{PageCursor, UserFilter, parse_role};
use crate::domain::{Reason, SuspensionInput};
use crate::error::{ApiError, ApiResult};
use crate::ops::moderation::{self, Change};
use crate::startup::AppState;
use crate::store::audit::Actor;
use crate::store::moderation::{self as store, ListedUser, Target};

/// An account as staff see it at `now`.
pub(crate) fn admin_user(listed: &ListedUser, now: i64) -> AdminUser {
    let user = &listed.user;
    let suspension = user.suspension_in_force(now);
    AdminUser {
        id: user.id,
        username: user.username.clone(),
        email: user.email.clone(),
        role: user.role,
        status: if suspension.is_some() {
            AccountStatus::Suspended
        } else {
            AccountStatus::Active
        },
        suspension: suspension.map(|s| SuspensionView {
            reason: s.reason.clone(),
            since: store_kit::rfc3339(s.since),
            until: s.until.map(store_kit::rfc3339),
            hide_messages: s.hide_messages,
            by: s.by,
        }),
        created_at: store_kit::rfc3339(user.created_at),
        last_seen_at: listed.last_seen_at.map(store_kit::rfc3339),
    }
}

/// The account as it is now; 404 `user_not_found`.
pub(crate) async fn admin_view(state: &AppState, id: Uuid) -> ApiResult<AdminUser> {
    let listed = store::listed(&state.db.pool, id)
        .await?
        .ok_or(ApiError::UserNotFound)?;
    Ok(admin_user(&listed, store_kit::now_ms()))
}

/// Counts an admin change against the actor's `AUTH_ADMIN_ACTIONS_PER_MINUTE`.
pub(crate) async fn count_admin_action(state: &AppState, actor_id: Uuid) -> ApiResult<()> {
    let quota = Quota::per_minute(state.settings.rate_limits.admin_actions_per_minute);
    rate_limit(state, "admin:user", &actor_id.to_string(), quota).await
}

/// A committed change's effects (the dispatcher woken, a suspended account's sessions ended),
/// then the account as the answer.
pub(crate) async fn answer(
    state: &AppState,
    change: &Change,
    request_id: &RequestId,
) -> ApiResult<HttpResponse> {
    moderation::after_commit(state, change, request_id).await?;
    Ok(HttpResponse::Ok().json(admin_view(state, change.user.id).await?))
}

/// The admin acting through the public API: the token's user if their stored role is admin
/// (else 403 `admin_required`), counted against `AUTH_ADMIN_ACTIONS_PER_MINUTE`, with the
/// client's address for the audit log.
pub(crate) struct AdminActor(Actor);

impl FromRequest for AdminActor {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let user = user.await?;
            let Some(state) = req.app_data::<web::Data<AppState>>() else {
                return Err(ApiError::Unexpected(anyhow::anyhow!("no AppState")).into());
            };
            let admin = moderation::require_admin(&state.db.pool, user.id).await?;
            count_admin_action(state, admin.id).await?;
            Ok(Self(Actor {
                id: Some(admin.id),
                name: admin.username,
                ip: Some(client_ip(state, &req)),
            }))
        })
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// The start of the username or of the e-mail address, case-insensitive.
    #[param(max_length = 100)]
    q: Option<String>,
    /// Empty: any role.
    #[param(pattern = "^(user|moderator|admin)?$")]
    role: Option<String>,
    /// `suspended`: a suspension is in force now. Empty: either.
    #[param(pattern = "^(active|suspended)?$")]
    status: Option<String>,
    /// 50 by default.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The `nextCursor` of the previous page (empty: the first page).
    #[param(
        pattern = "^([0-9]{1,18}:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
    )]
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AdminUserPage {
    users: Vec<AdminUser>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    next_cursor: Option<String>,
    has_more: bool,
}

/// Accounts, newest first, for staff.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(ListQuery), responses((status = 200, body = AdminUserPage), (status = 400, description = "Invalid filters or cursor", body = service_kit::openapi::ProblemDoc), (status = 403, description = "Neither moderator nor admin (staff_required)", body = service_kit::openapi::ProblemDoc)))]
#[get("/admin/users")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    moderation::require_staff(&state.db.pool, user.id).await?;
    let q = query.into_inner();
    let filter = UserFilter::parse(
        q.q.as_deref(),
        q.role.as_deref(),
        q.status.as_deref(),
        q.limit,
        q.cursor.as_deref(),
    )
    .map_err(ApiError::Validation)?;
    let now = store_kit::now_ms();
    let mut rows = store::page(&state.db.pool, &filter, now).await?;
    let has_more = rows.len() as i64 > filter.limit;
    rows.truncate(usize::try_from(filter.limit).unwrap_or_default());
    let next_cursor = rows.last().filter(|_| has_more).map(|last| {
        PageCursor {
            ms: last.user.created_at,
            id: last.user.id,
        }
        .to_string()
    });
    Ok(HttpResponse::Ok().json(AdminUserPage {
        users: rows.iter().map(|r| admin_user(r, now)).collect(),
        next_cursor,
        has_more,
    }))
}

#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path)), responses((status = 200, body = AdminUser), (status = 403, description = "staff_required", body = service_kit::openapi::ProblemDoc), (status = 404, description = "user_not_found", body = service_kit::openapi::ProblemDoc)))]
#[get("/admin/users/{id}")]
pub(crate) async fn by_id(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    moderation::require_staff(&state.db.pool, user.id).await?;
    Ok(HttpResponse::Ok().json(admin_view(&state, path.into_inner()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RoleBody {
    #[serde(default)]
    #[schema(required = true, pattern = "^(user|moderator|admin)$")]
    role: String,
    /// Kept in the audit log (at most 500 characters).
    #[schema(max_length = 500)]
    reason: Option<String>,
}

/// Gives an account a role (admins only). The same role again changes nothing and writes no
/// audit row.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = RoleBody, responses((status = 200, body = AdminUser), (status = 400, body = service_kit::openapi::ProblemDoc), (status = 403, description = "Not an admin (admin_required)", body = service_kit::openapi::ProblemDoc), (status = 404, description = "user_not_found", body = service_kit::openapi::ProblemDoc), (status = 409, description = "Your own account (cannot_target_self)", body = service_kit::openapi::ProblemDoc), (status = 429, description = "More than AUTH_ADMIN_ACTIONS_PER_MINUTE changes this minute", body = service_kit::openapi::ProblemDoc)))]
#[put("/admin/users/{id}/role")]
pub(crate) async fn set_role(
    state: web::Data<AppState>,
    AdminActor(actor): AdminActor,
    request_id: RequestId,
    path: web::Path<Uuid>,
    body: web::Json<RoleBody>,
) -> ApiResult<HttpResponse> {
    let role = parse_role("role", &body.role);
    let reason = Reason::parse_optional("reason", body.reason.as_deref());
    let (role, reason) = match (role, reason) {
        (Ok(role), Ok(reason)) => (role, reason),
        (role, reason) => {
            let errors = [role.err(), reason.err()];
            return Err(ApiError::Validation(errors.into_iter().flatten().collect()));
        }
    };
    let target = path.into_inner();
    let now = store_kit::now_ms();
    let change = moderation::change_role(
        &state.db.pool,
        &actor,
        Target::Id(target),
        role,
        reason.as_ref(),
        now,
    )
    .await?;
    if change.changed {
        tracing::info!(actor_id = ?actor.id, user_id = %target, from = %change.previous_role, to = %role, "role changed");
    }
    answer(&state, &change, &request_id).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SuspensionBody {
    /// Shown to the account when it tries to log in, and kept in the audit log.
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
    /// RFC 3339, in the future; absent: until lifted.
    until: Option<String>,
    /// Hide the account's messages from everyone but staff while the suspension lasts.
    hide_messages: Option<bool>,
}

/// Suspends an account (admins only), replacing any suspension: every session ends (sockets
/// closed with 4003), log-in and refresh answer 403 `account_suspended`.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = SuspensionBody, responses((status = 200, body = AdminUser), (status = 400, body = service_kit::openapi::ProblemDoc), (status = 403, description = "Not an admin (admin_required)", body = service_kit::openapi::ProblemDoc), (status = 404, description = "user_not_found", body = service_kit::openapi::ProblemDoc), (status = 409, description = "Your own account (cannot_target_self), or an admin (target_is_admin)", body = service_kit::openapi::ProblemDoc), (status = 429, description = "More than AUTH_ADMIN_ACTIONS_PER_MINUTE changes this minute", body = service_kit::openapi::ProblemDoc)))]
#[put("/admin/users/{id}/suspension")]
pub(crate) async fn suspend(
    state: web::Data<AppState>,
    AdminActor(actor): AdminActor,
    request_id: RequestId,
    path: web::Path<Uuid>,
    body: web::Json<SuspensionBody>,
) -> ApiResult<HttpResponse> {
    let now = store_kit::now_ms();
    let input =
        SuspensionInput::parse(&body.reason, body.until.as_deref(), body.hide_messages, now)
            .map_err(ApiError::Validation)?;
    let target = path.into_inner();
    let change = moderation::suspend(&state.db.pool, &actor, target, &input, now).await?;
    tracing::info!(actor_id = ?actor.id, user_id = %target, until = ?input.until, "account suspended");
    answer(&state, &change, &request_id).await
}

/// Lifts an account's suspension (admins only); an account not suspended is answered as it is.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path)), responses((status = 200, body = AdminUser), (status = 403, description = "Not an admin (admin_required)", body = service_kit::openapi::ProblemDoc), (status = 404, description = "user_not_found", body = service_kit::openapi::ProblemDoc), (status = 409, description = "Your own account (cannot_target_self)", body = service_kit::openapi::ProblemDoc), (status = 429, description = "More than AUTH_ADMIN_ACTIONS_PER_MINUTE changes this minute", body = service_kit::openapi::ProblemDoc)))]
#[delete("/admin/users/{id}/suspension")]
pub(crate) async fn lift(
    state: web::Data<AppState>,
    AdminActor(actor): AdminActor,
    request_id: RequestId,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let target = path.into_inner();
    let change = moderation::lift(&state.db.pool, &actor, target, store_kit::now_ms()).await?;
    if change.changed {
        tracing::info!(actor_id = ?actor.id, user_id = %target, "suspension lifted");
    }
    answer(&state, &change, &request_id).await
}
