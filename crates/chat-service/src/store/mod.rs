//! SQL for chat-service, one code path for SQLite and PostgreSQL (sqlx `Any`, `$n`
//! placeholders). User ids are UUID text (`store_kit::UuidText`), timestamps Unix
//! milliseconds, flags 0/1. A table read by several statements names its columns once, in a
//! `columns!()` macro.

pub mod digests;
pub mod members;
pub mod mentions;
pub mod messages;
pub mod notifications;
pub mod push;
pub mod reactions;
pub mod rooms;
pub mod search;
pub mod secrets;
pub mod tickets;
pub mod uploads;
pub mod users;
