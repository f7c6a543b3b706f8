//! Moderation state (migration 0013): each user's instance role and suspension as
//! auth-service last told us (`user_moderation`), whose messages a reader does not see, room
//! roles (`room_members.role`) and mutes (`room_mutes`).

use std::collections::HashMap;

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::UuidText;
use uuid::Uuid;
use wire::moderation::{ModerationState, Role};

use crate::domain::moderation::RoomRole;

/// The SQL condition "the user row `$u` of `user_moderation` is suspended with their messages
/// hidden, at the time `$now`" (a placeholder): the one statement of that rule, for every
/// query that leaves such messages out.
macro_rules! suspension_hides {
    ($u:literal, $now:literal) => {
        concat!(
            $u,
            ".suspended = 1 AND ",
            $u,
            ".hide_messages = 1 AND (",
            $u,
            ".suspended_until IS NULL OR ",
            $u,
            ".suspended_until > ",
            $now,
            ")"
        )
    };
}
pub(crate) use suspension_hides;

/// The instance role auth-service last told us of (`user` when it told us nothing).
pub async fn role_of(pool: &AnyPool, user: Uuid) -> anyhow::Result<Role> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM user_moderation WHERE user_id = $1")
            .bind(UuidText(user))
            .fetch_optional(pool)
            .await
            .context("reading a user's instance role")?;
    Ok(role
        .as_deref()
        .and_then(Role::from_name)
        .unwrap_or_default())
}

/// Applies auth-service's events, each only over an older version (newer wins: duplicates and
/// reordering are harmless), in one transaction.
pub async fn apply(
    pool: &AnyPool,
    events: &[(Uuid, &ModerationState)],
    now: i64,
) -> anyhow::Result<()> {
    let mut tx = pool
        .begin()
        .await
        .context("starting to apply user events")?;
    for (user, state) in events {
        sqlx::query(
            "INSERT INTO user_moderation
                 (user_id, role, suspended, suspended_until, hide_messages, version, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (user_id) DO UPDATE SET role = excluded.role,
                 suspended = excluded.suspended, suspended_until = excluded.suspended_until,
                 hide_messages = excluded.hide_messages, version = excluded.version,
                 updated_at = excluded.updated_at
             WHERE user_moderation.version < excluded.version",
        )
        .bind(UuidText(*user))
        .bind(state.role.as_str())
        .bind(i64::from(state.suspended))
        .bind(state.suspended_until)
        .bind(i64::from(state.hide_messages))
        .bind(state.version)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("applying a user event")?;
    }
    tx.commit().await.context("committing user events")?;
    Ok(())
}

/// Why a reader does not see a message (`hidden` in its view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// The reader blocked its author.
    Blocked,
    /// Its author is suspended with their messages hidden (and the reader is not staff).
    Suspended,
}

impl Hidden {
    pub fn as_str(self) -> &'static str {
        match self {
            Hidden::Blocked => "blocked",
            Hidden::Suspended => "suspended",
        }
    }
}

/// The authors whose messages `reader` does not see at `now`, in one statement: those they
/// blocked (at most `CHAT_MAX_BLOCKS`), and — unless the reader is staff — those suspended
/// with their messages hidden (few; a partial index finds them).
pub async fn hidden_authors(
    pool: &AnyPool,
    reader: Uuid,
    now: i64,
) -> anyhow::Result<HashMap<Uuid, Hidden>> {
    let rows: Vec<(UuidText, i64)> = sqlx::query_as(concat!(
        "SELECT u.user_id, CAST(0 AS BIGINT) FROM user_moderation u
         WHERE ",
        suspension_hides!("u", "$2"),
        " AND NOT EXISTS (SELECT 1 FROM user_moderation s
                           WHERE s.user_id = $1 AND s.role <> 'user')
         UNION ALL
         SELECT blocked_id, CAST(1 AS BIGINT) FROM blocks WHERE blocker_id = $1"
    ))
    .bind(UuidText(reader))
    .bind(now)
    .fetch_all(pool)
    .await
    .context("reading whose messages a reader does not see")?;
    let mut hidden = HashMap::with_capacity(rows.len());
    // A block says more to the reader than a suspension: it wins.
    for (user, blocked) in rows {
        let why = if blocked == 1 {
            Hidden::Blocked
        } else {
            Hidden::Suspended
        };
        let slot = hidden.entry(user.0).or_insert(why);
        if why == Hidden::Blocked {
            *slot = why;
        }
    }
    Ok(hidden)
}

/// Who must not hear of a message by `author` (push): the users who blocked them; `None` when
/// the author is suspended with their messages hidden (nobody hears of it). One statement.
pub async fn silenced_for(
    pool: &AnyPool,
    author: Uuid,
    now: i64,
) -> anyhow::Result<Option<Vec<Uuid>>> {
    let rows: Vec<(UuidText, i64)> = sqlx::query_as(concat!(
        "SELECT u.user_id, CAST(1 AS BIGINT) FROM user_moderation u WHERE u.user_id = $1 AND ",
        suspension_hides!("u", "$2"),
        " UNION ALL
         SELECT blocker_id, CAST(0 AS BIGINT) FROM blocks WHERE blocked_id = $1"
    ))
    .bind(UuidText(author))
    .bind(now)
    .fetch_all(pool)
    .await
    .context("reading who does not hear of an author")?;
    if rows.iter().any(|(_, hidden)| *hidden == 1) {
        return Ok(None);
    }
    Ok(Some(rows.into_iter().map(|(u, _)| u.0).collect()))
}

/// A live mute.
#[derive(Debug, Clone)]
pub struct Mute {
    pub room_id: i64,
    pub user_id: Uuid,
    /// The member's name (the member row's, else the last one chat-service met).
    pub username: String,
    pub until: i64,
    pub reason: Option<String>,
    pub muted_by: Uuid,
}

#[derive(sqlx::FromRow)]
struct MuteRow {
    room_id: i64,
    user_id: UuidText,
    username: Option<String>,
    until: i64,
    reason: Option<String>,
    muted_by: UuidText,
}

impl From<MuteRow> for Mute {
    fn from(r: MuteRow) -> Self {
        Mute {
            room_id: r.room_id,
            user_id: r.user_id.into(),
            username: r.username.unwrap_or_default(),
            until: r.until,
            reason: r.reason,
            muted_by: r.muted_by.into(),
        }
    }
}

/// The columns of a [`MuteRow`] over `room_mutes u`, with the name from the member row `m`
/// or `known_users k`.
macro_rules! mute_columns {
    () => {
        "u.room_id, u.user_id, COALESCE(m.username_snapshot, k.username) AS username, u.until,
         u.reason, u.muted_by FROM room_mutes u
         LEFT JOIN room_members m ON m.room_id = u.room_id AND m.user_id = u.user_id
         LEFT JOIN known_users k ON k.user_id = u.user_id"
    };
}

/// Mutes `user` in the room until `until` (replacing a mute already there).
pub async fn mute(
    conn: &mut AnyConnection,
    room_id: i64,
    user: Uuid,
    until: i64,
    by: Uuid,
    reason: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO room_mutes (room_id, user_id, until, muted_by, reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (room_id, user_id) DO UPDATE SET until = excluded.until,
             muted_by = excluded.muted_by, reason = excluded.reason,
             created_at = excluded.created_at",
    )
    .bind(room_id)
    .bind(UuidText(user))
    .bind(until)
    .bind(UuidText(by))
    .bind(reason)
    .bind(now)
    .execute(conn)
    .await
    .context("muting a member")?;
    Ok(())
}

/// Lifts the user's mute in the room; whether one was in force at `now` (an expired row is
/// removed too, and answers false).
pub async fn unmute(
    conn: &mut AnyConnection,
    room_id: i64,
    user: Uuid,
    now: i64,
) -> anyhow::Result<bool> {
    let until: Option<i64> = sqlx::query_scalar(
        "DELETE FROM room_mutes WHERE room_id = $1 AND user_id = $2 RETURNING until",
    )
    .bind(room_id)
    .bind(UuidText(user))
    .fetch_optional(conn)
    .await
    .context("unmuting a member")?;
    Ok(until.is_some_and(|u| u > now))
}

/// The room's mutes in force at `now`, the soonest to end first.
pub async fn live_mutes(pool: &AnyPool, room_id: i64, now: i64) -> anyhow::Result<Vec<Mute>> {
    let rows: Vec<MuteRow> = sqlx::query_as(concat!(
        "SELECT ",
        mute_columns!(),
        " WHERE u.room_id = $1 AND u.until > $2 ORDER BY u.until, u.user_id"
    ))
    .bind(room_id)
    .bind(now)
    .fetch_all(pool)
    .await
    .context("listing a room's mutes")?;
    Ok(rows.into_iter().map(Mute::from).collect())
}

/// The user's mute in the room, if one is in force at `now`.
pub async fn mute_of(
    pool: &AnyPool,
    room_id: i64,
    user: Uuid,
    now: i64,
) -> anyhow::Result<Option<Mute>> {
    let row: Option<MuteRow> = sqlx::query_as(concat!(
        "SELECT ",
        mute_columns!(),
        " WHERE u.room_id = $1 AND u.user_id = $2 AND u.until > $3"
    ))
    .bind(room_id)
    .bind(UuidText(user))
    .bind(now)
    .fetch_optional(pool)
    .await
    .context("reading a mute")?;
    Ok(row.map(Mute::from))
}

/// Sets a member's role in a group room; false when they are not a member.
pub async fn set_room_role(
    conn: &mut AnyConnection,
    room_id: i64,
    user: Uuid,
    role: RoomRole,
) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE room_members SET role = $3 WHERE room_id = $1 AND user_id = $2")
        .bind(room_id)
        .bind(UuidText(user))
        .bind(role.as_str())
        .execute(conn)
        .await
        .context("changing a member's role")?;
    Ok(done.rows_affected() > 0)
}

/// Whether `user` moderates at least one group room (as its owner or one of its moderators):
/// who may read a report queue without being staff.
pub async fn moderates_any_room(pool: &AnyPool, user: Uuid) -> anyhow::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT m.room_id FROM room_members m JOIN rooms r ON r.id = m.room_id
         WHERE m.user_id = $1 AND r.kind = 'group'
           AND (m.role = 'moderator' OR r.owner_user_id = $1)
         LIMIT 1",
    )
    .bind(UuidText(user))
    .fetch_optional(pool)
    .await
    .context("finding a room the user moderates")?;
    Ok(found.is_some())
}

/// The name chat-service knows a user by (`known_users`), if it met them.
pub async fn known_name(pool: &AnyPool, user: Uuid) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("SELECT username FROM known_users WHERE user_id = $1")
        .bind(UuidText(user))
        .fetch_optional(pool)
        .await
        .context("reading a known user's name")
}
