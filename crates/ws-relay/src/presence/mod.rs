//! Presence (docs/architecture.md, "Presence"; the frames in docs/protocol.md): a user is
//! online while they have a socket on any relay, and for `RELAY_PRESENCE_GRACE_SECS` after
//! their last one closed.
//!
//! - `local`: this relay's side — one task that learns from the hub which users have sockets
//!   here, debounces their going offline, and tells the store; the store decides the global
//!   transitions, which go to watchers through the fan-out (`Fanout::publish_presence`).
//! - the store: `memory` when the relay works alone (the quick start), `redis` when relays
//!   share fan-out over Redis (per-relay records with a heartbeat, so a dead relay's users go
//!   offline; Lua scripts decide each transition once).
//! - `watchPresence`: each connection's watch list lives in the hub's watch index
//!   (user → watching connections), so a change costs its watchers only.

mod local;
mod memory;
mod redis;

use std::collections::HashSet;
use std::sync::Arc;

use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;
use uuid::Uuid;
use wire::protocol::PresenceView;
use wire::{ErrorCode, FrameId, ServerFrame};

use self::memory::MemoryStore;
use self::redis::RedisStore;
use crate::config::Settings;
use crate::fanout::Fanout;
use crate::hub::Hub;
use crate::protocol;
use crate::socket::connection::Connection;

/// What the local task hears from the sockets.
#[derive(Debug, Clone, Copy)]
enum Event {
    /// A socket of this user opened here.
    Connected(Uuid),
    /// A socket of this user closed here.
    Closed(Uuid),
}

/// A change of this relay's share of presence, as the local task asks the store for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// The user is online here (a socket opened).
    Online(Uuid),
    /// The user is no longer online here (the grace after their last socket passed).
    Offline(Uuid),
}

/// The store could not be read or written (Redis is away).
#[derive(Debug, thiserror::Error)]
#[error("presence store unavailable: {0}")]
pub(crate) struct Unavailable(String);

/// Where presence is kept: this relay's memory, or Redis shared by the relays.
enum Store {
    Memory(MemoryStore),
    Redis(Box<RedisStore>),
}

impl Store {
    /// Applies this relay's changes, in order; returns the global transitions they made.
    async fn apply(&self, ops: &[Op]) -> Result<Vec<PresenceView>, Unavailable> {
        match self {
            Store::Memory(m) => Ok(m.apply(ops)),
            Store::Redis(r) => r.apply(ops).await,
        }
    }

    /// The users as they are now, in the order asked.
    async fn snapshot(&self, users: &[Uuid]) -> Result<Vec<PresenceView>, Unavailable> {
        match self {
            Store::Memory(m) => Ok(m.snapshot(users)),
            Store::Redis(r) => r.snapshot(users).await,
        }
    }
}

/// The relay's presence: the local task's inbox and the store.
pub(crate) struct Presence {
    events: mpsc::UnboundedSender<Event>,
    store: Arc<Store>,
    hub: Arc<Hub>,
    max_watched: usize,
}

impl Presence {
    /// In memory, or in Redis when `REDIS_URL` is set; starts the local task (call inside a
    /// Tokio runtime). Fails only on a malformed Redis URL.
    pub(crate) fn start(
        settings: &Settings,
        hub: Arc<Hub>,
        fanout: Arc<Fanout>,
    ) -> anyhow::Result<Self> {
        let store = Arc::new(match settings.redis_url.as_deref() {
            None => Store::Memory(MemoryStore::default()),
            Some(url) => Store::Redis(Box::new(RedisStore::new(url, &settings.redis_prefix)?)),
        });
        let (events, inbox) = mpsc::unbounded_channel();
        tokio::spawn(
            local::Local::new(
                hub.clone(),
                store.clone(),
                fanout,
                &settings.presence,
                inbox,
            )
            .run(),
        );
        Ok(Self {
            events,
            store,
            hub,
            max_watched: settings.presence.max_watched,
        })
    }

    /// A socket of `user` was registered in the hub.
    pub(crate) fn connected(&self, user: Uuid) {
        let _ = self.events.send(Event::Connected(user));
    }

    /// A socket of `user` was removed from the hub.
    pub(crate) fn closed(&self, user: Uuid) {
        let _ = self.events.send(Event::Closed(user));
    }

    /// The users as they are now, in the order asked (`GET /internal/presence`).
    pub(crate) async fn snapshot(&self, users: &[Uuid]) -> Result<Vec<PresenceView>, Unavailable> {
        self.store.snapshot(users).await
    }

    /// The instance's figures for `GET /internal/stats`: sockets on every live relay and
    /// users online. With Redis, other relays' socket counts are those of their last
    /// heartbeat (`RELAY_PRESENCE_HEARTBEAT_SECS` old at most); alone, both are exact.
    pub(crate) async fn stats(&self) -> Result<wire::RelayStats, Unavailable> {
        let (connections, online_users) = match &*self.store {
            Store::Memory(m) => (self.hub.len() as u64, m.online()),
            Store::Redis(r) => r.stats().await?,
        };
        Ok(wire::RelayStats {
            connections,
            online_users,
        })
    }

    /// `watchPresence`: replaces the connection's watch list and answers `presenceList` (or
    /// an error) with the frame's `id`; changes that come meanwhile follow the answer.
    pub(crate) async fn watch(&self, conn: &Connection, users: Vec<Uuid>, id: Option<&FrameId>) {
        let mut seen = HashSet::with_capacity(users.len());
        let users: Vec<Uuid> = users.into_iter().filter(|u| seen.insert(*u)).collect();
        if users.len() > self.max_watched {
            conn.send_text(protocol::error_frame(
                ErrorCode::ValidationFailed,
                &format!(
                    "`userIds` may name at most {} users (RELAY_MAX_WATCHED_USERS)",
                    self.max_watched
                ),
                id,
            ));
            return;
        }
        if !self.hub.watch(&conn.id, &users) {
            return;
        }
        let answer = match self.store.snapshot(&users).await {
            Ok(users) => protocol::reply(ServerFrame::PresenceList { users }, id),
            Err(err) => {
                tracing::warn!(error = %err, "watchPresence: cannot read presence");
                protocol::error_frame(
                    ErrorCode::InternalError,
                    "presence cannot be read right now; retry shortly",
                    id,
                )
            }
        };
        self.hub.watched(&conn.id, answer);
    }
}

/// A presence change: online (no `lastSeenAt`), or offline since `last_seen_ms`.
fn view(user_id: Uuid, online: bool, last_seen_ms: Option<i64>) -> PresenceView {
    PresenceView {
        user_id,
        online,
        last_seen_at: if online {
            None
        } else {
            last_seen_ms.and_then(rfc3339)
        },
    }
}

/// Unix milliseconds as RFC 3339 (like every time of the API).
fn rfc3339(ms: i64) -> Option<String> {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_carry_last_seen_only_when_offline() {
        let user = Uuid::new_v4();
        assert_eq!(view(user, true, Some(1)).last_seen_at, None);
        assert_eq!(
            view(user, false, Some(1_767_225_600_123))
                .last_seen_at
                .as_deref(),
            Some("2026-01-01T00:00:00.123Z")
        );
        assert_eq!(view(user, false, None).last_seen_at, None);
    }
}
