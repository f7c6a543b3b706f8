//! The relay itself, as one cheaply cloned handle: settings, routing tables, the chat-service
//! client, the token verifier and the fan-out. An embedding process (the quick start) holds
//! one and mounts its routes with [`crate::configure`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytestring::ByteString;
use service_kit::ops::ReadinessCheck;
use service_kit::ratelimit::{MemoryRateLimiter, RateLimiter};
use service_kit::{INTERNAL_KEY_HEADER, InternalKeys};
use tokens::{RevocationSource, RevokedSessions, Verifier};
use uuid::Uuid;
use wire::{Control, Delivery, Publish, Target};

use crate::chat_client::ChatClient;
use crate::config::{ACCEPTS_KEYS, HOLDS_KEY, Settings};
use crate::dispatch::Dispatcher;
use crate::fanout::{Envelope, FrameDelivery, RedisFanout, envelope_key};
use crate::hub::Hub;
use crate::membership;
use crate::protocol::close;
use crate::socket::writer::CloseCommand;

#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    spread: Arc<Spread>,
    chat: ChatClient,
    dispatcher: Dispatcher,
    verifier: Verifier,
    /// Sessions auth-service revoked recently: `refreshToken` with their tokens is refused.
    revoked: RevokedSessions,
    shutting_down: AtomicBool,
    /// The keys accepted on `/internal/...` (chat-service's and auth-service's).
    internal_keys: InternalKeys,
    /// WebSocket upgrades per client address (`RELAY_CONNECTS_PER_MINUTE`).
    connects: MemoryRateLimiter,
}

/// Delivery here and, over Redis, on the other relays.
struct Spread {
    hub: Arc<Hub>,
    redis: Option<Arc<RedisFanout>>,
    /// Distinguishes this process on Redis even when two relays share a `RELAY_ID`.
    instance: Uuid,
}

impl Spread {
    fn publish(&self, publish: Publish) {
        let encoded: Vec<(Target, String)> = publish
            .deliveries
            .into_iter()
            .map(|Delivery { target, payload }| {
                // Frames are plain data: serialising one cannot fail.
                (target, serde_json::to_string(&payload).unwrap_or_default())
            })
            .collect();
        let local: Vec<(Target, ByteString)> = encoded
            .iter()
            .map(|(t, s)| (t.clone(), ByteString::from(s.as_str())))
            .collect();
        apply_local(&self.hub, &local, &publish.control);
        if let Some(redis) = &self.redis {
            redis.publish(&Envelope {
                origin: self.instance,
                deliveries: encoded
                    .into_iter()
                    .map(|(target, frame)| FrameDelivery { target, frame })
                    .collect(),
                control: publish.control,
            });
        }
    }
}

impl Relay {
    /// Builds the relay and starts its background tasks (Redis fan-out); call inside a Tokio
    /// runtime.
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        settings.validate()?;
        let internal_keys = settings.internal_keys.accepting(ACCEPTS_KEYS);
        let chat = ChatClient::new(
            &settings.chat_url,
            settings.internal_keys.key(HOLDS_KEY).clone(),
            settings.chat_timeout,
            settings.dispatch.max_reply_bytes,
        )?;
        let jwks_http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()?;
        let verifier = Verifier::from_jwks_url(
            &settings.jwt_issuer,
            &settings.jwt_audience,
            format!(
                "{}/.well-known/jwks.json",
                settings.auth_url.trim_end_matches('/')
            ),
            jwks_http.clone(),
        );
        let hub = Arc::new(Hub::default());
        let revoked = RevokedSessions::new();
        {
            // The backstop for a lost `disconnectSession`: each poll closes the live sockets
            // of the sessions it learned about.
            let hub = hub.clone();
            revoked.spawn_poller(
                RevocationSource {
                    http: jwks_http,
                    auth_url: settings.auth_url.clone(),
                    key_header: INTERNAL_KEY_HEADER,
                    key: settings.internal_keys.key(HOLDS_KEY).as_str().to_owned(),
                },
                settings.revocation_poll,
                move |sessions| {
                    for session in sessions {
                        close_session(&hub, session);
                    }
                },
            );
        }
        let instance = Uuid::new_v4();
        let redis = match settings.redis_url.as_deref() {
            None => None,
            Some(url) => {
                let weak_hub = Arc::downgrade(&hub);
                let hub = hub.clone();
                let apply = Arc::new(move |envelope: Envelope| {
                    let deliveries: Vec<(Target, ByteString)> = envelope
                        .deliveries
                        .into_iter()
                        .map(|d| (d.target, ByteString::from(d.frame)))
                        .collect();
                    apply_local(&hub, &deliveries, &envelope.control);
                });
                // Control items published while this relay was cut off were missed: read the
                // rooms of its connections again at once rather than at the next period.
                let resubscribed = {
                    let chat = chat.clone();
                    Arc::new(move || {
                        membership::spawn_recheck(weak_hub.clone(), chat.clone(), None)
                    })
                };
                Some(Arc::new(RedisFanout::start(
                    url,
                    &settings.redis_prefix,
                    instance,
                    (
                        envelope_key(settings.internal_keys.key(HOLDS_KEY).as_str()),
                        settings.redis_control_queue,
                    ),
                    (apply, resubscribed),
                )?))
            }
        };
        let spread = Arc::new(Spread {
            hub,
            redis,
            instance,
        });
        let dispatcher = {
            let spread = spread.clone();
            Dispatcher::start(
                chat.clone(),
                settings.dispatch.clone(),
                Arc::new(move |deliveries| {
                    spread.publish(Publish {
                        deliveries,
                        control: Vec::new(),
                    })
                }),
            )
        };
        membership::spawn_rechecks(
            Arc::downgrade(&spread.hub),
            chat.clone(),
            settings.rooms_recheck,
        );
        tracing::info!(
            relay_id = %settings.relay_id,
            redis = spread.redis.is_some(),
            "relay ready ({})",
            if spread.redis.is_some() { "fan-out over Redis" } else { "alone, in memory" }
        );
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                spread,
                chat,
                dispatcher,
                verifier,
                revoked,
                shutting_down: AtomicBool::new(false),
                internal_keys,
                connects: MemoryRateLimiter::new(),
            }),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.spread.hub
    }

    pub(crate) fn chat(&self) -> &ChatClient {
        &self.inner.chat
    }

    pub(crate) fn dispatcher(&self) -> &Dispatcher {
        &self.inner.dispatcher
    }

    pub(crate) fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    pub fn internal_keys(&self) -> &InternalKeys {
        &self.inner.internal_keys
    }

    pub(crate) fn connect_limiter(&self) -> &dyn RateLimiter {
        &self.inner.connects
    }

    /// Sessions this relay knows to be revoked (from auth-service's list).
    pub fn revoked(&self) -> &RevokedSessions {
        &self.inner.revoked
    }

    /// Reads `user`'s rooms from chat-service again and repairs the subscriptions of their
    /// connections here, in the background (on `refreshToken`); failures are logged.
    pub fn recheck_rooms_of(&self, user: Uuid) {
        membership::spawn_recheck(
            Arc::downgrade(&self.inner.spread.hub),
            self.inner.chat.clone(),
            Some(user),
        );
    }

    pub fn instance(&self) -> Uuid {
        self.inner.spread.instance
    }

    /// Open connections on this relay.
    pub fn connection_count(&self) -> usize {
        self.inner.spread.hub.len()
    }

    /// Redis subscriptions made so far (`None` without Redis): more than one means the
    /// relay lost Redis and reconnected.
    pub fn redis_sessions(&self) -> Option<u64> {
        self.inner.spread.redis.as_ref().map(|r| r.sessions())
    }

    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::Relaxed)
    }

    /// The checks `/readyz` should run for the relay (Redis, when configured; and "not
    /// draining").
    pub fn readiness_checks(&self) -> Vec<Arc<dyn ReadinessCheck>> {
        let mut checks: Vec<Arc<dyn ReadinessCheck>> = vec![Arc::new(Draining(self.clone()))];
        if let Some(redis) = &self.inner.spread.redis {
            checks.push(redis.readiness());
        }
        checks
    }

    /// Applies a publish (from `POST /internal/publish`, an action's `outbound`, or an
    /// embedding process) here and on every other relay. Each payload is serialised once.
    pub fn publish(&self, publish: Publish) {
        self.inner.spread.publish(publish);
    }

    /// On SIGTERM: refuse new connections, close every socket with 1012 and a jittered retry
    /// hint (so that clients do not all come back in the same second), and wait up to `drain`
    /// for them to go.
    pub async fn shutdown(&self, drain: Duration) {
        if self.inner.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let conns = self.inner.spread.hub.all();
        tracing::info!(
            connections = conns.len(),
            drain_secs = drain.as_secs(),
            "shutting down: closing connections with 1012"
        );
        for conn in conns {
            let retry_ms = 1000 + (Uuid::new_v4().as_u128() % 9000) as u64;
            conn.closer.close(
                CloseCommand::new(
                    close::RESTART,
                    format!("service restart; retry in {retry_ms} ms"),
                )
                .flushing(),
            );
        }
        let started = Instant::now();
        while !self.inner.spread.hub.is_empty() && started.elapsed() < drain {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let left = self.inner.spread.hub.len();
        if left > 0 {
            tracing::warn!(
                connections = left,
                "drain period over with connections still open"
            );
        } else {
            tracing::info!("all connections closed");
        }
    }
}

/// Applies deliveries and control items to this relay's connections. Order: routing changes
/// (`subscribe`, `unsubscribe`) first, so that a member added in the same publish hears its
/// deliveries and a removed one does not (chat-service reaches them through a `{user}`
/// target); then deliveries; then `disconnectUser` and `disconnectSession`, so that a final
/// delivery still goes out before the close.
pub(crate) fn apply_local(hub: &Hub, deliveries: &[(Target, ByteString)], control: &[Control]) {
    for item in control {
        match item {
            Control::Subscribe { user_id, room_id } => hub.subscribe(*user_id, *room_id),
            Control::Unsubscribe { user_id, room_id } => hub.unsubscribe(*user_id, *room_id),
            Control::DisconnectUser(_) | Control::DisconnectSession(_) => {}
        }
    }
    for (target, frame) in deliveries {
        hub.deliver(target, frame);
    }
    for item in control {
        match item {
            Control::DisconnectUser(user_id) => {
                for conn in hub.connections_of(*user_id) {
                    conn.closer
                        .close(CloseCommand::new(close::LOGGED_OUT, "logged out").flushing());
                }
            }
            Control::DisconnectSession(session_id) => close_session(hub, *session_id),
            Control::Subscribe { .. } | Control::Unsubscribe { .. } => {}
        }
    }
}

/// Closes every local socket of a revoked session with 4003.
pub(crate) fn close_session(hub: &Hub, session_id: Uuid) {
    for conn in hub.connections_of_session(session_id) {
        if conn
            .closer
            .close(CloseCommand::new(close::LOGGED_OUT, "session revoked").flushing())
        {
            tracing::info!(connection_id = %conn.id, %session_id, "session revoked; closing with 4003");
        }
    }
}

struct Draining(Relay);

impl ReadinessCheck for Draining {
    fn name(&self) -> &'static str {
        "accepting"
    }

    fn check(&self) -> futures_util::future::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if self.0.is_shutting_down() {
                Err("shutting down: not accepting connections".to_owned())
            } else {
                Ok(())
            }
        })
    }
}
