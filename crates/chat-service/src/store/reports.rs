//! The `reports` table (migration 0013): messages reported to a room's moderators, with the
//! text as it was when reported, and how each report was resolved.

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::{ResultExt, UuidText};
use uuid::Uuid;

use super::{Binds, Value};
use crate::domain::moderation::{ReportStatus, Resolution};
use crate::store::rooms::RoomKind;

/// A report with what its view shows of the message and the room.
#[derive(Debug, Clone)]
pub struct Report {
    pub id: i64,
    pub status: ReportStatus,
    pub reason: String,
    pub created_at: i64,
    pub reporter_id: Uuid,
    pub reporter_name: String,
    pub message_id: i64,
    pub room_id: i64,
    /// The message's seq; 0 when the message row is gone.
    pub seq: i64,
    pub author_id: Uuid,
    pub author_name: String,
    /// The text when it was reported.
    pub content: String,
    /// The message is deleted now (or gone).
    pub message_deleted: bool,
    pub room_name: String,
    pub room_kind: RoomKind,
    pub resolution: Option<ResolutionRecord>,
}

/// How a report was resolved.
#[derive(Debug, Clone)]
pub struct ResolutionRecord {
    pub action: String,
    pub note: Option<String>,
    pub by: Uuid,
    pub by_name: String,
    pub at: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    status: String,
    reason: String,
    created_at: i64,
    reporter_id: UuidText,
    reporter_name: String,
    message_id: i64,
    room_id: i64,
    seq: Option<i64>,
    author_id: UuidText,
    author_name: String,
    content_snapshot: String,
    message_deleted: i64,
    room_name: String,
    room_kind: String,
    resolved_at: Option<i64>,
    resolved_by: Option<UuidText>,
    resolved_by_name: Option<String>,
    resolution: Option<String>,
    resolution_note: Option<String>,
}

impl From<Row> for Report {
    fn from(r: Row) -> Self {
        let resolution = match (r.resolution, r.resolved_by, r.resolved_at) {
            (Some(action), Some(by), Some(at)) => Some(ResolutionRecord {
                action,
                note: r.resolution_note,
                by: by.into(),
                by_name: r.resolved_by_name.unwrap_or_default(),
                at,
            }),
            _ => None,
        };
        Report {
            id: r.id,
            status: if r.status == "resolved" {
                ReportStatus::Resolved
            } else {
                ReportStatus::Open
            },
            reason: r.reason,
            created_at: r.created_at,
            reporter_id: r.reporter_id.into(),
            reporter_name: r.reporter_name,
            message_id: r.message_id,
            room_id: r.room_id,
            seq: r.seq.unwrap_or(0),
            author_id: r.author_id.into(),
            author_name: r.author_name,
            content: r.content_snapshot,
            message_deleted: r.message_deleted != 0,
            room_name: r.room_name,
            room_kind: RoomKind::parse(&r.room_kind),
            resolution,
        }
    }
}

/// The columns of a [`Row`] over `reports p`, with its message `m`, room `r` and the
/// resolver's name from `known_users k`.
macro_rules! columns {
    () => {
        "p.id, p.status, p.reason, p.created_at, p.reporter_id, p.reporter_name, p.message_id,
         p.room_id, m.seq, p.author_id, p.author_name, p.content_snapshot,
         CAST(CASE WHEN m.id IS NULL OR m.deleted_at IS NOT NULL THEN 1 ELSE 0 END AS BIGINT)
             AS message_deleted,
         r.name AS room_name, r.kind AS room_kind, p.resolved_at, p.resolved_by,
         k.username AS resolved_by_name, p.resolution, p.resolution_note
         FROM reports p
         JOIN rooms r ON r.id = p.room_id
         LEFT JOIN messages m ON m.id = p.message_id
         LEFT JOIN known_users k ON k.user_id = p.resolved_by"
    };
}

/// A report to file.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub message_id: i64,
    pub room_id: i64,
    pub reporter_id: Uuid,
    pub reporter_name: &'a str,
    pub author_id: Uuid,
    pub author_name: &'a str,
    pub content: &'a str,
    pub reason: &'a str,
    pub now: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The reporter has an open report of this message.
    #[error("already reported")]
    AlreadyReported,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub async fn create(pool: &AnyPool, new: &NewReport<'_>) -> Result<Report, CreateError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO reports (message_id, room_id, reporter_id, reporter_name, author_id,
                              author_name, content_snapshot, reason, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9) RETURNING id",
    )
    .bind(new.message_id)
    .bind(new.room_id)
    .bind(UuidText(new.reporter_id))
    .bind(new.reporter_name)
    .bind(UuidText(new.author_id))
    .bind(new.author_name)
    .bind(new.content)
    .bind(new.reason)
    .bind(new.now)
    .fetch_one(pool)
    .await
    .on_unique(|_| CreateError::AlreadyReported)?
    .context("filing a report")?;
    get(pool, id)
        .await?
        .context("a report just filed is gone")
        .map_err(CreateError::from)
}

pub async fn get(pool: &AnyPool, id: i64) -> anyhow::Result<Option<Report>> {
    let row: Option<Row> = sqlx::query_as(concat!("SELECT ", columns!(), " WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .context("reading a report")?;
    Ok(row.map(Report::from))
}

/// Whose reports a queue shows.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// Every report (staff).
    All,
    /// Those of the group rooms this user owns or moderates.
    ModeratedBy(Uuid),
}

/// A page of a queue: at most `limit` reports of `status` (in `room_id` when given), newest
/// first, with ids below `before`.
pub async fn page(
    pool: &AnyPool,
    scope: Scope,
    status: ReportStatus,
    room_id: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> anyhow::Result<Vec<Report>> {
    // Only placeholders and fixed SQL are formatted into the statement; every value is bound.
    let mut binds = Binds::default();
    let mut conditions = vec![format!("p.status = {}", binds.text(status.as_str()))];
    if let Scope::ModeratedBy(user) = scope {
        let user = binds.text(user.to_string());
        conditions.push(format!(
            "r.kind = 'group' AND (r.owner_user_id = {user} OR EXISTS (
                 SELECT 1 FROM room_members x
                 WHERE x.room_id = p.room_id AND x.user_id = {user} AND x.role = 'moderator'))"
        ));
    }
    if let Some(room) = room_id {
        conditions.push(format!("p.room_id = {}", binds.push(Value::Int(room))));
    }
    if let Some(before) = before {
        conditions.push(format!("p.id < {}", binds.push(Value::Int(before))));
    }
    let limit = binds.push(Value::Int(limit));
    let sql = format!(
        concat!(
            "SELECT ",
            columns!(),
            " WHERE {} ORDER BY p.id DESC LIMIT {}"
        ),
        conditions.join(" AND "),
        limit
    );
    let rows = binds
        .bind_all(sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)))
        .fetch_all(pool)
        .await
        .context("listing reports")?;
    Ok(rows.into_iter().map(Report::from).collect())
}

/// How reports are resolved.
#[derive(Debug, Clone, Copy)]
pub struct Resolve<'a> {
    pub message_id: i64,
    pub resolution: Resolution,
    pub note: Option<&'a str>,
    pub by: Uuid,
    pub now: i64,
}

/// Resolves every open report of the message alike, inside the caller's transaction; the ids
/// resolved (none when they all were already).
pub async fn resolve(conn: &mut AnyConnection, how: &Resolve<'_>) -> anyhow::Result<Vec<i64>> {
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "UPDATE reports SET status = 'resolved', resolved_at = $2, resolved_by = $3,
                            resolution = $4, resolution_note = $5
         WHERE message_id = $1 AND status = 'open' RETURNING id",
    )
    .bind(how.message_id)
    .bind(how.now)
    .bind(UuidText(how.by))
    .bind(how.resolution.as_str())
    .bind(how.note)
    .fetch_all(conn)
    .await
    .context("resolving reports")?;
    ids.sort_unstable();
    Ok(ids)
}

/// chat-service's figures for `GET /admin/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Figures {
    /// Group rooms.
    pub rooms: i64,
    pub direct_rooms: i64,
    /// Messages not deleted (a count of the whole table: an admin page's figure, not a hot
    /// path).
    pub messages: i64,
    /// Messages created since `since` (by the `created_at` index).
    pub messages_since: i64,
    pub open_reports: i64,
}

/// The instance's figures at once, messages counted from `since` for the recent figure.
pub async fn figures(pool: &AnyPool, since: i64) -> anyhow::Result<Figures> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM rooms WHERE kind = 'group') AS rooms,
                (SELECT COUNT(*) FROM rooms WHERE kind = 'direct') AS direct_rooms,
                (SELECT COUNT(*) FROM messages WHERE deleted_at IS NULL) AS messages,
                (SELECT COUNT(*) FROM messages WHERE created_at >= $1) AS messages_since,
                (SELECT COUNT(*) FROM reports WHERE status = 'open') AS open_reports",
    )
    .bind(since)
    .fetch_one(pool)
    .await
    .context("counting the instance's figures")
}
