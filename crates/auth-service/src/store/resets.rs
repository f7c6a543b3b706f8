//! Password-reset tokens: hashed, one hour, single use.

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::UuidText;
use uuid::Uuid;

use crate::domain::SecretToken;

/// Creates a token for the user and returns its plain form (for the e-mail only).
pub async fn create(
    pool: &AnyPool,
    user_id: Uuid,
    ttl_ms: i64,
    now: i64,
) -> anyhow::Result<String> {
    let token = SecretToken::generate()?;
    sqlx::query(
        "INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(UuidText(Uuid::now_v7()))
    .bind(UuidText(user_id))
    .bind(&token.hash)
    .bind(now + ttl_ms)
    .bind(now)
    .execute(pool)
    .await
    .context("storing a reset token")?;
    Ok(token.plain)
}

/// The user a still-usable token belongs to, without spending it.
pub async fn peek(pool: &AnyPool, plain: &str, now: i64) -> anyhow::Result<Option<Uuid>> {
    let row: Option<UuidText> = sqlx::query_scalar(
        "SELECT user_id FROM password_reset_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(SecretToken::hash(plain))
    .bind(now)
    .fetch_optional(pool)
    .await
    .context("looking up a reset token")?;
    Ok(row.map(Uuid::from))
}

/// Spends the token atomically; `false` when it was already used or has expired meanwhile.
/// Also spends the user's other outstanding reset tokens.
pub async fn spend(
    conn: &mut AnyConnection,
    plain: &str,
    user_id: Uuid,
    now: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE password_reset_tokens SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(SecretToken::hash(plain))
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("spending a reset token")?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(UuidText(user_id))
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("spending the other reset tokens")?;
    Ok(true)
}

pub async fn sweep(pool: &AnyPool, now: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM password_reset_tokens WHERE expires_at < $1")
        .bind(now)
        .execute(pool)
        .await
        .context("sweeping reset tokens")?;
    Ok(done.rows_affected())
}
