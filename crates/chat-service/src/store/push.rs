//! Web Push state (migration 0009): `push_subscriptions`, one per browser, and
//! `push_windows`, the collapse window of each (user, room) (docs/architecture.md,
//! "Notifications").

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::{UuidText, placeholder_list};
use uuid::Uuid;

use crate::domain::notifications::Subscription;

/// A stored subscription.
#[derive(Debug, Clone)]
pub struct StoredSubscription {
    pub id: Uuid,
    pub user_id: Uuid,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub created_at: i64,
    pub last_success_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: UuidText,
    user_id: UuidText,
    endpoint: String,
    p256dh: String,
    auth: String,
    created_at: i64,
    last_success_at: Option<i64>,
}

impl From<Row> for StoredSubscription {
    fn from(r: Row) -> Self {
        Self {
            id: r.id.into(),
            user_id: r.user_id.into(),
            endpoint: r.endpoint,
            p256dh: r.p256dh,
            auth: r.auth,
            created_at: r.created_at,
            last_success_at: r.last_success_at,
        }
    }
}

macro_rules! columns {
    () => {
        "id, user_id, endpoint, p256dh, auth, created_at, last_success_at"
    };
}

/// Stores a subscription for `user`: a new row (true), or the row that already has this
/// endpoint, moved to `user` with the keys given (false). Then keeps the user's `max`
/// newest subscriptions, deleting older ones.
pub async fn subscribe(
    pool: &AnyPool,
    user: Uuid,
    sub: &Subscription,
    max: u32,
    now: i64,
) -> anyhow::Result<(StoredSubscription, bool)> {
    let inserted = sqlx::query(
        "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (endpoint) DO NOTHING",
    )
    .bind(UuidText(Uuid::new_v4()))
    .bind(UuidText(user))
    .bind(&sub.endpoint)
    .bind(&sub.p256dh)
    .bind(&sub.auth)
    .bind(now)
    .execute(pool)
    .await
    .context("storing a push subscription")?
    .rows_affected()
        == 1;
    if !inserted {
        // The browser subscribed before (perhaps for someone else): it is this user's now.
        sqlx::query(
            "UPDATE push_subscriptions SET user_id = $1, p256dh = $2, auth = $3, failures = 0
             WHERE endpoint = $4",
        )
        .bind(UuidText(user))
        .bind(&sub.p256dh)
        .bind(&sub.auth)
        .bind(&sub.endpoint)
        .execute(pool)
        .await
        .context("moving a push subscription")?;
    }
    let stored: Row = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM push_subscriptions WHERE endpoint = $1"
    ))
    .bind(&sub.endpoint)
    .fetch_one(pool)
    .await
    .context("reading a push subscription back")?;
    trim(pool, user, max).await?;
    Ok((stored.into(), inserted))
}

/// Deletes the user's subscriptions past the `max` newest.
async fn trim(pool: &AnyPool, user: Uuid, max: u32) -> anyhow::Result<()> {
    let ids: Vec<(UuidText,)> = sqlx::query_as(
        "SELECT id FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(UuidText(user))
    .fetch_all(pool)
    .await
    .context("listing push subscriptions")?;
    for (id,) in ids.into_iter().skip(max as usize) {
        delete_by_id(pool, id.into()).await?;
    }
    Ok(())
}

/// The user's subscriptions, oldest first.
pub async fn list(pool: &AnyPool, user: Uuid) -> anyhow::Result<Vec<StoredSubscription>> {
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(UuidText(user))
    .fetch_all(pool)
    .await
    .context("listing push subscriptions")?;
    Ok(rows.into_iter().map(StoredSubscription::from).collect())
}

/// Deletes the user's subscription `id`: false when the user has none by that id.
pub async fn delete(pool: &AnyPool, user: Uuid, id: Uuid) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2")
        .bind(UuidText(id))
        .bind(UuidText(user))
        .execute(pool)
        .await
        .context("deleting a push subscription")?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a subscription the push service said is gone (404/410).
pub async fn delete_by_id(pool: &AnyPool, id: Uuid) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
        .bind(UuidText(id))
        .execute(pool)
        .await
        .context("deleting a push subscription")?;
    Ok(())
}

/// Which of `users` have at least one subscription.
pub async fn users_with_subscriptions(pool: &AnyPool, users: &[Uuid]) -> anyhow::Result<Vec<Uuid>> {
    let mut out = Vec::new();
    for chunk in users.chunks(500) {
        // Only numbered placeholders are formatted into the statement; every value is bound.
        let sql = format!(
            "SELECT DISTINCT user_id FROM push_subscriptions WHERE user_id IN ({})",
            placeholder_list(1, chunk.len())
        );
        let mut query = sqlx::query_as::<_, (UuidText,)>(sqlx::AssertSqlSafe(sql));
        for user in chunk {
            query = query.bind(UuidText(*user));
        }
        let rows = query
            .fetch_all(pool)
            .await
            .context("finding users with push subscriptions")?;
        out.extend(rows.into_iter().map(|(id,)| Uuid::from(id)));
    }
    Ok(out)
}

/// Records a push the service accepted (`ok`) or refused.
pub async fn record_attempt(pool: &AnyPool, id: Uuid, ok: bool, now: i64) -> anyhow::Result<()> {
    let sql = if ok {
        "UPDATE push_subscriptions SET last_success_at = $2, failures = 0 WHERE id = $1"
    } else {
        "UPDATE push_subscriptions SET last_failure_at = $2, failures = failures + 1 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(UuidText(id))
        .bind(now)
        .execute(pool)
        .await
        .context("recording a push attempt")?;
    Ok(())
}

/// What [`count_message`] decided for a (user, room).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// No window was open: one is now, until the given time; push this message now.
    Opened,
    /// A window is open (or ended and not yet flushed): the message was counted in it.
    Counted,
}

/// Opens a collapse window for (user, room) or counts `message_id` in the open one. Safe
/// across replicas: each step is one conditional statement.
pub async fn count_message(
    pool: &AnyPool,
    user: Uuid,
    room: i64,
    message_id: i64,
    now: i64,
    window_ms: i64,
) -> anyhow::Result<Window> {
    let counted = sqlx::query(
        "UPDATE push_windows SET pending = pending + 1, last_message_id = $3
         WHERE user_id = $1 AND room_id = $2 AND window_until > $4",
    )
    .bind(UuidText(user))
    .bind(room)
    .bind(message_id)
    .bind(now)
    .execute(pool)
    .await
    .context("counting a message in a push window")?;
    if counted.rows_affected() == 1 {
        return Ok(Window::Counted);
    }
    // No live window: open one, unless an ended one still waits for its flush.
    let opened = sqlx::query(
        "INSERT INTO push_windows (user_id, room_id, window_until, pending, last_message_id)
         VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (user_id, room_id) DO UPDATE
             SET window_until = excluded.window_until, pending = 0,
                 last_message_id = excluded.last_message_id
             WHERE push_windows.window_until <= $5 AND push_windows.pending = 0",
    )
    .bind(UuidText(user))
    .bind(room)
    .bind(now + window_ms)
    .bind(message_id)
    .bind(now)
    .execute(pool)
    .await
    .context("opening a push window")?;
    if opened.rows_affected() == 1 {
        return Ok(Window::Opened);
    }
    // Another replica opened it a moment ago, or an ended window waits for the ticker: the
    // message goes in its count.
    sqlx::query(
        "UPDATE push_windows SET pending = pending + 1, last_message_id = $3
         WHERE user_id = $1 AND room_id = $2",
    )
    .bind(UuidText(user))
    .bind(room)
    .bind(message_id)
    .execute(pool)
    .await
    .context("counting a message in a push window")?;
    Ok(Window::Counted)
}

/// A window that ended with messages counted, claimed for one collapsed push.
#[derive(Debug, Clone)]
pub struct DueWindow {
    pub user_id: Uuid,
    pub room_id: i64,
    pub pending: i64,
    pub last_message_id: Option<i64>,
}

/// Claims up to `limit` windows that ended by `now` with messages counted: each is reset
/// and opened again for `window_ms` (so a busy room pushes at most once a window) by a
/// compare-and-set on its count and end, so two replicas never both claim one.
pub async fn claim_due(
    pool: &AnyPool,
    now: i64,
    window_ms: i64,
    limit: i64,
) -> anyhow::Result<Vec<DueWindow>> {
    #[derive(sqlx::FromRow)]
    struct Due {
        user_id: UuidText,
        room_id: i64,
        window_until: i64,
        pending: i64,
        last_message_id: Option<i64>,
    }
    let due: Vec<Due> = sqlx::query_as(
        "SELECT user_id, room_id, window_until, pending, last_message_id FROM push_windows
         WHERE window_until <= $1 AND pending > 0 ORDER BY window_until LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("finding ended push windows")?;
    let mut claimed = Vec::with_capacity(due.len());
    for d in due {
        let done = sqlx::query(
            "UPDATE push_windows SET pending = 0, window_until = $3
             WHERE user_id = $1 AND room_id = $2 AND pending = $4 AND window_until = $5",
        )
        .bind(UuidText(d.user_id.0))
        .bind(d.room_id)
        .bind(now + window_ms)
        .bind(d.pending)
        .bind(d.window_until)
        .execute(pool)
        .await
        .context("claiming a push window")?;
        if done.rows_affected() == 1 {
            claimed.push(DueWindow {
                user_id: d.user_id.into(),
                room_id: d.room_id,
                pending: d.pending,
                last_message_id: d.last_message_id,
            });
        }
    }
    Ok(claimed)
}
