//! SQL for auth-service, one code path for SQLite and PostgreSQL (sqlx `Any`, `$n`
//! placeholders). Ids are UUID text, timestamps Unix milliseconds.

pub mod resets;
pub mod sessions;
pub mod users;

use uuid::Uuid;

/// Parses an id column; a malformed id in our own table is a bug worth an error, not a panic.
pub(crate) fn parse_id(raw: &str) -> anyhow::Result<Uuid> {
    Uuid::parse_str(raw).map_err(|e| anyhow::anyhow!("malformed id {raw:?} in the database: {e}"))
}
