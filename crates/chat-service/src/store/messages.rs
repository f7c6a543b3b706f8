//! The `messages` table. A message's `seq` is given out by bumping `rooms.last_seq` in the
//! transaction that inserts it: a writer that commits holds the next number, one that rolls
//! back gives it back, so seqs have no gaps and "everything after seq N" is complete.
//!
//! Revisions work the same way for the change feed: every change to a room's messages (a new
//! message, an edit, a delete) bumps `rooms.last_rev` in its transaction and stamps the message
//! with it (`messages.rev`). The room row is the lock, so a room's revisions commit in order
//! and "everything changed after rev N" is complete too (docs/protocol.md).

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::{Engine, ResultExt, UuidText, placeholder_list, placeholder_rows};
use uuid::Uuid;

use super::audit::NewEntry;
use super::mentions::{self, Mentioned, Mentions};
use super::moderation::Hidden;
use super::uploads;
use crate::domain::{ClientMsgId, MessageContent};

/// The columns of a [`MessageRow`], in one place for every statement that reads messages.
macro_rules! columns {
    () => {
        "id, room_id, seq, rev, user_id, username_snapshot, type, content, client_msg_id, created_at, edited_at, deleted_at, reply_to_id, mention_ids, mentions_room"
    };
}

/// The columns a new message is stored with, in the order [`insert_rows`] binds them.
macro_rules! new_columns {
    () => {
        "room_id, seq, rev, user_id, username_snapshot, type, content, client_msg_id, created_at, reply_to_id, mention_ids, mentions_room"
    };
}

/// How many values [`insert_rows`] binds per message.
const NEW_COLUMNS: usize = 12;

/// The only kind of message stored so far.
const TEXT: &str = "text";

#[derive(Debug, Clone)]
pub struct Message {
    pub id: i64,
    pub room_id: i64,
    pub seq: i64,
    /// The room revision of this message's last change.
    pub rev: i64,
    pub user_id: Uuid,
    pub username: String,
    pub kind: String,
    pub content: String,
    pub client_msg_id: Option<String>,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// Filled in by [`super::reactions::attach`] where clients see the message.
    pub reactions: Vec<super::reactions::Reaction>,
    /// The message this one answers.
    pub reply_to_id: Option<i64>,
    /// Its quote, filled in by [`attach_replies`] where clients see the message.
    pub reply_to: Option<ReplyPreview>,
    /// The users it names (`@username`).
    pub mentions: Vec<Uuid>,
    /// It says `@room`.
    pub mentions_room: bool,
    /// The files it carries, filled in by [`super::uploads::attach_to`] where clients see
    /// the message.
    pub attachments: Vec<super::uploads::Upload>,
    /// Why the reader does not see it, set where a reader's view is made
    /// (`ops::messages::as_clients_see`).
    pub hidden: Option<Hidden>,
}

/// The quote of the message a reply answers, as that message is now (the client's shape).
pub use wire::protocol::ReplyPreview;

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    room_id: i64,
    seq: i64,
    rev: i64,
    user_id: UuidText,
    username_snapshot: String,
    #[sqlx(rename = "type")]
    kind: String,
    content: String,
    client_msg_id: Option<String>,
    created_at: i64,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
    reply_to_id: Option<i64>,
    mention_ids: Option<String>,
    mentions_room: i64,
}

impl From<MessageRow> for Message {
    fn from(r: MessageRow) -> Self {
        Message {
            id: r.id,
            room_id: r.room_id,
            seq: r.seq,
            rev: r.rev,
            user_id: r.user_id.into(),
            username: r.username_snapshot,
            kind: r.kind,
            content: r.content,
            client_msg_id: r.client_msg_id,
            created_at: r.created_at,
            edited_at: r.edited_at,
            deleted_at: r.deleted_at,
            reactions: Vec::new(),
            reply_to_id: r.reply_to_id,
            reply_to: None,
            mentions: Mentions::users_of(r.mention_ids.as_deref()),
            mentions_room: r.mentions_room != 0,
            attachments: Vec::new(),
            hidden: None,
        }
    }
}

fn convert(rows: Vec<MessageRow>) -> Vec<Message> {
    rows.into_iter().map(Message::from).collect()
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
    /// One of the send's uploads was taken by another message, or deleted, after it was
    /// checked.
    #[error("an attachment is no longer available")]
    AttachmentTaken,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A message to store, for [`insert_batch`].
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room_id: i64,
    pub user_id: Uuid,
    pub username: String,
    pub content: MessageContent,
    pub client_msg_id: Option<ClientMsgId>,
    /// The message it answers, checked to be a live message of the same room.
    pub reply_to_id: Option<i64>,
    /// Whom it mentions, resolved against the room.
    pub mentions: Mentions,
    /// Uploads of the sender to attach, in order (checked attachable before queueing; taken
    /// for good in the message's transaction).
    pub attachments: Vec<Uuid>,
    pub now: i64,
}

/// A send about to be inserted, with its seq and revision taken.
struct NewRow<'a> {
    message: &'a NewMessage,
    seq: i64,
    rev: i64,
}

impl NewRow<'_> {
    /// The message this row became once stored with `id`.
    fn stored(&self, id: i64) -> Message {
        let m = self.message;
        Message {
            id,
            room_id: m.room_id,
            seq: self.seq,
            rev: self.rev,
            user_id: m.user_id,
            username: m.username.clone(),
            kind: TEXT.to_owned(),
            content: m.content.as_str().to_owned(),
            client_msg_id: m.client_msg_id.as_ref().map(|c| c.as_str().to_owned()),
            created_at: m.now,
            edited_at: None,
            deleted_at: None,
            reactions: Vec::new(),
            reply_to_id: m.reply_to_id,
            reply_to: None,
            mentions: m.mentions.users.clone(),
            mentions_room: m.mentions.room,
            attachments: Vec::new(),
            hidden: None,
        }
    }
}

/// Inserts the rows in one statement and answers `(id, room_id, seq)` for each, in no
/// particular order. A unique violation means a copy of a send was stored meanwhile.
async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    rows: &[NewRow<'_>],
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    let sql = format!(
        concat!(
            "INSERT INTO messages (",
            new_columns!(),
            ") VALUES {} RETURNING id, room_id, seq"
        ),
        placeholder_rows(1, rows.len(), NEW_COLUMNS)
    );
    // Only numbered placeholders are formatted into this statement; every value is bound.
    let mut query = sqlx::query_as::<_, (i64, i64, i64)>(sqlx::AssertSqlSafe(sql));
    for row in rows {
        let m = row.message;
        query = query
            .bind(m.room_id)
            .bind(row.seq)
            .bind(row.rev)
            .bind(UuidText(m.user_id))
            .bind(m.username.clone())
            .bind(TEXT)
            .bind(m.content.as_str().to_owned())
            .bind(m.client_msg_id.as_ref().map(|c| c.as_str().to_owned()))
            .bind(m.now)
            .bind(m.reply_to_id)
            .bind(m.mentions.column())
            .bind(i64::from(m.mentions.room));
    }
    query.fetch_all(conn).await
}

/// Why a whole batch could not be stored at once; the caller then stores its messages one by
/// one (which sorts out the rare cases: a copy of a send committed meanwhile by another
/// replica, or a room deleted under the batch).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("a send of this batch collided with a stored message")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Stores several messages in one transaction — the rooms' seqs taken in one statement
/// ([`take_seqs`], rows locked in id order so that concurrent batches cannot deadlock), and one
/// multi-row `INSERT` ([`insert_rows`]) — and answers each in the order given. Seqs within a
/// room follow that order. A retried send — one whose (user, clientMsgId) is already stored, or
/// appears earlier in the same batch — answers with the original and stores nothing.
///
/// Takes a connection rather than the pool: the group-commit writers keep their own, so a
/// batch never queues for a connection behind the reads of the sends it carries.
pub async fn insert_batch(
    conn: &mut sqlx::AnyConnection,
    engine: Engine,
    batch: &[NewMessage],
) -> Result<Vec<Result<Stored, InsertError>>, BatchError> {
    let mut answers: Vec<Option<Result<Stored, InsertError>>> =
        (0..batch.len()).map(|_| None).collect();
    // Retries of sends already stored.
    let keyed: Vec<(usize, &NewMessage, &ClientMsgId)> = batch
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.client_msg_id.as_ref().map(|c| (i, m, c)))
        .collect();
    if !keyed.is_empty() {
        let existing =
            by_client_ids(conn, keyed.iter().map(|(_, m, c)| (m.user_id, c.as_str()))).await?;
        for (i, m, c) in &keyed {
            if let Some(message) = existing
                .iter()
                .find(|e| e.user_id == m.user_id && e.client_msg_id.as_deref() == Some(c.as_str()))
            {
                answers[*i] = Some(Ok(Stored {
                    message: message.clone(),
                    duplicate: true,
                }));
            }
        }
    }
    // Copies inside the batch: the first one is stored, the others answer with it.
    let mut first_of: Vec<Option<usize>> = vec![None; batch.len()];
    for (i, m, c) in &keyed {
        if answers[*i].is_some() {
            continue;
        }
        first_of[*i] = keyed
            .iter()
            .find(|(j, other, oc)| j < i && other.user_id == m.user_id && oc.as_str() == c.as_str())
            .map(|(j, _, _)| *j);
    }
    let fresh: Vec<usize> = (0..batch.len())
        .filter(|i| answers[*i].is_none() && first_of[*i].is_none())
        .collect();
    if !fresh.is_empty() {
        let mut tx = sqlx::Connection::begin(&mut *conn)
            .await
            .context("starting a batch")?;
        let mut rooms: Vec<i64> = fresh.iter().map(|i| batch[*i].room_id).collect();
        rooms.sort_unstable();
        rooms.dedup();
        let counts: Vec<(i64, i64)> = rooms
            .iter()
            .map(|room| {
                let n = fresh.iter().filter(|i| batch[**i].room_id == *room).count();
                (*room, n as i64)
            })
            .collect();
        let last = take_seqs(&mut tx, engine, &counts).await?;
        // The next (seq, rev) of each room: both counters moved by the room's count.
        let mut next: std::collections::HashMap<i64, (i64, i64)> = std::collections::HashMap::new();
        for (room, count) in &counts {
            match last.iter().find(|(id, _, _)| id == room) {
                Some((_, last_seq, last_rev)) => {
                    next.insert(*room, (last_seq - count + 1, last_rev - count + 1));
                }
                None => {
                    for i in fresh.iter().filter(|i| batch[**i].room_id == *room) {
                        answers[*i] = Some(Err(InsertError::RoomGone));
                    }
                }
            }
        }
        // The rows to insert, and the batch position each answers.
        let mut rows: Vec<NewRow<'_>> = Vec::with_capacity(fresh.len());
        let mut positions: Vec<usize> = Vec::with_capacity(fresh.len());
        for i in &fresh {
            if let Some((seq, rev)) = next.get_mut(&batch[*i].room_id) {
                rows.push(NewRow {
                    message: &batch[*i],
                    seq: *seq,
                    rev: *rev,
                });
                positions.push(*i);
                *seq += 1;
                *rev += 1;
            }
        }
        if !rows.is_empty() {
            let ids = insert_rows(&mut tx, &rows)
                .await
                .on_unique(|_| BatchError::Conflict)?
                .context("inserting a batch")?;
            let mut stored_ids = Vec::with_capacity(rows.len());
            for row in &rows {
                let Some((id, _, _)) = ids
                    .iter()
                    .find(|(_, room, seq)| *room == row.message.room_id && *seq == row.seq)
                else {
                    return Err(BatchError::Unexpected(anyhow::anyhow!(
                        "a batched insert returned no id for seq {}",
                        row.seq
                    )));
                };
                stored_ids.push(*id);
            }
            let mentioned: Vec<Mentioned<'_>> = rows
                .iter()
                .zip(&stored_ids)
                .filter(|(row, _)| !row.message.mentions.notify.is_empty())
                .map(|(row, id)| Mentioned {
                    message_id: *id,
                    room_id: row.message.room_id,
                    seq: row.seq,
                    notify: &row.message.mentions.notify,
                })
                .collect();
            mentions::insert(&mut tx, &mentioned).await?;
            // The uploads each message carries, taken in its transaction.
            for (row, id) in rows.iter().zip(&stored_ids) {
                let m = row.message;
                if m.attachments.is_empty()
                    || uploads::attach(&mut tx, *id, m.room_id, m.user_id, &m.attachments).await?
                {
                    continue;
                }
                // Another message took one of them (or it was deleted) since the send was
                // checked. Alone, this send fails; in a batch, the sends are stored one by one
                // so that only this one does.
                tx.rollback().await.context("rolling back a batch")?;
                if rows.len() > 1 {
                    return Err(BatchError::Conflict);
                }
                for i in &positions {
                    answers[*i] = Some(Err(InsertError::AttachmentTaken));
                }
                return Ok(finish(batch, answers, &first_of));
            }
            tx.commit().await.context("committing a batch")?;
            for ((i, row), id) in positions.iter().zip(&rows).zip(stored_ids) {
                answers[*i] = Some(Ok(Stored {
                    message: row.stored(id),
                    duplicate: false,
                }));
            }
        } else {
            tx.commit().await.context("committing a batch")?;
        }
    }
    Ok(finish(batch, answers, &first_of))
}

/// The answers of a batch: copies of a send inside it answer with their first.
fn finish(
    batch: &[NewMessage],
    mut answers: Vec<Option<Result<Stored, InsertError>>>,
    first_of: &[Option<usize>],
) -> Vec<Result<Stored, InsertError>> {
    for i in 0..batch.len() {
        if let Some(first) = first_of[i] {
            answers[i] = Some(match &answers[first] {
                Some(Ok(stored)) => Ok(Stored {
                    message: stored.message.clone(),
                    duplicate: true,
                }),
                Some(Err(InsertError::RoomGone)) | None => Err(InsertError::RoomGone),
                Some(Err(InsertError::AttachmentTaken)) => Err(InsertError::AttachmentTaken),
                Some(Err(InsertError::Unexpected(e))) => {
                    Err(InsertError::Unexpected(anyhow::anyhow!("{e:#}")))
                }
            });
        }
    }
    answers
        .into_iter()
        .map(|a| {
            a.unwrap_or_else(|| {
                Err(InsertError::Unexpected(anyhow::anyhow!(
                    "a batched send got no answer"
                )))
            })
        })
        .collect()
}

/// Bumps `last_seq` and `last_rev` of each `(room, count)` in one statement and returns
/// `(room, new last_seq, new last_rev)` for the rooms that exist. Where writers run
/// concurrently (PostgreSQL) the rows are locked in id order first, so two writers taking
/// overlapping rooms queue instead of deadlocking.
async fn take_seqs(
    tx: &mut sqlx::AnyConnection,
    engine: Engine,
    counts: &[(i64, i64)],
) -> anyhow::Result<Vec<(i64, i64, i64)>> {
    // Only numbered placeholders are formatted into these statements; every value is bound.
    if !engine.serializes_writers() {
        let sql = format!(
            "SELECT id FROM rooms WHERE id IN ({}) ORDER BY id FOR UPDATE",
            placeholder_list(1, counts.len())
        );
        let mut lock = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
        for (room, _) in counts {
            lock = lock.bind(*room);
        }
        lock.fetch_all(&mut *tx)
            .await
            .context("locking rooms for a batch")?;
    }
    // `VALUES` names its columns column1, column2 on both engines.
    let sql = format!(
        "UPDATE rooms SET last_seq = last_seq + c.column2, last_rev = last_rev + c.column2
         FROM (VALUES {}) AS c WHERE rooms.id = c.column1
         RETURNING rooms.id, rooms.last_seq, rooms.last_rev",
        placeholder_rows(1, counts.len(), 2)
    );
    let mut update = sqlx::query_as::<_, (i64, i64, i64)>(sqlx::AssertSqlSafe(sql));
    for (room, count) in counts {
        update = update.bind(*room).bind(*count);
    }
    update
        .fetch_all(&mut *tx)
        .await
        .context("taking seqs for a batch")
}

/// Stored messages for these (user, clientMsgId) pairs.
async fn by_client_ids<'a>(
    conn: &mut sqlx::AnyConnection,
    keys: impl Iterator<Item = (Uuid, &'a str)>,
) -> anyhow::Result<Vec<Message>> {
    let keys: Vec<(Uuid, &str)> = keys.collect();
    let sql = format!(
        concat!(
            "SELECT ",
            columns!(),
            " FROM (VALUES {}) AS k
             JOIN messages ON user_id = k.column1 AND client_msg_id = k.column2"
        ),
        placeholder_rows(1, keys.len(), 2)
    );
    // Only numbered placeholders are formatted into this statement; every value is bound.
    let mut query = sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql));
    for (user, cid) in keys {
        query = query.bind(UuidText(user)).bind(cid.to_owned());
    }
    Ok(convert(
        query
            .fetch_all(&mut *conn)
            .await
            .context("looking up retried sends")?,
    ))
}

/// Where a read of a room's messages starts, and which way it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// By seq: after `after` (oldest first, forward) when it is given, else the newest
    /// messages; below `before` when it is given (`afterSeq`, `beforeSeq`).
    Seq {
        after: Option<i64>,
        before: Option<i64>,
    },
    /// Messages whose last change has a revision above this one, in revision order
    /// (`sinceRev`: the change feed).
    SinceRev(i64),
}

impl Cursor {
    /// Whether the read goes forward (the answer is cut at its far end) or back.
    pub fn forward(self) -> bool {
        !matches!(self, Cursor::Seq { after: None, .. })
    }
}

/// Which page of a room's messages.
#[derive(Debug, Clone, Copy)]
pub struct PageQuery {
    pub cursor: Cursor,
    pub limit: i64,
    /// The answer's byte budget: rows that cannot fit in it are not even read (see [`page`]).
    pub max_bytes: i64,
}

/// A page of a room's messages, in the order of the cursor (by seq, oldest first, for seq
/// cursors; by revision for [`Cursor::SinceRev`]), and whether more lie beyond it in the
/// direction read.
///
/// Rows are read in that direction and stop once the characters of the contents before a row
/// reach `max_bytes`: a message takes at least as many bytes serialised as its content has
/// characters, so such rows could never fit in the answer. The caller trims the rest to the
/// exact serialised size. Both engines run the same window query, one statement, so the page
/// is one snapshot.
pub async fn page(
    pool: &AnyPool,
    room_id: i64,
    q: PageQuery,
) -> anyhow::Result<(Vec<Message>, bool)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        message: MessageRow,
        fetched: i64,
    }
    let (range, key, order, from, to) = match q.cursor {
        Cursor::Seq {
            after: Some(after),
            before,
        } => (
            "seq > $2 AND seq < $3",
            "seq",
            "ASC",
            after,
            before.unwrap_or(i64::MAX),
        ),
        Cursor::Seq {
            after: None,
            before,
        } => (
            "seq >= $2 AND seq < $3",
            "seq",
            "DESC",
            0,
            before.unwrap_or(i64::MAX),
        ),
        Cursor::SinceRev(since) => ("rev > $2 AND rev < $3", "rev", "ASC", since, i64::MAX),
    };
    // Only these fixed fragments are formatted into the statement; every value is bound.
    let sql = format!(
        "SELECT {cols}, fetched
         FROM (
             SELECT p.*,
                    COALESCE(SUM(LENGTH(p.content)) OVER (ORDER BY p.{key} {order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS chars_before,
                    COUNT(*) OVER () AS fetched
             FROM (
                 SELECT {cols}
                 FROM messages WHERE room_id = $1 AND {range} ORDER BY {key} {order} LIMIT $4
             ) p
         ) w
         WHERE chars_before < $5
         ORDER BY {key} ASC",
        cols = columns!(),
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(room_id)
        .bind(from)
        .bind(to)
        .bind(q.limit + 1)
        .bind(q.max_bytes)
        .fetch_all(pool)
        .await
        .context("reading messages")?;
    let fetched = rows.first().map_or(0, |r| r.fetched);
    let mut rows: Vec<MessageRow> = rows.into_iter().map(|r| r.message).collect();
    let has_more = fetched > q.limit || (rows.len() as i64) < fetched;
    let keep = usize::try_from(q.limit).unwrap_or(0);
    if rows.len() > keep {
        // One row past the limit was read to learn whether more exist; it lies at the far end.
        if q.cursor.forward() {
            rows.truncate(keep);
        } else {
            rows.drain(..rows.len() - keep);
        }
    }
    Ok((convert(rows), has_more))
}

/// Whether `user` has stored a message with this clientMsgId (a retried send).
pub async fn exists_by_client_id(
    pool: &AnyPool,
    user: Uuid,
    client_msg_id: &str,
) -> anyhow::Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM messages WHERE user_id = $1 AND client_msg_id = $2")
            .bind(UuidText(user))
            .bind(client_msg_id.to_owned())
            .fetch_optional(pool)
            .await
            .context("looking up a retried send")?;
    Ok(found.is_some())
}

pub async fn get(pool: &AnyPool, id: i64) -> anyhow::Result<Option<Message>> {
    let row: Option<MessageRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM messages WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
    .context("reading a message")?;
    Ok(row.map(Message::from))
}

/// A change to a stored message.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// New text for a live message, and whom the new text mentions.
    Edit(&'a MessageContent, &'a Mentions),
    /// A soft delete: the row (and its seq) stays, the text goes.
    Delete,
}

/// Applies one change to a live message in its own transaction, with the room's next
/// revision (see [`change_in`]), and records it in the audit log (`audit`, a moderator's
/// deletion) in the same transaction. `None` when the message is gone or already deleted;
/// the rollback then gives the revision back.
pub async fn change(
    pool: &AnyPool,
    message: &Message,
    change: Change<'_>,
    now: i64,
    audit: Option<&NewEntry<'_>>,
) -> anyhow::Result<Option<Message>> {
    let mut tx = pool.begin().await.context("starting a change")?;
    let Some(changed) = change_in(&mut tx, message, change, now).await? else {
        return Ok(None);
    };
    if let Some(entry) = audit {
        super::audit::append(&mut tx, entry, now).await?;
    }
    tx.commit().await.context("committing a change")?;
    Ok(Some(changed))
}

/// Applies one change to a live message inside `tx`: the revision is taken first (the room
/// row's lock orders the room's changes, as for sends), then the message row changes. `None`
/// when the message is gone or already deleted (the caller rolls back).
pub async fn change_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    message: &Message,
    change: Change<'_>,
    now: i64,
) -> anyhow::Result<Option<Message>> {
    let none = Mentions::default();
    let (update, text, mentioned) = match change {
        Change::Edit(content, mentioned) => (
            concat!(
                "UPDATE messages SET content = $3, edited_at = $4, rev = $2, mention_ids = $5, mentions_room = $6
                 WHERE id = $1 AND deleted_at IS NULL RETURNING ",
                columns!()
            ),
            content.as_str(),
            mentioned,
        ),
        Change::Delete => (
            concat!(
                "UPDATE messages SET content = $3, deleted_at = $4, rev = $2, mention_ids = $5, mentions_room = $6
                 WHERE id = $1 AND deleted_at IS NULL RETURNING ",
                columns!()
            ),
            "",
            &none,
        ),
    };
    let Some(rev) = next_rev(tx, message.room_id).await? else {
        return Ok(None);
    };
    let row: Option<MessageRow> = sqlx::query_as(update)
        .bind(message.id)
        .bind(rev)
        .bind(text)
        .bind(now)
        .bind(mentioned.column())
        .bind(i64::from(mentioned.room))
        .fetch_optional(&mut **tx)
        .await
        .context("changing a message")?;
    let Some(row) = row else {
        return Ok(None);
    };
    // Whom it mentions is what its text says now: nobody once deleted.
    mentions::remove(tx, message.id).await?;
    mentions::insert(
        tx,
        &[Mentioned {
            message_id: message.id,
            room_id: message.room_id,
            seq: message.seq,
            notify: &mentioned.notify,
        }],
    )
    .await?;
    if matches!(change, Change::Delete) {
        // A deleted message loses its reactions with its text, and its files: they stop
        // being served now, and the sweeper reclaims the storage.
        sqlx::query("DELETE FROM reactions WHERE message_id = $1")
            .bind(message.id)
            .execute(&mut **tx)
            .await
            .context("deleting a message's reactions")?;
        uploads::delete_for_message(tx, message.id, now).await?;
    }
    Ok(Some(Message::from(row)))
}

/// Takes the room's next revision inside `tx` (the room row's lock orders the room's changes);
/// `None` when the room is gone.
pub(crate) async fn next_rev(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    room_id: i64,
) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar("UPDATE rooms SET last_rev = last_rev + 1 WHERE id = $1 RETURNING last_rev")
        .bind(room_id)
        .fetch_optional(&mut **tx)
        .await
        .context("taking the room's next revision")
}

/// Stamps a live message with a revision (a change that is not to its own columns, such as a
/// reaction); `None` when it is gone or deleted.
pub(crate) async fn stamp(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    message_id: i64,
    rev: i64,
) -> anyhow::Result<Option<Message>> {
    let row: Option<MessageRow> = sqlx::query_as(concat!(
        "UPDATE messages SET rev = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING ",
        columns!()
    ))
    .bind(message_id)
    .bind(rev)
    .fetch_optional(&mut **tx)
    .await
    .context("stamping a message with a revision")?;
    Ok(row.map(Message::from))
}

/// The messages with these ids, in no particular order (one statement).
pub async fn by_ids(pool: &AnyPool, ids: &[i64]) -> anyhow::Result<Vec<Message>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        concat!("SELECT ", columns!(), " FROM messages WHERE id IN ({})"),
        placeholder_list(1, ids.len())
    );
    // Only numbered placeholders are formatted into this statement; every value is bound.
    let mut query = sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    Ok(convert(
        query
            .fetch_all(pool)
            .await
            .context("reading messages by id")?,
    ))
}

/// The live messages `user_id` wrote after message id `after`, by id, at most `limit`: a
/// page of their data export (index `messages_user_id_idx`).
pub async fn by_author(
    pool: &AnyPool,
    user_id: Uuid,
    after: i64,
    limit: i64,
) -> anyhow::Result<Vec<Message>> {
    let rows: Vec<MessageRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM messages WHERE user_id = $1 AND id > $2 AND deleted_at IS NULL ORDER BY id LIMIT $3"
    ))
    .bind(UuidText(user_id))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("reading a person's messages")?;
    Ok(convert(rows))
}

/// Fills in the quotes of the replies among `messages` (one statement for their originals).
pub async fn attach_replies(pool: &AnyPool, messages: &mut [Message]) -> anyhow::Result<()> {
    let mut ids: Vec<i64> = messages.iter().filter_map(|m| m.reply_to_id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    ids.sort_unstable();
    ids.dedup();
    let originals = by_ids(pool, &ids)
        .await
        .context("reading the messages replies answer")?;
    for message in messages.iter_mut() {
        let Some(id) = message.reply_to_id else {
            continue;
        };
        message.reply_to = originals.iter().find(|o| o.id == id).map(|o| ReplyPreview {
            id: o.id,
            seq: o.seq,
            user_id: o.user_id,
            username: o.username.clone(),
            excerpt: if o.deleted_at.is_some() {
                String::new()
            } else {
                o.content
                    .chars()
                    .take(wire::protocol::REPLY_EXCERPT_CHARS)
                    .collect()
            },
        });
    }
    Ok(())
}

/// The newest messages (before message id `before`, when given) that mention `user_id` in
/// rooms they can read now, by none of `hidden_authors`, newest first, at most `limit`, and
/// whether more follow.
pub async fn mentioning(
    pool: &AnyPool,
    user_id: Uuid,
    before: Option<i64>,
    limit: i64,
    hidden_authors: &[Uuid],
) -> anyhow::Result<(Vec<Message>, bool)> {
    // Only numbered placeholders are formatted into the statement; every value is bound.
    let hidden = if hidden_authors.is_empty() {
        String::new()
    } else {
        format!(
            "AND NOT EXISTS (SELECT 1 FROM messages a WHERE a.id = n.message_id AND a.user_id IN ({}))",
            placeholder_list(4, hidden_authors.len())
        )
    };
    let sql = format!(
        concat!(
            "SELECT ",
            columns!(),
            " FROM messages WHERE id IN (
             SELECT n.message_id FROM mentions n JOIN rooms r ON r.id = n.room_id
             WHERE n.user_id = $1 AND n.message_id < $2 {}
               AND (r.is_general = 1 OR EXISTS (
                    SELECT 1 FROM room_members x WHERE x.room_id = n.room_id AND x.user_id = $1))
             ORDER BY n.message_id DESC LIMIT $3)
         ORDER BY id DESC"
        ),
        hidden
    );
    let mut query = sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql))
        .bind(UuidText(user_id))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit + 1);
    for author in hidden_authors {
        query = query.bind(UuidText(*author));
    }
    let rows: Vec<MessageRow> = query
        .fetch_all(pool)
        .await
        .context("reading a user's mentions")?;
    let has_more = rows.len() as i64 > limit;
    let mut messages = convert(rows);
    messages.truncate(usize::try_from(limit).unwrap_or(0));
    Ok((messages, has_more))
}
