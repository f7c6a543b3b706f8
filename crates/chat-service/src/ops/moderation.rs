//! Room moderation (docs/architecture.md, "Moderation"): who moderates a room, room roles,
//! mutes, and the instance roles and suspensions auth-service tells us of.
//!
//! A caller's instance role is read from `user_moderation` here, per moderation request
//! ([`role`]); the send path never reads it.

use uuid::Uuid;
use wire::moderation::{Role, UserChange, UserEvent};

use super::{Actor, Caller, Outcome, to_room};
use crate::domain::moderation::{self as input, RoomRole};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::audit::{self, NewEntry};
use crate::store::members::{self, Member};
use crate::store::moderation::{self as store, Mute};
use crate::store::rooms::{self, Room, RoomKind, RoomSummary};
use crate::views::{self, MemberView, MuteView, frames};

/// The caller's instance role, as auth-service last told us (`user` when it never did).
pub async fn role(state: &AppState, caller: &Caller) -> ApiResult<Role> {
    Ok(store::role_of(&state.db.pool, caller.id).await?)
}

/// Whether the caller is staff (an instance moderator or admin).
pub async fn staff(state: &AppState, caller: &Caller) -> ApiResult<bool> {
    Ok(role(state, caller).await?.is_staff())
}

/// The caller's role if they are staff; 403 `staff_required` otherwise.
pub async fn require_staff(state: &AppState, caller: &Caller) -> ApiResult<Role> {
    let role = role(state, caller).await?;
    if !role.is_staff() {
        return Err(ApiError::StaffRequired);
    }
    Ok(role)
}

/// Who moderates a room: in a group room its owner, its moderators and staff; in `general`
/// staff only; in a direct room nobody. The one statement of that rule.
pub fn may_moderate(room: &Room, caller: Uuid, role: Option<RoomRole>, staff: bool) -> bool {
    match room.kind {
        RoomKind::General => staff,
        RoomKind::Group => {
            staff || room.owner_user_id == Some(caller) || role == Some(RoomRole::Moderator)
        }
        RoomKind::Direct => false,
    }
}

/// Marks each of the caller's rooms with whether they moderate it.
pub async fn mark_moderated(
    state: &AppState,
    caller: &Caller,
    summaries: &mut [RoomSummary],
) -> ApiResult<()> {
    let staff = staff(state, caller).await?;
    for s in summaries {
        s.can_moderate = may_moderate(&s.room, caller.id, s.role, staff);
    }
    Ok(())
}

/// A room with the caller's standing in it.
#[derive(Debug, Clone)]
pub struct Authority {
    pub room: Room,
    /// The caller's member row's role (`None`: not a member, or `general`).
    pub role: Option<RoomRole>,
    pub staff: bool,
    caller: Uuid,
}

impl Authority {
    pub fn is_owner(&self) -> bool {
        self.room.owner_user_id == Some(self.caller)
    }

    /// May moderate the room at all.
    pub fn moderates(&self) -> bool {
        may_moderate(&self.room, self.caller, self.role, self.staff)
    }

    /// Moderates over everyone but the owner: the owner or staff (a room moderator does not
    /// act on the owner or on another moderator).
    pub fn over_moderators(&self) -> bool {
        self.moderates() && (self.is_owner() || self.staff)
    }
}

/// The room and how far the caller's authority over it goes. A room the caller cannot see is
/// `room_not_found`, unless they are staff and it is `general` or a group room (staff
/// moderate those without being members; direct rooms stay private).
pub async fn authority(state: &AppState, caller: &Caller, room_id: i64) -> ApiResult<Authority> {
    let (room, role) = rooms::membership(&state.db.pool, room_id, caller.id)
        .await?
        .ok_or(ApiError::RoomNotFound)?;
    let staff = staff(state, caller).await?;
    let member = room.is_general || role.is_some();
    let staff_may_enter = staff && room.kind == RoomKind::Group;
    if !(member || staff_may_enter) {
        return Err(ApiError::RoomNotFound);
    }
    Ok(Authority {
        room,
        role,
        staff,
        caller: caller.id,
    })
}

/// The room, if the caller moderates it: 403 `moderator_required` otherwise.
async fn moderated(state: &AppState, caller: &Caller, room_id: i64) -> ApiResult<Authority> {
    let authority = authority(state, caller, room_id).await?;
    if !authority.moderates() {
        return Err(ApiError::ModeratorRequired);
    }
    Ok(authority)
}

/// The owner (or staff) makes a member of a group room a moderator, or a member again. The
/// room hears `memberRoleChanged`; setting the role a member has already changes nothing.
pub async fn set_room_role(
    state: &AppState,
    actor: &Actor,
    room_id: i64,
    target: Uuid,
    role: &str,
) -> ApiResult<Outcome<MemberView>> {
    let role = RoomRole::parse(role).map_err(|e| ApiError::Validation(vec![e]))?;
    let authority = authority(state, &actor.caller, room_id).await?;
    let room = &authority.room;
    match room.kind {
        RoomKind::General => return Err(ApiError::GeneralRoom),
        RoomKind::Direct => return Err(ApiError::DirectRoom),
        RoomKind::Group => {}
    }
    if !authority.is_owner() && !authority.staff {
        return Err(ApiError::NotRoomOwner);
    }
    if room.owner_user_id == Some(target) || target == actor.caller.id {
        return Err(ApiError::CannotTargetSelf);
    }
    let member = members::get(&state.db.pool, room.id, target)
        .await?
        .ok_or(ApiError::MemberNotFound)?;
    if member.role == role {
        return Ok(Outcome::quiet(views::member(&member, room)));
    }
    let now = store_kit::now_ms();
    let entry = NewEntry {
        target: Some((target, &member.username)),
        room_id: Some(room.id),
        details: Some(serde_json::json!({ "role": role.as_str() })),
        ..NewEntry::new(actor.audit(), "member.role")
    };
    let mut tx = state.db.pool.begin().await.map_err(anyhow::Error::from)?;
    if !store::set_room_role(&mut tx, room.id, target, role).await? {
        return Err(ApiError::MemberNotFound);
    }
    audit::append(&mut tx, &entry, now).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    tracing::info!(room_id = room.id, member = %target, role = role.as_str(), by = %actor.caller.id, "member role changed");
    let view = views::member(&Member { role, ..member }, room);
    let event = frames::member_role_changed(room.id, target, role.as_str());
    Ok(Outcome::delivering(view, vec![to_room(room.id, event)]))
}

/// Whom a moderator may mute (or unmute) in a room: someone else; in a group room a member,
/// in `general` a user chat-service has met; never the owner, nor staff, nor — unless the
/// moderator is the owner or staff — another moderator of the room. Their name.
pub(crate) async fn mute_target(
    state: &AppState,
    authority: &Authority,
    target: Uuid,
) -> ApiResult<String> {
    if target == authority.caller {
        return Err(ApiError::CannotTargetSelf);
    }
    if store::role_of(&state.db.pool, target).await?.is_staff() {
        return Err(ApiError::ModeratorRequired);
    }
    let room = &authority.room;
    let (name, role) = if room.is_general {
        let name = store::known_name(&state.db.pool, target)
            .await?
            .ok_or(ApiError::UserNotFound)?;
        (name, None)
    } else {
        let member = members::get(&state.db.pool, room.id, target)
            .await?
            .ok_or(ApiError::MemberNotFound)?;
        (member.username, Some(member.role))
    };
    let moderator = role == Some(RoomRole::Moderator) && !authority.over_moderators();
    if room.owner_user_id == Some(target) || moderator {
        return Err(ApiError::ModeratorRequired);
    }
    Ok(name)
}

/// Mutes a member for `duration_seconds` (`CHAT_MIN_MUTE_SECONDS` to
/// `CHAT_MAX_MUTE_SECONDS`): their sends to the room are refused until then. Replaces a mute
/// in force. The room hears `memberMuted`.
pub async fn mute(
    state: &AppState,
    actor: &Actor,
    room_id: i64,
    target: Uuid,
    duration_seconds: Option<i64>,
    reason: Option<&str>,
) -> ApiResult<Outcome<MuteView>> {
    let limits = &state.settings.limits;
    let seconds = input::mute_seconds(
        duration_seconds,
        limits.min_mute_seconds,
        limits.max_mute_seconds,
    );
    let reason = input::optional_text("reason", reason, input::MAX_REASON_CHARS);
    let (seconds, reason) = match (seconds, reason) {
        (Ok(s), Ok(r)) => (s, r),
        (s, r) => {
            return Err(ApiError::Validation(
                [s.err(), r.err()].into_iter().flatten().collect(),
            ));
        }
    };
    let authority = moderated(state, &actor.caller, room_id).await?;
    let name = mute_target(state, &authority, target).await?;
    let mut tx = state.db.pool.begin().await.map_err(anyhow::Error::from)?;
    let mute = mute_in(
        &mut tx,
        actor,
        &authority.room,
        (target, &name),
        seconds,
        reason.as_deref(),
        store_kit::now_ms(),
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    let event = frames::member_muted(mute.room_id, target, mute.until);
    Ok(Outcome::delivering(
        MuteView::from(&mute),
        vec![to_room(mute.room_id, event)],
    ))
}

/// Mutes `target` in `room` for `seconds` from `now` inside `tx`, with its audit row
/// (`member.mute`).
pub(crate) async fn mute_in(
    tx: &mut sqlx::AnyConnection,
    actor: &Actor,
    room: &Room,
    (target, name): (Uuid, &str),
    seconds: i64,
    reason: Option<&str>,
    now: i64,
) -> ApiResult<Mute> {
    let until = now.saturating_add(seconds.saturating_mul(1000));
    store::mute(tx, room.id, target, until, actor.caller.id, reason, now).await?;
    let entry = NewEntry {
        target: Some((target, name)),
        room_id: Some(room.id),
        reason,
        details: Some(serde_json::json!({ "until": store_kit::rfc3339(until) })),
        ..NewEntry::new(actor.audit(), "member.mute")
    };
    audit::append(tx, &entry, now).await?;
    tracing::info!(room_id = room.id, member = %target, until, by = %actor.caller.id, "member muted");
    Ok(Mute {
        room_id: room.id,
        user_id: target,
        username: name.to_owned(),
        until,
        reason: reason.map(str::to_owned),
        muted_by: actor.caller.id,
    })
}

/// Lifts a member's mute. Not muted: nothing happens (no event, no audit row).
pub async fn unmute(
    state: &AppState,
    actor: &Actor,
    room_id: i64,
    target: Uuid,
) -> ApiResult<Outcome<()>> {
    let authority = moderated(state, &actor.caller, room_id).await?;
    let room = &authority.room;
    if target == actor.caller.id {
        return Err(ApiError::CannotTargetSelf);
    }
    let Some(mute) = store::mute_of(&state.db.pool, room.id, target, store_kit::now_ms()).await?
    else {
        return Ok(Outcome::quiet(()));
    };
    // The same rules as for muting, but for a member who left the room since.
    let name = match mute_target(state, &authority, target).await {
        Err(ApiError::MemberNotFound) => mute.username.clone(),
        other => other?,
    };
    let now = store_kit::now_ms();
    let entry = NewEntry {
        target: Some((target, &name)),
        room_id: Some(room.id),
        ..NewEntry::new(actor.audit(), "member.unmute")
    };
    let mut tx = state.db.pool.begin().await.map_err(anyhow::Error::from)?;
    if !store::unmute(&mut tx, room.id, target, now).await? {
        return Ok(Outcome::quiet(()));
    }
    audit::append(&mut tx, &entry, now).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    tracing::info!(room_id = room.id, member = %target, by = %actor.caller.id, "member unmuted");
    let event = frames::member_unmuted(room.id, target);
    Ok(Outcome::delivering((), vec![to_room(room.id, event)]))
}

/// The room's mutes in force (who moderates it only).
pub async fn mutes(state: &AppState, caller: &Caller, room_id: i64) -> ApiResult<Vec<MuteView>> {
    let authority = moderated(state, caller, room_id).await?;
    let mutes = store::live_mutes(&state.db.pool, authority.room.id, store_kit::now_ms()).await?;
    Ok(mutes.iter().map(MuteView::from).collect())
}

/// The most events one `POST /internal/user-events` may carry (auth-service sends batches of
/// at most `wire::moderation::MAX_USER_EVENTS`).
pub const MAX_USER_EVENTS: usize = 1000;

/// `POST /internal/user-events`: auth-service's role and suspension changes, kept by
/// version (newer wins), and account deletions (`super::account::forget`). A deletion is the
/// last event of its user, so applying the role changes first keeps their order.
pub async fn apply_user_events(state: &AppState, events: &[UserEvent]) -> ApiResult<Outcome<()>> {
    if events.len() > MAX_USER_EVENTS {
        return Err(ApiError::field("events", "at most 1000 events per request"));
    }
    let states: Vec<(Uuid, &wire::moderation::ModerationState)> = events
        .iter()
        .filter_map(|e| match &e.change {
            UserChange::Moderation(state) => Some((e.user_id, state)),
            UserChange::Deleted { .. } => None,
        })
        .collect();
    store::apply(&state.db.pool, &states, store_kit::now_ms()).await?;
    let mut outcome = Outcome::quiet(());
    for event in events {
        if let UserChange::Deleted { delete_messages } = event.change {
            let forgotten = super::account::forget(state, event.user_id, delete_messages).await?;
            outcome.deliveries.extend(forgotten.deliveries);
            outcome.control.extend(forgotten.control);
        }
    }
    tracing::info!(events = events.len(), "user events applied");
    Ok(outcome)
}
