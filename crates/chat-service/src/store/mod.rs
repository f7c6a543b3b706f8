//! SQL for chat-service, one code path for SQLite and PostgreSQL (sqlx `Any`, `$n`
//! placeholders). User ids are UUID text (`store_kit::UuidText`), timestamps Unix
//! milliseconds, flags 0/1. A table read by several statements names its columns once, in a
//! `columns!()` macro.

pub mod account;
pub mod audit;
pub mod blocks;
pub mod digests;
pub mod members;
pub mod mentions;
pub mod messages;
pub mod moderation;
pub mod notifications;
pub mod push;
pub mod reactions;
pub mod reports;
pub mod rooms;
pub mod search;
pub mod secrets;
pub mod tickets;
pub mod uploads;
pub mod users;

/// A value bound to a numbered placeholder of a statement built from parts (search, the audit
/// log's filters).
pub(crate) enum Value {
    Int(i64),
    Float(f64),
    Text(String),
}

/// A statement's bound values, in placeholder order: each part asks for its placeholder as it
/// is written, so the numbers always match the binds.
#[derive(Default)]
pub(crate) struct Binds(Vec<Value>);

impl Binds {
    /// Binds `value` and answers its placeholder.
    pub(crate) fn push(&mut self, value: Value) -> String {
        self.0.push(value);
        format!("${}", self.0.len())
    }

    pub(crate) fn text(&mut self, value: impl Into<String>) -> String {
        self.push(Value::Text(value.into()))
    }

    /// Binds every value to `query`, in order.
    pub(crate) fn bind_all<'q, O>(
        self,
        mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
        for value in self.0 {
            query = match value {
                Value::Int(v) => query.bind(v),
                Value::Float(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
            };
        }
        query
    }
}
