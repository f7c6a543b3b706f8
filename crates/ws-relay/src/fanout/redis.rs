//! The Redis side of the fan-out: one channel (`{prefix}:fanout`) that every relay publishes
//! to and subscribes to, with this process's instance id on what it sends; what other
//! instances sent is applied to this relay's connections, its own messages it skips (already
//! applied). Payloads cross Redis already serialised, so each is serialised once per message,
//! not once per relay or per recipient.
//!
//! The subscriber holds a dedicated pub/sub connection, pings it, and reconnects with backoff
//! when it drops; while it is down `/readyz` says so. Publishing goes through a queue to one
//! task with an auto-reconnecting connection, so a slow Redis never blocks a socket. Messages
//! that carry control items (subscribe, unsubscribe, disconnect) are never shed: while Redis is
//! away they wait (up to `RELAY_REDIS_CONTROL_QUEUE`) and are resent, in order, once it is
//! back; messages of deliveries alone are dropped when they cannot go (clients recover with
//! `sync`). Every message is signed ([`super::envelope`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use bytestring::ByteString;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use service_kit::ops::ReadinessCheck;
use tokio::sync::Notify;
use uuid::Uuid;
use wire::Control;
use wire::protocol::PresenceView;

use super::envelope::{Envelope, FrameDelivery, envelope_key, open, seal};
use super::local;
use crate::config::{HOLDS_KEY, Settings};
use crate::hub::Hub;

/// At most one log line per period for a noisy condition, with how many were left out.
struct Throttle {
    every: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    const fn new(every: Duration) -> Self {
        Self {
            every,
            state: Mutex::new((None, 0)),
        }
    }

    /// `Some(suppressed since the last line)` when a line may be written now.
    fn allow(&self) -> Option<u64> {
        let mut state = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now();
        match state.0 {
            Some(last) if now.duration_since(last) < self.every => {
                state.1 += 1;
                None
            }
            _ => {
                let suppressed = state.1;
                *state = (Some(now), 0);
                Some(suppressed)
            }
        }
    }
}

/// Called when the subscription is made again after a loss.
pub(crate) type Resubscribed = Arc<dyn Fn() + Send + Sync>;

/// The Redis side of the fan-out; absent when the relay works alone.
pub(super) struct RedisFanout {
    /// Distinguishes this process on Redis even when two relays share a `RELAY_ID`.
    instance: Uuid,
    key: hmac::Key,
    outgoing: Arc<Outgoing>,
    status: Arc<Status>,
}

/// How the subscription stands.
#[derive(Default)]
struct Status {
    subscribed: AtomicBool,
    /// Subscriptions made so far: 1 while the first one holds, more after each reconnect.
    sessions: AtomicU64,
}

/// Messages of deliveries alone waiting to be published; past this, they are dropped and
/// counted.
const PUBLISH_QUEUE: usize = 10_000;
/// A PUBLISH that takes longer than this counts as failed (a hung Redis must not stall the
/// queue forever).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);

/// Signed messages waiting for the publisher, in order.
struct Outgoing {
    queue: Mutex<OutQueue>,
    ready: Notify,
    max_control: usize,
}

#[derive(Default)]
struct OutQueue {
    items: VecDeque<Sealed>,
    deliveries: usize,
    control: usize,
}

/// One signed message; `control` when it carries control items (never shed).
struct Sealed {
    text: String,
    control: bool,
}

static PUBLISH_DROP_LOG: Throttle = Throttle::new(Duration::from_secs(10));

impl Outgoing {
    fn lock(&self) -> MutexGuard<'_, OutQueue> {
        match self.queue.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn push(&self, item: Sealed) {
        {
            let mut q = self.lock();
            if item.control {
                if q.control >= self.max_control {
                    drop(q);
                    metrics::counter!("ws_relay_redis_publish_failures_total", "kind" => "control")
                        .increment(1);
                    tracing::error!(
                        "Redis control queue full (RELAY_REDIS_CONTROL_QUEUE); a control item was dropped (the rooms re-check repairs subscriptions)"
                    );
                    return;
                }
                q.control += 1;
            } else {
                if q.deliveries >= PUBLISH_QUEUE {
                    drop(q);
                    dropped_delivery("the Redis publish queue is full");
                    return;
                }
                q.deliveries += 1;
            }
            q.items.push_back(item);
        }
        self.ready.notify_one();
    }

    async fn take(&self) -> Sealed {
        loop {
            let ready = self.ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            {
                let mut q = self.lock();
                if let Some(item) = q.items.pop_front() {
                    if item.control {
                        q.control -= 1;
                    } else {
                        q.deliveries -= 1;
                    }
                    return item;
                }
            }
            ready.await;
        }
    }

    /// A control message that could not go: first in line again.
    fn put_back(&self, item: Sealed) {
        let mut q = self.lock();
        q.control += 1;
        q.items.push_front(item);
    }
}

fn dropped_delivery(why: &str) {
    metrics::counter!("ws_relay_redis_publish_failures_total", "kind" => "deliveries").increment(1);
    if let Some(suppressed) = PUBLISH_DROP_LOG.allow() {
        tracing::warn!(
            reason = why,
            suppressed,
            "a fan-out message to other relays was dropped (clients recover with sync)"
        );
    }
}

impl RedisFanout {
    /// Starts the publisher and the subscriber, which applies to `hub` every envelope another
    /// relay published and signed with the key every relay derives, and calls `resubscribed`
    /// each time the subscription is made again after a loss (messages published meanwhile
    /// were missed). Fails only on a malformed URL; an unreachable Redis is retried.
    pub(super) fn start(
        url: &str,
        settings: &Settings,
        hub: Arc<Hub>,
        resubscribed: Resubscribed,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
        let channel = format!("{}:fanout", settings.redis_prefix);
        let instance = Uuid::new_v4();
        let key = envelope_key(settings.internal_keys.key(HOLDS_KEY).as_str());
        let outgoing = Arc::new(Outgoing {
            queue: Mutex::new(OutQueue::default()),
            ready: Notify::new(),
            max_control: settings.redis_control_queue,
        });
        let status = Arc::new(Status::default());
        metrics::gauge!("ws_relay_redis_connected").set(0.0);
        tokio::spawn(publisher(client.clone(), channel.clone(), outgoing.clone()));
        tokio::spawn(
            Subscriber {
                client,
                channel,
                instance,
                key: key.clone(),
                status: status.clone(),
                hub,
                resubscribed,
            }
            .run(),
        );
        Ok(Self {
            instance,
            key,
            outgoing,
            status,
        })
    }

    /// How many times the subscriber has subscribed (1 = never lost the connection).
    pub(super) fn sessions(&self) -> u64 {
        self.status.sessions.load(Ordering::Relaxed)
    }

    /// Queues deliveries (already serialised) and control items for the other relays.
    pub(super) fn publish(&self, deliveries: Vec<FrameDelivery>, control: Vec<Control>) {
        self.send(Envelope {
            origin: self.instance,
            deliveries,
            control,
            presence: Vec::new(),
        });
    }

    /// Queues presence changes for the other relays. Like deliveries, they are dropped when
    /// Redis cannot take them (a client's next `watchPresence` reads the state again).
    pub(super) fn publish_presence(&self, presence: Vec<PresenceView>) {
        self.send(Envelope {
            origin: self.instance,
            deliveries: Vec::new(),
            control: Vec::new(),
            presence,
        });
    }

    fn send(&self, envelope: Envelope) {
        let Ok(json) = serde_json::to_string(&envelope) else {
            return;
        };
        self.outgoing.push(Sealed {
            text: seal(&self.key, &json),
            control: !envelope.control.is_empty(),
        });
    }

    pub(super) fn readiness(&self) -> Arc<dyn ReadinessCheck> {
        Arc::new(RedisCheck(self.status.clone()))
    }
}

/// Publishes queued messages in order. A message of deliveries alone that fails is dropped;
/// one with control items is retried, with backoff, until Redis takes it.
async fn publisher(client: redis::Client, channel: String, outgoing: Arc<Outgoing>) {
    let mut conn: Option<redis::aio::ConnectionManager> = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        let item = outgoing.take().await;
        let sent = match publish_once(&client, &mut conn, &channel, &item.text).await {
            Ok(()) => true,
            Err(err) => {
                if item.control {
                    metrics::counter!("ws_relay_redis_publish_retries_total").increment(1);
                    if let Some(suppressed) = PUBLISH_DROP_LOG.allow() {
                        tracing::warn!(error = %err, suppressed, retry_in_ms = backoff.as_millis() as u64, "Redis publish failed; control items kept for a retry");
                    }
                } else {
                    dropped_delivery(&err);
                }
                false
            }
        };
        if sent {
            backoff = Duration::from_millis(100);
        } else if item.control {
            outgoing.put_back(item);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

async fn publish_once(
    client: &redis::Client,
    conn: &mut Option<redis::aio::ConnectionManager>,
    channel: &str,
    text: &str,
) -> Result<(), String> {
    if conn.is_none() {
        let made = tokio::time::timeout(
            PUBLISH_TIMEOUT,
            redis::aio::ConnectionManager::new(client.clone()),
        )
        .await
        .map_err(|_| "Redis did not answer in time".to_owned())?
        .map_err(|e| format!("cannot connect to Redis: {e}"))?;
        *conn = Some(made);
    }
    let Some(c) = conn.as_mut() else {
        return Err("no Redis connection".to_owned());
    };
    let result = tokio::time::timeout(
        PUBLISH_TIMEOUT,
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(text)
            .query_async::<i64>(c),
    )
    .await;
    match result {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(format!("Redis publish failed: {err}")),
        Err(_) => Err("Redis did not answer the publish in time".to_owned()),
    }
}

static REJECTED_LOG: Throttle = Throttle::new(Duration::from_secs(10));

const PING_EVERY: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// The subscribing task and what it needs.
struct Subscriber {
    client: redis::Client,
    channel: String,
    instance: Uuid,
    key: hmac::Key,
    status: Arc<Status>,
    hub: Arc<Hub>,
    resubscribed: Resubscribed,
}

impl Subscriber {
    async fn run(self) {
        let channel = &self.channel;
        let mut backoff = Duration::from_millis(250);
        let mut was_up = false;
        loop {
            let session = async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            match tokio::time::timeout(Duration::from_secs(5), session).await {
                Ok(Ok(pubsub)) => {
                    self.status.subscribed.store(true, Ordering::Relaxed);
                    self.status.sessions.fetch_add(1, Ordering::Relaxed);
                    metrics::gauge!("ws_relay_redis_connected").set(1.0);
                    if was_up {
                        tracing::info!(%channel, "reconnected to Redis pub/sub");
                        (self.resubscribed)();
                    } else {
                        tracing::info!(%channel, "subscribed to Redis pub/sub");
                    }
                    was_up = true;
                    backoff = Duration::from_millis(250);
                    let reason = self.listen(pubsub).await;
                    self.status.subscribed.store(false, Ordering::Relaxed);
                    metrics::gauge!("ws_relay_redis_connected").set(0.0);
                    tracing::error!(%reason, "lost the Redis pub/sub connection; deliveries from other relays are paused until it is back; reconnecting");
                }
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "cannot subscribe to Redis");
                }
                Err(_) => {
                    tracing::warn!(
                        retry_in_ms = backoff.as_millis() as u64,
                        "Redis did not answer the subscribe in time"
                    );
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// Applies messages until the connection fails; returns why.
    async fn listen(&self, pubsub: redis::aio::PubSub) -> String {
        let (mut sink, mut stream) = pubsub.split();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                msg = stream.next() => {
                    let Some(msg) = msg else {
                        return "the connection closed".to_owned();
                    };
                    let json = match open(&self.key, msg.get_payload_bytes()) {
                        Ok(json) => json,
                        Err(rejected) => {
                            metrics::counter!("ws_relay_redis_envelopes_rejected_total", "reason" => rejected.label()).increment(1);
                            if let Some(suppressed) = REJECTED_LOG.allow() {
                                tracing::warn!(reason = %rejected, suppressed, "dropped a fan-out message from Redis that this relay did not sign (someone else writes to the channel, or relays hold different keys)");
                            }
                            continue;
                        }
                    };
                    match serde_json::from_slice::<Envelope>(json) {
                        Ok(envelope) if envelope.origin == self.instance => {}
                        Ok(envelope) => {
                            let deliveries: Vec<_> = envelope
                                .deliveries
                                .into_iter()
                                .map(|d| (d.target, ByteString::from(d.frame)))
                                .collect();
                            local::apply(&self.hub, &deliveries, &envelope.control);
                            local::apply_presence(&self.hub, &envelope.presence);
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "ignoring a malformed fan-out message from Redis");
                        }
                    }
                }
                _ = ping.tick() => {
                    let pong = tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await;
                    match pong {
                        Ok(Ok(_)) => {}
                        Ok(Err(err)) => return format!("ping failed: {err}"),
                        Err(_) => return "ping timed out".to_owned(),
                    }
                }
            }
        }
    }
}

struct RedisCheck(Arc<Status>);

impl ReadinessCheck for RedisCheck {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if self.0.subscribed.load(Ordering::Relaxed) {
                Ok(())
            } else {
                Err("the Redis pub/sub connection is down; reconnecting (deliveries from other relays are paused)".to_owned())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_lets_one_line_through_per_period() {
        let throttle = Throttle::new(Duration::from_secs(60));
        assert_eq!(throttle.allow(), Some(0));
        assert_eq!(throttle.allow(), None);
        assert_eq!(throttle.allow(), None);
    }
}
