//! The outbox of user events for chat-service (`user_events`): a row is written in the
//! transaction of the change it reports, then delivered by the dispatcher
//! (`crate::user_events`) until chat-service accepts it.

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::{UuidText, placeholder_list};
use uuid::Uuid;
use wire::moderation::{UserChange, UserEvent};

/// The kind column of a change (the `kind` member of its JSON).
fn kind(change: &UserChange) -> &'static str {
    match change {
        UserChange::Moderation(_) => "moderation",
        UserChange::Deleted { .. } => "deleted",
    }
}

/// Queues an event about `user_id` in the caller's transaction, due at once; returns its id.
pub async fn enqueue(
    conn: &mut AnyConnection,
    user_id: Uuid,
    change: &UserChange,
    now: i64,
) -> anyhow::Result<i64> {
    let payload = serde_json::to_string(change).context("encoding a user event")?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO user_events (user_id, kind, payload, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(UuidText(user_id))
    .bind(kind(change))
    .bind(payload)
    .bind(now)
    .fetch_one(conn)
    .await
    .context("queueing a user event")?;
    Ok(id)
}

/// An undelivered event and how often it was tried.
#[derive(Debug, Clone)]
pub struct Pending {
    pub event: UserEvent,
    pub attempts: i64,
}

/// Undelivered events due at `now`, oldest first, at most `limit`.
pub async fn due(pool: &AnyPool, now: i64, limit: i64) -> anyhow::Result<Vec<Pending>> {
    let rows: Vec<(i64, UuidText, String, i64)> = sqlx::query_as(
        "SELECT id, user_id, payload, attempts FROM user_events
         WHERE delivered_at IS NULL AND next_attempt_at <= $1
         ORDER BY id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("reading due user events")?;
    let mut pending = Vec::with_capacity(rows.len());
    for (id, user_id, payload, attempts) in rows {
        let change = serde_json::from_str(&payload)
            .with_context(|| format!("user event {id} has an unreadable payload"))?;
        pending.push(Pending {
            event: UserEvent {
                id,
                user_id: user_id.into(),
                change,
            },
            attempts,
        });
    }
    Ok(pending)
}

/// Marks events delivered.
pub async fn delivered(pool: &AnyPool, ids: &[i64], now: i64) -> anyhow::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE user_events SET delivered_at = $1 WHERE id IN ({})",
        placeholder_list(2, ids.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
    for id in ids {
        query = query.bind(*id);
    }
    query
        .execute(pool)
        .await
        .context("marking user events delivered")?;
    Ok(())
}

/// Counts a failed try of each event and sets its next one: `backoff(attempts)` after `now`,
/// `attempts` being the count with this failure.
pub async fn failed(
    pool: &AnyPool,
    events: &[Pending],
    now: i64,
    backoff: impl Fn(i64) -> i64,
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await.context("starting a retry update")?;
    for pending in events {
        let attempts = pending.attempts + 1;
        sqlx::query("UPDATE user_events SET attempts = $2, next_attempt_at = $3 WHERE id = $1")
            .bind(pending.event.id)
            .bind(attempts)
            .bind(now.saturating_add(backoff(attempts)))
            .execute(&mut *tx)
            .await
            .context("scheduling a user event's retry")?;
    }
    tx.commit().await.context("committing a retry update")?;
    Ok(())
}

/// Events not delivered yet (due or waiting for a retry).
pub async fn pending_count(pool: &AnyPool) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM user_events WHERE delivered_at IS NULL")
        .fetch_one(pool)
        .await
        .context("counting pending user events")
}

/// Deletes events delivered before `before`.
pub async fn sweep(pool: &AnyPool, before: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM user_events WHERE delivered_at < $1")
        .bind(before)
        .execute(pool)
        .await
        .context("sweeping delivered user events")?;
    Ok(done.rows_affected())
}
