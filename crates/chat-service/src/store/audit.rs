//! chat-service's audit log (`audit_log`, migration 0013): one row per moderation action,
//! appended in the action's own transaction, never changed (triggers refuse updates and
//! deletes). The same shape as auth-service's, so `GET /admin/audit` merges the two.

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::UuidText;
use uuid::Uuid;
use wire::moderation::{AuditActor, AuditEntry, AuditSource, AuditTarget};

use super::{Binds, Value};
use crate::domain::moderation::AuditCursor;

/// Who acted, and from where.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub id: Uuid,
    pub name: &'a str,
    /// The client's address; `None` when unknown.
    pub ip: Option<&'a str>,
}

/// One action to record.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub actor: Actor<'a>,
    /// `message.delete`, `member.remove`, `member.mute`, `member.unmute`, `member.role`,
    /// `report.resolve`.
    pub action: &'static str,
    /// The user acted upon, with their name.
    pub target: Option<(Uuid, &'a str)>,
    pub room_id: Option<i64>,
    pub message_id: Option<i64>,
    pub reason: Option<&'a str>,
    /// A JSON object whose fields depend on the action.
    pub details: Option<serde_json::Value>,
}

impl<'a> NewEntry<'a> {
    /// An entry of `action` by `actor`, with nothing else said yet.
    pub fn new(actor: Actor<'a>, action: &'static str) -> Self {
        Self {
            actor,
            action,
            target: None,
            room_id: None,
            message_id: None,
            reason: None,
            details: None,
        }
    }
}

/// Appends one entry at `now`, inside the action's transaction.
pub async fn append(
    conn: &mut AnyConnection,
    entry: &NewEntry<'_>,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, actor_name, action, target_user_id,
                                target_name, room_id, message_id, reason, details, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(UuidText(Uuid::now_v7()))
    .bind(now)
    .bind(UuidText(entry.actor.id))
    .bind(entry.actor.name)
    .bind(entry.action)
    .bind(entry.target.map(|(id, _)| UuidText(id)))
    .bind(entry.target.map(|(_, name)| name))
    .bind(entry.room_id)
    .bind(entry.message_id)
    .bind(entry.reason)
    .bind(entry.details.as_ref().map(serde_json::Value::to_string))
    .bind(entry.actor.ip)
    .execute(conn)
    .await
    .context("appending to the audit log")?;
    Ok(())
}

/// Which entries a page lists.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor_id: Option<Uuid>,
    pub target_user_id: Option<Uuid>,
    pub action: Option<String>,
    /// At or after (Unix ms).
    pub since: Option<i64>,
    /// Before (Unix ms).
    pub until: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
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

impl From<Row> for AuditEntry {
    fn from(r: Row) -> Self {
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
            details: r.details.and_then(|d| serde_json::from_str(&d).ok()),
            ip: r.ip,
            source: AuditSource::Chat,
        }
    }
}

/// At most `limit` entries that match, newest first (by `(at, id)`), before `before`.
pub async fn page(
    pool: &AnyPool,
    filter: &Filter,
    before: Option<AuditCursor>,
    limit: i64,
) -> anyhow::Result<Vec<AuditEntry>> {
    // Only placeholders and fixed SQL are formatted into the statement; every value is bound.
    let mut binds = Binds::default();
    let mut conditions: Vec<String> = Vec::new();
    if let Some(actor) = filter.actor_id {
        conditions.push(format!("actor_id = {}", binds.text(actor.to_string())));
    }
    if let Some(target) = filter.target_user_id {
        conditions.push(format!(
            "target_user_id = {}",
            binds.text(target.to_string())
        ));
    }
    if let Some(action) = &filter.action {
        conditions.push(format!("action = {}", binds.text(action.as_str())));
    }
    if let Some(since) = filter.since {
        conditions.push(format!("at >= {}", binds.push(Value::Int(since))));
    }
    if let Some(until) = filter.until {
        conditions.push(format!("at < {}", binds.push(Value::Int(until))));
    }
    if let Some(cursor) = before {
        let at = binds.push(Value::Int(cursor.at));
        let id = binds.text(cursor.id.to_string());
        conditions.push(format!("(at < {at} OR (at = {at} AND id < {id}))"));
    }
    let filtered = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let limit = binds.push(Value::Int(limit));
    let sql = format!(
        "SELECT id, at, actor_id, actor_name, action, target_user_id, target_name, room_id,
                message_id, reason, details, ip
         FROM audit_log {filtered} ORDER BY at DESC, id DESC LIMIT {limit}"
    );
    let query = binds.bind_all(sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)));
    let rows = query
        .fetch_all(pool)
        .await
        .context("reading the audit log")?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}
