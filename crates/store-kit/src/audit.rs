//! The audit log (`audit_log`, the same table in auth-service's and chat-service's databases;
//! docs/architecture.md, "Moderation"): a row per administrative or moderation action,
//! appended in the transaction of the action itself, read newest first by `(at, id)` so that
//! `GET /admin/audit` can merge the two services' logs. Nothing here deletes a row (the
//! table's triggers refuse it); only the name snapshots change, when an account is deleted
//! ([`rename`]).

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use uuid::Uuid;
use wire::moderation::{AuditActor, AuditEntry, AuditSource, AuditTarget};

use crate::UuidText;

/// One action to record.
#[derive(Debug, Clone, Default)]
pub struct Row<'a> {
    /// `None`: the command line.
    pub actor_id: Option<Uuid>,
    pub actor_name: &'a str,
    /// The client's address, when known.
    pub ip: Option<&'a str>,
    pub action: &'a str,
    /// The user acted upon, with their name.
    pub target: Option<(Uuid, &'a str)>,
    pub room_id: Option<i64>,
    pub message_id: Option<i64>,
    pub reason: Option<&'a str>,
    /// A JSON object whose fields depend on the action.
    pub details: Option<&'a serde_json::Value>,
}

/// Appends `row` at `now` (id: UUID v7) in the caller's transaction; returns its id.
pub async fn append(conn: &mut AnyConnection, row: &Row<'_>, now: i64) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, actor_name, action, target_user_id,
                                target_name, room_id, message_id, reason, details, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(UuidText(id))
    .bind(now)
    .bind(row.actor_id.map(UuidText))
    .bind(row.actor_name)
    .bind(row.action)
    .bind(row.target.map(|(id, _)| UuidText(id)))
    .bind(row.target.map(|(_, name)| name))
    .bind(row.room_id)
    .bind(row.message_id)
    .bind(row.reason)
    .bind(row.details.map(serde_json::Value::to_string))
    .bind(row.ip)
    .execute(conn)
    .await
    .context("appending to the audit log")?;
    Ok(id)
}

/// Replaces every name snapshot of `user_id` — as actor and as target — by `name` (an
/// account's deletion: the rows stay, the person's name goes). The triggers allow updates of
/// these two columns only. Returns the rows changed.
pub async fn rename(conn: &mut AnyConnection, user_id: Uuid, name: &str) -> anyhow::Result<u64> {
    let actor = sqlx::query(
        "UPDATE audit_log SET actor_name = $2 WHERE actor_id = $1 AND actor_name <> $2",
    )
    .bind(UuidText(user_id))
    .bind(name)
    .execute(&mut *conn)
    .await
    .context("renaming an actor in the audit log")?;
    let target = sqlx::query(
        "UPDATE audit_log SET target_name = $2 WHERE target_user_id = $1 AND target_name <> $2",
    )
    .bind(UuidText(user_id))
    .bind(name)
    .execute(&mut *conn)
    .await
    .context("renaming a target in the audit log")?;
    Ok(actor.rows_affected() + target.rows_affected())
}

/// Which entries a page lists.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Entries strictly before this `(at, id)`.
    pub before: Option<(i64, Uuid)>,
    pub actor_id: Option<Uuid>,
    pub target_user_id: Option<Uuid>,
    pub action: Option<String>,
    /// Unix ms, inclusive.
    pub since: Option<i64>,
    /// Unix ms, exclusive.
    pub until: Option<i64>,
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
struct Stored {
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

impl Stored {
    fn entry(self, source: AuditSource) -> AuditEntry {
        AuditEntry {
            id: self.id.into(),
            at: crate::rfc3339(self.at),
            actor: AuditActor {
                id: self.actor_id.map(Uuid::from),
                name: self.actor_name,
            },
            action: self.action,
            target: self.target_user_id.map(|id| AuditTarget {
                id: id.into(),
                name: self.target_name.unwrap_or_default(),
            }),
            room_id: self.room_id,
            message_id: self.message_id,
            reason: self.reason,
            // Written by `append` from a JSON value; text that is not JSON would be no object.
            details: self.details.and_then(|d| serde_json::from_str(&d).ok()),
            ip: self.ip,
            source,
        }
    }
}

/// At most `filter.limit` entries that match, newest first (by `at`, then `id`), as the
/// service `source` reports them.
pub async fn page(
    pool: &AnyPool,
    filter: &Filter,
    source: AuditSource,
) -> anyhow::Result<Vec<AuditEntry>> {
    // A read of staff pages only: one fixed statement, each filter off when its value is NULL.
    let rows: Vec<Stored> = sqlx::query_as(
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
    .bind(filter.before.map(|(at, _)| at))
    .bind(filter.before.map(|(_, id)| UuidText(id)))
    .bind(filter.actor_id.map(UuidText))
    .bind(filter.target_user_id.map(UuidText))
    .bind(filter.action.clone())
    .bind(filter.since)
    .bind(filter.until)
    .bind(filter.limit)
    .fetch_all(pool)
    .await
    .context("reading the audit log")?;
    Ok(rows.into_iter().map(|r| r.entry(source)).collect())
}
