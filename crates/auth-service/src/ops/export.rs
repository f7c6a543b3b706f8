//! A person's data export (`POST /users/me/export`, GDPR article 20): what auth-service keeps
//! of them — the profile, sessions, linked identities — then what chat-service streams, then
//! the `end` line with the count of the lines before it (docs/architecture.md,
//! "Data export"). Nothing is gathered in memory but auth-service's own few lines.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt, stream};
use service_kit::ratelimit::Quota;
use store_kit::rfc3339;
use wire::export::{
    EXPORT_FORMAT_VERSION, ExportEnd, ExportHeader, ExportIdentity, ExportLine, ExportProfile,
    ExportSession, count_lines,
};

use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::users::User;
use crate::store::{oidc, sessions};

/// The export's lines, ready to stream: refused (429) past `AUTH_EXPORTS_PER_HOUR`, and
/// 503 `export_unavailable` when chat-service does not answer.
pub async fn export(
    state: &AppState,
    user: &User,
) -> ApiResult<impl Stream<Item = Result<Bytes, anyhow::Error>> + 'static> {
    crate::routes::rate_limit(
        state,
        "export:user",
        &user.id.to_string(),
        Quota::per_hour(state.settings.rate_limits.exports_per_hour),
    )
    .await?;
    let head = own_lines(state, user).await?;
    let chat = state.chat.export(user.id).await.map_err(|e| {
        tracing::warn!(error = ?e, user_id = %user.id, "a data export could not start");
        ApiError::ExportUnavailable
    })?;
    tracing::info!(user_id = %user.id, "data export started");

    let lines = Arc::new(AtomicU64::new(head.iter().map(|l| count_lines(l)).sum()));
    let counted = lines.clone();
    let user_id = user.id;
    let body = chat
        .map_ok(move |chunk| {
            counted.fetch_add(count_lines(&chunk), Ordering::Relaxed);
            chunk
        })
        .map_err(move |e| {
            tracing::error!(error = ?e, %user_id, "a data export was cut short by chat-service");
            anyhow::Error::from(e)
        });
    let end = stream::once(async move {
        let lines = lines.load(Ordering::Relaxed);
        Ok(Bytes::from(ExportLine::End(ExportEnd { lines }).to_line()))
    });
    Ok(stream::iter(head.into_iter().map(|l| Ok(Bytes::from(l))))
        .chain(body)
        .chain(end))
}

/// The header, the profile, the sessions and the linked identities.
async fn own_lines(state: &AppState, user: &User) -> ApiResult<Vec<Vec<u8>>> {
    let pool = &state.db.pool;
    let mut out = vec![
        ExportLine::Export(ExportHeader {
            version: EXPORT_FORMAT_VERSION,
            user_id: user.id,
            exported_at: rfc3339(store_kit::now_ms()),
        })
        .to_line(),
        ExportLine::Profile(ExportProfile {
            id: user.id,
            username: user.username.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified(),
            role: user.role.as_str().to_owned(),
            mfa_enabled: user.mfa_enabled,
            created_at: rfc3339(user.created_at),
            updated_at: rfc3339(user.updated_at),
        })
        .to_line(),
    ];
    for record in sessions::history(pool, user.id).await? {
        let s = record.session;
        out.push(
            ExportLine::Session(ExportSession {
                id: s.id,
                created_at: rfc3339(s.created_at),
                last_used_at: rfc3339(s.last_used_at),
                expires_at: rfc3339(s.expires_at),
                revoked_at: record.revoked_at.map(rfc3339),
                user_agent: s.user_agent,
                ip: s.ip,
            })
            .to_line(),
        );
    }
    for (issuer, subject, email, linked_at, last_login_at) in
        oidc::identities_of(pool, user.id).await?
    {
        out.push(
            ExportLine::Identity(ExportIdentity {
                issuer,
                subject,
                email,
                linked_at: rfc3339(linked_at),
                last_login_at: rfc3339(last_login_at),
            })
            .to_line(),
        );
    }
    Ok(out)
}
