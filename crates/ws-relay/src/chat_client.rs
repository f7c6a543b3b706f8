//! The HTTP client to chat-service's internal WebSocket API (docs/architecture.md; the shapes are in `wire`):
//! `$connect`, actions, `$disconnect` and the rooms re-read. Short connect and request
//! timeouts, pooled keep-alive connections, the internal key and our `x-request-id` on every
//! call, and answers read up to `CHAT_BATCH_REPLY_MAX_BYTES` (never buffered whole before
//! their size is known). Failures are sorted into what the client may retry (`temporary`) and
//! what it may not.

use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use service_kit::{INTERNAL_KEY_HEADER, InternalApiKey, REQUEST_ID_HEADER};
use wire::{
    ActionBatch, ActionBatchResponse, ActionProblem, ActionResponse, ActionResult, ConnectRequest,
    ConnectResponse, DisconnectRequest, ErrorCode, RoomsRequest, RoomsResponse,
};

/// A call that did not produce the expected answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ChatError {
    /// chat-service answered with a client error (problem+json): not worth retrying as is,
    /// unless its code says it is temporary (`rate_limited`).
    #[error("{status} {}: {message}", code.as_str())]
    Rejected {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// chat-service is down, slow or failing (5xx, timeout, connection refused).
    #[error("chat-service unavailable: {0}")]
    Unavailable(String),
    /// This relay already has as many actions waiting for chat-service as it may queue: the
    /// action was not sent (load shedding). Also chat-service's `busy`: the action did not
    /// fit in its batch answer's byte budget.
    #[error("too many actions waiting for chat-service")]
    Busy,
}

impl ChatError {
    pub(crate) fn is_temporary(&self) -> bool {
        match self {
            ChatError::Unavailable(_) | ChatError::Busy => true,
            ChatError::Rejected { code, .. } => code.temporary(),
        }
    }

    /// The error a problem stands for: 5xx is chat-service's trouble (retry), 4xx a refusal
    /// of this request.
    fn from_problem(problem: &ActionProblem) -> Self {
        // chat-service's batch answer was full: the client retries, as with our own `busy`.
        if problem.code == ErrorCode::Busy {
            return ChatError::Busy;
        }
        if problem.status >= 500 {
            return ChatError::Unavailable(format!("chat-service answered {}", problem.status));
        }
        ChatError::Rejected {
            status: problem.status,
            code: problem.code,
            message: problem
                .detail
                .clone()
                .or_else(|| problem.title.clone())
                .unwrap_or_else(|| "the request was refused".to_owned()),
        }
    }
}

#[derive(Clone)]
pub(crate) struct ChatClient {
    http: reqwest::Client,
    base: String,
    key: InternalApiKey,
    timeout: Duration,
    max_reply_bytes: usize,
}

/// A problem+json refusal is read up to this size; past it only the status is used.
const PROBLEM_MAX_BYTES: usize = 64 * 1024;

impl ChatClient {
    pub(crate) fn new(
        base: &str,
        key: InternalApiKey,
        timeout: Duration,
        max_reply_bytes: usize,
    ) -> anyhow::Result<Self> {
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
            max_reply_bytes,
        })
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) async fn connect(
        &self,
        req: &ConnectRequest,
        request_id: &str,
    ) -> Result<ConnectResponse, ChatError> {
        self.call("connect", "/internal/ws/connect", req, request_id)
            .await
    }

    /// Forwards several actions in one request (`POST /internal/ws/actions`); one outcome per
    /// event, in order. A failure of the request as a whole is every event's outcome.
    pub(crate) async fn actions(
        &self,
        batch: &ActionBatch,
        request_id: &str,
    ) -> Vec<Result<ActionResponse, ChatError>> {
        let n = batch.events.len();
        match self
            .call::<_, ActionBatchResponse>("actions", "/internal/ws/actions", batch, request_id)
            .await
        {
            Ok(answer) if answer.results.len() == n => answer
                .results
                .into_iter()
                .map(|result| match result {
                    ActionResult::Ok(response) => Ok(*response),
                    ActionResult::Error(problem) => Err(ChatError::from_problem(&problem)),
                })
                .collect(),
            Ok(answer) => {
                tracing::error!(
                    sent = n,
                    answered = answer.results.len(),
                    "chat-service answered a batch with the wrong number of results"
                );
                let err = ChatError::Unavailable(
                    "chat-service answered with an unexpected body".to_owned(),
                );
                vec![Err(err); n]
            }
            Err(err) => vec![Err(err); n],
        }
    }

    /// The rooms each user may read now (`POST /internal/ws/rooms`), at most
    /// [`wire::ROOMS_REQUEST_MAX_USERS`] users per call.
    pub(crate) async fn rooms(
        &self,
        req: &RoomsRequest,
        request_id: &str,
    ) -> Result<RoomsResponse, ChatError> {
        self.call("rooms", "/internal/ws/rooms", req, request_id)
            .await
    }

    /// Best effort: failures are logged, never retried.
    pub(crate) async fn disconnect(&self, req: &DisconnectRequest, request_id: &str) {
        let started = Instant::now();
        let result = self
            .request("/internal/ws/disconnect", req, request_id)
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
    ) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header(INTERNAL_KEY_HEADER, self.key.as_str())
            .header(REQUEST_ID_HEADER, request_id)
            .json(body)
    }

    async fn call<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        label: &'static str,
        path: &str,
        body: &B,
        request_id: &str,
    ) -> Result<T, ChatError> {
        let started = Instant::now();
        let result = self.request(path, body, request_id).send().await;
        let outcome = match result {
            Err(err) => Err(ChatError::Unavailable(if err.is_timeout() {
                "chat-service did not answer in time".to_owned()
            } else {
                format!("{}", err.without_url())
            })),
            Ok(res) => {
                let status = res.status();
                if status.is_success() {
                    match read_capped(res, self.max_reply_bytes).await {
                        Ok(body) => serde_json::from_slice::<T>(&body).map_err(|e| {
                            tracing::error!(route = label, error = %e, "chat-service answered with an unexpected body");
                            ChatError::Unavailable("chat-service answered with an unexpected body".to_owned())
                        }),
                        Err(err) => {
                            if matches!(err, ReadError::TooLarge) {
                                metrics::counter!("ws_relay_chat_replies_too_large_total", "route" => label).increment(1);
                                tracing::error!(route = label, max_bytes = self.max_reply_bytes, "chat-service's answer is larger than CHAT_BATCH_REPLY_MAX_BYTES; failing the call");
                            }
                            Err(ChatError::Unavailable(err.to_string()))
                        }
                    }
                } else if status.is_server_error() || status.as_u16() == 404 && label != "action" {
                    // A 404 on connect or on the batch path means a chat-service without the
                    // internal API (a deployment mistake), not a refusal of this client.
                    Err(ChatError::Unavailable(format!(
                        "chat-service answered {}",
                        status.as_u16()
                    )))
                } else {
                    // A body that is not a problem still refuses with its status.
                    let problem = read_capped(res, PROBLEM_MAX_BYTES)
                        .await
                        .ok()
                        .and_then(|body| serde_json::from_slice::<ActionProblem>(&body).ok())
                        .unwrap_or(ActionProblem {
                            status: status.as_u16(),
                            code: ErrorCode::Unknown,
                            title: None,
                            detail: None,
                            errors: Vec::new(),
                        });
                    Err(ChatError::from_problem(&ActionProblem {
                        status: status.as_u16(),
                        ..problem
                    }))
                }
            }
        };
        record(label, started);
        outcome
    }
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("chat-service's answer is too large")]
    TooLarge,
    #[error("reading chat-service's answer failed: {0}")]
    Body(String),
}

/// Reads a body up to `max` bytes: a larger one is refused as soon as its length is known
/// (the header, or the bytes read so far), so a runaway answer never sits whole in memory.
async fn read_capped(mut res: reqwest::Response, max: usize) -> Result<Vec<u8>, ReadError> {
    let announced = res.content_length().unwrap_or(0);
    if announced > u64::try_from(max).unwrap_or(u64::MAX) {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = res.chunk().await.map_err(|e| {
        ReadError::Body(if e.is_timeout() {
            "chat-service did not answer in time".to_owned()
        } else {
            e.without_url().to_string()
        })
    })? {
        if body.len() + chunk.len() > max {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn record(route: &'static str, started: Instant) {
    metrics::histogram!("ws_relay_forward_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_batch_result_is_temporary_busy() {
        let problem = |status: u16, code: ErrorCode| ActionProblem {
            status,
            code,
            title: None,
            detail: Some("why".to_owned()),
            errors: Vec::new(),
        };
        assert_eq!(
            ChatError::from_problem(&problem(503, ErrorCode::Busy)),
            ChatError::Busy
        );
        assert!(matches!(
            ChatError::from_problem(&problem(503, ErrorCode::AuthUnavailable)),
            ChatError::Unavailable(_)
        ));
        assert!(!ChatError::from_problem(&problem(404, ErrorCode::RoomNotFound)).is_temporary());
        // A refusal whose code says "later" is temporary: the sender's rate limit.
        assert!(ChatError::from_problem(&problem(429, ErrorCode::RateLimited)).is_temporary());
    }
}
