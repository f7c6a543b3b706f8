//! A WebSocket client for the relay's sockets, and the upgrade request as plain HTTP.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Receiving waits at most this long for an expected frame.
pub const WAIT: Duration = Duration::from_secs(5);

/// A WebSocket client.
pub struct Ws {
    pub inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The subprotocol the server answered with.
    pub protocol: Option<String>,
}

pub type Refusal = StatusCode;

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

    pub async fn send(&mut self, frame: Value) {
        self.inner
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
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
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.inner.next()).await;
            match next {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(&text).unwrap());
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => {}
                Ok(other) => panic!("expected a text frame, got {other:?}"),
            }
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
