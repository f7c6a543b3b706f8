//! Single sign-on: sign-ins under way (`oidc_logins`), identities linked to accounts
//! (`user_identities`) and link requests waiting for the account's password
//! (`oidc_link_requests`). Secrets handed to the browser are kept as their SHA-256 only.

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::UuidText;
use uuid::Uuid;

use crate::domain::SecretToken;

/// How long a sign-in may take at the provider, and a link request may wait: ten minutes.
pub const PENDING_TTL_MS: i64 = 10 * 60 * 1000;

/// A sign-in under way, as the callback needs it.
pub struct PendingLogin {
    pub browser_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
}

/// Keeps a sign-in under way, found again by the hash of its `state`.
pub async fn start_login(
    pool: &AnyPool,
    state_hash: &str,
    login: &PendingLogin,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO oidc_logins
            (state_hash, browser_hash, nonce, pkce_verifier, return_to, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(state_hash)
    .bind(&login.browser_hash)
    .bind(&login.nonce)
    .bind(&login.pkce_verifier)
    .bind(&login.return_to)
    .bind(now)
    .bind(now + PENDING_TTL_MS)
    .execute(pool)
    .await
    .context("storing a sign-in")?;
    Ok(())
}

/// Spends the sign-in with this `state` (deleted whatever comes next, so a state works
/// once); `None` when it is unknown, spent or expired.
pub async fn take_login(
    pool: &AnyPool,
    state: &str,
    now: i64,
) -> anyhow::Result<Option<PendingLogin>> {
    let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
        "DELETE FROM oidc_logins WHERE state_hash = $1
         RETURNING browser_hash, nonce, pkce_verifier, return_to, expires_at",
    )
    .bind(SecretToken::hash(state))
    .fetch_optional(pool)
    .await
    .context("taking a sign-in")?;
    Ok(row.filter(|(.., expires_at)| *expires_at > now).map(
        |(browser_hash, nonce, pkce_verifier, return_to, _)| PendingLogin {
            browser_hash,
            nonce,
            pkce_verifier,
            return_to,
        },
    ))
}

/// The account an identity signs into, noting the sign-in.
pub async fn user_of_identity(
    pool: &AnyPool,
    issuer: &str,
    subject: &str,
    now: i64,
) -> anyhow::Result<Option<Uuid>> {
    let row: Option<UuidText> = sqlx::query_scalar(
        "UPDATE user_identities SET last_login_at = $3 WHERE issuer = $1 AND subject = $2
         RETURNING user_id",
    )
    .bind(issuer)
    .bind(subject)
    .bind(now)
    .fetch_optional(pool)
    .await
    .context("looking up an identity")?;
    Ok(row.map(Uuid::from))
}

/// An identity linked to an account: `(issuer, subject, email, linked at, last sign-in)`.
pub type Identity = (String, String, Option<String>, i64, i64);

/// The identities linked to the account, oldest first (its data export).
pub async fn identities_of(pool: &AnyPool, user_id: Uuid) -> anyhow::Result<Vec<Identity>> {
    sqlx::query_as(
        "SELECT issuer, subject, email, created_at, last_login_at FROM user_identities
         WHERE user_id = $1 ORDER BY created_at, issuer, subject",
    )
    .bind(UuidText(user_id))
    .fetch_all(pool)
    .await
    .context("listing linked identities")
}

/// Links an identity to an account (its first sign-in, or a confirmed link request); false
/// when the identity was already linked (to this account or another: see
/// [`user_of_identity`]).
pub async fn link_identity(
    conn: &mut AnyConnection,
    user_id: Uuid,
    issuer: &str,
    subject: &str,
    email: Option<&str>,
    now: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO user_identities (issuer, subject, user_id, email, created_at, last_login_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (issuer, subject) DO NOTHING",
    )
    .bind(issuer)
    .bind(subject)
    .bind(UuidText(user_id))
    .bind(email.map(str::to_owned))
    .bind(now)
    .execute(conn)
    .await
    .context("linking an identity")?;
    Ok(done.rows_affected() == 1)
}

/// An identity waiting for the password of the account it would be linked to.
pub struct LinkRequest {
    pub user_id: Uuid,
    pub issuer: String,
    pub subject: String,
    pub email: String,
}

/// Keeps a link request; returns the token for the web app (its hash is kept).
pub async fn request_link(
    pool: &AnyPool,
    request: &LinkRequest,
    now: i64,
) -> anyhow::Result<String> {
    let token = SecretToken::generate()?;
    sqlx::query(
        "INSERT INTO oidc_link_requests
            (token_hash, user_id, issuer, subject, email, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&token.hash)
    .bind(UuidText(request.user_id))
    .bind(&request.issuer)
    .bind(&request.subject)
    .bind(&request.email)
    .bind(now)
    .bind(now + PENDING_TTL_MS)
    .execute(pool)
    .await
    .context("storing a link request")?;
    Ok(token.plain)
}

/// The link request with this token, still usable, without spending it (a wrong password
/// leaves it for the next try; the log-in throttle counts the failures).
pub async fn peek_link(
    pool: &AnyPool,
    token: &str,
    now: i64,
) -> anyhow::Result<Option<LinkRequest>> {
    let row: Option<(UuidText, String, String, String)> = sqlx::query_as(
        "SELECT user_id, issuer, subject, email FROM oidc_link_requests
         WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(SecretToken::hash(token))
    .bind(now)
    .fetch_optional(pool)
    .await
    .context("reading a link request")?;
    Ok(row.map(|(user_id, issuer, subject, email)| LinkRequest {
        user_id: user_id.into(),
        issuer,
        subject,
        email,
    }))
}

/// Spends a link request; false when another request spent it first.
pub async fn spend_link(conn: &mut AnyConnection, token: &str, now: i64) -> anyhow::Result<bool> {
    let done =
        sqlx::query("DELETE FROM oidc_link_requests WHERE token_hash = $1 AND expires_at > $2")
            .bind(SecretToken::hash(token))
            .bind(now)
            .execute(conn)
            .await
            .context("spending a link request")?;
    Ok(done.rows_affected() == 1)
}

/// Deletes sign-ins and link requests past their ten minutes.
pub async fn sweep(pool: &AnyPool, now: i64) -> anyhow::Result<u64> {
    let logins = sqlx::query("DELETE FROM oidc_logins WHERE expires_at < $1")
        .bind(now)
        .execute(pool)
        .await
        .context("sweeping sign-ins")?;
    let links = sqlx::query("DELETE FROM oidc_link_requests WHERE expires_at < $1")
        .bind(now)
        .execute(pool)
        .await
        .context("sweeping link requests")?;
    Ok(logins.rows_affected() + links.rows_affected())
}
