//! The `users` table.

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::{ResultExt, UuidText};
use uuid::Uuid;

use crate::domain::{Email, Role, Username};

/// The columns of a [`UserRow`], in one place for every statement that reads users.
macro_rules! columns {
    () => {
        "id, email, username, password_hash, created_at, updated_at, role, suspended_at, \
         suspended_until, suspension_reason, suspended_by, hide_messages, moderation_version, email_verified_at, \
         (SELECT COUNT(*) FROM user_totp t WHERE t.user_id = users.id AND t.enabled_at IS NOT NULL) \
         AS mfa_enabled"
    };
}
pub(crate) use columns;

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub role: Role,
    /// The suspension last set, in force or not ([`User::suspension_in_force`]).
    pub suspension: Option<Suspension>,
    /// Bumped by every change of role or suspension (docs/architecture.md, "Moderation").
    pub moderation_version: i64,
    /// Whether the second factor (TOTP) is on: log-in then asks for a code.
    pub mfa_enabled: bool,
    /// When the current e-mail address was verified; `None`: not yet (docs/architecture.md,
    /// "E-mail verification").
    pub email_verified_at: Option<i64>,
}

/// A suspension as stored: since when, until when (`None`: until lifted), why, by whom
/// (`None`: the command line), and whether the account's messages are hidden meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    pub since: i64,
    pub until: Option<i64>,
    pub reason: String,
    pub by: Option<Uuid>,
    pub hide_messages: bool,
}

impl Suspension {
    pub fn in_force(&self, now: i64) -> bool {
        self.until.is_none_or(|until| until > now)
    }
}

impl User {
    /// The account's suspension, if one is in force at `now`.
    pub fn suspension_in_force(&self, now: i64) -> Option<&Suspension> {
        self.suspension.as_ref().filter(|s| s.in_force(now))
    }

    pub fn email_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    /// The state chat-service keeps of this account (a user event's body).
    pub fn moderation_state(&self) -> wire::moderation::ModerationState {
        let suspension = self.suspension.as_ref();
        wire::moderation::ModerationState {
            role: self.role,
            suspended: suspension.is_some(),
            suspended_until: suspension.and_then(|s| s.until),
            hide_messages: suspension.is_some_and(|s| s.hide_messages),
            version: self.moderation_version,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: UuidText,
    email: String,
    username: String,
    password_hash: String,
    created_at: i64,
    updated_at: i64,
    role: String,
    suspended_at: Option<i64>,
    suspended_until: Option<i64>,
    suspension_reason: Option<String>,
    suspended_by: Option<UuidText>,
    hide_messages: i64,
    moderation_version: i64,
    email_verified_at: Option<i64>,
    mfa_enabled: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id.into(),
            email: r.email,
            username: r.username,
            password_hash: r.password_hash,
            created_at: r.created_at,
            updated_at: r.updated_at,
            // The column's CHECK allows only the three roles; anything else would get the
            // least of them.
            role: Role::from_name(&r.role).unwrap_or_default(),
            suspension: r.suspended_at.map(|since| Suspension {
                since,
                until: r.suspended_until,
                reason: r.suspension_reason.unwrap_or_default(),
                by: r.suspended_by.map(Uuid::from),
                hide_messages: r.hide_messages != 0,
            }),
            moderation_version: r.moderation_version,
            mfa_enabled: r.mfa_enabled > 0,
            email_verified_at: r.email_verified_at,
        }
    }
}

/// Which unique field a write collided with.
#[derive(Debug, thiserror::Error)]
pub enum UserWriteError {
    #[error("username taken")]
    UsernameTaken,
    #[error("email taken")]
    EmailTaken,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A user write's outcome, with a collision on a unique field named.
fn classify<T>(written: Result<T, sqlx::Error>) -> Result<T, UserWriteError> {
    Ok(written
        .on_unique_of("email", || UserWriteError::EmailTaken)?
        .on_unique_of("username", || UserWriteError::UsernameTaken)?
        .context("writing a user")?)
}

/// A new account; `email_verified_at` is set for one whose address is already proven (single
/// sign-on with a provider that verified it).
pub async fn insert(
    pool: &AnyPool,
    username: &Username,
    email: &Email,
    password_hash: &str,
    email_verified_at: Option<i64>,
    now: i64,
) -> Result<User, UserWriteError> {
    let id = Uuid::now_v7();
    let written = sqlx::query(
        "INSERT INTO users (id, email, username, password_hash, created_at, updated_at, password_changed_at, email_verified_at)
         VALUES ($1, $2, $3, $4, $5, $5, $5, $6)",
    )
    .bind(UuidText(id))
    .bind(email.as_str())
    .bind(username.as_str())
    .bind(password_hash)
    .bind(now)
    .bind(email_verified_at)
    .execute(pool)
    .await;
    classify(written)?;
    Ok(User {
        id,
        email: email.as_str().to_owned(),
        username: username.as_str().to_owned(),
        password_hash: password_hash.to_owned(),
        created_at: now,
        updated_at: now,
        role: Role::User,
        suspension: None,
        moderation_version: 0,
        mfa_enabled: false,
        email_verified_at,
    })
}

async fn fetch_one_by<'q, V>(
    pool: &AnyPool,
    sql: &'static str,
    value: V,
) -> anyhow::Result<Option<User>>
where
    V: sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'q,
{
    let row: Option<UserRow> = sqlx::query_as(sql)
        .bind(value)
        .fetch_optional(pool)
        .await
        .context("reading a user")?;
    Ok(row.map(User::from))
}

pub async fn by_email(pool: &AnyPool, email: &str) -> anyhow::Result<Option<User>> {
    fetch_one_by(
        pool,
        concat!("SELECT ", columns!(), " FROM users WHERE email = $1"),
        email,
    )
    .await
}

pub async fn by_id(pool: &AnyPool, id: Uuid) -> anyhow::Result<Option<User>> {
    fetch_one_by(
        pool,
        concat!("SELECT ", columns!(), " FROM users WHERE id = $1"),
        UuidText(id),
    )
    .await
}

/// The account a refresh token belongs to (spent, revoked or expired alike).
pub async fn by_refresh_token(pool: &AnyPool, plain: &str) -> anyhow::Result<Option<User>> {
    fetch_one_by(
        pool,
        concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE id = (SELECT user_id FROM refresh_tokens WHERE token_hash = $1)"
        ),
        crate::domain::SecretToken::hash(plain),
    )
    .await
}

pub async fn by_username(pool: &AnyPool, username: &str) -> anyhow::Result<Option<User>> {
    fetch_one_by(
        pool,
        concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE lower(username) = lower($1)"
        ),
        username,
    )
    .await
}

/// Users whose name starts with `prefix` (case-insensitive), by name, at most `limit`.
pub async fn search_prefix(
    pool: &AnyPool,
    prefix: &str,
    limit: i64,
) -> anyhow::Result<Vec<(Uuid, String)>> {
    // LIKE wildcards in the prefix are matched literally.
    let escaped = escape_like(&prefix.to_lowercase());
    let rows: Vec<(UuidText, String)> = sqlx::query_as(
        "SELECT id, username FROM users
         WHERE lower(username) LIKE $1 ESCAPE '\\'
         ORDER BY lower(username) LIMIT $2",
    )
    .bind(format!("{escaped}%"))
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("searching users")?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (id.into(), name))
        .collect())
}

/// LIKE's wildcards and escape character, escaped with `\`.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Changes username and/or e-mail; false when the user is gone. A new e-mail is unverified.
/// Takes a connection so that an e-mail change revokes the other sessions in the same
/// transaction.
pub async fn update_profile(
    conn: &mut sqlx::AnyConnection,
    id: Uuid,
    username: Option<&Username>,
    email: Option<&Email>,
    now: i64,
) -> Result<bool, UserWriteError> {
    let written = sqlx::query(
        "UPDATE users SET username = COALESCE($2, username), email = COALESCE($3, email), updated_at = $4,
           email_verified_at = CASE WHEN $3 IS NULL OR $3 = email THEN email_verified_at END
         WHERE id = $1",
    )
    .bind(UuidText(id))
    .bind(username.map(|u| u.as_str().to_owned()))
    .bind(email.map(|e| e.as_str().to_owned()))
    .bind(now)
    .execute(conn)
    .await;
    Ok(classify(written)?.rows_affected() > 0)
}

/// Sets a new password hash; taking a connection lets callers revoke sessions in the same transaction.
pub async fn set_password(
    conn: &mut sqlx::AnyConnection,
    id: Uuid,
    password_hash: &str,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3 WHERE id = $1")
        .bind(UuidText(id))
        .bind(password_hash)
        .bind(now)
        .execute(conn)
        .await
        .context("updating a password")?;
    Ok(())
}

/// Deletes the account's row in the caller's transaction (its refresh tokens, identities,
/// second factor, resets and verifications go with it: `ON DELETE CASCADE`). False when it
/// was already gone.
pub async fn delete(conn: &mut sqlx::AnyConnection, id: Uuid) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(UuidText(id))
        .execute(conn)
        .await
        .context("deleting a user")?;
    Ok(done.rows_affected() > 0)
}

/// How many admins there are besides `id`.
pub async fn other_admins(conn: &mut sqlx::AnyConnection, id: Uuid) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND id <> $1")
        .bind(UuidText(id))
        .fetch_one(conn)
        .await
        .context("counting the other admins")
}

/// Marks the account's address verified if it is still `email` (a link proves only the
/// address it was sent to); false when the account moved to another address or is gone.
/// Verifying again keeps the first time.
pub async fn mark_email_verified(
    conn: &mut sqlx::AnyConnection,
    id: Uuid,
    email: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $3)
         WHERE id = $1 AND email = $2",
    )
    .bind(UuidText(id))
    .bind(email)
    .bind(now)
    .execute(conn)
    .await
    .context("marking an e-mail address verified")?;
    Ok(done.rows_affected() == 1)
}
