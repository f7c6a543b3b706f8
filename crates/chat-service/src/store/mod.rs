//! SQL for chat-service, one code path for SQLite and PostgreSQL (sqlx `Any`, `$n`
//! placeholders). User ids are UUID text, timestamps Unix milliseconds, flags 0/1.

pub mod members;
pub mod messages;
pub mod rooms;
pub mod tickets;

use uuid::Uuid;

pub(crate) fn parse_user_id(raw: &str) -> anyhow::Result<Uuid> {
    Uuid::parse_str(raw)
        .map_err(|e| anyhow::anyhow!("malformed user id {raw:?} in the database: {e}"))
}
