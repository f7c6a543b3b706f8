//! One client connection as the rest of the relay holds it: its identity (replaced by
//! `refreshToken`), its bounded outbox and the slow-consumer policy that guards it, its
//! [`Closer`], and when it was last heard from. The routing tables ([`crate::hub`]) map rooms
//! and users to these; the session ([`super::session`]) drives one.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use bytestring::ByteString;
use uuid::Uuid;
use wire::Identity;

use super::writer::{CloseCommand, Closer, Outbound, Outbox, Refused};
use crate::protocol::close;

/// What other parts of the relay hold of one connection.
pub(crate) struct Connection {
    pub id: Arc<str>,
    pub user_id: Uuid,
    /// The session (access token's `sid`) the connection was opened with; `refreshToken`
    /// may not change it.
    pub session_id: Option<Uuid>,
    pub outbox: Arc<Outbox>,
    pub closer: Closer,
    /// Replaced by `refreshToken`.
    identity: RwLock<Identity>,
    pub connected_at: time::OffsetDateTime,
    pub source_ip: Option<String>,
    last_active: RwLock<Instant>,
}

impl Connection {
    pub(crate) fn new(
        id: Arc<str>,
        identity: Identity,
        outbox: Arc<Outbox>,
        closer: Closer,
        source_ip: Option<String>,
    ) -> Self {
        Self {
            id,
            user_id: identity.user_id,
            session_id: identity.session_id,
            outbox,
            closer,
            identity: RwLock::new(identity),
            connected_at: time::OffsetDateTime::now_utc(),
            source_ip,
            last_active: RwLock::new(Instant::now()),
        }
    }

    pub(crate) fn identity(&self) -> Identity {
        match self.identity.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub(crate) fn set_identity(&self, identity: Identity) {
        match self.identity.write() {
            Ok(mut g) => *g = identity,
            Err(p) => *p.into_inner() = identity,
        }
    }

    pub(crate) fn touch(&self) {
        match self.last_active.write() {
            Ok(mut g) => *g = Instant::now(),
            Err(p) => *p.into_inner() = Instant::now(),
        }
    }

    pub(crate) fn idle_for(&self) -> std::time::Duration {
        match self.last_active.read() {
            Ok(g) => g.elapsed(),
            Err(p) => p.into_inner().elapsed(),
        }
    }

    /// Queues a frame without waiting. A full outbox (in frames or in bytes) means the client
    /// stopped reading: the frame is dropped, counted, the frames already queued are freed, and
    /// the connection is closed with 1013. `false` when the frame was not queued.
    pub(crate) fn send(&self, frame: Outbound) -> bool {
        match self.outbox.push(frame) {
            Ok(()) => true,
            Err(Refused::Shut) => false,
            Err(full) => {
                metrics::counter!("ws_relay_queue_drops_total").increment(1);
                self.outbox.shut(true);
                if self
                    .closer
                    .close(CloseCommand::new(close::TRY_AGAIN, "slow consumer"))
                {
                    metrics::counter!("ws_relay_slow_consumer_closes_total", "budget" => full.label())
                        .increment(1);
                    tracing::warn!(connection_id = %self.id, user_id = %self.user_id, budget = full.label(), "outbound budget exceeded; closing slow consumer with 1013");
                }
                false
            }
        }
    }

    pub(crate) fn send_text(&self, frame: ByteString) -> bool {
        self.send(Outbound::Text(frame))
    }
}

#[cfg(test)]
impl Connection {
    /// `user`'s connection with no socket behind it, its outbox capped at `max_frames` frames
    /// and `max_bytes` bytes.
    pub(crate) fn detached(user_id: Uuid, max_frames: usize, max_bytes: usize) -> Arc<Self> {
        let (closer, _) = Closer::new();
        let identity = Identity {
            user_id,
            username: "u".into(),
            session_id: None,
        };
        Arc::new(Self::new(
            Uuid::new_v4().to_string().into(),
            identity,
            Outbox::new(max_frames, max_bytes),
            closer,
            None,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_closes_the_connection_instead_of_blocking() {
        let a = Connection::detached(Uuid::new_v4(), 2, 1024 * 1024);
        let frame = ByteString::from_static("{}");
        assert!(a.send_text(frame.clone()));
        assert!(a.send_text(frame.clone()));
        assert!(!a.send_text(frame));
        assert_eq!(a.closer.command().and_then(|c| c.code), Some(1013));
    }

    #[test]
    fn a_byte_budget_closes_the_connection_and_frees_its_queue() {
        let a = Connection::detached(Uuid::new_v4(), 256, 10_000);
        let frame = ByteString::from("z".repeat(4000));
        assert!(a.send_text(frame.clone()));
        assert!(a.send_text(frame.clone()));
        assert_eq!(a.outbox.queued_bytes(), 8000);
        // The third would pass 10 000 bytes: refused, queue freed, 1013.
        assert!(!a.send_text(frame.clone()));
        assert_eq!(a.closer.command().and_then(|c| c.code), Some(1013));
        assert_eq!(a.outbox.queued_bytes(), 0);
        assert!(!a.send_text(frame));
    }
}
