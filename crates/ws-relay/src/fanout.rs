//! Spreading deliveries to every relay (DESIGN.md section 5, "Several relays").
//!
//! Every publish and every action's `outbound` is applied to this relay's own connections at
//! once, and — when `REDIS_URL` is set — published on one Redis channel (`{prefix}:fanout`)
//! with this process's instance id. Every relay subscribes to that channel and applies what
//! other instances sent to its own connections; its own messages it skips (already done).
//! Payloads cross Redis already serialised, so each is serialised once per message, not once
//! per relay or per recipient.
//!
//! The subscriber holds a dedicated pub/sub connection, pings it, and reconnects with backoff
//! when it drops; while it is down `/readyz` says so. Publishing goes through a queue to one
//! task with an auto-reconnecting connection, so a slow Redis never blocks a socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use service_kit::ops::ReadinessCheck;
use tokio::sync::mpsc;
use uuid::Uuid;
use wire::{Control, Target};

/// One payload for one target, already serialised.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrameDelivery {
    pub target: Target,
    pub frame: String,
}

/// What crosses Redis between relays.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub origin: Uuid,
    #[serde(default)]
    pub deliveries: Vec<FrameDelivery>,
    #[serde(default)]
    pub control: Vec<Control>,
}

/// The Redis side of the fan-out; absent when the relay works alone.
pub struct RedisFanout {
    channel: String,
    outgoing: mpsc::Sender<String>,
    subscribed: Arc<AtomicBool>,
    /// Subscriptions made so far: 1 while the first one holds, more after each reconnect.
    sessions: Arc<AtomicU64>,
}

/// Messages waiting to be published; past this, publishes are dropped and counted.
const PUBLISH_QUEUE: usize = 10_000;

impl RedisFanout {
    /// Starts the publisher and the subscriber. `apply` is called with every envelope another
    /// relay published. Fails only on a malformed URL; an unreachable Redis is retried.
    pub fn start(
        url: &str,
        prefix: &str,
        instance: Uuid,
        apply: Arc<dyn Fn(Envelope) + Send + Sync>,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
        let channel = format!("{prefix}:fanout");
        let (outgoing, rx) = mpsc::channel(PUBLISH_QUEUE);
        let subscribed = Arc::new(AtomicBool::new(false));
        let sessions = Arc::new(AtomicU64::new(0));
        metrics::gauge!("ws_relay_redis_connected").set(0.0);
        tokio::spawn(publisher(client.clone(), channel.clone(), rx));
        tokio::spawn(subscriber(
            client,
            channel.clone(),
            instance,
            (subscribed.clone(), sessions.clone()),
            apply,
        ));
        Ok(Self {
            channel,
            outgoing,
            subscribed,
            sessions,
        })
    }

    /// How many times the subscriber has subscribed (1 = never lost the connection).
    pub fn sessions(&self) -> u64 {
        self.sessions.load(Ordering::Relaxed)
    }

    pub fn channel(&self) -> &str {
        &self.channel
    }

    pub fn is_subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Relaxed)
    }

    pub fn publish(&self, envelope: &Envelope) {
        let Ok(text) = serde_json::to_string(envelope) else {
            return;
        };
        if self.outgoing.try_send(text).is_err() {
            metrics::counter!("ws_relay_redis_publish_failures_total").increment(1);
            tracing::warn!(
                "Redis publish queue full; a fan-out message to other relays was dropped (clients recover with sync)"
            );
        }
    }

    pub fn readiness(self: &Arc<Self>) -> Arc<dyn ReadinessCheck> {
        Arc::new(RedisCheck(self.clone()))
    }
}

async fn publisher(client: redis::Client, channel: String, mut rx: mpsc::Receiver<String>) {
    let mut conn: Option<redis::aio::ConnectionManager> = None;
    while let Some(text) = rx.recv().await {
        if conn.is_none() {
            match redis::aio::ConnectionManager::new(client.clone()).await {
                Ok(c) => conn = Some(c),
                Err(err) => {
                    metrics::counter!("ws_relay_redis_publish_failures_total").increment(1);
                    tracing::warn!(error = %err, "cannot connect to Redis to publish; message dropped");
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let result: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(&text)
            .query_async(c)
            .await;
        if let Err(err) = result {
            metrics::counter!("ws_relay_redis_publish_failures_total").increment(1);
            tracing::warn!(error = %err, "Redis publish failed; other relays miss this message (clients recover with sync)");
        }
    }
}

const PING_EVERY: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_secs(3);

async fn subscriber(
    client: redis::Client,
    channel: String,
    instance: Uuid,
    (subscribed, sessions): (Arc<AtomicBool>, Arc<AtomicU64>),
    apply: Arc<dyn Fn(Envelope) + Send + Sync>,
) {
    let mut backoff = Duration::from_millis(250);
    let mut was_up = false;
    loop {
        let session = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(Duration::from_secs(5), session).await {
            Ok(Ok(pubsub)) => {
                subscribed.store(true, Ordering::Relaxed);
                sessions.fetch_add(1, Ordering::Relaxed);
                metrics::gauge!("ws_relay_redis_connected").set(1.0);
                if was_up {
                    tracing::info!(%channel, "reconnected to Redis pub/sub");
                } else {
                    tracing::info!(%channel, "subscribed to Redis pub/sub");
                }
                was_up = true;
                backoff = Duration::from_millis(250);
                let reason = listen(pubsub, instance, &apply).await;
                subscribed.store(false, Ordering::Relaxed);
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
async fn listen(
    pubsub: redis::aio::PubSub,
    instance: Uuid,
    apply: &Arc<dyn Fn(Envelope) + Send + Sync>,
) -> String {
    let (mut sink, mut stream) = pubsub.split();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else {
                    return "the connection closed".to_owned();
                };
                match serde_json::from_slice::<Envelope>(msg.get_payload_bytes()) {
                    Ok(envelope) if envelope.origin == instance => {}
                    Ok(envelope) => apply(envelope),
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

struct RedisCheck(Arc<RedisFanout>);

impl ReadinessCheck for RedisCheck {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if self.0.is_subscribed() {
                Ok(())
            } else {
                Err("the Redis pub/sub connection is down; reconnecting (deliveries from other relays are paused)".to_owned())
            }
        })
    }
}
