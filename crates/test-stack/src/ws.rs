//! A WebSocket client for the relay's sockets, and the upgrade request as plain HTTP.
//!
//! Tests speak the protocol through its types ([`Ws::act`], [`Ws::recv_frame`] and the
//! `recv_<kind>` helpers); the raw [`Ws::send`] and [`Ws::recv`] stay for malformed input and
//! for the exact JSON on the wire.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wire::protocol::{ErrorFrame, MessageView, Ready};
use wire::{ClientAction, ClientFrame, FrameId, Reply, ServerFrame};

/// Receiving waits at most this long for an expected frame.
pub const WAIT: Duration = Duration::from_secs(5);

/// A WebSocket client.
pub struct Ws {
    pub inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The subprotocol the server answered with.
    pub protocol: Option<String>,
}

pub type Refusal = StatusCode;

/// An `ack`, as [`Ws::recv_ack`] reads it.
#[derive(Debug)]
pub struct Ack {
    /// The `id` of the `sendMessage` it answers.
    pub id: Option<FrameId>,
    pub client_msg_id: Option<String>,
    /// The stored message.
    pub message: MessageView,
}

impl Ws {
    pub async fn connect(url: &str, origin: Option<&str>) -> Result<Ws, Refusal> {
        Self::connect_with(url, origin, None).await
    }

    /// `protocols`: the `Sec-WebSocket-Protocol` header, if any.
    pub async fn connect_with(
        url: &str,
        origin: Option<&str>,
        protocols: Option<&str>,
    ) -> Result<Ws, Refusal> {
        let mut request = url.into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(origin).unwrap());
        }
        if let Some(p) = protocols {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_str(p).unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((inner, response)) => Ok(Ws {
                inner,
                protocol: response
                    .headers()
                    .get("sec-websocket-protocol")
                    .map(|v| v.to_str().unwrap().to_owned()),
            }),
            Err(tungstenite::Error::Http(response)) => {
                Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
            }
            Err(other) => panic!("WebSocket connect failed: {other}"),
        }
    }

    /// Sends `frame` as it is: for malformed input and the exact JSON on the wire.
    pub async fn send(&mut self, frame: Value) {
        self.inner
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    /// Sends a client frame, serialised from the protocol's types.
    pub async fn send_frame(&mut self, frame: &ClientFrame) {
        let text = serde_json::to_string(frame).unwrap();
        self.inner.send(Message::text(text)).await.unwrap();
    }

    /// Sends `action` with `id` (a string, a number, or `None` for no id).
    pub async fn act(&mut self, id: impl IntoFrameId, action: ClientAction) {
        let frame = ClientFrame {
            id: id.into_frame_id(),
            action,
        };
        self.send_frame(&frame).await;
    }

    pub async fn send_message(&mut self, message: Message) {
        self.inner.send(message).await.unwrap();
    }

    /// The next JSON frame (pings and pongs skipped); panics on a close or after [`WAIT`].
    pub async fn recv(&mut self) -> Value {
        self.try_recv(WAIT).await.expect("expected a frame")
    }

    /// The next JSON frame within `wait`, or `None`.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        let text = self.try_recv_text(wait).await?;
        Some(serde_json::from_str(&text).unwrap())
    }

    /// The next text frame within `wait`, or `None`.
    async fn try_recv_text(&mut self, wait: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.inner.next()).await;
            match next {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) => return Some(text.to_string()),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => {}
                Ok(other) => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next frame, read as the protocol's types; panics on a close, after [`WAIT`], or
    /// with the text of a frame that does not read as a [`Reply`].
    pub async fn recv_frame(&mut self) -> Reply {
        self.try_recv_frame(WAIT).await.expect("expected a frame")
    }

    /// The next frame within `wait`, read as the protocol's types, or `None`.
    pub async fn try_recv_frame(&mut self, wait: Duration) -> Option<Reply> {
        let text = self.try_recv_text(wait).await?;
        let reply = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not a server frame ({e}): {text}"));
        Some(reply)
    }

    /// The next frame that `wanted` accepts, skipping typing noise (any other frame fails the
    /// test): the typed [`Ws::recv_type`].
    pub async fn recv_until(&mut self, wanted: impl Fn(&ServerFrame) -> bool) -> Reply {
        loop {
            let reply = self.recv_frame().await;
            if wanted(&reply.frame) {
                return reply;
            }
            assert!(
                matches!(reply.frame, ServerFrame::Typing { .. }),
                "unexpected frame: {reply:?}"
            );
        }
    }

    /// The next `ack`, typing skipped.
    pub async fn recv_ack(&mut self) -> Ack {
        let reply = self
            .recv_until(|f| matches!(f, ServerFrame::Ack { .. }))
            .await;
        match reply.frame {
            ServerFrame::Ack {
                client_msg_id,
                message,
            } => Ack {
                id: reply.id,
                client_msg_id,
                message,
            },
            _ => unreachable!("recv_until returns an ack"),
        }
    }

    /// The message of the next `message` frame, typing skipped.
    pub async fn recv_message(&mut self) -> MessageView {
        let reply = self
            .recv_until(|f| matches!(f, ServerFrame::Message { .. }))
            .await;
        match reply.frame {
            ServerFrame::Message { message } => message,
            _ => unreachable!("recv_until returns a message"),
        }
    }

    /// The next frame, which must be an `error`: the error and the `id` it echoes.
    pub async fn recv_error(&mut self) -> (ErrorFrame, Option<FrameId>) {
        match self.recv_frame().await {
            Reply {
                frame: ServerFrame::Error(error),
                id,
            } => (error, id),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// The next frame, which must be `ready`.
    pub async fn recv_ready(&mut self) -> Ready {
        match self.recv_frame().await {
            Reply {
                frame: ServerFrame::Ready(ready),
                id: None,
            } => ready,
            other => panic!("expected ready, got {other:?}"),
        }
    }

    /// The next frame of type `kind`, skipping typing and presence noise.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
            assert!(
                matches!(frame["type"].as_str(), Some("typing" | "presence")),
                "expected {kind}, got {frame}"
            );
        }
    }

    /// Asserts that no text frame arrives for `wait`.
    pub async fn silent(&mut self, wait: Duration) {
        if let Some(frame) = self.try_recv(wait).await {
            panic!("expected silence, got {frame}");
        }
    }

    /// Reads until the server's close frame; returns its code and reason (text frames before
    /// it are counted).
    pub async fn closed(&mut self, wait: Duration) -> (Option<u16>, String, usize) {
        let deadline = tokio::time::Instant::now() + wait;
        let mut texts = 0;
        loop {
            match tokio::time::timeout_at(deadline, self.inner.next()).await {
                Err(_) => panic!("no close within {wait:?}"),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return match frame {
                        Some(f) => (Some(u16::from(f.code)), f.reason.to_string(), texts),
                        None => (None, String::new(), texts),
                    };
                }
                Ok(Some(Ok(Message::Text(_)))) => texts += 1,
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("socket error before the close frame: {e}"),
                Ok(None) => panic!("socket ended without a close frame"),
            }
        }
    }
}

/// What a test may give as a frame's `id`: a string, a number, or `None` for no id.
pub trait IntoFrameId {
    fn into_frame_id(self) -> Option<FrameId>;
}

impl IntoFrameId for &str {
    fn into_frame_id(self) -> Option<FrameId> {
        Some(FrameId::Text(self.to_owned()))
    }
}

impl IntoFrameId for i64 {
    fn into_frame_id(self) -> Option<FrameId> {
        Some(FrameId::Number(self.into()))
    }
}

impl IntoFrameId for Option<FrameId> {
    fn into_frame_id(self) -> Option<FrameId> {
        self
    }
}

/// The `id` of a frame sent with `id`, as its answer echoes it: `frame_id("7")`.
pub fn frame_id(id: impl IntoFrameId) -> Option<FrameId> {
    id.into_frame_id()
}

/// A WebSocket upgrade request sent with plain HTTP, to read a refusal's problem+json.
pub async fn upgrade_request(url: &str, protocols: Option<&str>) -> reqwest::Response {
    let url = url.replacen("ws://", "http://", 1);
    let mut req = reqwest::Client::new()
        .get(url)
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    if let Some(p) = protocols {
        req = req.header("sec-websocket-protocol", p);
    }
    req.send().await.unwrap()
}
