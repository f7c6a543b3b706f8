//! SQL for auth-service, one code path for SQLite and PostgreSQL (sqlx `Any`, `$n`
//! placeholders). Ids are UUID text (`store_kit::UuidText`), timestamps Unix milliseconds. A
//! table read by several statements names its columns once, in a `columns!()` macro.

pub mod audit;
pub mod mfa;
pub mod moderation;
pub mod oidc;
pub mod resets;
pub mod sessions;
pub mod user_events;
pub mod users;
pub mod verifications;
