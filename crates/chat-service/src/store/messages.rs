//! The `messages` table. A message's `seq` is given out by bumping `rooms.last_seq` in the
//! transaction that inserts it: a writer that commits holds the next number, one that rolls
//! back gives it back, so seqs have no gaps and "everything after seq N" is complete.

use anyhow::Context;
use sqlx::AnyPool;
use uuid::Uuid;

use super::parse_user_id;
use crate::domain::{ClientMsgId, MessageContent};

#[derive(Debug, Clone)]
pub struct Message {
    pub id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub user_id: Uuid,
    pub username: String,
    pub kind: String,
    pub content: String,
    pub client_msg_id: Option<String>,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    room_id: i64,
    seq: i64,
    user_id: String,
    username_snapshot: String,
    #[sqlx(rename = "type")]
    kind: String,
    content: String,
    client_msg_id: Option<String>,
    created_at: i64,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
}

impl TryFrom<MessageRow> for Message {
    type Error = anyhow::Error;
    fn try_from(r: MessageRow) -> anyhow::Result<Self> {
        Ok(Message {
            id: r.id,
            room_id: r.room_id,
            seq: r.seq,
            user_id: parse_user_id(&r.user_id)?,
            username: r.username_snapshot,
            kind: r.kind,
            content: r.content,
            client_msg_id: r.client_msg_id,
            created_at: r.created_at,
            edited_at: r.edited_at,
            deleted_at: r.deleted_at,
        })
    }
}

fn convert(rows: Vec<MessageRow>) -> anyhow::Result<Vec<Message>> {
    rows.into_iter().map(Message::try_from).collect()
}

/// A stored message, and whether it was already there (a retried send).
#[derive(Debug, Clone)]
pub struct Stored {
    pub message: Message,
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("the room no longer exists")]
    RoomGone,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub async fn by_client_id(
    pool: &AnyPool,
    user_id: Uuid,
    client_msg_id: &str,
) -> anyhow::Result<Option<Message>> {
    let row: Option<MessageRow> = sqlx::query_as(
        "SELECT id, room_id, seq, user_id, username_snapshot, type, content, client_msg_id, created_at, edited_at, deleted_at
         FROM messages WHERE user_id = $1 AND client_msg_id = $2",
    )
    .bind(user_id.to_string())
    .bind(client_msg_id.to_owned())
    .fetch_optional(pool)
    .await
    .context("looking up a message by clientMsgId")?;
    row.map(Message::try_from).transpose()
}

/// The message an earlier copy of this send stored, if any.
async fn original(
    pool: &AnyPool,
    user_id: Uuid,
    client_msg_id: Option<&ClientMsgId>,
) -> anyhow::Result<Option<Stored>> {
    let Some(cid) = client_msg_id else {
        return Ok(None);
    };
    Ok(by_client_id(pool, user_id, cid.as_str())
        .await?
        .map(|message| Stored {
            message,
            duplicate: true,
        }))
}

/// Stores a message with the room's next seq. A retried send (same user, same clientMsgId)
/// returns the original instead — also when two copies race.
pub async fn insert(
    pool: &AnyPool,
    room_id: i64,
    user_id: Uuid,
    username: &str,
    content: &MessageContent,
    client_msg_id: Option<&ClientMsgId>,
    now: i64,
) -> Result<Stored, InsertError> {
    if let Some(original) = original(pool, user_id, client_msg_id).await? {
        return Ok(original);
    }
    let mut tx = pool.begin().await.context("starting a send")?;
    // The write comes first: it takes the room's row lock on PostgreSQL and the write lock on
    // SQLite, so concurrent senders queue here and each gets the next number.
    let seq: Option<i64> = sqlx::query_scalar(
        "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(room_id)
    .fetch_optional(&mut *tx)
    .await
    .context("taking the next seq")?;
    let Some(seq) = seq else {
        return Err(InsertError::RoomGone);
    };
    let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO messages (room_id, seq, user_id, username_snapshot, type, content, client_msg_id, created_at)
         VALUES ($1, $2, $3, $4, 'text', $5, $6, $7) RETURNING id",
    )
    .bind(room_id)
    .bind(seq)
    .bind(user_id.to_string())
    .bind(username)
    .bind(content.as_str())
    .bind(client_msg_id.map(|c| c.as_str().to_owned()))
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(err) => {
            // Dropping the transaction rolls it back, returning the seq.
            drop(tx);
            // A copy of this send committed meanwhile: answer with it.
            if store_kit::unique_violation(&err).is_some()
                && let Some(original) = original(pool, user_id, client_msg_id).await?
            {
                return Ok(original);
            }
            return Err(anyhow::Error::new(err)
                .context("inserting a message")
                .into());
        }
    };
    tx.commit().await.context("committing a send")?;
    Ok(Stored {
        message: Message {
            id,
            room_id,
            seq,
            user_id,
            username: username.to_owned(),
            kind: "text".to_owned(),
            content: content.as_str().to_owned(),
            client_msg_id: client_msg_id.map(|c| c.as_str().to_owned()),
            created_at: now,
            edited_at: None,
            deleted_at: None,
        },
        duplicate: false,
    })
}

/// Which page of a room's history.
#[derive(Debug, Clone, Copy)]
pub struct PageQuery {
    pub after_seq: Option<i64>,
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// A page of history, oldest first, and whether more lie beyond it in the direction read:
/// after `afterSeq` (newer) when it is given, else before `beforeSeq` (older) or the latest.
pub async fn page(
    pool: &AnyPool,
    room_id: i64,
    q: PageQuery,
) -> anyhow::Result<(Vec<Message>, bool)> {
    let fetch = q.limit + 1;
    let mut rows: Vec<MessageRow> = if let Some(after) = q.after_seq {
        sqlx::query_as(
            "SELECT id, room_id, seq, user_id, username_snapshot, type, content, client_msg_id, created_at, edited_at, deleted_at
             FROM messages WHERE room_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq ASC LIMIT $4",
        )
        .bind(room_id)
        .bind(after)
        .bind(q.before_seq.unwrap_or(i64::MAX))
        .bind(fetch)
        .fetch_all(pool)
        .await
        .context("reading history")?
    } else {
        sqlx::query_as(
            "SELECT id, room_id, seq, user_id, username_snapshot, type, content, client_msg_id, created_at, edited_at, deleted_at
             FROM messages WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
        )
        .bind(room_id)
        .bind(q.before_seq.unwrap_or(i64::MAX))
        .bind(fetch)
        .fetch_all(pool)
        .await
        .context("reading history")?
    };
    let has_more = rows.len() as i64 > q.limit;
    rows.truncate(usize::try_from(q.limit).unwrap_or(0));
    if q.after_seq.is_none() {
        rows.reverse();
    }
    Ok((convert(rows)?, has_more))
}

pub async fn get(pool: &AnyPool, id: i64) -> anyhow::Result<Option<Message>> {
    let row: Option<MessageRow> = sqlx::query_as(
        "SELECT id, room_id, seq, user_id, username_snapshot, type, content, client_msg_id, created_at, edited_at, deleted_at
         FROM messages WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .context("reading a message")?;
    row.map(Message::try_from).transpose()
}

/// Replaces the text of a live message; false when it is gone or deleted.
pub async fn edit(
    pool: &AnyPool,
    id: i64,
    content: &MessageContent,
    now: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE messages SET content = $2, edited_at = $3 WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(content.as_str())
    .bind(now)
    .execute(pool)
    .await
    .context("editing a message")?;
    Ok(done.rows_affected() > 0)
}

/// Soft-deletes a message: the row (and its seq) stays, the text goes. False when it was
/// already deleted.
pub async fn soft_delete(pool: &AnyPool, id: i64, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE messages SET content = '', deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await
    .context("deleting a message")?;
    Ok(done.rows_affected() > 0)
}
