//! Delivering what chat-service publishes (docs/architecture.md, ws-relay). `Fanout::publish`
//! is the one way in, for `POST /internal/publish`, every action's `outbound` and an embedding
//! process: each payload is serialised once, the publish is applied to this relay's own
//! connections at once (`local`) and, when `REDIS_URL` is set, sent over Redis (`redis`) in a
//! signed envelope (`envelope`) to the other relays, which apply it to theirs. Presence
//! changes (`crate::presence`) travel the same way, to the connections that watch them.

mod envelope;
mod local;
mod redis;

use std::sync::Arc;

use bytestring::ByteString;
use service_kit::ops::ReadinessCheck;
use wire::protocol::PresenceView;
use wire::{Delivery, Publish, Target};

use self::envelope::FrameDelivery;
pub use self::envelope::{envelope_key, seal};
pub(crate) use self::local::close_session;
use self::redis::RedisFanout;
pub(crate) use self::redis::Resubscribed;
use crate::config::Settings;
use crate::hub::Hub;

/// Delivery here and, over Redis, on the other relays.
pub(crate) struct Fanout {
    hub: Arc<Hub>,
    /// Absent when the relay works alone.
    redis: Option<RedisFanout>,
}

impl Fanout {
    /// Alone, or over Redis when `REDIS_URL` is set (starting the Redis tasks; call inside a
    /// Tokio runtime). `resubscribed` is called each time the Redis subscription comes back
    /// after a loss.
    pub(crate) fn start(
        settings: &Settings,
        hub: Arc<Hub>,
        resubscribed: Resubscribed,
    ) -> anyhow::Result<Self> {
        let redis = match settings.redis_url.as_deref() {
            None => None,
            Some(url) => Some(RedisFanout::start(
                url,
                settings,
                hub.clone(),
                resubscribed,
            )?),
        };
        Ok(Self { hub, redis })
    }

    /// Applies a publish here and on every other relay.
    pub(crate) fn publish(&self, publish: Publish) {
        let frames: Vec<FrameDelivery> = publish
            .deliveries
            .into_iter()
            .map(|Delivery { target, payload }| FrameDelivery {
                target,
                // Frames are plain data: serialising one cannot fail.
                frame: serde_json::to_string(&payload).unwrap_or_default(),
            })
            .collect();
        let here: Vec<(Target, ByteString)> = frames
            .iter()
            .map(|d| (d.target.clone(), ByteString::from(d.frame.as_str())))
            .collect();
        local::apply(&self.hub, &here, &publish.control);
        if let Some(redis) = &self.redis {
            redis.publish(frames, publish.control);
        }
    }

    /// Delivers presence changes to their watchers here and on every other relay.
    pub(crate) fn publish_presence(&self, changes: Vec<PresenceView>) {
        if changes.is_empty() {
            return;
        }
        local::apply_presence(&self.hub, &changes);
        if let Some(redis) = &self.redis {
            redis.publish_presence(changes);
        }
    }

    pub(crate) fn over_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// Redis subscriptions made so far (`None` without Redis).
    pub(crate) fn redis_sessions(&self) -> Option<u64> {
        self.redis.as_ref().map(RedisFanout::sessions)
    }

    /// The `/readyz` check that the Redis subscription holds (`None` without Redis).
    pub(crate) fn readiness(&self) -> Option<Arc<dyn ReadinessCheck>> {
        self.redis.as_ref().map(RedisFanout::readiness)
    }
}
