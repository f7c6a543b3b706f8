//! Several relays over real Redis (127.0.0.1:6379, or a private redis-server for the
//! reconnect test). These tests fail, never skip, when Redis is missing.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::Engine;
use uuid::Uuid;

use crate::helpers::*;

fn prefix() -> String {
    format!("cctest-{}", Uuid::new_v4().simple())
}

async fn ready(node: &RelayNode) -> (StatusCode, Value) {
    let res = reqwest::get(format!("{}/readyz", node.http)).await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or_default())
}

async fn wait_ready(node: &RelayNode) {
    // Generous: after an outage the subscriber retries with a backoff of up to 5 s.
    eventually_within(
        "the relay is subscribed to Redis (is Redis running?)",
        Duration::from_secs(20),
        || async { ready(node).await.0 == StatusCode::OK },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_deliver_to_their_own_connections() {
    let mut options = Options::new(Engine::Sqlite);
    options.redis_prefix = Some(prefix());
    let stack = spawn_stack_with(options).await;
    let b_node = stack.second_relay().await;
    wait_ready(&stack.relay).await;
    wait_ready(&b_node).await;

    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let carol = stack.signup("carol").await;
    let room = stack.create_room(&alice, "spread").await;
    let (mut a, _) = stack.connect_to(&stack.relay, &alice).await;
    let (mut b, _) = stack.connect_to(&b_node, &bob).await;
    let (mut c, _) = stack.connect_to(&b_node, &carol).await;

    // Bob is added while connected to relay B: the subscribe crosses Redis, and both sockets
    // of the room hear of it (connecting after the add would race the background publish).
    stack.add_member(&alice, room, &bob).await;
    a.recv_type("memberAdded").await;
    b.recv_type("memberAdded").await;

    // A socket send on relay A reaches Bob on relay B, once.
    a.send(json!({"action": "sendMessage", "roomId": room, "content": "across", "clientMsgId": client_msg_id()}))
        .await;
    a.recv_type("ack").await;
    assert_eq!(a.recv_type("message").await["message"]["content"], "across");
    assert_eq!(b.recv_type("message").await["message"]["content"], "across");
    b.silent(Duration::from_millis(400)).await;
    c.silent(Duration::from_millis(100)).await;

    // Control items cross too: Carol, on B, is added through chat-service (which publishes
    // to relay A) and hears the room from then on.
    stack.add_member(&alice, room, &carol).await;
    c.recv_type("memberAdded").await;
    stack.send_rest(&bob, room, "hi carol").await;
    assert_eq!(
        c.recv_type("message").await["message"]["content"],
        "hi carol"
    );
    a.recv_type("memberAdded").await;
    assert_eq!(
        a.recv_type("message").await["message"]["content"],
        "hi carol"
    );

    b.recv_type("memberAdded").await;
    assert_eq!(
        b.recv_type("message").await["message"]["content"],
        "hi carol"
    );

    // The subscriber's keep-alive ping (every 5 s) must not break the subscription: after
    // a few pings both relays are still ready and still hear each other.
    tokio::time::sleep(Duration::from_secs(11)).await;
    for node in [&stack.relay, &b_node] {
        let (status, body) = ready(node).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            node.relay.redis_sessions(),
            Some(1),
            "the subscription was dropped and remade"
        );
    }
    a.send(json!({"action": "sendMessage", "roomId": room, "content": "still across", "clientMsgId": client_msg_id()}))
        .await;
    a.recv_type("ack").await;
    assert_eq!(
        b.recv_type("message").await["message"]["content"],
        "still across"
    );
    let metrics = reqwest::get(format!("{}/metrics", b_node.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ws_relay_redis_connected") && l.ends_with(" 1")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_on_different_channels_do_not_hear_each_other() {
    let mut options = Options::new(Engine::Sqlite);
    options.redis_prefix = Some(prefix());
    let stack = spawn_stack_with(options).await;
    let mut other = stack.relay_settings.clone();
    other.redis_prefix = prefix();
    let lonely = start_relay(other, std::net::TcpListener::bind("127.0.0.1:0").unwrap()).await;
    wait_ready(&stack.relay).await;
    wait_ready(&lonely).await;
    let alice = stack.signup("alice").await;
    let (mut far, _) = stack.connect_to(&lonely, &alice).await;
    stack
        .publish(
            &stack.relay,
            json!({"deliveries": [{"target": {"user": alice.id}, "payload": {"type": "x"}}]}),
        )
        .await;
    far.silent(Duration::from_millis(500)).await;
}

struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for the reconnect test");
        Self { child, port }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port below Linux's ephemeral range (32768+): while the private Redis is down, no
/// outgoing connection or `bind(0)` elsewhere can take its port.
fn free_port() -> u16 {
    loop {
        let port = 20_000 + (Uuid::new_v4().as_u128() % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_loses_redis_says_so_and_reconnects() {
    let port = free_port();
    let server = RedisServer::start(port);
    let url = format!("redis://127.0.0.1:{}", server.port);
    let channel = prefix();
    let stack = spawn_stack_with(Options::new(Engine::Sqlite).relay({
        let (url, channel) = (url.clone(), channel.clone());
        move |s| {
            s.redis_url = Some(url);
            s.redis_prefix = channel;
        }
    }))
    .await;
    let b_node = stack.second_relay().await;
    wait_ready(&stack.relay).await;
    wait_ready(&b_node).await;

    drop(server);
    eventually("readyz reports Redis down", || async {
        let (status, body) = ready(&stack.relay).await;
        status == StatusCode::SERVICE_UNAVAILABLE && body["checks"]["redis"].is_string()
    })
    .await;

    let _server = RedisServer::start(port);
    wait_ready(&stack.relay).await;
    wait_ready(&b_node).await;

    let alice = stack.signup("alice").await;
    let (mut far, _) = stack.connect_to(&b_node, &alice).await;
    // The publisher reconnects on its first failure; allow it one lost message.
    let mut got = None;
    for _ in 0..3 {
        stack
            .publish(
                &stack.relay,
                json!({"deliveries": [{"target": {"user": alice.id}, "payload": {"type": "back"}}]}),
            )
            .await;
        got = far.try_recv(Duration::from_secs(1)).await;
        if got.is_some() {
            break;
        }
    }
    assert_eq!(got, Some(json!({"type": "back"})));
}
