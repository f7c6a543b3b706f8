//! The client a service uses to tell the relays about events that start outside a WebSocket
//! (`POST /internal/publish`, DESIGN.md section 5). Publishing is best effort: it never fails
//! the request that caused it; failures are logged and counted in
//! `relay_publish_failures_total`.

use std::time::Duration;

use service_kit::{INTERNAL_KEY_HEADER, InternalApiKey, REQUEST_ID_HEADER};
use wire::Publish;

#[derive(Clone)]
pub struct RelayClient {
    http: reqwest::Client,
    publish_url: Option<String>,
    key: InternalApiKey,
}

impl RelayClient {
    /// `base_url` unset means no relay is configured: publishing is then a no-op.
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
        Ok(Self {
            http,
            publish_url: base_url.map(|u| format!("{}/internal/publish", u.trim_end_matches('/'))),
            key,
        })
    }

    pub fn is_configured(&self) -> bool {
        self.publish_url.is_some()
    }

    /// Sends the publish and waits for the answer; errors are logged and counted.
    pub async fn publish(&self, publish: &Publish, request_id: &str) -> bool {
        let Some(url) = &self.publish_url else {
            return true;
        };
        let result = self
            .http
            .post(url)
            .header(INTERNAL_KEY_HEADER, self.key.as_str())
            .header(REQUEST_ID_HEADER, request_id)
            .json(publish)
            .send()
            .await
            .and_then(|r| r.error_for_status());
        match result {
            Ok(_) => true,
            Err(err) => {
                metrics::counter!("relay_publish_failures_total").increment(1);
                tracing::warn!(error = %err, "could not publish to the relay; connected clients will catch up on their next sync");
                false
            }
        }
    }

    /// Publishes in the background so the caller's response does not wait for the relay.
    pub fn publish_in_background(&self, publish: Publish, request_id: String) {
        if self.publish_url.is_none() {
            return;
        }
        let client = self.clone();
        tokio::spawn(async move {
            client.publish(&publish, &request_id).await;
        });
    }
}
