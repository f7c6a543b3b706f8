//! The relay itself, as one cheaply cloned handle: settings, routing tables, the chat-service
//! client, the token verifier and the fan-out. An embedding process (the quick start) holds
//! one and mounts its routes with [`crate::configure`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use service_kit::ops::ReadinessCheck;
use service_kit::ratelimit::{MemoryRateLimiter, RateLimiter};
use service_kit::{INTERNAL_KEY_HEADER, InternalKeys};
use tokens::{RevocationSource, RevokedSessions, Verifier};
use uuid::Uuid;
use wire::Publish;

use crate::chat_client::ChatClient;
use crate::config::{ACCEPTS_KEYS, HOLDS_KEY, Settings};
use crate::dispatch::Dispatcher;
use crate::fanout::{self, Fanout};
use crate::hub::Hub;
use crate::membership;
use crate::presence::Presence;
use crate::protocol::close;
use crate::socket::writer::CloseCommand;

#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    hub: Arc<Hub>,
    fanout: Arc<Fanout>,
    presence: Presence,
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
                        fanout::close_session(&hub, session);
                    }
                },
            );
        }
        // Control items published while this relay was cut off from Redis were missed: read
        // the rooms of its connections again at once rather than at the next period.
        let resubscribed = {
            let hub = Arc::downgrade(&hub);
            let chat = chat.clone();
            Arc::new(move || membership::spawn_recheck(hub.clone(), chat.clone(), None))
        };
        let fanout = Arc::new(Fanout::start(&settings, hub.clone(), resubscribed)?);
        let presence = Presence::start(&settings, hub.clone(), fanout.clone())?;
        let dispatcher = {
            let fanout = fanout.clone();
            Dispatcher::start(
                chat.clone(),
                settings.dispatch.clone(),
                Arc::new(move |deliveries| {
                    fanout.publish(Publish {
                        deliveries,
                        control: Vec::new(),
                    })
                }),
            )
        };
        membership::spawn_rechecks(Arc::downgrade(&hub), chat.clone(), settings.rooms_recheck);
        tracing::info!(
            relay_id = %settings.relay_id,
            redis = fanout.over_redis(),
            "relay ready ({})",
            if fanout.over_redis() { "fan-out over Redis" } else { "alone, in memory" }
        );
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                hub,
                fanout,
                presence,
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

    pub(crate) fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    pub(crate) fn presence(&self) -> &Presence {
        &self.inner.presence
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

    pub(crate) fn internal_keys(&self) -> &InternalKeys {
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
    pub(crate) fn recheck_rooms_of(&self, user: Uuid) {
        membership::spawn_recheck(
            Arc::downgrade(&self.inner.hub),
            self.inner.chat.clone(),
            Some(user),
        );
    }

    /// Open connections on this relay.
    pub fn connection_count(&self) -> usize {
        self.inner.hub.len()
    }

    /// Redis subscriptions made so far (`None` without Redis): more than one means the
    /// relay lost Redis and reconnected.
    pub fn redis_sessions(&self) -> Option<u64> {
        self.inner.fanout.redis_sessions()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::Relaxed)
    }

    /// The checks `/readyz` should run for the relay (Redis, when configured; and "not
    /// draining").
    pub fn readiness_checks(&self) -> Vec<Arc<dyn ReadinessCheck>> {
        let mut checks: Vec<Arc<dyn ReadinessCheck>> = vec![Arc::new(Draining(self.clone()))];
        checks.extend(self.inner.fanout.readiness());
        checks
    }

    /// Applies a publish (from `POST /internal/publish`, an action's `outbound`, or an
    /// embedding process) here and on every other relay. Each payload is serialised once.
    pub fn publish(&self, publish: Publish) {
        self.inner.fanout.publish(publish);
    }

    /// On SIGTERM: refuse new connections, close every socket with 1012 and a jittered retry
    /// hint (so that clients do not all come back in the same second), and wait up to `drain`
    /// for them to go.
    pub async fn shutdown(&self, drain: Duration) {
        if self.inner.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let conns = self.inner.hub.all();
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
        while !self.inner.hub.is_empty() && started.elapsed() < drain {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let left = self.inner.hub.len();
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
