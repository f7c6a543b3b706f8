//! The HTTP client to chat-service's internal WebSocket API (DESIGN.md section 5):
//! `$connect`, actions and `$disconnect`. Short connect and request timeouts, pooled
//! keep-alive connections, the internal key and our `x-request-id` on every call. Failures are
//! sorted into what the client may retry (`temporary`) and what it may not.

use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use service_kit::{INTERNAL_KEY_HEADER, InternalApiKey, REQUEST_ID_HEADER};
use wire::{ActionRequest, ActionResponse, ConnectRequest, ConnectResponse, DisconnectRequest};

/// A call that did not produce the expected answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// chat-service answered with a client error (problem+json): not worth retrying as is.
    #[error("{status} {code}: {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// chat-service is down, slow or failing (5xx, timeout, connection refused).
    #[error("chat-service unavailable: {0}")]
    Unavailable(String),
}

impl ChatError {
    pub fn is_temporary(&self) -> bool {
        matches!(self, ChatError::Unavailable(_))
    }
}

#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    base: String,
    key: InternalApiKey,
    timeout: Duration,
}

impl ChatClient {
    pub fn new(base: &str, key: InternalApiKey, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .tcp_keepalive(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            key,
            timeout,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub async fn connect(
        &self,
        req: &ConnectRequest,
        request_id: &str,
    ) -> Result<ConnectResponse, ChatError> {
        self.call("connect", "/internal/ws/connect", req, request_id, None)
            .await
    }

    /// Forwards an action; `timeout` may be shorter than the client's own (the frame already
    /// waited in the connection's queue).
    pub async fn action(
        &self,
        action: &'static str,
        req: &ActionRequest,
        request_id: &str,
        timeout: Duration,
    ) -> Result<ActionResponse, ChatError> {
        let path = format!("/internal/ws/actions/{action}");
        self.call(action, &path, req, request_id, Some(timeout))
            .await
    }

    /// Best effort: failures are logged, never retried.
    pub async fn disconnect(&self, req: &DisconnectRequest, request_id: &str) {
        let started = Instant::now();
        let result = self
            .request("/internal/ws/disconnect", req, request_id, None)
            .send()
            .await;
        record("disconnect", started);
        match result {
            Ok(res) if res.status().is_success() => {}
            Ok(res) => {
                tracing::warn!(connection_id = %req.connection_id, status = res.status().as_u16(), "chat-service refused $disconnect")
            }
            Err(err) => {
                tracing::warn!(connection_id = %req.connection_id, error = %err.without_url(), "could not send $disconnect to chat-service")
            }
        }
    }

    fn request<B: serde::Serialize>(
        &self,
        path: &str,
        body: &B,
        request_id: &str,
        timeout: Option<Duration>,
    ) -> reqwest::RequestBuilder {
        let mut builder = self
            .http
            .post(format!("{}{path}", self.base))
            .header(INTERNAL_KEY_HEADER, self.key.as_str())
            .header(REQUEST_ID_HEADER, request_id)
            .json(body);
        if let Some(t) = timeout {
            builder = builder.timeout(t.min(self.timeout));
        }
        builder
    }

    async fn call<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        label: &'static str,
        path: &str,
        body: &B,
        request_id: &str,
        timeout: Option<Duration>,
    ) -> Result<T, ChatError> {
        let started = Instant::now();
        let result = self.request(path, body, request_id, timeout).send().await;
        let outcome = match result {
            Err(err) => Err(ChatError::Unavailable(if err.is_timeout() {
                "chat-service did not answer in time".to_owned()
            } else {
                format!("{}", err.without_url())
            })),
            Ok(res) => {
                let status = res.status();
                if status.is_success() {
                    res.json::<T>().await.map_err(|e| {
                        tracing::error!(route = label, error = %e.without_url(), "chat-service answered with an unexpected body");
                        ChatError::Unavailable("chat-service answered with an unexpected body".to_owned())
                    })
                } else if status.is_server_error() || status.as_u16() == 404 && label == "connect" {
                    // A 404 on connect means a chat-service without the internal API (a
                    // deployment mistake), not a refusal of this client.
                    Err(ChatError::Unavailable(format!(
                        "chat-service answered {}",
                        status.as_u16()
                    )))
                } else {
                    let problem: serde_json::Value = res.json().await.unwrap_or_default();
                    let text = |k: &str| problem.get(k).and_then(|v| v.as_str()).map(str::to_owned);
                    Err(ChatError::Rejected {
                        status: status.as_u16(),
                        code: text("code").unwrap_or_else(|| "rejected".to_owned()),
                        message: text("detail")
                            .or_else(|| text("title"))
                            .unwrap_or_else(|| "the request was refused".to_owned()),
                    })
                }
            }
        };
        record(label, started);
        outcome
    }
}

fn record(route: &'static str, started: Instant) {
    metrics::histogram!("ws_relay_forward_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
}
