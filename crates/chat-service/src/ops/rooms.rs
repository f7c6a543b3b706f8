//! Rooms: the caller's list, creating, reading and deleting one.

use service_kit::ratelimit::Quota;
use wire::Control;

use super::{Caller, Outcome, caps, owned_room, rate_limit, to_user};
use crate::domain::RoomName;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::members;
use crate::store::rooms::{self, CreateRoomError, Room, RoomSummary};
use crate::views::frames;

/// The caller's rooms, `general` first, with member and unread counts.
pub async fn list(state: &AppState, caller: &Caller) -> ApiResult<Vec<RoomSummary>> {
    Ok(rooms::list_for_user(&state.db.pool, caller.id).await?)
}

/// One of the caller's rooms, with its counts.
pub async fn get(state: &AppState, caller: &Caller, room_id: i64) -> ApiResult<RoomSummary> {
    list(state, caller)
        .await?
        .into_iter()
        .find(|s| s.room.id == room_id)
        .ok_or(ApiError::RoomNotFound)
}

/// Creates a room owned by the caller (within `CHAT_ROOM_CREATES_PER_HOUR` and the caps); the
/// owner's open sockets start receiving it at once.
pub async fn create(state: &AppState, caller: &Caller, name: &str) -> ApiResult<Outcome<Room>> {
    let name = RoomName::parse(name).map_err(|e| ApiError::Validation(vec![e]))?;
    let per_hour = Quota::per_hour(state.settings.limits.room_creates_per_hour);
    rate_limit(state, &format!("room_create:{}", caller.id), per_hour).await?;
    let caps = caps(state);
    let room = rooms::create(
        &state.db.pool,
        &name,
        caller.id,
        &caller.username,
        store_kit::now_ms(),
        caps,
    )
    .await
    .map_err(|e| match e {
        CreateRoomError::NameTaken => ApiError::RoomNameTaken,
        CreateRoomError::TooManyOwned => ApiError::TooManyRoomsOwned(caps.max_rooms_owned),
        CreateRoomError::TooManyRooms => ApiError::TooManyRooms(caps.max_rooms_per_user),
        CreateRoomError::Unexpected(e) => ApiError::Unexpected(e),
    })?;
    tracing::info!(room_id = room.id, owner = %caller.id, "room created");
    let subscribe = Control::Subscribe {
        user_id: caller.id,
        room_id: room.id,
    };
    Ok(Outcome::quiet(room).with_control(vec![subscribe]))
}

/// The owner deletes a room with its messages. Every member is unsubscribed and told through
/// their user target (the relay applies control items before deliveries).
pub async fn delete(state: &AppState, caller: &Caller, room_id: i64) -> ApiResult<Outcome<()>> {
    let room = owned_room(state, caller, room_id).await?;
    let members = members::list(&state.db.pool, room.id).await?;
    if !rooms::delete(&state.db.pool, room.id).await? {
        return Err(ApiError::RoomNotFound);
    }
    tracing::info!(room_id = room.id, owner = %caller.id, "room deleted");
    let event = frames::room_deleted(room.id);
    let (deliveries, unsubscribe) = members
        .iter()
        .map(|m| {
            (
                to_user(m.user_id, event.clone()),
                Control::Unsubscribe {
                    user_id: m.user_id,
                    room_id: room.id,
                },
            )
        })
        .unzip();
    Ok(Outcome::delivering((), deliveries).with_control(unsubscribe))
}
