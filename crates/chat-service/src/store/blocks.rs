//! The `blocks` table (migration 0013): who blocked whom. A block stops direct messages
//! between the two (both ways) and hides the blocked user's messages from the blocker.

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::UuidText;
use uuid::Uuid;

/// A user the caller blocks, with the name chat-service knows them by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub user_id: Uuid,
    pub username: String,
    pub created_at: i64,
}

/// The columns of a [`Block`] over `blocks b`, the name from `known_users k`.
macro_rules! columns {
    () => {
        "b.blocked_id, COALESCE(k.username, ''), b.created_at FROM blocks b
         LEFT JOIN known_users k ON k.user_id = b.blocked_id"
    };
}

fn block((user, username, created_at): (UuidText, String, i64)) -> Block {
    Block {
        user_id: user.into(),
        username,
        created_at,
    }
}

/// The users `blocker` blocks, the latest first.
pub async fn list(pool: &AnyPool, blocker: Uuid) -> anyhow::Result<Vec<Block>> {
    let rows: Vec<(UuidText, String, i64)> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " WHERE b.blocker_id = $1 ORDER BY b.created_at DESC, b.blocked_id"
    ))
    .bind(UuidText(blocker))
    .fetch_all(pool)
    .await
    .context("listing blocks")?;
    Ok(rows.into_iter().map(block).collect())
}

#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("too many blocks")]
    TooMany,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Blocks `blocked` (a block already there stays as it was), unless `blocker` would then
/// block more than `max` users: counted after the insert, in its transaction.
pub async fn put(
    pool: &AnyPool,
    blocker: Uuid,
    blocked: Uuid,
    now: i64,
    max: u32,
) -> Result<Block, BlockError> {
    let mut tx = pool.begin().await.context("starting a block")?;
    sqlx::query(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
    )
    .bind(UuidText(blocker))
    .bind(UuidText(blocked))
    .bind(now)
    .execute(&mut *tx)
    .await
    .context("blocking a user")?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blocks WHERE blocker_id = $1")
        .bind(UuidText(blocker))
        .fetch_one(&mut *tx)
        .await
        .context("counting blocks")?;
    if count > i64::from(max) {
        return Err(BlockError::TooMany);
    }
    let row: (UuidText, String, i64) = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " WHERE b.blocker_id = $1 AND b.blocked_id = $2"
    ))
    .bind(UuidText(blocker))
    .bind(UuidText(blocked))
    .fetch_one(&mut *tx)
    .await
    .context("reading a block")?;
    tx.commit().await.context("committing a block")?;
    Ok(block(row))
}

/// Lifts a block (none there: nothing happens).
pub async fn remove(pool: &AnyPool, blocker: Uuid, blocked: Uuid) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
        .bind(UuidText(blocker))
        .bind(UuidText(blocked))
        .execute(pool)
        .await
        .context("unblocking a user")?;
    Ok(())
}

/// Whether either of the two blocks the other.
pub async fn between(pool: &AnyPool, a: Uuid, b: Uuid) -> anyhow::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(1 AS BIGINT) FROM blocks WHERE blocker_id = $1 AND blocked_id = $2
         UNION ALL
         SELECT CAST(1 AS BIGINT) FROM blocks WHERE blocker_id = $2 AND blocked_id = $1
         LIMIT 1",
    )
    .bind(UuidText(a))
    .bind(UuidText(b))
    .fetch_optional(pool)
    .await
    .context("looking for a block between two users")?;
    Ok(found.is_some())
}
