//! Rooms: the caller's list, creating, reading and deleting one; opening and hiding direct
//! rooms.

use service_kit::ratelimit::Quota;
use wire::Control;

use super::{Caller, Outcome, caps, owned_room, rate_limit, to_user};
use crate::domain::moderation::RoomRole;
use crate::domain::{PeerName, RoomName};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::rooms::{self, CreateRoomError, Listing, Party, RoomSummary};
use crate::store::{blocks, members, users};
use crate::views::frames;

/// The caller's rooms, `general` first, with member, unread and mention counts and whether
/// they moderate each (hidden direct rooms left out).
pub async fn list(state: &AppState, caller: &Caller) -> ApiResult<Vec<RoomSummary>> {
    let mut rooms = rooms::list_for_user(&state.db.pool, caller.id, Listing::Visible).await?;
    super::moderation::mark_moderated(state, caller, &mut rooms).await?;
    Ok(rooms)
}

/// One of the caller's rooms (hidden or not), with its counts.
pub async fn get(state: &AppState, caller: &Caller, room_id: i64) -> ApiResult<RoomSummary> {
    let mut rooms = rooms::list_for_user(&state.db.pool, caller.id, Listing::One(room_id)).await?;
    super::moderation::mark_moderated(state, caller, &mut rooms).await?;
    rooms.into_iter().next().ok_or(ApiError::RoomNotFound)
}

/// Creates a room owned by the caller (within `CHAT_ROOM_CREATES_PER_HOUR` and the caps); the
/// owner's open sockets start receiving it at once.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> ApiResult<Outcome<RoomSummary>> {
    let name = RoomName::parse(name).map_err(|e| ApiError::Validation(vec![e]))?;
    let per_hour = Quota::per_hour(state.settings.limits.room_creates_per_hour);
    rate_limit(state, &format!("room_create:{}", caller.id), per_hour).await?;
    let caps = caps(state);
    let room = rooms::create(
        &state.db,
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
    let summary = RoomSummary {
        room,
        member_count: 1,
        unread_count: 0,
        mention_count: 0,
        peer: None,
        role: Some(RoomRole::Member),
        // Its owner.
        can_moderate: true,
    };
    Ok(Outcome::quiet(summary).with_control(vec![subscribe]))
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

/// Who a direct room is opened with.
#[derive(Debug, Clone)]
pub enum DirectPeer {
    Id(uuid::Uuid),
    Name(String),
}

/// The caller's direct room with a user (their notes when it is themself), opened if there is
/// none — within `CHAT_DM_CREATES_PER_HOUR` — with both users' sockets subscribed; whether it
/// was opened now. An existing one is shown again in the caller's list. Refused (`blocked`)
/// while either of the two blocks the other.
pub async fn open_direct(
    state: &AppState,
    caller: &Caller,
    peer: DirectPeer,
    request_id: &str,
) -> ApiResult<Outcome<(RoomSummary, bool)>> {
    let found = match peer {
        DirectPeer::Id(id) if id == caller.id => Some(wire::PublicUser {
            id,
            username: caller.username.clone(),
        }),
        DirectPeer::Id(id) => state.auth.user_by_id(id, request_id).await?,
        DirectPeer::Name(name) => {
            let name = PeerName::parse(&name).map_err(|e| ApiError::Validation(vec![e]))?;
            state
                .auth
                .user_by_username(name.as_str(), request_id)
                .await?
        }
    };
    let peer = found.ok_or(ApiError::UserNotFound)?;
    if peer.id != caller.id && blocks::between(&state.db.pool, caller.id, peer.id).await? {
        return Err(ApiError::Blocked);
    }
    let now = store_kit::now_ms();
    let me = Party {
        user_id: caller.id,
        username: &caller.username,
    };
    let them = Party {
        user_id: peer.id,
        username: &peer.username,
    };
    let key = rooms::direct_key(caller.id, peer.id);
    users::remember(&state.db.pool, peer.id, &peer.username, now).await?;
    let (room_id, created) = match rooms::find_direct(&state.db.pool, &key).await? {
        Some(id) => {
            rooms::show(&state.db.pool, id, caller.id).await?;
            (id, false)
        }
        None => {
            let per_hour = Quota::per_hour(state.settings.limits.dm_creates_per_hour);
            rate_limit(state, &format!("dm_create:{}", caller.id), per_hour).await?;
            rooms::open_direct(&state.db, me, them, now).await?
        }
    };
    let summary = get(state, caller, room_id).await?;
    if !created {
        return Ok(Outcome::quiet((summary, false)));
    }
    tracing::info!(room_id, user = %caller.id, peer = %peer.id, "direct room opened");
    let mut subscribe = vec![Control::Subscribe {
        user_id: caller.id,
        room_id,
    }];
    if peer.id != caller.id {
        subscribe.push(Control::Subscribe {
            user_id: peer.id,
            room_id,
        });
    }
    Ok(Outcome::quiet((summary, true)).with_control(subscribe))
}

/// Hides one of the caller's direct rooms from their list until its next message; their other
/// devices are told (`roomHidden`).
pub async fn hide(state: &AppState, caller: &Caller, room_id: i64) -> ApiResult<Outcome<()>> {
    let room = super::visible_room(state, caller, room_id).await?;
    if !room.is_direct() {
        return Err(ApiError::NotDirectRoom);
    }
    rooms::hide(&state.db.pool, room.id, caller.id).await?;
    let event = frames::room_hidden(room.id);
    Ok(Outcome::delivering((), vec![to_user(caller.id, event)]))
}
