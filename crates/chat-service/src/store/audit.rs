//! chat-service's audit log (`audit_log`, migration 0013): what it records (moderation
//! actions), written and read through `store_kit::audit` — the same table and rows as
//! auth-service's, so `GET /admin/audit` merges the two.

use sqlx::{AnyConnection, AnyPool};
use store_kit::audit;
use uuid::Uuid;
use wire::moderation::{AuditEntry, AuditSource};

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
    let row = audit::Row {
        actor_id: Some(entry.actor.id),
        actor_name: entry.actor.name,
        ip: entry.actor.ip,
        action: entry.action,
        target: entry.target,
        room_id: entry.room_id,
        message_id: entry.message_id,
        reason: entry.reason,
        details: entry.details.as_ref(),
    };
    audit::append(conn, &row, now).await.map(drop)
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

/// At most `limit` entries that match, newest first (by `(at, id)`), before `before`.
pub async fn page(
    pool: &AnyPool,
    filter: &Filter,
    before: Option<AuditCursor>,
    limit: i64,
) -> anyhow::Result<Vec<AuditEntry>> {
    let filter = audit::Filter {
        before: before.map(|c| (c.at, c.id)),
        actor_id: filter.actor_id,
        target_user_id: filter.target_user_id,
        action: filter.action.clone(),
        since: filter.since,
        until: filter.until,
        limit,
    };
    audit::page(pool, &filter, AuditSource::Chat).await
}
