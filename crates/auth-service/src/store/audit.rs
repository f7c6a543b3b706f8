//! auth-service's audit log: what it records (role changes and suspensions, by a user or the
//! command line), written and read through `store_kit::audit`.

use sqlx::{AnyConnection, AnyPool};
use store_kit::audit;
use uuid::Uuid;
use wire::moderation::{AuditEntry, AuditSource};

use crate::domain::moderation::AuditFilter;

/// The actions auth-service writes.
pub const ROLE_CHANGE: &str = "role.change";
pub const SUSPENSION_CREATE: &str = "suspension.create";
pub const SUSPENSION_LIFT: &str = "suspension.lift";
/// A user deleted their own account.
pub const ACCOUNT_DELETE: &str = "account.delete";

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
    let row = audit::Row {
        actor_id: entry.actor.id,
        actor_name: &entry.actor.name,
        ip: entry.actor.ip.as_deref(),
        action: entry.action,
        target: entry.target,
        reason: entry.reason,
        details: entry.details.as_ref(),
        ..Default::default()
    };
    audit::append(conn, &row, now).await
}

/// At most `filter.limit` rows before `filter.before`, newest first (by `at`, then `id`).
pub async fn page(pool: &AnyPool, filter: &AuditFilter) -> anyhow::Result<Vec<AuditEntry>> {
    let filter = audit::Filter {
        before: filter.before.map(|b| (b.ms, b.id)),
        actor_id: filter.actor_id,
        target_user_id: filter.target_user_id,
        action: filter.action.clone(),
        since: filter.since,
        until: filter.until,
        limit: filter.limit,
    };
    audit::page(pool, &filter, AuditSource::Auth).await
}
