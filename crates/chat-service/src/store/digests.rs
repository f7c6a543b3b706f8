//! E-mail digest state (`email_digests`, migration 0009) and the unread items a digest lists
//! (docs/architecture.md, "Notifications"). Reads `notification_settings` and
//! `room_notification_settings` without writing them (the one-click unsubscribe writes
//! through `store::notifications`).

use std::collections::HashMap;

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::{UuidText, placeholder_list};

use super::moderation::suspension_hides;
use uuid::Uuid;

/// Where a user's digests stand: the highest message id mailed, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermark {
    pub last_message_id: i64,
    pub last_sent_at: i64,
}

/// The window a tick looks at: items created in `[since, cutoff]`, for people whose last
/// digest went at or before `cutoff`, with settings read as of `now`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub since: i64,
    pub cutoff: i64,
    pub now: i64,
}

/// Every unread item of every user, one row each (`user_id`, `message_id`, `room_id`, `seq`):
/// the messages of their direct rooms by the other person, and their mentions, not deleted,
/// created in the window, past their read marker and their digest watermark, in rooms they
/// may still read, and not silenced by their settings (digest off; the level in force — the
/// room's, else the user's — `none`; muted user-wide or in the room), nor by moderation (an
/// author they blocked, or one suspended with their messages hidden). Digests are for people
/// without push: someone with a Web Push subscription is pushed instead. `$1` since, `$2`
/// cutoff, `$3` now.
const UNREAD: &str = concat!(
    "
    SELECT i.user_id AS user_id, i.message_id AS message_id, i.room_id AS room_id
    FROM (
        SELECT p.user_id AS user_id, m.id AS message_id, m.room_id AS room_id, m.seq AS seq,
               m.user_id AS author_id
        FROM messages m
        JOIN rooms r ON r.id = m.room_id AND r.kind = 'direct'
        JOIN room_members p ON p.room_id = m.room_id AND p.user_id <> m.user_id
        WHERE m.created_at >= $1 AND m.created_at <= $2 AND m.deleted_at IS NULL
        UNION
        SELECT n.user_id, m.id, m.room_id, m.seq, m.user_id
        FROM messages m
        JOIN mentions n ON n.message_id = m.id
        JOIN rooms r ON r.id = m.room_id
        WHERE m.created_at >= $1 AND m.created_at <= $2 AND m.deleted_at IS NULL
          AND (r.kind = 'general' OR EXISTS (
              SELECT 1 FROM room_members x WHERE x.room_id = m.room_id AND x.user_id = n.user_id))
    ) i
    LEFT JOIN email_digests d ON d.user_id = i.user_id
    LEFT JOIN read_markers k ON k.room_id = i.room_id AND k.user_id = i.user_id
    LEFT JOIN notification_settings s ON s.user_id = i.user_id
    LEFT JOIN room_notification_settings rs ON rs.user_id = i.user_id AND rs.room_id = i.room_id
    WHERE i.message_id > COALESCE(d.last_message_id, 0)
      AND (d.last_sent_at IS NULL OR d.last_sent_at <= $2)
      AND i.seq > COALESCE(k.last_read_seq, 0)
      AND COALESCE(s.email_digest, 1) = 1
      AND (s.muted_until IS NULL OR s.muted_until <= $3)
      AND COALESCE(rs.level, s.level, 'mentions') <> 'none'
      AND NOT EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = i.user_id)
      AND (rs.muted_until IS NULL OR rs.muted_until <= $3)
      AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = i.user_id AND b.blocked_id = i.author_id)
      AND NOT EXISTS (SELECT 1 FROM user_moderation a WHERE a.user_id = i.author_id AND ",
    suspension_hides!("a", "$3"),
    ")"
);

/// Up to `limit` users with something to mail, in id order after `after` (a cursor: the
/// last id of the previous page).
pub async fn users_with_unread(
    pool: &AnyPool,
    window: Window,
    after: Option<Uuid>,
    limit: usize,
) -> anyhow::Result<Vec<Uuid>> {
    let sql = format!(
        "SELECT DISTINCT u.user_id FROM ({UNREAD}) u WHERE u.user_id > $4 ORDER BY u.user_id LIMIT $5"
    );
    let rows: Vec<(UuidText,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(window.since)
        .bind(window.cutoff)
        .bind(window.now)
        .bind(after.map(|u| u.to_string()).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await
        .context("finding users with unread items to mail")?;
    Ok(rows.into_iter().map(|(id,)| id.into()).collect())
}

/// The unread items of these users (a page of [`users_with_unread`]): their message ids,
/// oldest first, per user. One read of the window for the whole page.
pub async fn unread_of(
    pool: &AnyPool,
    window: Window,
    users: &[Uuid],
) -> anyhow::Result<HashMap<Uuid, Vec<i64>>> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    // Only numbered placeholders are formatted into the statement; every value is bound.
    let sql = format!(
        "SELECT u.user_id, u.message_id FROM ({UNREAD}) u WHERE u.user_id IN ({})
         ORDER BY u.user_id, u.message_id",
        placeholder_list(4, users.len())
    );
    let mut query = sqlx::query_as::<_, (UuidText, i64)>(sqlx::AssertSqlSafe(sql))
        .bind(window.since)
        .bind(window.cutoff)
        .bind(window.now);
    for user in users {
        query = query.bind(UuidText(*user));
    }
    let rows = query
        .fetch_all(pool)
        .await
        .context("listing unread items to mail")?;
    let mut by_user: HashMap<Uuid, Vec<i64>> = HashMap::new();
    for (user, id) in rows {
        by_user.entry(user.into()).or_default().push(id);
    }
    Ok(by_user)
}

/// A message as a digest lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Item {
    pub id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub username: String,
    pub kind: String,
    pub content: String,
    pub created_at: i64,
    pub room_kind: String,
    pub room_name: String,
}

/// The messages with these ids, oldest first.
pub async fn items(pool: &AnyPool, ids: &[i64]) -> anyhow::Result<Vec<Item>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Only numbered placeholders are formatted into the statement; every value is bound.
    let sql = format!(
        "SELECT m.id, m.room_id, m.seq, m.username_snapshot AS username, m.type AS kind,
                m.content, m.created_at, r.kind AS room_kind, r.name AS room_name
         FROM messages m JOIN rooms r ON r.id = m.room_id
         WHERE m.id IN ({}) ORDER BY m.id",
        placeholder_list(1, ids.len())
    );
    let mut query = sqlx::query_as::<_, Item>(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    query
        .fetch_all(pool)
        .await
        .context("reading the messages of a digest")
}

pub async fn watermark(pool: &AnyPool, user: Uuid) -> anyhow::Result<Option<Watermark>> {
    Ok(watermarks(pool, &[user]).await?.remove(&user))
}

/// The watermarks of these users who have one.
pub async fn watermarks(
    pool: &AnyPool,
    users: &[Uuid],
) -> anyhow::Result<HashMap<Uuid, Watermark>> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    // Only numbered placeholders are formatted into the statement; every value is bound.
    let sql = format!(
        "SELECT user_id, last_message_id, last_sent_at FROM email_digests WHERE user_id IN ({})",
        placeholder_list(1, users.len())
    );
    let mut query = sqlx::query_as::<_, (UuidText, i64, i64)>(sqlx::AssertSqlSafe(sql));
    for user in users {
        query = query.bind(UuidText(*user));
    }
    let rows = query
        .fetch_all(pool)
        .await
        .context("reading digest watermarks")?;
    Ok(rows
        .into_iter()
        .map(|(user, last_message_id, last_sent_at)| {
            (
                user.into(),
                Watermark {
                    last_message_id,
                    last_sent_at,
                },
            )
        })
        .collect())
}

/// Moves the user's watermark from `from` (`None`: no row yet) to `to`, only if it is still
/// at `from`: of two replicas that read the same watermark, one wins and mails, the other
/// sees `false` and does not.
pub async fn claim(
    pool: &AnyPool,
    user: Uuid,
    from: Option<Watermark>,
    to: Watermark,
) -> anyhow::Result<bool> {
    move_watermark(pool, user, from, Some(to))
        .await
        .context("claiming a digest")
}

/// Undoes [`claim`] after the mail was refused, so that the next tick tries again (unless
/// someone moved the watermark since).
pub async fn release(
    pool: &AnyPool,
    user: Uuid,
    claimed: Watermark,
    back_to: Option<Watermark>,
) -> anyhow::Result<()> {
    move_watermark(pool, user, Some(claimed), back_to)
        .await
        .context("releasing a digest claim")?;
    Ok(())
}

/// Sets the row from `from` to `to` (`None` = no row) if it is at `from`; whether it moved.
async fn move_watermark(
    pool: &AnyPool,
    user: Uuid,
    from: Option<Watermark>,
    to: Option<Watermark>,
) -> Result<bool, sqlx::Error> {
    let done = match (from, to) {
        (None, Some(to)) => {
            sqlx::query(
                "INSERT INTO email_digests (user_id, last_message_id, last_sent_at)
                 VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(UuidText(user))
            .bind(to.last_message_id)
            .bind(to.last_sent_at)
            .execute(pool)
            .await?
        }
        (Some(from), Some(to)) => {
            sqlx::query(
                "UPDATE email_digests SET last_message_id = $2, last_sent_at = $3
                 WHERE user_id = $1 AND last_message_id = $4 AND last_sent_at = $5",
            )
            .bind(UuidText(user))
            .bind(to.last_message_id)
            .bind(to.last_sent_at)
            .bind(from.last_message_id)
            .bind(from.last_sent_at)
            .execute(pool)
            .await?
        }
        (Some(from), None) => {
            sqlx::query(
                "DELETE FROM email_digests
                 WHERE user_id = $1 AND last_message_id = $2 AND last_sent_at = $3",
            )
            .bind(UuidText(user))
            .bind(from.last_message_id)
            .bind(from.last_sent_at)
            .execute(pool)
            .await?
        }
        (None, None) => return Ok(true),
    };
    Ok(done.rows_affected() == 1)
}
