//! `/internal/*`: user look-ups, mail and moderation (the audit log, figures, suspensions
//! decided in chat-service) for chat-service, and revoked sessions for chat-service and the
//! relays (each behind its caller's internal key).

use actix_web::{HttpResponse, get, put, web};
use serde::Deserialize;
use service_kit::{FieldError, FromChat, FromRelayOrChat, RequestId};
use uuid::Uuid;

use crate::domain::SuspensionInput;
use crate::domain::moderation::AuditFilter;
use crate::error::{ApiError, ApiResult};
use crate::mailer::Mail;
use crate::ops::moderation;
use crate::startup::AppState;
use crate::store::audit::Actor;
use crate::store::{audit, sessions, users};

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AuditQuery {
    limit: Option<i64>,
    /// `<at_ms>:<id>` of the last entry of the previous page.
    before: Option<String>,
    actor_id: Option<Uuid>,
    target_user_id: Option<Uuid>,
    action: Option<String>,
    /// Unix ms, inclusive.
    since: Option<i64>,
    /// Unix ms, exclusive (as chat-service's own log).
    until: Option<i64>,
}

/// auth-service's audit rows, newest first, for chat-service's `GET /admin/audit` (which
/// merges them with its own).
#[get("/internal/audit")]
pub(crate) async fn audit_log(
    _caller: FromChat,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let filter = AuditFilter {
        actor_id: q.actor_id,
        target_user_id: q.target_user_id,
        since: q.since,
        until: q.until,
        ..AuditFilter::parse(q.limit, q.before.as_deref(), q.action.as_deref())
            .map_err(ApiError::Validation)?
    };
    let entries = audit::page(&state.db.pool, &filter).await?;
    Ok(HttpResponse::Ok().json(wire::moderation::AuditEntries { entries }))
}

/// The accounts by kind, for chat-service's `GET /admin/stats`.
#[get("/internal/stats")]
pub(crate) async fn stats(
    _caller: FromChat,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let stats = crate::store::moderation::stats(&state.db.pool, store_kit::now_ms()).await?;
    Ok(HttpResponse::Ok().json(stats))
}

/// The most characters of an actor's name or address kept from chat-service's request.
const MAX_ACTOR_FIELD_CHARS: usize = 64;

/// A suspension decided in chat-service (a report's resolution): the same operation and rules
/// as `PUT /admin/users/{id}/suspension`, the actor checked again against its stored role.
#[put("/internal/users/{id}/suspension")]
pub(crate) async fn suspend(
    _caller: FromChat,
    state: web::Data<AppState>,
    request_id: RequestId,
    path: web::Path<Uuid>,
    body: web::Json<wire::moderation::SuspensionRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let admin = moderation::require_admin(&state.db.pool, body.actor_id).await?;
    super::admin::count_admin_action(&state, admin.id).await?;
    let now = store_kit::now_ms();
    let input =
        SuspensionInput::parse(&body.reason, body.until.as_deref(), body.hide_messages, now)
            .map_err(ApiError::Validation)?;
    let capped = |s: &str| {
        s.trim()
            .chars()
            .take(MAX_ACTOR_FIELD_CHARS)
            .collect::<String>()
    };
    let name = capped(&body.actor_name);
    let actor = Actor {
        id: Some(admin.id),
        name: if name.is_empty() {
            admin.username
        } else {
            name
        },
        ip: body.ip.as_deref().map(capped),
    };
    let target = path.into_inner();
    let change = moderation::suspend(&state.db.pool, &actor, target, &input, now).await?;
    tracing::info!(actor_id = %admin.id, user_id = %target, until = ?input.until, "account suspended from chat-service");
    super::admin::answer(&state, &change, &request_id).await
}

/// Mails a user on chat-service's behalf (e-mail digests): chat-service never learns
/// addresses. 202 once the mail is handed to the mailer in the background, as the other mails
/// are; an SMTP failure after that is logged and counted, not answered.
pub(crate) async fn mail(
    _caller: FromChat,
    state: web::Data<AppState>,
    body: web::Json<wire::MailRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    check_mail(&body).map_err(ApiError::Validation)?;
    let user = users::by_id(&state.db.pool, body.user_id)
        .await?
        .ok_or(ApiError::UserNotFound)?;
    let mail = Mail {
        to: user.email,
        subject: body.subject,
        body: body.text,
        unsubscribe_url: body.unsubscribe_url,
    };
    crate::mailer::send_in_background(state.mailer.clone(), mail, "chat");
    Ok(HttpResponse::Accepted().finish())
}

/// A subject of one line, a bounded text, and an unsubscribe URL that is one http(s) URL with
/// nothing that could end the header it goes in.
fn check_mail(mail: &wire::MailRequest) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let subject_chars = mail.subject.chars().count();
    if subject_chars == 0
        || subject_chars > wire::MAIL_SUBJECT_MAX_CHARS
        || mail.subject.chars().any(char::is_control)
    {
        errors.push(FieldError::new(
            "subject",
            "must be 1 to 200 characters on one line",
        ));
    }
    if mail.text.is_empty() || mail.text.len() > wire::MAIL_TEXT_MAX_BYTES {
        errors.push(FieldError::new("text", "must be 1 byte to 64 KiB"));
    }
    if let Some(url) = &mail.unsubscribe_url {
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        let chars_ok = url
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
        if !scheme_ok || !chars_ok || url.len() > wire::MAIL_URL_MAX_BYTES {
            errors.push(FieldError::new(
                "unsubscribeUrl",
                "must be an http(s) URL of printable ASCII without < or >, at most 2048 bytes",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
