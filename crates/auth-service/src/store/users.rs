//! The `users` table.

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::{ResultExt, UuidText};
use uuid::Uuid;

use crate::domain::{Email, Username};

/// The columns of a [`UserRow`], in one place for every statement that reads users.
macro_rules! columns {
    () => {
        "id, email, username, password_hash, created_at, updated_at"
    };
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: UuidText,
    email: String,
    username: String,
    password_hash: String,
    created_at: i64,
    updated_at: i64,
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

pub async fn insert(
    pool: &AnyPool,
    username: &Username,
    email: &Email,
    password_hash: &str,
    now: i64,
) -> Result<User, UserWriteError> {
    let id = Uuid::now_v7();
    let written = sqlx::query(
        "INSERT INTO users (id, email, username, password_hash, created_at, updated_at, password_changed_at)
         VALUES ($1, $2, $3, $4, $5, $5, $5)",
    )
    .bind(UuidText(id))
    .bind(email.as_str())
    .bind(username.as_str())
    .bind(password_hash)
    .bind(now)
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
    let escaped: String = prefix
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
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

/// Changes username and/or e-mail; false when the user is gone. Takes a connection so that
/// an e-mail change revokes the other sessions in the same transaction.
pub async fn update_profile(
    conn: &mut sqlx::AnyConnection,
    id: Uuid,
    username: Option<&Username>,
    email: Option<&Email>,
    now: i64,
) -> Result<bool, UserWriteError> {
    let written = sqlx::query(
        "UPDATE users SET username = COALESCE($2, username), email = COALESCE($3, email), updated_at = $4
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
