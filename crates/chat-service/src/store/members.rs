//! The `room_members` table.

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use uuid::Uuid;

use super::parse_user_id;

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: Uuid,
    pub username: String,
    pub joined_at: i64,
}

type MemberRow = (String, String, i64);

fn member(row: MemberRow) -> anyhow::Result<Member> {
    Ok(Member {
        user_id: parse_user_id(&row.0)?,
        username: row.1,
        joined_at: row.2,
    })
}

/// Members by join time.
pub async fn list(pool: &AnyPool, room_id: i64) -> anyhow::Result<Vec<Member>> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT user_id, username_snapshot, joined_at FROM room_members WHERE room_id = $1 ORDER BY joined_at, user_id",
    )
    .bind(room_id)
    .fetch_all(pool)
    .await
    .context("listing members")?;
    rows.into_iter().map(member).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum AddMemberError {
    #[error("already a member")]
    AlreadyMember,
    #[error("room gone")]
    RoomGone,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub async fn add(
    pool: &AnyPool,
    room_id: i64,
    user_id: Uuid,
    username: &str,
    now: i64,
) -> Result<Member, AddMemberError> {
    let done = sqlx::query("INSERT INTO room_members (room_id, user_id, username_snapshot, joined_at) VALUES ($1, $2, $3, $4)")
        .bind(room_id)
        .bind(user_id.to_string())
        .bind(username)
        .bind(now)
        .execute(pool)
        .await;
    match done {
        Ok(_) => Ok(Member {
            user_id,
            username: username.to_owned(),
            joined_at: now,
        }),
        Err(err) if store_kit::unique_violation(&err).is_some() => {
            Err(AddMemberError::AlreadyMember)
        }
        Err(err) if store_kit::is_foreign_key_violation(&err) => Err(AddMemberError::RoomGone),
        Err(err) => Err(anyhow::Error::new(err).context("adding a member").into()),
    }
}

/// Removes a member and their read marker; false when they were not a member.
pub async fn remove(conn: &mut AnyConnection, room_id: i64, user_id: Uuid) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2")
        .bind(room_id)
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await
        .context("removing a member")?;
    sqlx::query("DELETE FROM read_markers WHERE room_id = $1 AND user_id = $2")
        .bind(room_id)
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await
        .context("removing a read marker")?;
    Ok(done.rows_affected() > 0)
}

/// The longest-standing member, who inherits a room its owner leaves.
pub async fn longest_standing(
    conn: &mut AnyConnection,
    room_id: i64,
) -> anyhow::Result<Option<Member>> {
    let row: Option<MemberRow> = sqlx::query_as(
        "SELECT user_id, username_snapshot, joined_at FROM room_members WHERE room_id = $1
         ORDER BY joined_at, user_id LIMIT 1",
    )
    .bind(room_id)
    .fetch_optional(conn)
    .await
    .context("finding the next owner")?;
    row.map(member).transpose()
}
