//! The `uploads` table (migration 0008): one row per uploaded file, its owner's until a
//! message takes it. Attaching is a conditional `UPDATE` in the message's own transaction
//! (only an upload of the sender that no message has and that is not deleted), so two
//! messages can never take the same upload. Deleting is soft (`deleted_at`) and immediate —
//! a deleted upload is never served again — and the sweeper removes the objects, then the
//! rows.

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::{UuidText, placeholder_list};
use uuid::Uuid;

use super::messages::Message;

macro_rules! columns {
    () => {
        "id, owner_user_id, name, content_type, size, width, height, thumb_width, thumb_height, thumb_size, thumb_content_type, message_id, room_id, position"
    };
}

/// A stored, complete upload that is not deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: Uuid,
    pub owner: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumbnail: Option<Thumbnail>,
    /// The message that carries it (and that message's room); `None` until attached.
    pub message_id: Option<i64>,
    pub room_id: Option<i64>,
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    pub size: u64,
    pub content_type: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: UuidText,
    owner_user_id: UuidText,
    name: String,
    content_type: String,
    size: i64,
    width: Option<i64>,
    height: Option<i64>,
    thumb_width: Option<i64>,
    thumb_height: Option<i64>,
    thumb_size: Option<i64>,
    thumb_content_type: Option<String>,
    message_id: Option<i64>,
    room_id: Option<i64>,
    position: i64,
}

fn px(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

impl From<Row> for Upload {
    fn from(r: Row) -> Self {
        let thumbnail = match (
            px(r.thumb_width),
            px(r.thumb_height),
            r.thumb_size,
            r.thumb_content_type,
        ) {
            (Some(width), Some(height), Some(size), Some(content_type)) => Some(Thumbnail {
                width,
                height,
                size: u64::try_from(size).unwrap_or(0),
                content_type,
            }),
            _ => None,
        };
        Upload {
            id: r.id.into(),
            owner: r.owner_user_id.into(),
            name: r.name,
            content_type: r.content_type,
            size: u64::try_from(r.size).unwrap_or(0),
            width: px(r.width),
            height: px(r.height),
            thumbnail,
            message_id: r.message_id,
            room_id: r.room_id,
            position: r.position,
        }
    }
}

/// What an upload turned out to be once its bytes are stored.
#[derive(Debug, Clone)]
pub struct Completed {
    pub content_type: String,
    pub size: u64,
    pub dimensions: Option<(u32, u32)>,
    pub thumbnail: Option<Thumbnail>,
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Records an upload about to stream (not served, not attachable, until [`complete`]): a
/// crash from here on leaves a row the sweeper finds.
pub async fn start(
    pool: &AnyPool,
    id: Uuid,
    owner: Uuid,
    name: &str,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO uploads (id, owner_user_id, name, content_type, size, created_at)
         VALUES ($1, $2, $3, 'application/octet-stream', 0, $4)",
    )
    .bind(UuidText(id))
    .bind(UuidText(owner))
    .bind(name.to_owned())
    .bind(now)
    .execute(pool)
    .await
    .context("recording an upload")?;
    Ok(())
}

/// Marks a streamed upload complete with what it turned out to be. `false` when the user's
/// live uploads with this one would pass `quota` (the upload is then left to the caller to
/// remove).
pub async fn complete(
    pool: &AnyPool,
    id: Uuid,
    owner: Uuid,
    done: &Completed,
    quota: u64,
    now: i64,
) -> anyhow::Result<bool> {
    let (width, height) = done.dimensions.unzip();
    let thumb = done.thumbnail.as_ref();
    let result = sqlx::query(
        "UPDATE uploads SET content_type = $2, size = $3, width = $4, height = $5,
                thumb_width = $6, thumb_height = $7, thumb_size = $8, thumb_content_type = $9,
                completed_at = $10
         WHERE id = $1 AND deleted_at IS NULL AND completed_at IS NULL
           AND (SELECT COALESCE(SUM(u.size), 0) FROM uploads u
                WHERE u.owner_user_id = $11 AND u.deleted_at IS NULL AND u.id <> $1) + $3 <= $12",
    )
    .bind(UuidText(id))
    .bind(done.content_type.clone())
    .bind(int(done.size))
    .bind(width.map(i64::from))
    .bind(height.map(i64::from))
    .bind(thumb.map(|t| i64::from(t.width)))
    .bind(thumb.map(|t| i64::from(t.height)))
    .bind(thumb.map(|t| int(t.size)))
    .bind(thumb.map(|t| t.content_type.clone()))
    .bind(now)
    .bind(UuidText(owner))
    .bind(int(quota))
    .execute(pool)
    .await
    .context("completing an upload")?;
    Ok(result.rows_affected() == 1)
}

/// The bytes of a user's live uploads (complete or streaming).
pub async fn usage(pool: &AnyPool, owner: Uuid) -> anyhow::Result<u64> {
    let used: i64 = sqlx::query_scalar(
        // SUM of a BIGINT is NUMERIC on PostgreSQL, which the Any driver cannot read.
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM uploads WHERE owner_user_id = $1 AND deleted_at IS NULL",
    )
    .bind(UuidText(owner))
    .fetch_one(pool)
    .await
    .context("reading a user's upload usage")?;
    Ok(u64::try_from(used).unwrap_or(0))
}

/// Forgets an upload that failed before it was complete (its objects already removed).
pub async fn forget(pool: &AnyPool, id: Uuid) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(UuidText(id))
        .execute(pool)
        .await
        .context("forgetting an upload")?;
    Ok(())
}

/// A complete upload that is not deleted.
pub async fn get(pool: &AnyPool, id: Uuid) -> anyhow::Result<Option<Upload>> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM uploads WHERE id = $1 AND completed_at IS NOT NULL AND deleted_at IS NULL"
    ))
    .bind(UuidText(id))
    .fetch_optional(pool)
    .await
    .context("reading an upload")?;
    Ok(row.map(Upload::from))
}

/// Of `ids`, those `owner` may attach now: theirs, complete, not deleted, on no message.
pub async fn attachable(pool: &AnyPool, owner: Uuid, ids: &[Uuid]) -> anyhow::Result<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id FROM uploads WHERE owner_user_id = $1 AND message_id IS NULL
           AND deleted_at IS NULL AND completed_at IS NOT NULL AND id IN ({})",
        placeholder_list(2, ids.len())
    );
    // Only numbered placeholders are formatted into this statement; every value is bound.
    let mut query =
        sqlx::query_scalar::<_, UuidText>(sqlx::AssertSqlSafe(sql)).bind(UuidText(owner));
    for id in ids {
        query = query.bind(UuidText(*id));
    }
    let found = query
        .fetch_all(pool)
        .await
        .context("checking attachments")?;
    Ok(found.into_iter().map(Uuid::from).collect())
}

/// Attaches the uploads to a message inside its transaction, in the order given. `false`
/// when any of them is no longer attachable (another message took it meanwhile, or it was
/// deleted): the caller rolls back.
pub async fn attach(
    tx: &mut sqlx::AnyConnection,
    message_id: i64,
    room_id: i64,
    owner: Uuid,
    ids: &[Uuid],
) -> anyhow::Result<bool> {
    for (position, id) in ids.iter().enumerate() {
        let done = sqlx::query(
            "UPDATE uploads SET message_id = $2, room_id = $3, position = $4
             WHERE id = $1 AND owner_user_id = $5 AND message_id IS NULL
               AND deleted_at IS NULL AND completed_at IS NOT NULL",
        )
        .bind(UuidText(*id))
        .bind(message_id)
        .bind(room_id)
        .bind(position as i64)
        .bind(UuidText(owner))
        .execute(&mut *tx)
        .await
        .context("attaching an upload")?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Soft-deletes a message's uploads, inside the delete's transaction: they stop being served
/// at once.
pub async fn delete_for_message(
    tx: &mut sqlx::AnyConnection,
    message_id: i64,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE uploads SET deleted_at = $2 WHERE message_id = $1 AND deleted_at IS NULL")
        .bind(message_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("deleting a message's uploads")?;
    Ok(())
}

/// Fills in the attachments of `messages` (one statement for the page; none for a deleted
/// message, whose uploads are deleted with it).
pub async fn attach_to(pool: &AnyPool, messages: &mut [Message]) -> anyhow::Result<()> {
    let mut ids: Vec<i64> = messages
        .iter()
        .filter(|m| m.deleted_at.is_none())
        .map(|m| m.id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    ids.sort_unstable();
    ids.dedup();
    let sql = format!(
        concat!(
            "SELECT ",
            columns!(),
            " FROM uploads WHERE message_id IN ({}) AND deleted_at IS NULL ORDER BY message_id, position"
        ),
        placeholder_list(1, ids.len())
    );
    // Only numbered placeholders are formatted into this statement; every value is bound.
    let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql));
    for id in &ids {
        query = query.bind(*id);
    }
    let uploads: Vec<Upload> = query
        .fetch_all(pool)
        .await
        .context("reading messages' attachments")?
        .into_iter()
        .map(Upload::from)
        .collect();
    for message in messages.iter_mut() {
        message.attachments = uploads
            .iter()
            .filter(|u| u.message_id == Some(message.id))
            .cloned()
            .collect();
    }
    Ok(())
}

/// Soft-deletes what no one will ever fetch: uploads never attached that completed before
/// `completed_before`, uploads that never completed and started before `started_before` (a
/// crash mid-stream), and uploads of rooms that no longer exist. Returns how many.
pub async fn expire(
    pool: &AnyPool,
    completed_before: i64,
    started_before: i64,
    now: i64,
) -> anyhow::Result<u64> {
    let unattached = sqlx::query(
        "UPDATE uploads SET deleted_at = $3
         WHERE message_id IS NULL AND deleted_at IS NULL
           AND ((completed_at IS NOT NULL AND completed_at < $1)
                OR (completed_at IS NULL AND created_at < $2))",
    )
    .bind(completed_before)
    .bind(started_before)
    .bind(now)
    .execute(pool)
    .await
    .context("expiring unattached uploads")?;
    let orphaned = sqlx::query(
        "UPDATE uploads SET deleted_at = $1
         WHERE room_id IS NOT NULL AND deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM rooms r WHERE r.id = uploads.room_id)",
    )
    .bind(now)
    .execute(pool)
    .await
    .context("expiring the uploads of deleted rooms")?;
    Ok(unattached.rows_affected() + orphaned.rows_affected())
}

/// Claims up to `limit` deleted uploads for this sweeper: rows nobody claimed, or whose
/// claim is older than `stale_before` (a replica that died mid-sweep). The condition is
/// checked again on each row as it is updated, so two replicas never claim the same row at
/// once (and if they did, deleting an object twice does no harm).
pub async fn claim(
    pool: &AnyPool,
    now: i64,
    stale_before: i64,
    limit: i64,
) -> anyhow::Result<Vec<Uuid>> {
    let ids: Vec<UuidText> = sqlx::query_scalar(
        "UPDATE uploads SET sweeping_at = $1
         WHERE id IN (SELECT id FROM uploads
                      WHERE deleted_at IS NOT NULL AND (sweeping_at IS NULL OR sweeping_at < $2)
                      ORDER BY deleted_at LIMIT $3)
           AND deleted_at IS NOT NULL AND (sweeping_at IS NULL OR sweeping_at < $2)
         RETURNING id",
    )
    .bind(now)
    .bind(stale_before)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("claiming deleted uploads")?;
    Ok(ids.into_iter().map(Uuid::from).collect())
}

/// Removes a swept upload's row (its objects are gone).
pub async fn remove_swept(pool: &AnyPool, id: Uuid) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM uploads WHERE id = $1 AND deleted_at IS NOT NULL")
        .bind(UuidText(id))
        .execute(pool)
        .await
        .context("removing a swept upload")?;
    Ok(())
}
