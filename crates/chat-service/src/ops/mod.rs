//! The operations behind chat-service's REST routes and WebSocket actions alike: each checks
//! access and limits, makes its change (transactions live here or in the store, never in a
//! handler) and returns what happened as an [`Outcome`] — the value, the frames to deliver
//! and the relay control items — which a REST handler publishes and a WebSocket action
//! returns as `outbound`. A message sent over HTTP and one sent over a socket follow exactly
//! the same rules.

pub mod admin;
pub mod blocks;
pub mod digest;
pub mod export;
pub mod members;
pub mod mentions;
pub mod messages;
pub mod moderation;
pub mod notifications;
pub mod push;
pub mod reports;
pub mod rooms;
pub mod search;
pub mod tickets;
pub mod uploads;

use service_kit::ratelimit::{Decision, Quota};
use uuid::Uuid;
use wire::{Control, Delivery, ServerFrame, Target};

use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::members as member_store;
use crate::store::rooms::{self as room_store, Room};

/// What an operation did: its value, and what the relays are to do about it.
#[derive(Debug)]
pub struct Outcome<T> {
    pub value: T,
    /// Frames for rooms, users or connections.
    pub deliveries: Vec<Delivery>,
    /// Changes to the relays' routing tables (applied before the deliveries).
    pub control: Vec<Control>,
}

impl<T> Outcome<T> {
    /// An outcome nobody else hears of.
    pub fn quiet(value: T) -> Self {
        Self {
            value,
            deliveries: Vec::new(),
            control: Vec::new(),
        }
    }

    pub fn delivering(value: T, deliveries: Vec<Delivery>) -> Self {
        Self {
            value,
            deliveries,
            control: Vec::new(),
        }
    }

    pub fn with_control(mut self, control: Vec<Control>) -> Self {
        self.control = control;
        self
    }
}

/// Who is acting: from an access token (REST) or from the identity the relay carries (WS).
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: Uuid,
    pub username: String,
}

impl From<&tokens::actix::AuthUser> for Caller {
    fn from(u: &tokens::actix::AuthUser) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
        }
    }
}

impl From<&wire::Identity> for Caller {
    fn from(i: &wire::Identity) -> Self {
        Self {
            id: i.user_id,
            username: i.username.clone(),
        }
    }
}

/// Who takes a moderation action, and from which address: what the audit log records.
#[derive(Debug, Clone)]
pub struct Actor {
    pub caller: Caller,
    /// The client's address (`TRUSTED_PROXIES` decides whether `X-Forwarded-For` counts).
    pub ip: Option<String>,
}

impl Actor {
    pub fn audit(&self) -> crate::store::audit::Actor<'_> {
        crate::store::audit::Actor {
            id: self.caller.id,
            name: &self.caller.username,
            ip: self.ip.as_deref(),
        }
    }
}

/// The room, if the caller may see it. A private room the caller is not in answers exactly
/// like a room that does not exist (no existence leak).
pub async fn visible_room(state: &AppState, caller: &Caller, room_id: i64) -> ApiResult<Room> {
    match room_store::with_membership(&state.db.pool, room_id, caller.id).await? {
        Some((room, true)) => Ok(room),
        _ => Err(ApiError::RoomNotFound),
    }
}

/// The room, if the caller owns it (403 for members who do not and for `general` and direct
/// rooms, which have no owner; 404 for everyone else).
pub async fn owned_room(state: &AppState, caller: &Caller, room_id: i64) -> ApiResult<Room> {
    let room = visible_room(state, caller, room_id).await?;
    if room.is_general {
        return Err(ApiError::GeneralRoom);
    }
    if room.is_direct() {
        return Err(ApiError::DirectRoom);
    }
    if room.owner_user_id != Some(caller.id) {
        return Err(ApiError::NotRoomOwner);
    }
    Ok(room)
}

/// Counts one hit of `key` against `quota`: `RateLimited`, with the wait, once it is used up.
pub async fn rate_limit(state: &AppState, key: &str, quota: Quota) -> ApiResult<()> {
    match state.limiter.hit(key, quota).await {
        Decision::Allowed => Ok(()),
        limited @ Decision::Limited { .. } => Err(ApiError::RateLimited(
            limited.retry_after_secs().unwrap_or(1),
        )),
    }
}

/// The caps on rooms and memberships, from the settings.
pub fn caps(state: &AppState) -> member_store::Caps {
    let limits = &state.settings.limits;
    member_store::Caps {
        max_rooms_owned: limits.max_rooms_owned,
        max_members_per_room: limits.max_members_per_room,
        max_rooms_per_user: limits.max_rooms_per_user,
    }
}

pub fn to_room(room_id: i64, payload: ServerFrame) -> Delivery {
    Delivery {
        target: Target::Room(room_id),
        payload,
    }
}

pub fn to_user(user_id: Uuid, payload: ServerFrame) -> Delivery {
    Delivery {
        target: Target::User(user_id),
        payload,
    }
}
