//! E-mail verification links (`email_verifications`): hashed, expiring, single use, each
//! bound to the address it was sent to (docs/architecture.md, "E-mail verification").

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::UuidText;
use uuid::Uuid;

use crate::domain::SecretToken;

/// Creates a link's token for the user's address `email` and returns its plain form (for
/// the e-mail only).
pub async fn create(
    pool: &AnyPool,
    user_id: Uuid,
    email: &str,
    ttl_ms: i64,
    now: i64,
) -> anyhow::Result<String> {
    let token = SecretToken::generate()?;
    sqlx::query(
        "INSERT INTO email_verifications (id, user_id, email, token_hash, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(UuidText(Uuid::now_v7()))
    .bind(UuidText(user_id))
    .bind(email)
    .bind(&token.hash)
    .bind(now + ttl_ms)
    .bind(now)
    .execute(pool)
    .await
    .context("storing an e-mail verification token")?;
    Ok(token.plain)
}

/// Spends a usable token atomically and returns whose it was and the address it was sent
/// to; `None` when it is unknown, spent or expired. Spends the user's other links too: one
/// proof is enough.
pub async fn spend(
    conn: &mut AnyConnection,
    plain: &str,
    now: i64,
) -> anyhow::Result<Option<(Uuid, String)>> {
    let row: Option<(UuidText, String)> = sqlx::query_as(
        "UPDATE email_verifications SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING user_id, email",
    )
    .bind(SecretToken::hash(plain))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
    .context("spending an e-mail verification token")?;
    let Some((user_id, email)) = row else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE email_verifications SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("spending the other e-mail verification tokens")?;
    Ok(Some((user_id.into(), email)))
}

pub async fn sweep(pool: &AnyPool, now: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM email_verifications WHERE expires_at < $1")
        .bind(now)
        .execute(pool)
        .await
        .context("sweeping e-mail verification tokens")?;
    Ok(done.rows_affected())
}
