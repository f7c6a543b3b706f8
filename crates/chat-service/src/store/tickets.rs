//! Single-use WebSocket tickets: 128+ random bits handed to the browser, only their SHA-256
//! stored, consumed atomically by `DELETE ... RETURNING`.

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::UuidText;
use tokens::SecretToken;
use uuid::Uuid;

/// Who bought a ticket: the connection it opens inherits the user, the session (so that it
/// can be closed when the session is revoked) and the expiry (Unix seconds) of the access
/// token it was bought with.
#[derive(Debug, Clone)]
pub struct Holder {
    pub user_id: Uuid,
    pub username: String,
    pub session_id: Option<Uuid>,
    pub token_expires_at: i64,
}

/// Issues a ticket for `holder`.
pub async fn issue(
    pool: &AnyPool,
    holder: &Holder,
    ttl_ms: i64,
    now: i64,
) -> anyhow::Result<String> {
    let ticket = SecretToken::generate()?;
    sqlx::query(
        "INSERT INTO ws_tickets (ticket_hash, user_id, username, session_id, token_expires_at, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&ticket.hash)
    .bind(UuidText(holder.user_id))
    .bind(holder.username.as_str())
    .bind(holder.session_id.map(UuidText))
    .bind(holder.token_expires_at)
    .bind(now + ttl_ms)
    .bind(now)
    .execute(pool)
    .await
    .context("storing a ticket")?;
    Ok(ticket.plain)
}

/// Who the ticket was issued to, if it is valid; it can never be used again.
pub async fn consume(pool: &AnyPool, ticket: &str, now: i64) -> anyhow::Result<Option<Holder>> {
    let row: Option<(UuidText, String, Option<UuidText>, i64, i64)> = sqlx::query_as(
        "DELETE FROM ws_tickets WHERE ticket_hash = $1
         RETURNING user_id, username, session_id, token_expires_at, expires_at",
    )
    .bind(SecretToken::hash(ticket))
    .fetch_optional(pool)
    .await
    .context("consuming a ticket")?;
    match row {
        Some((user_id, username, session_id, token_expires_at, expires_at)) if expires_at > now => {
            Ok(Some(Holder {
                user_id: user_id.into(),
                username,
                session_id: session_id.map(Uuid::from),
                token_expires_at,
            }))
        }
        _ => Ok(None),
    }
}

pub async fn sweep(pool: &AnyPool, now: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM ws_tickets WHERE expires_at < $1")
        .bind(now)
        .execute(pool)
        .await
        .context("sweeping tickets")?;
    Ok(done.rows_affected())
}
