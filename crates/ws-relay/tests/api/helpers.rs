//! The whole stack of test-stack (auth-service, chat-service behind a gate, relays and
//! sockets), and what only the relay's tests need: private Redis servers, a relay's readiness,
//! connections and metrics, and waiting for a condition.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

pub(crate) use test_stack::{
    AUTH_KEY, GENERAL, Gate, ORIGIN, Options, REDIS_URL, RELAY_KEY, RelayNode, Stack, User, WAIT,
    Ws, assert_problem, deliver, frame_id, refresh_token, send_message, spawn_stack,
    spawn_stack_with, start_relay, sync_after, upgrade_request,
};

/// A private redis-server on its own port, killed on drop (Redis "cut off").
pub(crate) struct RedisServer {
    child: std::process::Child,
    pub port: u16,
}

impl RedisServer {
    pub(crate) fn start(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed for the Redis outage tests");
        Self { child, port }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port below Linux's ephemeral range (32768+): while a private Redis is down, no
/// outgoing connection or `bind(0)` elsewhere can take its port.
pub(crate) fn free_port() -> u16 {
    loop {
        let port = 20_000 + (Uuid::new_v4().as_u128() % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A fresh Redis channel prefix.
pub(crate) fn prefix() -> String {
    format!("cctest-{}", Uuid::new_v4().simple())
}

/// A stack (started with `options`) and a second relay, both sharing fan-out over Redis on a
/// fresh prefix and ready.
pub(crate) async fn two_relays(mut options: Options) -> (Stack, RelayNode) {
    options.redis_prefix = Some(prefix());
    let stack = spawn_stack_with(options).await;
    let b_node = stack.second_relay().await;
    wait_ready(&stack.relay).await;
    wait_ready(&b_node).await;
    (stack, b_node)
}

/// `GET /readyz` of a relay.
pub(crate) async fn ready(node: &RelayNode) -> (StatusCode, Value) {
    let res = reqwest::get(format!("{}/readyz", node.http)).await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or_default())
}

pub(crate) async fn wait_ready(node: &RelayNode) {
    // Generous: after an outage the subscriber retries with a backoff of up to 5 s.
    eventually_within(
        "the relay is subscribed to Redis (is Redis running?)",
        Duration::from_secs(20),
        || async { ready(node).await.0 == StatusCode::OK },
    )
    .await;
}

/// The rooms a connection is subscribed to, from the relay's @connections API.
pub(crate) async fn rooms_of(stack: &Stack, node: &RelayNode, connection_id: &str) -> Vec<i64> {
    let res = stack
        .internal(
            node,
            reqwest::Method::GET,
            &format!("/internal/connections/{connection_id}"),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let info: Value = res.json().await.unwrap();
    serde_json::from_value(info["rooms"].clone()).unwrap()
}

/// The value of a Prometheus counter or gauge line that starts with `prefix`, summed.
pub(crate) async fn metric(node: &RelayNode, prefix: &str) -> f64 {
    let text = reqwest::get(format!("{}/metrics", node.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits until `check` holds, up to [`WAIT`].
pub(crate) async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_within(what, WAIT, check).await
}

/// Waits until `check` holds, up to `wait`.
pub(crate) async fn eventually_within<F, Fut>(what: &str, wait: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + wait;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub(crate) fn client_msg_id() -> String {
    Uuid::new_v4().to_string()
}
