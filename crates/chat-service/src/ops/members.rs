//! Room members: a page of the list, adding (the owner), removing (who moderates the room)
//! or leaving.

use service_kit::ratelimit::Quota;
use uuid::Uuid;
use wire::Control;

use super::{Actor, Caller, Outcome, caps, owned_room, rate_limit, to_room, to_user, visible_room};
use crate::domain::moderation::RoomRole;
use crate::domain::{MemberCursor, PeerName};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::audit::NewEntry;
use crate::store::members::{self, AddMemberError, Member};
use crate::store::rooms::Room;
use crate::store::users;
use crate::views::{self, MemberView, frames};

pub const DEFAULT_MEMBERS_PAGE: i64 = 100;
pub const MAX_MEMBERS_PAGE: i64 = 200;

/// A page of a room's members by join time.
pub struct MembersPage {
    pub room: Room,
    pub members: Vec<Member>,
    pub has_more: bool,
}

impl MembersPage {
    /// What a client sends as `after` for the next page; `None` on the last page.
    pub fn next_cursor(&self) -> Option<String> {
        let last = self.members.last().filter(|_| self.has_more)?;
        Some(
            MemberCursor {
                joined_at: last.joined_at,
                user_id: last.user_id,
            }
            .to_string(),
        )
    }

    pub fn views(&self) -> Vec<MemberView> {
        self.members
            .iter()
            .map(|m| views::member(m, &self.room))
            .collect()
    }
}

/// The members after the cursor `after` (a `nextCursor`), at most `limit` (capped at 200).
pub async fn page(
    state: &AppState,
    caller: &Caller,
    room_id: i64,
    after: Option<&str>,
    limit: Option<i64>,
) -> ApiResult<MembersPage> {
    let after = after
        .map(MemberCursor::parse)
        .transpose()
        .map_err(|e| ApiError::Validation(vec![e]))?;
    if limit.is_some_and(|l| l < 1) {
        return Err(ApiError::field(
            "limit",
            "must be at least 1 (at most 200 are returned)",
        ));
    }
    let room = visible_room(state, caller, room_id).await?;
    if room.is_general {
        return Err(ApiError::GeneralRoom);
    }
    let limit = limit.unwrap_or(DEFAULT_MEMBERS_PAGE).min(MAX_MEMBERS_PAGE);
    let (members, has_more) = members::page(&state.db.pool, room.id, after.as_ref(), limit).await?;
    Ok(MembersPage {
        room,
        members,
        has_more,
    })
}

/// The owner adds a user by name (within `CHAT_MEMBER_ADDS_PER_MINUTE` and the caps). The
/// new member's sockets are subscribed first, so they hear `memberAdded` too.
pub async fn add(
    state: &AppState,
    caller: &Caller,
    room_id: i64,
    username: &str,
    request_id: &str,
) -> ApiResult<Outcome<MemberView>> {
    let room = owned_room(state, caller, room_id).await?;
    let wanted = PeerName::parse(username).map_err(|e| ApiError::Validation(vec![e]))?;
    let per_minute = Quota::per_minute(state.settings.limits.member_adds_per_minute);
    rate_limit(state, &format!("member_add:{}", caller.id), per_minute).await?;
    let target = state
        .auth
        .user_by_username(wanted.as_str(), request_id)
        .await?
        .ok_or(ApiError::UserNotFound)?;
    let caps = caps(state);
    let member = members::add(
        &state.db,
        room.id,
        target.id,
        &target.username,
        store_kit::now_ms(),
        caps,
    )
    .await
    .map_err(|e| match e {
        AddMemberError::AlreadyMember => ApiError::AlreadyMember,
        AddMemberError::RoomGone => ApiError::RoomNotFound,
        AddMemberError::RoomFull => ApiError::RoomFull(caps.max_members_per_room),
        AddMemberError::TooManyRooms => ApiError::TooManyRooms(caps.max_rooms_per_user),
        AddMemberError::Unexpected(e) => ApiError::Unexpected(e),
    })?;
    tracing::info!(room_id = room.id, member = %member.user_id, "member added");
    users::remember(
        &state.db.pool,
        member.user_id,
        &member.username,
        member.joined_at,
    )
    .await?;
    let view = views::member(&member, &room);
    let event = frames::member_added(&room, &view);
    let subscribe = Control::Subscribe {
        user_id: member.user_id,
        room_id: room.id,
    };
    Ok(Outcome::delivering(view, vec![to_room(room.id, event)]).with_control(vec![subscribe]))
}

/// A member leaves, or someone who moderates the room removes them: its owner or staff
/// anyone, a room moderator anyone but the owner and the other moderators. When the owner
/// leaves, the longest-standing member becomes owner; when the last member leaves, the room is
/// deleted. All of it is one transaction, with the audit row of a removal by someone else.
/// The removed user hears it on their own sockets too, as they leave the room's fan-out.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    room_id: i64,
    target: Uuid,
) -> ApiResult<Outcome<()>> {
    let caller = &actor.caller;
    let (room, authority) = if target == caller.id {
        (visible_room(state, caller, room_id).await?, None)
    } else {
        let authority = super::moderation::authority(state, caller, room_id).await?;
        (authority.room.clone(), Some(authority))
    };
    if room.is_general {
        return Err(ApiError::GeneralRoom);
    }
    if room.is_direct() {
        return Err(ApiError::DirectRoom);
    }
    let removed_name;
    let entry = match authority {
        None => None,
        Some(authority) => {
            if !authority.moderates() {
                return Err(ApiError::NotRoomOwner);
            }
            let member = members::get(&state.db.pool, room.id, target)
                .await?
                .ok_or(ApiError::MemberNotFound)?;
            let protected =
                room.owner_user_id == Some(target) || member.role == RoomRole::Moderator;
            if protected && !authority.over_moderators() {
                return Err(ApiError::NotRoomOwner);
            }
            removed_name = member.username;
            Some(NewEntry {
                target: Some((target, removed_name.as_str())),
                room_id: Some(room.id),
                ..NewEntry::new(actor.audit(), "member.remove")
            })
        }
    };
    let removal = members::remove_member(
        &state.db.pool,
        room.id,
        room.owner_user_id,
        target,
        entry.as_ref(),
    )
    .await?
    .ok_or(ApiError::MemberNotFound)?;
    if removal.room_deleted {
        tracing::info!(room_id = room.id, "last member left; room deleted");
    }
    let new_owner = removal.new_owner;
    tracing::info!(room_id = room.id, member = %target, by = %caller.id, ?new_owner, "member removed");
    let event = frames::member_removed(room.id, target, new_owner);
    let unsubscribe = Control::Unsubscribe {
        user_id: target,
        room_id: room.id,
    };
    Ok(Outcome::delivering(
        (),
        vec![to_room(room.id, event.clone()), to_user(target, event)],
    )
    .with_control(vec![unsubscribe]))
}
