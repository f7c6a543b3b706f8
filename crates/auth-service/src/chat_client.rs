//! Calls to chat-service's internal API that answer a request (the user-event outbox has its
//! own dispatcher, `user_events.rs`): today the part of a data export chat-service holds.

use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use futures_util::Stream;
use service_kit::{INTERNAL_KEY_HEADER, InternalApiKey};
use uuid::Uuid;

/// How long chat-service may take to connect, and to send the next piece of an answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    /// `CHAT_URL`; `None` in a development set-up without chat-service.
    base: Option<String>,
    key: InternalApiKey,
}

impl ChatClient {
    pub fn new(base: Option<&str>, key: InternalApiKey) -> anyhow::Result<Self> {
        Ok(Self {
            // No overall timeout: an export streams for as long as the history is long; each
            // read must come within READ_TIMEOUT.
            http: reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(READ_TIMEOUT)
                .build()
                .context("building the chat-service client")?,
            base: base.map(|b| b.trim_end_matches('/').to_owned()),
            key,
        })
    }

    /// `GET /internal/users/{id}/export`: the person's lines chat-service holds, streamed.
    /// An error before the answer starts (chat-service down or refusing); a failure midway
    /// ends the stream with an error.
    pub async fn export(
        &self,
        user: Uuid,
    ) -> anyhow::Result<impl Stream<Item = reqwest::Result<Bytes>> + 'static> {
        let base = self
            .base
            .as_deref()
            .context("CHAT_URL is not set: chat-service cannot be asked")?;
        let answer = self
            .http
            .get(format!("{base}/internal/users/{user}/export"))
            .header(INTERNAL_KEY_HEADER, self.key.as_str())
            .send()
            .await
            .context("asking chat-service for the export")?
            .error_for_status()
            .context("chat-service refused the export")?;
        Ok(answer.bytes_stream())
    }
}
