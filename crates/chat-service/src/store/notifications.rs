//! Notification preferences (migration 0009): `notification_settings` per user and
//! `room_notification_settings` per user and room. No row means the defaults: level
//! `mentions`, not muted, e-mail digest on. [`prefs`] is the one look-up of what applies to
//! a user in a room, for pushes and digests alike.

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::{UuidText, placeholder_list};
use uuid::Uuid;

use crate::domain::notifications::Level;

/// A user's own settings (the defaults when they stored none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSettings {
    pub level: Level,
    pub muted_until: Option<i64>,
    pub email_digest: bool,
}

impl Default for UserSettings {
    fn default() -> Self {
        Self {
            level: Level::Mentions,
            muted_until: None,
            email_digest: true,
        }
    }
}

/// A user's override for one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSettings {
    pub room_id: i64,
    /// None: the user's level.
    pub level: Option<Level>,
    pub muted_until: Option<i64>,
}

/// What applies to one user in one room: their settings and the room's override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefs {
    pub user: UserSettings,
    pub room_level: Option<Level>,
    pub room_muted_until: Option<i64>,
}

impl Prefs {
    /// The room's level if it has one, else the user's; and whether a mute (the user's or
    /// the room's) has not ended at `now`.
    pub fn effective(&self, now: i64) -> (Level, bool) {
        let level = self.room_level.unwrap_or(self.user.level);
        let muted = [self.user.muted_until, self.room_muted_until]
            .into_iter()
            .flatten()
            .any(|until| until > now);
        (level, muted)
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    level: String,
    muted_until: Option<i64>,
    email_digest: i64,
}

impl From<UserRow> for UserSettings {
    fn from(row: UserRow) -> Self {
        Self {
            level: Level::from_column(&row.level),
            muted_until: row.muted_until,
            email_digest: row.email_digest != 0,
        }
    }
}

pub async fn get(pool: &AnyPool, user: Uuid) -> anyhow::Result<UserSettings> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT level, muted_until, email_digest FROM notification_settings WHERE user_id = $1",
    )
    .bind(UuidText(user))
    .fetch_optional(pool)
    .await
    .context("reading notification settings")?;
    Ok(row.map(UserSettings::from).unwrap_or_default())
}

pub async fn put(pool: &AnyPool, user: Uuid, s: &UserSettings, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO notification_settings (user_id, level, muted_until, email_digest, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET level = excluded.level,
             muted_until = excluded.muted_until, email_digest = excluded.email_digest,
             updated_at = excluded.updated_at",
    )
    .bind(UuidText(user))
    .bind(s.level.as_str())
    .bind(s.muted_until)
    .bind(i64::from(s.email_digest))
    .bind(now)
    .execute(pool)
    .await
    .context("storing notification settings")?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RoomRow {
    room_id: i64,
    level: Option<String>,
    muted_until: Option<i64>,
}

impl From<RoomRow> for RoomSettings {
    fn from(row: RoomRow) -> Self {
        Self {
            room_id: row.room_id,
            level: row.level.as_deref().map(Level::from_column),
            muted_until: row.muted_until,
        }
    }
}

/// The user's room overrides for rooms they can still read (general, or a member row).
pub async fn rooms(pool: &AnyPool, user: Uuid) -> anyhow::Result<Vec<RoomSettings>> {
    let rows: Vec<RoomRow> = sqlx::query_as(
        "SELECT s.room_id, s.level, s.muted_until
         FROM room_notification_settings s JOIN rooms r ON r.id = s.room_id
         WHERE s.user_id = $1
           AND (r.kind = 'general' OR EXISTS (
               SELECT 1 FROM room_members m WHERE m.room_id = s.room_id AND m.user_id = s.user_id))
         ORDER BY s.room_id",
    )
    .bind(UuidText(user))
    .fetch_all(pool)
    .await
    .context("reading room notification settings")?;
    Ok(rows.into_iter().map(RoomSettings::from).collect())
}

/// Stores the user's override for a room, or removes it when both parts are None.
pub async fn put_room(
    pool: &AnyPool,
    user: Uuid,
    s: &RoomSettings,
    now: i64,
) -> anyhow::Result<()> {
    if s.level.is_none() && s.muted_until.is_none() {
        sqlx::query("DELETE FROM room_notification_settings WHERE user_id = $1 AND room_id = $2")
            .bind(UuidText(user))
            .bind(s.room_id)
            .execute(pool)
            .await
            .context("removing a room notification setting")?;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO room_notification_settings (user_id, room_id, level, muted_until, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, room_id) DO UPDATE SET level = excluded.level,
             muted_until = excluded.muted_until, updated_at = excluded.updated_at",
    )
    .bind(UuidText(user))
    .bind(s.room_id)
    .bind(s.level.map(Level::as_str))
    .bind(s.muted_until)
    .bind(now)
    .execute(pool)
    .await
    .context("storing a room notification setting")?;
    Ok(())
}

/// What applies in `room` to each of `users`, in the order given: two statements (their
/// settings, their overrides for the room) per 500 users.
pub async fn prefs(
    pool: &AnyPool,
    room: i64,
    users: &[Uuid],
) -> anyhow::Result<Vec<(Uuid, Prefs)>> {
    #[derive(sqlx::FromRow)]
    struct Own {
        user_id: UuidText,
        #[sqlx(flatten)]
        settings: UserRow,
    }
    #[derive(sqlx::FromRow)]
    struct Override {
        user_id: UuidText,
        level: Option<String>,
        muted_until: Option<i64>,
    }
    let mut out = Vec::with_capacity(users.len());
    // Chunks keep the bound values well inside both engines' limits.
    for chunk in users.chunks(500) {
        // Only numbered placeholders are formatted into the statements; every value is bound.
        let sql = format!(
            "SELECT user_id, level, muted_until, email_digest FROM notification_settings
             WHERE user_id IN ({})",
            placeholder_list(1, chunk.len())
        );
        let mut query = sqlx::query_as::<_, Own>(sqlx::AssertSqlSafe(sql));
        for user in chunk {
            query = query.bind(UuidText(*user));
        }
        let own = query
            .fetch_all(pool)
            .await
            .context("reading notification settings")?;
        let sql = format!(
            "SELECT user_id, level, muted_until FROM room_notification_settings
             WHERE room_id = $1 AND user_id IN ({})",
            placeholder_list(2, chunk.len())
        );
        let mut query = sqlx::query_as::<_, Override>(sqlx::AssertSqlSafe(sql)).bind(room);
        for user in chunk {
            query = query.bind(UuidText(*user));
        }
        let overrides = query
            .fetch_all(pool)
            .await
            .context("reading room notification settings")?;
        let mut own: Vec<(Uuid, UserSettings)> = own
            .into_iter()
            .map(|r| (r.user_id.into(), r.settings.into()))
            .collect();
        for user in chunk {
            let settings = own
                .iter()
                .position(|(id, _)| id == user)
                .map(|i| own.swap_remove(i).1)
                .unwrap_or_default();
            let room_override = overrides.iter().find(|o| o.user_id.0 == *user);
            out.push((
                *user,
                Prefs {
                    user: settings,
                    room_level: room_override
                        .and_then(|o| o.level.as_deref())
                        .map(Level::from_column),
                    room_muted_until: room_override.and_then(|o| o.muted_until),
                },
            ));
        }
    }
    Ok(out)
}

/// What applies to `user` in `room`: the level and whether it is muted at `now`.
pub async fn effective_level(
    pool: &AnyPool,
    user: Uuid,
    room: i64,
    now: i64,
) -> anyhow::Result<(Level, bool)> {
    let prefs = prefs(pool, room, &[user]).await?;
    Ok(prefs
        .first()
        .map(|(_, p)| p.effective(now))
        .unwrap_or((Level::Mentions, false)))
}

/// The members of `room` whose level there is `all` (the room's, else their own), but
/// `except` (the author).
pub async fn members_notified_of_all(
    pool: &AnyPool,
    room: i64,
    except: Uuid,
) -> anyhow::Result<Vec<Uuid>> {
    let rows: Vec<(UuidText,)> = sqlx::query_as(
        "SELECT m.user_id FROM room_members m
         LEFT JOIN notification_settings s ON s.user_id = m.user_id
         LEFT JOIN room_notification_settings r ON r.user_id = m.user_id AND r.room_id = m.room_id
         WHERE m.room_id = $1 AND m.user_id <> $2
           AND COALESCE(r.level, s.level, 'mentions') = 'all'",
    )
    .bind(room)
    .bind(UuidText(except))
    .fetch_all(pool)
    .await
    .context("finding members notified of every message")?;
    Ok(rows.into_iter().map(|(id,)| id.into()).collect())
}

/// Turns the user's e-mail digest off (the one-click unsubscribe), keeping their other
/// notification settings.
pub async fn turn_off_digest(pool: &AnyPool, user: Uuid, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO notification_settings (user_id, email_digest, updated_at) VALUES ($1, 0, $2)
         ON CONFLICT (user_id) DO UPDATE SET email_digest = 0, updated_at = excluded.updated_at",
    )
    .bind(UuidText(user))
    .bind(now)
    .execute(pool)
    .await
    .context("turning an e-mail digest off")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_level_wins_and_any_live_mute_silences() {
        let prefs = |level, muted_until, room_level, room_muted_until| Prefs {
            user: UserSettings {
                level,
                muted_until,
                email_digest: true,
            },
            room_level,
            room_muted_until,
        };
        let now = 1_000;
        assert_eq!(
            prefs(Level::Mentions, None, None, None).effective(now),
            (Level::Mentions, false)
        );
        assert_eq!(
            prefs(Level::None, None, Some(Level::All), None).effective(now),
            (Level::All, false)
        );
        assert_eq!(
            prefs(Level::All, Some(2_000), None, None).effective(now),
            (Level::All, true)
        );
        assert_eq!(
            prefs(Level::All, Some(500), None, Some(1_500)).effective(now),
            (Level::All, true)
        );
        // A mute that ended is no mute.
        assert_eq!(
            prefs(Level::All, Some(500), None, Some(999)).effective(now),
            (Level::All, false)
        );
    }
}
