//! The audit log (`audit_log`): a row per administrative action, appended in the transaction
//! of the action itself, and read newest first. Nothing here changes or deletes a row (the
//! table's triggers refuse it).

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::UuidText;
use uuid::Uuid;
use wire::moderation::{AuditActor, AuditEntry, AuditSource, AuditTarget};

use crate::domain::moderation::AuditFilter;

/// The actions auth-service writes.
pub const ROLE_CHANGE: &str = "role.change";
pub const SUSPENSION_CREATE: &str = "suspension.create";
pub const SUSPENSION_LIFT: &str = "suspension.lift";

/// Who acts: a user (with the address they came from), or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub name: String,
    pub ip: Option<String>,
}

impl Actor {
    /// The actor name of `auth-service admin ...` and `cloudchat admin ...`.
    pub const COMMAND_LINE: &'static str = "command line";

    pub fn command_line() -> Self {
        Self {
            id: None,
            name: Self::COMMAND_LINE.to_owned(),
            ip: None,
        }
    }
}

/// A row to append.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub actor: &'a Actor,
    pub action: &'static str,
    pub target: Option<(Uuid, &'a str)>,
    pub reason: Option<&'a str>,
    pub details: Option<serde_json::Value>,
}

/// Appends a row (id: UUID v7) in the caller's transaction; returns its id.
pub async fn append(
    conn: &mut AnyConnection,
    entry: &NewEntry<'_>,
    now: i64,
) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO audit_log
            (id, at, actor_id, actor_name, action, target_user_id, target_name, reason, details, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(UuidText(id))
    .bind(now)
    .bind(entry.actor.id.map(UuidText))
    .bind(entry.actor.name.clone())
    .bind(entry.action)
    .bind(entry.target.map(|(id, _)| UuidText(id)))
    .bind(entry.target.map(|(_, name)| name.to_owned()))
    .bind(entry.reason.map(str::to_owned))
    .bind(entry.details.as_ref().map(serde_json::Value::to_string))
    .bind(entry.actor.ip.clone())
    .execute(conn)
    .await
    .context("appending to the audit log")?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: UuidText,
    at: i64,
    actor_id: Option<UuidText>,
    actor_name: String,
    action: String,
    target_user_id: Option<UuidText>,
    target_name: Option<String>,
    room_id: Option<i64>,
    message_id: Option<i64>,
    reason: Option<String>,
    details: Option<String>,
    ip: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id.into(),
            at: store_kit::rfc3339(r.at),
            actor: AuditActor {
                id: r.actor_id.map(Uuid::from),
                name: r.actor_name,
            },
            action: r.action,
            target: r.target_user_id.map(|id| AuditTarget {
                id: id.into(),
                name: r.target_name.unwrap_or_default(),
            }),
            room_id: r.room_id,
            message_id: r.message_id,
            reason: r.reason,
            // Written by `append` from a JSON value; text that is not JSON would be no object.
            details: r.details.and_then(|d| serde_json::from_str(&d).ok()),
            ip: r.ip,
            source: AuditSource::Auth,
        }
    }
}

/// At most `filter.limit` rows before `filter.before`, newest first (by `at`, then `id`).
pub async fn page(pool: &AnyPool, filter: &AuditFilter) -> anyhow::Result<Vec<AuditEntry>> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, actor_id, actor_name, action, target_user_id, target_name, room_id,
                message_id, reason, details, ip
         FROM audit_log
         WHERE ($1 IS NULL OR at < $1 OR (at = $1 AND id < $2))
           AND ($3 IS NULL OR actor_id = $3)
           AND ($4 IS NULL OR target_user_id = $4)
           AND ($5 IS NULL OR action = $5)
           AND ($6 IS NULL OR at >= $6)
           AND ($7 IS NULL OR at < $7)
         ORDER BY at DESC, id DESC
         LIMIT $8",
    )
    .bind(filter.before.map(|b| b.ms))
    .bind(filter.before.map(|b| UuidText(b.id)))
    .bind(filter.actor_id.map(UuidText))
    .bind(filter.target_user_id.map(UuidText))
    .bind(filter.action.clone())
    .bind(filter.since)
    .bind(filter.until)
    .bind(filter.limit)
    .fetch_all(pool)
    .await
    .context("reading the audit log")?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}
