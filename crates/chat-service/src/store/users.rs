//! The `known_users` table: the users chat-service has met, by name, for `@username` in
//! `general` (which has no member rows to resolve against).

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::{UuidText, placeholder_list};
use uuid::Uuid;

/// Records (or refreshes) a user's current name.
pub async fn remember(
    pool: &AnyPool,
    user_id: Uuid,
    username: &str,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO known_users (user_id, username, seen_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, seen_at = excluded.seen_at",
    )
    .bind(UuidText(user_id))
    .bind(username)
    .bind(now)
    .execute(pool)
    .await
    .context("remembering a user")?;
    Ok(())
}

/// The known users with these names (lower-case), as `(user id, lower-case name)`.
pub async fn by_names(pool: &AnyPool, names: &[String]) -> anyhow::Result<Vec<(Uuid, String)>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    // Only numbered placeholders are formatted into the statement; every value is bound.
    let sql = format!(
        "SELECT user_id, lower(username) FROM known_users WHERE lower(username) IN ({})",
        placeholder_list(1, names.len())
    );
    let mut query = sqlx::query_as::<_, (UuidText, String)>(sqlx::AssertSqlSafe(sql));
    for name in names {
        query = query.bind(name.as_str());
    }
    let rows = query
        .fetch_all(pool)
        .await
        .context("finding users by name")?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (id.into(), name))
        .collect())
}
