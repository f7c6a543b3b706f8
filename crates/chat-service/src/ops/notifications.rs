//! Notification preferences (docs/architecture.md, "Notifications"): the caller's own and
//! their per-room overrides, and [`effective_level`], what applies to a user in a room — the
//! one rule pushes and e-mail digests share.

use uuid::Uuid;

use super::{Caller, visible_room};
use crate::domain::notifications::{Level, parse_muted_until};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::notifications::{self as store, RoomSettings, UserSettings};

/// The caller's settings and their overrides for rooms they can still read.
pub async fn get(
    state: &AppState,
    caller: &Caller,
) -> ApiResult<(UserSettings, Vec<RoomSettings>)> {
    let pool = &state.db.pool;
    Ok((
        store::get(pool, caller.id).await?,
        store::rooms(pool, caller.id).await?,
    ))
}

/// Replaces the caller's own settings; answers as [`get`].
pub async fn put(
    state: &AppState,
    caller: &Caller,
    level: Level,
    muted_until: Option<&str>,
    email_digest: bool,
) -> ApiResult<(UserSettings, Vec<RoomSettings>)> {
    let muted_until =
        parse_muted_until("mutedUntil", muted_until).map_err(|e| ApiError::Validation(vec![e]))?;
    let settings = UserSettings {
        level,
        muted_until,
        email_digest,
    };
    store::put(&state.db.pool, caller.id, &settings, store_kit::now_ms()).await?;
    get(state, caller).await
}

/// Sets (or, both None, removes) the caller's override for a room they can read.
pub async fn put_room(
    state: &AppState,
    caller: &Caller,
    room_id: i64,
    level: Option<Level>,
    muted_until: Option<&str>,
) -> ApiResult<RoomSettings> {
    let muted_until =
        parse_muted_until("mutedUntil", muted_until).map_err(|e| ApiError::Validation(vec![e]))?;
    visible_room(state, caller, room_id).await?;
    let settings = RoomSettings {
        room_id,
        level,
        muted_until,
    };
    store::put_room(&state.db.pool, caller.id, &settings, store_kit::now_ms()).await?;
    Ok(settings)
}

/// What applies to `user` in `room` now: the room's level if the user set one, else their
/// own (`mentions` by default), and whether a mute of theirs or of the room has not ended.
pub async fn effective_level(state: &AppState, user: Uuid, room: i64) -> ApiResult<(Level, bool)> {
    Ok(store::effective_level(&state.db.pool, user, room, store_kit::now_ms()).await?)
}
