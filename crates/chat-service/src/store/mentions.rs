//! The `mentions` table: one row per user a message mentions (docs/architecture.md,
//! "Mentions"), for unread mention counts and `GET /mentions`.

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::{UuidText, placeholder_list, placeholder_rows};
use uuid::Uuid;

/// Whom a message mentions, resolved when it is sent or edited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// The users it names (`@username`), in the order named.
    pub users: Vec<Uuid>,
    /// It says `@room`.
    pub room: bool,
    /// Everyone mentioned — the users named, or every member for `@room` — but the author.
    pub notify: Vec<Uuid>,
}

impl Mentions {
    /// `messages.mention_ids`: the named users' ids separated by spaces, or NULL.
    pub(crate) fn column(&self) -> Option<String> {
        if self.users.is_empty() {
            return None;
        }
        Some(
            self.users
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// The named users from `messages.mention_ids`.
    pub(crate) fn users_of(column: Option<&str>) -> Vec<Uuid> {
        column
            .unwrap_or_default()
            .split_ascii_whitespace()
            .filter_map(|id| id.parse().ok())
            .collect()
    }
}

/// The members of a room with these names (lower-case), as `(user id, lower-case name)`.
pub async fn members_by_names(
    pool: &AnyPool,
    room_id: i64,
    names: &[String],
) -> anyhow::Result<Vec<(Uuid, String)>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    // Only numbered placeholders are formatted into the statement; every value is bound.
    let sql = format!(
        "SELECT user_id, lower(username_snapshot) FROM room_members
         WHERE room_id = $1 AND lower(username_snapshot) IN ({})",
        placeholder_list(2, names.len())
    );
    let mut query = sqlx::query_as::<_, (UuidText, String)>(sqlx::AssertSqlSafe(sql)).bind(room_id);
    for name in names {
        query = query.bind(name.as_str());
    }
    let rows = query
        .fetch_all(pool)
        .await
        .context("finding members by name")?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (id.into(), name))
        .collect())
}

/// The user ids of a room's members.
pub async fn member_ids(pool: &AnyPool, room_id: i64) -> anyhow::Result<Vec<Uuid>> {
    let rows: Vec<(UuidText,)> =
        sqlx::query_as("SELECT user_id FROM room_members WHERE room_id = $1")
            .bind(room_id)
            .fetch_all(pool)
            .await
            .context("listing a room's member ids")?;
    Ok(rows.into_iter().map(|(id,)| id.into()).collect())
}

/// A stored message and whom it mentions, for [`insert`].
pub(crate) struct Mentioned<'a> {
    pub message_id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub notify: &'a [Uuid],
}

/// Rows per statement: four values each, well inside both engines' limits on bound values.
const ROWS_PER_STATEMENT: usize = 1000;

/// Inserts the mention rows of stored messages (inside their transaction).
pub(crate) async fn insert(
    conn: &mut sqlx::AnyConnection,
    messages: &[Mentioned<'_>],
) -> anyhow::Result<()> {
    let rows: Vec<(Uuid, &Mentioned<'_>)> = messages
        .iter()
        .flat_map(|m| m.notify.iter().map(move |user| (*user, m)))
        .collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        // Only numbered placeholders are formatted into the statement; every value is bound.
        let sql = format!(
            "INSERT INTO mentions (user_id, message_id, room_id, seq) VALUES {}",
            placeholder_rows(1, chunk.len(), 4)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (user, m) in chunk {
            query = query
                .bind(UuidText(*user))
                .bind(m.message_id)
                .bind(m.room_id)
                .bind(m.seq);
        }
        query
            .execute(&mut *conn)
            .await
            .context("storing mentions")?;
    }
    Ok(())
}

/// Removes a message's mention rows (inside its change's transaction).
pub(crate) async fn remove(conn: &mut sqlx::AnyConnection, message_id: i64) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM mentions WHERE message_id = $1")
        .bind(message_id)
        .execute(conn)
        .await
        .context("removing a message's mentions")?;
    Ok(())
}

/// Everyone a stored message mentions (its mention rows: named users, or every member for
/// `@room`; never its author).
pub async fn mentioned_by(pool: &AnyPool, message_id: i64) -> anyhow::Result<Vec<Uuid>> {
    let rows: Vec<(UuidText,)> =
        sqlx::query_as("SELECT user_id FROM mentions WHERE message_id = $1")
            .bind(message_id)
            .fetch_all(pool)
            .await
            .context("reading a message's mentions")?;
    Ok(rows.into_iter().map(|(id,)| id.into()).collect())
}
