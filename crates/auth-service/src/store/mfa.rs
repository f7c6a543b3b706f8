//! The second factor: TOTP secrets (`user_totp`, sealed by [`crate::mfa::SecretBox`]),
//! recovery codes (`mfa_recovery_codes`, hashes only), log-in challenges (`mfa_challenges`,
//! hashes only) and the instance secret the TOTP key comes from (`instance_secrets`).

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::UuidText;
use uuid::Uuid;

use crate::domain::SecretToken;

/// An account's TOTP row.
pub struct TotpRow {
    pub secret_enc: String,
    pub enabled: bool,
}

pub async fn totp_of(pool: &AnyPool, user_id: Uuid) -> anyhow::Result<Option<TotpRow>> {
    let row: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT secret_enc, enabled_at FROM user_totp WHERE user_id = $1")
            .bind(UuidText(user_id))
            .fetch_optional(pool)
            .await
            .context("reading a TOTP secret")?;
    Ok(row.map(|(secret_enc, enabled_at)| TotpRow {
        secret_enc,
        enabled: enabled_at.is_some(),
    }))
}

/// Keeps a pending secret, replacing an older pending one; false (nothing written) when the
/// account has TOTP enabled.
pub async fn set_pending(
    pool: &AnyPool,
    user_id: Uuid,
    secret_enc: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO user_totp (user_id, secret_enc, enabled_at, last_step, created_at)
         VALUES ($1, $2, NULL, -1, $3)
         ON CONFLICT (user_id) DO UPDATE
            SET secret_enc = excluded.secret_enc, last_step = -1, created_at = excluded.created_at
            WHERE user_totp.enabled_at IS NULL",
    )
    .bind(UuidText(user_id))
    .bind(secret_enc)
    .bind(now)
    .execute(pool)
    .await
    .context("storing a pending TOTP secret")?;
    Ok(done.rows_affected() == 1)
}

/// Enables the pending secret, noting the step its confirming code came from; false when
/// there is no pending secret (none, or enabled meanwhile).
pub async fn enable(
    conn: &mut AnyConnection,
    user_id: Uuid,
    step: i64,
    now: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE user_totp SET enabled_at = $2, last_step = $3
         WHERE user_id = $1 AND enabled_at IS NULL",
    )
    .bind(UuidText(user_id))
    .bind(now)
    .bind(step)
    .execute(conn)
    .await
    .context("enabling TOTP")?;
    Ok(done.rows_affected() == 1)
}

/// Accepts a code of `step` if no code of that step or a later one was accepted before:
/// false for a replay. One statement, so two requests with one code cannot both pass.
pub async fn accept_step(pool: &AnyPool, user_id: Uuid, step: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE user_totp SET last_step = $2
         WHERE user_id = $1 AND enabled_at IS NOT NULL AND last_step < $2",
    )
    .bind(UuidText(user_id))
    .bind(step)
    .execute(pool)
    .await
    .context("accepting a TOTP step")?;
    Ok(done.rows_affected() == 1)
}

/// Turns the second factor off: the secret, the recovery codes and the challenges go.
pub async fn disable(conn: &mut AnyConnection, user_id: Uuid) -> anyhow::Result<()> {
    for sql in [
        "DELETE FROM user_totp WHERE user_id = $1",
        "DELETE FROM mfa_recovery_codes WHERE user_id = $1",
        "DELETE FROM mfa_challenges WHERE user_id = $1",
    ] {
        sqlx::query(sql)
            .bind(UuidText(user_id))
            .execute(&mut *conn)
            .await
            .context("turning TOTP off")?;
    }
    Ok(())
}

/// Replaces the account's recovery codes by these hashes.
pub async fn replace_recovery_codes(
    conn: &mut AnyConnection,
    user_id: Uuid,
    hashes: &[String],
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(UuidText(user_id))
        .execute(&mut *conn)
        .await
        .context("voiding recovery codes")?;
    for hash in hashes {
        sqlx::query(
            "INSERT INTO mfa_recovery_codes (user_id, code_hash, used_at, created_at)
             VALUES ($1, $2, NULL, $3)",
        )
        .bind(UuidText(user_id))
        .bind(hash)
        .bind(now)
        .execute(&mut *conn)
        .await
        .context("storing a recovery code")?;
    }
    Ok(())
}

/// Spends an unused recovery code; false when it is unknown or used.
pub async fn spend_recovery_code(
    pool: &AnyPool,
    user_id: Uuid,
    hash: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE mfa_recovery_codes SET used_at = $3
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(UuidText(user_id))
    .bind(hash)
    .bind(now)
    .execute(pool)
    .await
    .context("spending a recovery code")?;
    Ok(done.rows_affected() == 1)
}

/// Deletes log-in challenges past their expiry (the sweeper, every ten minutes).
pub async fn sweep(pool: &AnyPool, now: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM mfa_challenges WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await
        .context("sweeping log-in challenges")?;
    Ok(done.rows_affected())
}

/// Stores a log-in challenge (its hash).
pub async fn create_challenge(
    pool: &AnyPool,
    user_id: Uuid,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO mfa_challenges (token_hash, user_id, attempts, created_at, expires_at)
         VALUES ($1, $2, 0, $3, $4)",
    )
    .bind(token_hash)
    .bind(UuidText(user_id))
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await
    .context("storing a log-in challenge")?;
    Ok(())
}

/// The account of a live challenge.
pub async fn challenge_user(pool: &AnyPool, token: &str, now: i64) -> anyhow::Result<Option<Uuid>> {
    let row: Option<UuidText> = sqlx::query_scalar(
        "SELECT user_id FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(SecretToken::hash(token))
    .bind(now)
    .fetch_optional(pool)
    .await
    .context("reading a log-in challenge")?;
    Ok(row.map(Uuid::from))
}

/// Counts a wrong code against the challenge, deleting it at `max_attempts`.
pub async fn challenge_failed(
    pool: &AnyPool,
    token: &str,
    max_attempts: i64,
) -> anyhow::Result<()> {
    let hash = SecretToken::hash(token);
    sqlx::query("UPDATE mfa_challenges SET attempts = attempts + 1 WHERE token_hash = $1")
        .bind(&hash)
        .execute(pool)
        .await
        .context("counting a wrong code")?;
    sqlx::query("DELETE FROM mfa_challenges WHERE token_hash = $1 AND attempts >= $2")
        .bind(&hash)
        .bind(max_attempts)
        .execute(pool)
        .await
        .context("ending a challenge")?;
    Ok(())
}

/// Spends a challenge (deleted); false when it was spent meanwhile.
pub async fn spend_challenge(pool: &AnyPool, token: &str) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM mfa_challenges WHERE token_hash = $1")
        .bind(SecretToken::hash(token))
        .execute(pool)
        .await
        .context("spending a log-in challenge")?;
    Ok(done.rows_affected() == 1)
}

/// The secret called `name`: the stored one, or `make()`'s value stored first. Replicas
/// starting together both insert; `ON CONFLICT DO NOTHING` keeps the first and both read it.
pub async fn instance_secret(
    pool: &AnyPool,
    name: &str,
    make: impl FnOnce() -> anyhow::Result<String>,
    now: i64,
) -> anyhow::Result<String> {
    let read = async || {
        sqlx::query_scalar::<_, String>("SELECT value FROM instance_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await
            .with_context(|| format!("reading the instance secret {name}"))
    };
    if let Some(value) = read().await? {
        return Ok(value);
    }
    sqlx::query(
        "INSERT INTO instance_secrets (name, value, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(make()?)
    .bind(now)
    .execute(pool)
    .await
    .with_context(|| format!("storing the instance secret {name}"))?;
    read()
        .await?
        .with_context(|| format!("the instance secret {name} vanished after being stored"))
}
