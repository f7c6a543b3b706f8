//! `/internal/*`: user look-ups and mail for chat-service, and revoked sessions for
//! chat-service and the relays (each behind its caller's internal key).

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use service_kit::{FieldError, FromChat, FromRelayOrChat};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::mailer::Mail;
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
