//! The dispatcher of the user-event outbox (`store::user_events`): a task that sends pending
//! events to chat-service (`POST {CHAT_URL}/internal/user-events`, auth-service's internal
//! key) in id order, in batches of at most 100, and marks them delivered when chat-service
//! accepts them. It wakes when this process writes an event ([`UserEvents::wake`]) and every
//! `USER_EVENTS_POLL_MS`, which picks up the command line's events, another replica's, and
//! retries. A failed batch is retried after a backoff of 1 s doubling to 5 min per event.
//! Replicas do not coordinate: an event sent twice is harmless, chat-service keeps the state
//! of the highest `version` it has seen.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use service_kit::{INTERNAL_KEY_HEADER, InternalApiKey};
use tokio::sync::Notify;
use wire::moderation::{MAX_USER_EVENTS, UserEventBatch};

use crate::store::user_events::{self, Pending};

/// The first wait before a failed event is tried again, doubled after each failure up to
/// [`MAX_BACKOFF_MS`].
pub const FIRST_BACKOFF_MS: i64 = 1_000;
pub const MAX_BACKOFF_MS: i64 = 5 * 60 * 1_000;

/// How long one delivery may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// The wait before the next try of an event that has failed `attempts` times.
pub fn backoff_ms(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    FIRST_BACKOFF_MS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_BACKOFF_MS)
}

/// The handle writers hold: wakes the dispatcher after a commit.
#[derive(Clone, Default)]
pub struct UserEvents {
    wake: Arc<Notify>,
}

impl UserEvents {
    /// Asks the dispatcher to look for events now (a permit is kept if it is busy).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Where and how events are sent.
struct Dispatcher {
    pool: sqlx::AnyPool,
    http: reqwest::Client,
    url: String,
    key: InternalApiKey,
}

/// Starts the dispatcher; without `chat_url` events stay in the outbox (development only).
pub fn spawn(
    pool: sqlx::AnyPool,
    events: &UserEvents,
    chat_url: Option<&str>,
    key: InternalApiKey,
    poll: Duration,
) -> anyhow::Result<()> {
    let Some(chat_url) = chat_url else {
        tracing::warn!(
            "CHAT_URL is not set: role and suspension changes are not delivered to chat-service"
        );
        return Ok(());
    };
    let dispatcher = Dispatcher {
        pool,
        http: reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(SEND_TIMEOUT)
            .build()
            .context("building the user-event client")?,
        url: format!("{}/internal/user-events", chat_url.trim_end_matches('/')),
        key,
    };
    let wake = events.wake.clone();
    tokio::spawn(async move {
        loop {
            dispatcher.deliver_due().await;
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    });
    Ok(())
}

impl Dispatcher {
    /// Sends every due event, a batch at a time, until none is left or a batch fails.
    async fn deliver_due(&self) {
        loop {
            let now = store_kit::now_ms();
            let batch = match user_events::due(&self.pool, now, MAX_USER_EVENTS as i64).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "cannot read the user-event outbox");
                    break;
                }
            };
            if batch.is_empty() {
                break;
            }
            let full = batch.len() == MAX_USER_EVENTS;
            if !self.deliver(batch, now).await || !full {
                break;
            }
        }
        match user_events::pending_count(&self.pool).await {
            Ok(n) => metrics::gauge!("auth_user_events_pending").set(n as f64),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot count pending user events"),
        }
    }

    /// Sends one batch; whether chat-service took it.
    async fn deliver(&self, batch: Vec<Pending>, now: i64) -> bool {
        let ids: Vec<i64> = batch.iter().map(|p| p.event.id).collect();
        let body = UserEventBatch {
            events: batch.iter().map(|p| p.event.clone()).collect(),
        };
        let sent = self
            .http
            .post(&self.url)
            .header(INTERNAL_KEY_HEADER, self.key.as_str())
            .json(&body)
            .send()
            .await;
        let failure = match sent {
            Ok(res) if res.status().is_success() => None,
            Ok(res) => Some(format!("chat-service answered {}", res.status())),
            Err(e) => Some(format!("chat-service did not answer: {e}")),
        };
        match failure {
            None => {
                if let Err(e) = user_events::delivered(&self.pool, &ids, store_kit::now_ms()).await
                {
                    // Sent again at the next poll: harmless (versions).
                    tracing::warn!(error = %format!("{e:#}"), "cannot mark user events delivered");
                }
                metrics::counter!("auth_user_events_delivered_total").increment(ids.len() as u64);
                true
            }
            Some(reason) => {
                metrics::counter!("auth_user_events_failed_total").increment(ids.len() as u64);
                let attempts = batch.iter().map(|p| p.attempts + 1).max().unwrap_or(1);
                tracing::warn!(events = ids.len(), first = ids.first().copied().unwrap_or_default(), attempts, %reason, "user events not delivered; retrying later");
                if let Err(e) = user_events::failed(&self.pool, &batch, now, backoff_ms).await {
                    tracing::warn!(error = %format!("{e:#}"), "cannot schedule user events' retry");
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_from_a_second_to_five_minutes() {
        let waits: Vec<i64> = (1..=11).map(super::backoff_ms).collect();
        assert_eq!(
            waits,
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000,
                300_000
            ]
        );
        assert_eq!(super::backoff_ms(i64::MAX), 300_000);
    }
}
