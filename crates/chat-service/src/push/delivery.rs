//! Sending pushes to push services (RFC 8030): encrypted, signed, a bounded number at once,
//! retried with backoff on network errors, 429 and 5xx (honouring `Retry-After`), and the
//! subscription deleted when the service says it is gone (404/410). Failures are counted
//! and logged; nothing here ever reaches a send.

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::Semaphore;

use super::webpush::{self, Vapid};
use crate::config::PushSettings;
use crate::domain::notifications::decode_b64url;
use crate::store::push::{self as push_store, StoredSubscription};

/// The first wait before a retry; doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait a `Retry-After` may ask for; longer and the push is given up.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How urgent a push is (RFC 8030 section 5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Normal,
    High,
}

impl Urgency {
    fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::High => "high",
        }
    }
}

/// One push to all of a user's subscriptions.
#[derive(Debug, Clone)]
pub struct Push {
    /// The JSON the service worker reads.
    pub payload: Vec<u8>,
    /// RFC 8030 `Topic`: a newer push with the same topic replaces an undelivered older one.
    pub topic: String,
    pub urgency: Urgency,
}

/// Sends pushes in the background.
#[derive(Clone)]
pub struct Deliverer {
    http: reqwest::Client,
    pool: AnyPool,
    vapid: Arc<Vapid>,
    permits: Arc<Semaphore>,
    ttl_secs: u64,
    retries: u32,
}

/// What one try came to.
enum Try {
    Delivered,
    Gone,
    Retry(Option<Duration>),
    Failed(String),
}

impl Deliverer {
    pub fn new(
        http: reqwest::Client,
        pool: AnyPool,
        vapid: Arc<Vapid>,
        settings: &PushSettings,
    ) -> Self {
        Self {
            http,
            pool,
            vapid,
            permits: Arc::new(Semaphore::new(settings.concurrency)),
            ttl_secs: settings.ttl.as_secs(),
            retries: settings.retries,
        }
    }

    /// Sends `push` to each subscription, each in its own task (at most `PUSH_CONCURRENCY`
    /// in flight; the others wait for a place).
    pub fn send_all(&self, subscriptions: Vec<StoredSubscription>, push: Arc<Push>) {
        for sub in subscriptions {
            let this = self.clone();
            let push = push.clone();
            tokio::spawn(async move {
                let Ok(_permit) = this.permits.clone().acquire_owned().await else {
                    return;
                };
                this.deliver(&sub, &push).await;
            });
        }
    }

    /// One subscription: tries until delivered, gone, refused, or out of retries.
    async fn deliver(&self, sub: &StoredSubscription, push: &Push) {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            let outcome = match self.try_once(sub, push).await {
                Ok(outcome) => outcome,
                Err(err) => Try::Failed(format!("{err:#}")),
            };
            match outcome {
                Try::Delivered => {
                    metrics::counter!("push_deliveries_total", "outcome" => "delivered")
                        .increment(1);
                    self.record(sub, true).await;
                    return;
                }
                Try::Gone => {
                    metrics::counter!("push_deliveries_total", "outcome" => "gone").increment(1);
                    tracing::info!(subscription = %sub.id, "the push service says the subscription is gone; deleting it");
                    if let Err(err) = push_store::delete_by_id(&self.pool, sub.id).await {
                        tracing::warn!(error = %format!("{err:#}"), "could not delete a gone push subscription");
                    }
                    return;
                }
                Try::Retry(wait) if attempt < self.retries => {
                    attempt += 1;
                    metrics::counter!("push_retries_total").increment(1);
                    let wait = wait.unwrap_or(backoff);
                    tokio::time::sleep(wait).await;
                    backoff *= 2;
                }
                Try::Retry(_) => {
                    metrics::counter!("push_deliveries_total", "outcome" => "failed").increment(1);
                    tracing::warn!(subscription = %sub.id, attempts = attempt + 1, "push not delivered: the push service kept failing");
                    self.record(sub, false).await;
                    return;
                }
                Try::Failed(why) => {
                    metrics::counter!("push_deliveries_total", "outcome" => "failed").increment(1);
                    tracing::warn!(subscription = %sub.id, %why, "push not delivered");
                    self.record(sub, false).await;
                    return;
                }
            }
        }
    }

    async fn record(&self, sub: &StoredSubscription, ok: bool) {
        if let Err(err) =
            push_store::record_attempt(&self.pool, sub.id, ok, store_kit::now_ms()).await
        {
            tracing::warn!(error = %format!("{err:#}"), "could not record a push attempt");
        }
    }

    async fn try_once(&self, sub: &StoredSubscription, push: &Push) -> anyhow::Result<Try> {
        let (Some(ua_public), Some(auth)) = (decode_b64url(&sub.p256dh), decode_b64url(&sub.auth))
        else {
            return Ok(Try::Failed("the stored keys do not decode".to_owned()));
        };
        let body = webpush::encrypt(&push.payload, &ua_public, &auth)?;
        let authorization = self
            .vapid
            .authorization(&sub.endpoint, store_kit::now_ms() / 1000)?;
        let result = self
            .http
            .post(&sub.endpoint)
            .header("TTL", self.ttl_secs.to_string())
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Topic", &push.topic)
            .header("Urgency", push.urgency.as_str())
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await;
        let res = match result {
            Ok(res) => res,
            Err(err) => {
                tracing::debug!(error = %err.without_url(), "push request failed");
                return Ok(Try::Retry(None));
            }
        };
        let status = res.status().as_u16();
        Ok(match status {
            200..=299 => Try::Delivered,
            404 | 410 => Try::Gone,
            429 | 500..=599 => {
                let after = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                match after {
                    Some(wait) if wait > MAX_RETRY_AFTER => Try::Failed(format!(
                        "the push service answered {status} and asks to wait {}s",
                        wait.as_secs()
                    )),
                    wait => Try::Retry(wait),
                }
            }
            _ => Try::Failed(format!("the push service answered {status}")),
        })
    }
}
