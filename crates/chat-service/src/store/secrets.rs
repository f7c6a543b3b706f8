//! The `instance_secrets` table (migration 0009): secrets chat-service makes for itself on
//! first start — the VAPID key pair, the key that signs unsubscribe links — shared by every
//! replica through the database.

use anyhow::Context;
use sqlx::AnyPool;

/// The secret called `name`: the stored one, or `make()`'s value stored first. Two replicas
/// starting together both try to insert; `ON CONFLICT DO NOTHING` keeps the first, and both
/// read that one back, so they always agree.
pub async fn get_or_create(
    pool: &AnyPool,
    name: &str,
    make: impl FnOnce() -> anyhow::Result<String>,
    now: i64,
) -> anyhow::Result<String> {
    if let Some(value) = get(pool, name).await? {
        return Ok(value);
    }
    let value = make().with_context(|| format!("making the instance secret {name}"))?;
    sqlx::query(
        "INSERT INTO instance_secrets (name, value, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(value)
    .bind(now)
    .execute(pool)
    .await
    .with_context(|| format!("storing the instance secret {name}"))?;
    get(pool, name)
        .await?
        .with_context(|| format!("the instance secret {name} vanished after being stored"))
}

async fn get(pool: &AnyPool, name: &str) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar::<_, String>("SELECT value FROM instance_secrets WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
        .with_context(|| format!("reading the instance secret {name}"))
}
