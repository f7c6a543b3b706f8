//! Refresh tokens, grouped in families. A family is one log-in on one device — what the
//! user sees as a session. Rotation spends the presented token and issues its successor in
//! the same family; a token presented again after it was rotated means two parties hold it,
//! so the whole family is revoked (reuse detection). A family never outlives its absolute
//! expiry, however often it is rotated.

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::UuidText;
use uuid::Uuid;

use crate::domain::SecretToken;

/// Lifetimes for new tokens.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub token_ms: i64,
    pub family_ms: i64,
}

/// A freshly issued refresh token.
pub struct Issued {
    pub plain: String,
    pub family_id: Uuid,
    pub expires_at: i64,
}

/// Where the client is.
#[derive(Debug, Clone, Default)]
pub struct Device {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

pub enum Rotation {
    Rotated {
        user_id: Uuid,
        issued: Issued,
    },
    /// The token had already been rotated: the family is now revoked.
    Reused {
        user_id: Uuid,
        family_id: Uuid,
    },
    /// Unknown, expired, or revoked by a log-out.
    Invalid,
}

/// Starts a new family (a log-in).
pub async fn start(
    pool: &AnyPool,
    user_id: Uuid,
    device: &Device,
    lifetimes: Lifetimes,
    now: i64,
) -> anyhow::Result<Issued> {
    let family_id = Uuid::now_v7();
    let family_expires_at = now + lifetimes.family_ms;
    let mut conn = pool.acquire().await.context("acquiring a connection")?;
    let family = Family {
        user_id,
        family_id,
        created_at: now,
        expires_at: family_expires_at,
    };
    insert(&mut conn, Uuid::now_v7(), &family, device, lifetimes, now).await
}

struct Family {
    user_id: Uuid,
    family_id: Uuid,
    created_at: i64,
    expires_at: i64,
}

async fn insert(
    conn: &mut AnyConnection,
    id: Uuid,
    family: &Family,
    device: &Device,
    lifetimes: Lifetimes,
    now: i64,
) -> anyhow::Result<Issued> {
    let token = SecretToken::generate()?;
    let expires_at = (now + lifetimes.token_ms).min(family.expires_at);
    sqlx::query(
        "INSERT INTO refresh_tokens
            (id, user_id, family_id, token_hash, expires_at, family_created_at, family_expires_at,
             user_agent, ip, created_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(UuidText(id))
    .bind(UuidText(family.user_id))
    .bind(UuidText(family.family_id))
    .bind(&token.hash)
    .bind(expires_at)
    .bind(family.created_at)
    .bind(family.expires_at)
    .bind(device.user_agent.clone())
    .bind(device.ip.clone())
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("inserting a refresh token")?;
    Ok(Issued {
        plain: token.plain,
        family_id: family.family_id,
        expires_at,
    })
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: UuidText,
    user_id: UuidText,
    family_id: UuidText,
    expires_at: i64,
    family_created_at: i64,
    family_expires_at: i64,
    revoked_at: Option<i64>,
    replaced_by: Option<UuidText>,
}

async fn find(pool: &AnyPool, plain: &str) -> anyhow::Result<Option<TokenRow>> {
    sqlx::query_as(
        "SELECT id, user_id, family_id, expires_at, family_created_at, family_expires_at, revoked_at, replaced_by
         FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(SecretToken::hash(plain))
    .fetch_optional(pool)
    .await
    .context("looking up a refresh token")
}

/// Spends `plain` and issues its successor, atomically: of two concurrent rotations of one
/// token exactly one wins; the other is treated as reuse.
pub async fn rotate(
    pool: &AnyPool,
    plain: &str,
    device: &Device,
    lifetimes: Lifetimes,
    now: i64,
) -> anyhow::Result<Rotation> {
    let Some(row) = find(pool, plain).await? else {
        return Ok(Rotation::Invalid);
    };
    let user_id = Uuid::from(row.user_id);
    let family_id = Uuid::from(row.family_id);
    if row.revoked_at.is_some() {
        if row.replaced_by.is_some() {
            revoke_family(pool, family_id, "reuse_detected", now).await?;
            return Ok(Rotation::Reused { user_id, family_id });
        }
        return Ok(Rotation::Invalid);
    }
    if row.expires_at <= now || row.family_expires_at <= now {
        return Ok(Rotation::Invalid);
    }

    let mut tx = pool.begin().await.context("starting a rotation")?;
    // The write comes first so SQLite takes the write lock at once (a deferred transaction
    // that reads first can fail to upgrade under contention).
    let successor_id = Uuid::now_v7();
    let claimed = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2, revoked_reason = 'rotated', replaced_by = $3, last_used_at = $2
         WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(row.id)
    .bind(now)
    .bind(UuidText(successor_id))
    .execute(&mut *tx)
    .await
    .context("spending a refresh token")?
    .rows_affected();
    if claimed != 1 {
        tx.rollback().await.ok();
        revoke_family(pool, family_id, "reuse_detected", now).await?;
        return Ok(Rotation::Reused { user_id, family_id });
    }
    let family = Family {
        user_id,
        family_id,
        created_at: row.family_created_at,
        expires_at: row.family_expires_at,
    };
    let issued = insert(&mut tx, successor_id, &family, device, lifetimes, now).await?;
    tx.commit().await.context("committing a rotation")?;
    Ok(Rotation::Rotated { user_id, issued })
}

/// The family a token belongs to, if the token exists.
pub async fn family_of(pool: &AnyPool, plain: &str) -> anyhow::Result<Option<(Uuid, Uuid)>> {
    Ok(find(pool, plain)
        .await?
        .map(|row| (row.user_id.into(), row.family_id.into())))
}

/// Revokes one session and records when.
pub async fn revoke_family(
    pool: &AnyPool,
    family_id: Uuid,
    reason: &str,
    now: i64,
) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await.context("starting a revocation")?;
    let done = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2, revoked_reason = $3 WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(UuidText(family_id))
    .bind(now)
    .bind(reason.to_owned())
    .execute(&mut *tx)
    .await
    .context("revoking a session")?;
    record_revoked(&mut tx, &[family_id], reason, now).await?;
    tx.commit().await.context("committing a revocation")?;
    Ok(done.rows_affected())
}

/// Revokes one of the user's sessions; false when the user has no such active session.
pub async fn revoke_users_family(
    pool: &AnyPool,
    user_id: Uuid,
    family_id: Uuid,
    now: i64,
) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await.context("starting a revocation")?;
    let done = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $3, revoked_reason = 'revoked'
         WHERE family_id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(UuidText(family_id))
    .bind(UuidText(user_id))
    .bind(now)
    .execute(&mut *tx)
    .await
    .context("revoking a session")?;
    let revoked = done.rows_affected() > 0;
    if revoked {
        record_revoked(&mut tx, &[family_id], "revoked", now).await?;
    }
    tx.commit().await.context("committing a revocation")?;
    Ok(revoked)
}

/// Revokes every session of the user, except `keep` when given; returns the sessions revoked.
pub async fn revoke_all(
    conn: &mut AnyConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
    now: i64,
) -> anyhow::Result<Vec<Uuid>> {
    let rows: Vec<UuidText> = sqlx::query_scalar(
        "UPDATE refresh_tokens SET revoked_at = $2, revoked_reason = $3
         WHERE user_id = $1 AND revoked_at IS NULL AND ($4 IS NULL OR family_id <> $4)
         RETURNING family_id",
    )
    .bind(UuidText(user_id))
    .bind(now)
    .bind(reason.to_owned())
    .bind(keep.map(UuidText))
    .fetch_all(&mut *conn)
    .await
    .context("revoking all sessions")?;
    let mut families: Vec<Uuid> = rows.into_iter().map(Uuid::from).collect();
    families.sort_unstable();
    families.dedup();
    record_revoked(conn, &families, reason, now).await?;
    Ok(families)
}

/// Notes when sessions were revoked (the first revocation of a session stands).
async fn record_revoked(
    conn: &mut AnyConnection,
    families: &[Uuid],
    reason: &str,
    now: i64,
) -> anyhow::Result<()> {
    for family in families {
        sqlx::query(
            "INSERT INTO revoked_sessions (session_id, revoked_at, reason) VALUES ($1, $2, $3)
             ON CONFLICT (session_id) DO NOTHING",
        )
        .bind(UuidText(*family))
        .bind(now)
        .bind(reason.to_owned())
        .execute(&mut *conn)
        .await
        .context("recording a revoked session")?;
    }
    Ok(())
}

/// Whether the session was revoked (and the record not yet swept).
pub async fn is_revoked(pool: &AnyPool, session_id: Uuid) -> anyhow::Result<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT revoked_at FROM revoked_sessions WHERE session_id = $1")
            .bind(UuidText(session_id))
            .fetch_optional(pool)
            .await
            .context("checking a session")?;
    Ok(row.is_some())
}

/// Sessions revoked at or after `since` (Unix ms), oldest first.
pub async fn revoked_since(pool: &AnyPool, since: i64) -> anyhow::Result<Vec<(Uuid, i64)>> {
    let rows: Vec<(UuidText, i64)> = sqlx::query_as(
        "SELECT session_id, revoked_at FROM revoked_sessions WHERE revoked_at >= $1
         ORDER BY revoked_at",
    )
    .bind(since)
    .fetch_all(pool)
    .await
    .context("listing revoked sessions")?;
    Ok(rows.into_iter().map(|(id, at)| (id.into(), at)).collect())
}

/// Forgets revocations older than `before`: no access token of those sessions is valid now.
pub async fn sweep_revoked(pool: &AnyPool, before: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM revoked_sessions WHERE revoked_at < $1")
        .bind(before)
        .execute(pool)
        .await
        .context("sweeping revoked sessions")?;
    Ok(done.rows_affected())
}

/// An active session as the user sees it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
}

/// family_id, user_agent, ip, family_created_at, created_at of the newest token (the last
/// use), family_expires_at.
type SessionRow = (UuidText, Option<String>, Option<String>, i64, i64, i64);

pub async fn active(pool: &AnyPool, user_id: Uuid, now: i64) -> anyhow::Result<Vec<Session>> {
    let rows: Vec<SessionRow> = sqlx::query_as(
        "SELECT family_id, user_agent, ip, family_created_at, created_at, family_expires_at
         FROM refresh_tokens
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
         ORDER BY created_at DESC",
    )
    .bind(UuidText(user_id))
    .bind(now)
    .fetch_all(pool)
    .await
    .context("listing sessions")?;
    Ok(rows.into_iter().map(session).collect())
}

fn session((family, user_agent, ip, created_at, last_used_at, expires_at): SessionRow) -> Session {
    Session {
        id: family.into(),
        user_agent,
        ip,
        created_at,
        last_used_at,
        expires_at,
    }
}

/// A session as kept, live or not: its data-export record.
#[derive(Debug, Clone)]
pub struct Record {
    pub session: Session,
    /// When its last token was revoked (logged out, revoked, reused); `None` while live.
    pub revoked_at: Option<i64>,
}

/// [`SessionRow`] and the newest token's `revoked_at`.
type RecordRow = (
    UuidText,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    Option<i64>,
);

/// Every session of the user auth-service still keeps (the sweep forgets those whose tokens
/// expired), oldest first. The device and address are the latest token's.
pub async fn history(pool: &AnyPool, user_id: Uuid) -> anyhow::Result<Vec<Record>> {
    let rows: Vec<RecordRow> = sqlx::query_as(
        "SELECT t.family_id, t.user_agent, t.ip, t.family_created_at, t.created_at,
                    t.family_expires_at, t.revoked_at
             FROM refresh_tokens t
             WHERE t.user_id = $1 AND t.created_at = (
                 SELECT MAX(n.created_at) FROM refresh_tokens n WHERE n.family_id = t.family_id)
             ORDER BY t.family_created_at, t.family_id",
    )
    .bind(UuidText(user_id))
    .fetch_all(pool)
    .await
    .context("listing a user's sessions")?;
    Ok(rows
        .into_iter()
        .map(
            |(family, user_agent, ip, created_at, last_used_at, expires_at, revoked_at)| Record {
                session: session((family, user_agent, ip, created_at, last_used_at, expires_at)),
                revoked_at,
            },
        )
        .collect())
}

/// Deletes refresh tokens that can no longer be used (their expiry has passed).
pub async fn sweep(pool: &AnyPool, now: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
        .bind(now)
        .execute(pool)
        .await
        .context("sweeping refresh tokens")?;
    Ok(done.rows_affected())
}
