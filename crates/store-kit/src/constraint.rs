//! Constraint violations as the caller's own errors, in one expression (after
//! realworld-axum-sqlx's `on_constraint`):
//!
//! ```text
//! let id = insert.await.on_unique(|_| CreateRoomError::NameTaken)?.context("inserting a room")?;
//! ```
//!
//! The first `?` returns the caller's error for the violation it expects; what is left is the
//! query's own result, any other failure still in it, for context.

/// The constraint a unique violation hit: its name on PostgreSQL, the message (which names
/// the index or the `table.column`) on SQLite.
fn unique_violation(err: &sqlx::Error) -> Option<&str> {
    let db = err.as_database_error()?;
    if !db.is_unique_violation() {
        return None;
    }
    Some(db.constraint().unwrap_or_else(|| db.message()))
}

fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.is_foreign_key_violation())
}

/// What a query's result becomes when one expected violation is taken out of it: `Err(E)`
/// for that violation, `Ok(result)` with the rest.
pub type Caught<T, E> = Result<Result<T, sqlx::Error>, E>;

/// Turns expected constraint violations of a query into the caller's errors.
pub trait ResultExt<T> {
    /// Any unique violation becomes `f(constraint)` (see [`ResultExt`] for the constraint's
    /// text on each engine).
    fn on_unique<E>(self, f: impl FnOnce(&str) -> E) -> Caught<T, E>;

    /// A unique violation whose constraint text contains `name` (a column or index name, as
    /// both engines mention it) becomes `f()`; other violations stay errors.
    fn on_unique_of<E>(self, name: &str, f: impl FnOnce() -> E) -> Caught<T, E>;

    /// A foreign-key violation (e.g. a row whose parent was deleted meanwhile) becomes `f()`.
    fn on_foreign_key<E>(self, f: impl FnOnce() -> E) -> Caught<T, E>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_unique<E>(self, f: impl FnOnce(&str) -> E) -> Caught<T, E> {
        match self {
            Err(err) => match unique_violation(&err) {
                Some(constraint) => Err(f(constraint)),
                None => Ok(Err(err)),
            },
            ok => Ok(ok),
        }
    }

    fn on_unique_of<E>(self, name: &str, f: impl FnOnce() -> E) -> Caught<T, E> {
        match self {
            Err(err) if unique_violation(&err).is_some_and(|c| c.contains(name)) => Err(f()),
            other => Ok(other),
        }
    }

    fn on_foreign_key<E>(self, f: impl FnOnce() -> E) -> Caught<T, E> {
        match self {
            Err(err) if is_foreign_key_violation(&err) => Err(f()),
            other => Ok(other),
        }
    }
}
