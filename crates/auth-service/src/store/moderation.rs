//! The moderation columns of `users` (role, suspension, `moderation_version`): the admin
//! list, the figures, and the writes of a role or suspension change. A change takes the row
//! first ([`claim`]), so that SQLite takes its write lock at once and PostgreSQL holds the
//! row until the transaction ends; what the change is checked against is the row as it was.

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::UuidText;
use uuid::Uuid;

use super::users::{User, UserRow, columns, escape_like};
use crate::domain::moderation::{AccountStatus, SuspensionInput, UserFilter};
use crate::domain::{Email, Role};

/// A user of the admin list, with the last use of any of their sessions.
#[derive(Debug, Clone)]
pub struct ListedUser {
    pub user: User,
    pub last_seen_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    user: UserRow,
    last_seen_at: Option<i64>,
}

/// The last use of the user's sessions: refresh tokens are used every access-token lifetime
/// while the app is open.
macro_rules! listed_columns {
    () => {
        concat!(
            columns!(),
            ", (SELECT MAX(r.last_used_at) FROM refresh_tokens r WHERE r.user_id = users.id) AS last_seen_at"
        )
    };
}

/// One page of users, newest accounts first, after `filter.cursor`; one more than
/// `filter.limit` when there are more.
pub async fn page(
    pool: &AnyPool,
    filter: &UserFilter,
    now: i64,
) -> anyhow::Result<Vec<ListedUser>> {
    // `q` matches the start of the username or of the e-mail (stored lower-cased), with LIKE's
    // wildcards taken literally.
    let pattern = filter
        .prefix
        .as_deref()
        .map(|p| format!("{}%", escape_like(p)));
    let status = match filter.status {
        None => "any",
        Some(AccountStatus::Active) => "active",
        Some(AccountStatus::Suspended) => "suspended",
    };
    let rows: Vec<ListedRow> = sqlx::query_as(concat!(
        "SELECT ",
        listed_columns!(),
        " FROM users
         WHERE ($1 IS NULL OR lower(username) LIKE $1 ESCAPE '\\' OR email LIKE $1 ESCAPE '\\')
           AND ($2 IS NULL OR role = $2)
           AND ($3 = 'any' OR ($3 = 'suspended') = (suspended_at IS NOT NULL
                AND (suspended_until IS NULL OR suspended_until > $4)))
           AND ($5 IS NULL OR created_at < $5 OR (created_at = $5 AND id < $6))
         ORDER BY created_at DESC, id DESC
         LIMIT $7"
    ))
    .bind(pattern)
    .bind(filter.role.map(Role::as_str))
    .bind(status)
    .bind(now)
    .bind(filter.cursor.map(|c| c.ms))
    .bind(filter.cursor.map(|c| UuidText(c.id)))
    .bind(filter.limit + 1)
    .fetch_all(pool)
    .await
    .context("listing users")?;
    Ok(rows
        .into_iter()
        .map(|r| ListedUser {
            user: r.user.into(),
            last_seen_at: r.last_seen_at,
        })
        .collect())
}

/// One user with the last use of their sessions.
pub async fn listed(pool: &AnyPool, id: Uuid) -> anyhow::Result<Option<ListedUser>> {
    let row: Option<ListedRow> = sqlx::query_as(concat!(
        "SELECT ",
        listed_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(UuidText(id))
    .fetch_optional(pool)
    .await
    .context("reading a user for staff")?;
    Ok(row.map(|r| ListedUser {
        user: r.user.into(),
        last_seen_at: r.last_seen_at,
    }))
}

/// Whom a change is about.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Id(Uuid),
    Email(&'a Email),
}

/// Starts a change of the user's role or suspension in the caller's transaction: bumps
/// `moderation_version` (the transaction's first write) and returns the row with the new
/// version and everything else as it was. `None` when no user matches. Roll the transaction
/// back to make no change after all.
pub async fn claim(conn: &mut AnyConnection, target: Target<'_>) -> anyhow::Result<Option<User>> {
    let claimed = match target {
        Target::Id(id) => {
            sqlx::query_as::<_, UserRow>(concat!(
                "UPDATE users SET moderation_version = moderation_version + 1 WHERE id = $1 RETURNING ",
                columns!()
            ))
            .bind(UuidText(id))
            .fetch_optional(&mut *conn)
            .await
        }
        Target::Email(email) => {
            sqlx::query_as::<_, UserRow>(concat!(
                "UPDATE users SET moderation_version = moderation_version + 1 WHERE email = $1 RETURNING ",
                columns!()
            ))
            .bind(email.as_str())
            .fetch_optional(&mut *conn)
            .await
        }
    };
    Ok(claimed
        .context("claiming a user for a change")?
        .map(User::from))
}

/// Sets the role of a claimed user.
pub async fn set_role(conn: &mut AnyConnection, user: &mut User, role: Role) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
        .bind(UuidText(user.id))
        .bind(role.as_str())
        .execute(conn)
        .await
        .context("setting a role")?;
    user.role = role;
    Ok(())
}

/// Sets (replacing any) or clears the suspension of a claimed user.
pub async fn set_suspension(
    conn: &mut AnyConnection,
    user: &mut User,
    suspension: Option<super::users::Suspension>,
) -> anyhow::Result<()> {
    let s = suspension.as_ref();
    sqlx::query(
        "UPDATE users SET suspended_at = $2, suspended_until = $3, suspension_reason = $4,
             suspended_by = $5, hide_messages = $6
         WHERE id = $1",
    )
    .bind(UuidText(user.id))
    .bind(s.map(|s| s.since))
    .bind(s.and_then(|s| s.until))
    .bind(s.map(|s| s.reason.clone()))
    .bind(s.and_then(|s| s.by).map(UuidText))
    .bind(i64::from(s.is_some_and(|s| s.hide_messages)))
    .execute(conn)
    .await
    .context("setting a suspension")?;
    user.suspension = suspension;
    Ok(())
}

/// The suspension a [`SuspensionInput`] sets at `now`, by `by`.
pub fn suspension(input: &SuspensionInput, by: Option<Uuid>, now: i64) -> super::users::Suspension {
    super::users::Suspension {
        since: now,
        until: input.until,
        reason: input.reason.as_str().to_owned(),
        by,
        hide_messages: input.hide_messages,
    }
}

/// The instance's accounts by kind (`GET /internal/stats`).
pub async fn stats(pool: &AnyPool, now: i64) -> anyhow::Result<wire::moderation::UserStats> {
    let (users, suspended_users, admins, moderators): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*),
             COALESCE(SUM(CASE WHEN suspended_at IS NOT NULL
                 AND (suspended_until IS NULL OR suspended_until > $1) THEN 1 ELSE 0 END), 0),
             COALESCE(SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END), 0),
             COALESCE(SUM(CASE WHEN role = 'moderator' THEN 1 ELSE 0 END), 0)
         FROM users",
    )
    .bind(now)
    .fetch_one(pool)
    .await
    .context("counting users")?;
    Ok(wire::moderation::UserStats {
        users,
        suspended_users,
        admins,
        moderators,
    })
}
