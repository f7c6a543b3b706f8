//! The client a service uses to tell the relays about events that start outside a WebSocket
//! (`POST /internal/publish`, docs/architecture.md). It never fails the request that caused
//! it. A publish that carries control items (`subscribe`, `unsubscribe`, disconnects) is
//! retried with backoff until a relay accepts it (2xx) or its horizon
//! (`RELAY_PUBLISH_RETRY_SECS`) passes; deliveries alone are best effort (one try: clients
//! catch up with `sync`). Queued publishes go out in order, one at a time; the queue is
//! bounded (`RELAY_PUBLISH_QUEUE`), and when it is full the oldest deliveries-only publish
//! goes first. A control item is never dropped silently: it is logged at error and counted in
//! `relay_publish_dropped_total{kind="control"}`.
//!
//! It also asks a relay who is online ([`RelayClient::presence`], `GET /internal/presence`)
//! and how many sockets are open ([`RelayClient::stats`], `GET /internal/stats`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use service_kit::config::{parse_var, secs_var};
use service_kit::{ConfigError, INTERNAL_KEY_HEADER, InternalApiKey, REQUEST_ID_HEADER};
use tokio::sync::Notify;
use uuid::Uuid;
use wire::Publish;
use wire::protocol::PresenceView;

/// How long, and how much, a client holds publishes that a relay has not accepted yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// A publish with control items is retried until this long after it was queued.
    pub horizon: Duration,
    /// Publishes waiting at most (the one being sent not counted).
    pub max_pending: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            horizon: Duration::from_secs(300),
            max_pending: 1000,
        }
    }
}

impl RetryPolicy {
    /// `RELAY_PUBLISH_RETRY_SECS` and `RELAY_PUBLISH_QUEUE`, defaults where unset.
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let policy = Self {
            horizon: secs_var("RELAY_PUBLISH_RETRY_SECS", d.horizon)?,
            max_pending: parse_var("RELAY_PUBLISH_QUEUE", d.max_pending)?,
        };
        if policy.max_pending < 2 {
            return Err(ConfigError::new(
                "RELAY_PUBLISH_QUEUE",
                "must be at least 2",
            ));
        }
        Ok(policy)
    }
}

/// The first wait between two tries of one publish, doubled after each failure up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct RelayClient {
    http: reqwest::Client,
    publish_url: Option<String>,
    presence_url: Option<String>,
    stats_url: Option<String>,
    key: InternalApiKey,
    policy: RetryPolicy,
    queue: Arc<Queue>,
}

/// Publishes waiting for the worker, shared by every clone of a client.
struct Queue {
    state: Mutex<QueueState>,
    wake: Notify,
    worker_started: AtomicBool,
}

#[derive(Default)]
struct QueueState {
    waiting: VecDeque<Pending>,
    /// The worker holds a publish it is sending: later deliveries must queue behind it.
    sending: bool,
}

struct Pending {
    publish: Publish,
    request_id: String,
    deadline: Instant,
}

impl Pending {
    fn has_control(&self) -> bool {
        !self.publish.control.is_empty()
    }
}

/// What one try came to.
enum Try {
    Accepted,
    /// Worth another try (the relay is down, slow, restarting or refusing our key).
    Failed(String),
    /// The relay refused the body itself; no retry changes that.
    Refused(u16),
}

impl RelayClient {
    /// `base_url` unset means no relay is configured: publishing is then a no-op. Retries
    /// follow [`RetryPolicy::default`] unless [`RelayClient::with_retry`] says otherwise.
    pub fn new(
        base_url: Option<&str>,
        key: InternalApiKey,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        let client = Self {
            http,
            publish_url: base_url.map(|u| format!("{}/internal/publish", u.trim_end_matches('/'))),
            presence_url: base_url
                .map(|u| format!("{}/internal/presence", u.trim_end_matches('/'))),
            stats_url: base_url.map(|u| format!("{}/internal/stats", u.trim_end_matches('/'))),
            key,
            policy: RetryPolicy::default(),
            queue: Arc::new(Queue {
                state: Mutex::new(QueueState::default()),
                wake: Notify::new(),
                worker_started: AtomicBool::new(false),
            }),
        };
        // Started on the caller's runtime when there is one (a service's main runtime, which
        // outlives its HTTP workers); otherwise on the first queued publish.
        if tokio::runtime::Handle::try_current().is_ok() {
            client.start_worker();
        }
        Ok(client)
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Publishes waiting or being sent (for tests and diagnostics).
    pub fn pending(&self) -> usize {
        let state = lock(&self.queue.state);
        state.waiting.len() + usize::from(state.sending)
    }

    /// Sends the publish once and waits for the answer; failures are logged and counted.
    /// (Use [`RelayClient::publish_in_background`] for retries.)
    pub async fn publish(&self, publish: &Publish, request_id: &str) -> bool {
        if self.publish_url.is_none() {
            return true;
        }
        match self.try_once(publish, request_id).await {
            Try::Accepted => true,
            Try::Failed(error) => {
                tracing::warn!(%error, %request_id, "could not publish to the relay; connected clients will catch up on their next sync");
                false
            }
            Try::Refused(status) => {
                tracing::error!(status, %request_id, "the relay refused a publish");
                false
            }
        }
    }

    /// Publishes in the background so the caller's response does not wait for the relay:
    /// with control items, queued and retried until accepted; deliveries alone, one try (in
    /// the queue behind anything waiting there, so that order holds).
    pub fn publish_in_background(&self, publish: Publish, request_id: String) {
        if self.publish_url.is_none() {
            return;
        }
        let pending = Pending {
            publish,
            request_id,
            deadline: Instant::now() + self.policy.horizon,
        };
        {
            let mut state = lock(&self.queue.state);
            if !pending.has_control() && state.waiting.is_empty() && !state.sending {
                // Nothing ahead of it: no order to keep, so no need to wait for the worker.
                drop(state);
                let client = self.clone();
                tokio::spawn(async move {
                    client.publish(&pending.publish, &pending.request_id).await;
                });
                return;
            }
            if let Some(dropped) =
                push_bounded(&mut state.waiting, pending, self.policy.max_pending)
            {
                report_dropped(&dropped, "the publish queue is full");
            }
            metrics::gauge!("relay_publish_pending").set(state.waiting.len() as f64);
        }
        self.start_worker();
        self.queue.wake.notify_one();
    }

    /// The users' presence, in the order asked, from a relay (one try: the caller answers
    /// 503 and its client retries).
    pub async fn presence(
        &self,
        users: &[Uuid],
        request_id: &str,
    ) -> Result<Vec<PresenceView>, PresenceError> {
        let Some(url) = &self.presence_url else {
            return Err(PresenceError::NoRelay);
        };
        let ids: Vec<String> = users.iter().map(Uuid::to_string).collect();
        // UUIDs and commas need no escaping in a query.
        self.get_json(&format!("{url}?userIds={}", ids.join(",")), request_id)
            .await
    }

    /// Open sockets and online users, from a relay (one try; with Redis, the relay answers for
    /// every live relay).
    pub async fn stats(&self, request_id: &str) -> Result<wire::RelayStats, PresenceError> {
        let Some(url) = &self.stats_url else {
            return Err(PresenceError::NoRelay);
        };
        self.get_json(url, request_id).await
    }

    /// One GET to a relay's internal API, its JSON answer read as `T`.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        request_id: &str,
    ) -> Result<T, PresenceError> {
        let res = self
            .http
            .get(url)
            .header(INTERNAL_KEY_HEADER, self.key.as_str())
            .header(REQUEST_ID_HEADER, request_id)
            .send()
            .await
            .map_err(|e| PresenceError::Unavailable(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(PresenceError::Unavailable(format!(
                "the relay answered {}",
                res.status().as_u16()
            )));
        }
        res.json()
            .await
            .map_err(|e| PresenceError::Unavailable(e.without_url().to_string()))
    }

    fn start_worker(&self) {
        if self.publish_url.is_none() || self.queue.worker_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let client = self.clone();
        tokio::spawn(async move { client.work().await });
    }

    /// Sends queued publishes one at a time, in order.
    async fn work(self) {
        loop {
            let next = {
                let mut state = lock(&self.queue.state);
                let next = state.waiting.pop_front();
                state.sending = next.is_some();
                metrics::gauge!("relay_publish_pending").set(state.waiting.len() as f64);
                next
            };
            match next {
                Some(pending) => self.deliver(pending).await,
                None => self.queue.wake.notified().await,
            }
        }
    }

    /// Tries one queued publish: once for deliveries alone, until accepted or past its
    /// deadline when it carries control items.
    async fn deliver(&self, pending: Pending) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            if Instant::now() >= pending.deadline {
                report_dropped(
                    &pending,
                    "no relay accepted it within RELAY_PUBLISH_RETRY_SECS",
                );
                return;
            }
            match self.try_once(&pending.publish, &pending.request_id).await {
                Try::Accepted => return,
                Try::Refused(status) => {
                    report_dropped(&pending, &format!("the relay refused it with {status}"));
                    return;
                }
                Try::Failed(error) if !pending.has_control() => {
                    tracing::warn!(%error, request_id = %pending.request_id, "could not publish to the relay; connected clients will catch up on their next sync");
                    return;
                }
                Try::Failed(error) => {
                    tracing::warn!(%error, request_id = %pending.request_id, retry_in_ms = backoff.as_millis() as u64, "could not publish control items to the relay; retrying");
                    metrics::counter!("relay_publish_retries_total").increment(1);
                    let wake = (Instant::now() + backoff).min(pending.deadline);
                    tokio::time::sleep_until(wake.into()).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    async fn try_once(&self, publish: &Publish, request_id: &str) -> Try {
        let Some(url) = &self.publish_url else {
            return Try::Accepted;
        };
        let result = self
            .http
            .post(url)
            .header(INTERNAL_KEY_HEADER, self.key.as_str())
            .header(REQUEST_ID_HEADER, request_id)
            .json(publish)
            .send()
            .await;
        let outcome = match result {
            Ok(res) if res.status().is_success() => return Try::Accepted,
            Ok(res) => match res.status().as_u16() {
                status @ (400 | 413 | 422) => Try::Refused(status),
                status => Try::Failed(format!("the relay answered {status}")),
            },
            Err(err) => Try::Failed(err.without_url().to_string()),
        };
        metrics::counter!("relay_publish_failures_total").increment(1);
        outcome
    }
}

/// Why [`RelayClient::presence`] (or [`RelayClient::stats`]) has no answer.
#[derive(Debug, thiserror::Error)]
pub enum PresenceError {
    #[error("no relay is configured (RELAY_URL)")]
    NoRelay,
    #[error("no relay answered: {0}")]
    Unavailable(String),
}

/// Queues `new`, keeping at most `max` waiting: when full, the oldest deliveries-only
/// publish makes room (or `new` itself when it is one and all others carry control items);
/// only a queue of nothing but control items gives up its oldest. Returns what was dropped.
fn push_bounded(waiting: &mut VecDeque<Pending>, new: Pending, max: usize) -> Option<Pending> {
    let mut dropped = None;
    if waiting.len() >= max.max(1) {
        if let Some(i) = waiting.iter().position(|p| !p.has_control()) {
            dropped = waiting.remove(i);
        } else if !new.has_control() {
            return Some(new);
        } else {
            dropped = waiting.pop_front();
        }
    }
    waiting.push_back(new);
    dropped
}

fn report_dropped(pending: &Pending, why: &str) {
    if pending.has_control() {
        metrics::counter!("relay_publish_dropped_total", "kind" => "control").increment(1);
        tracing::error!(
            request_id = %pending.request_id,
            control = ?pending.publish.control,
            why,
            "dropped a publish with control items: relays may keep routing a room to a removed member until it reconnects"
        );
    } else {
        metrics::counter!("relay_publish_dropped_total", "kind" => "deliveries").increment(1);
        tracing::warn!(request_id = %pending.request_id, why, "dropped a publish of deliveries; connected clients will catch up on their next sync");
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here can leave the data half-changed: a poisoned lock is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::{Control, Delivery, Target};

    fn pending(tag: i64, control: bool) -> Pending {
        Pending {
            publish: Publish {
                deliveries: vec![Delivery {
                    target: Target::Room(tag),
                    payload: wire::ServerFrame::Pong,
                }],
                control: if control {
                    vec![Control::DisconnectUser(uuid::Uuid::nil())]
                } else {
                    Vec::new()
                },
            },
            request_id: tag.to_string(),
            deadline: Instant::now(),
        }
    }

    fn tags(q: &VecDeque<Pending>) -> Vec<String> {
        q.iter().map(|p| p.request_id.clone()).collect()
    }

    #[test]
    fn a_full_queue_drops_the_oldest_deliveries_first() {
        let mut q = VecDeque::new();
        for (tag, control) in [(1, true), (2, false), (3, true), (4, false)] {
            assert!(push_bounded(&mut q, pending(tag, control), 4).is_none());
        }
        let dropped = push_bounded(&mut q, pending(5, true), 4);
        assert_eq!(dropped.map(|p| p.request_id), Some("2".to_owned()));
        let dropped = push_bounded(&mut q, pending(6, false), 4);
        assert_eq!(dropped.map(|p| p.request_id), Some("4".to_owned()));
        assert_eq!(tags(&q), ["1", "3", "5", "6"]);
        let dropped = push_bounded(&mut q, pending(7, true), 4);
        assert_eq!(dropped.map(|p| p.request_id), Some("6".to_owned()));
        // Only control items waiting: a deliveries-only newcomer is the one dropped.
        let dropped = push_bounded(&mut q, pending(8, false), 4);
        assert_eq!(dropped.map(|p| p.request_id), Some("8".to_owned()));
        // Nothing but control items: the oldest of them gives way.
        let dropped = push_bounded(&mut q, pending(9, true), 4);
        assert_eq!(dropped.map(|p| p.request_id), Some("1".to_owned()));
        assert_eq!(tags(&q), ["3", "5", "7", "9"]);
    }
}
