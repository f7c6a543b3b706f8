//! auth-service and chat-service (a [`test_stack::ChatStack`]) with a [`FakeRelay`] in the
//! relay's place, and the calls a relay makes to chat-service.

use std::ops::Deref;

use actix_web::web;
use chat_service::config::Settings;
use chat_service::startup::AppState;
use reqwest::Response;
use serde_json::{Value, json};
use test_stack::ChatStack;
pub(crate) use test_stack::{
    AUTH_KEY, CHAT_KEY, FakeRelay, GENERAL, RELAY_KEY, User, assert_problem,
};
use test_support::Engine;

/// The running services; dereferences to its [`ChatStack`] (users, rooms, messages, tickets).
pub(crate) struct TestApp {
    stack: ChatStack,
    pub relay: FakeRelay,
    pub state: web::Data<AppState>,
}

impl Deref for TestApp {
    type Target = ChatStack;

    fn deref(&self) -> &ChatStack {
        &self.stack
    }
}

pub(crate) async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |_| {}).await
}

pub(crate) async fn spawn_app_with(engine: Engine, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_relay(engine, FakeRelay::start().await, tweak).await
}

/// With this stand-in for the relay (for example one that refuses the first publishes).
pub(crate) async fn spawn_app_with_relay(
    engine: Engine,
    relay: FakeRelay,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let stack = ChatStack::spawn(engine, &relay.url, |_| {}, tweak).await;
    TestApp {
        state: stack.chat_state.clone(),
        stack,
        relay,
    }
}

impl TestApp {
    pub(crate) async fn internal(&self, path: &str, body: &Value) -> Response {
        self.internal_at(&self.chat, path, body).await
    }

    /// An internal call to the replica at `base`, as a relay makes it.
    pub(crate) async fn internal_at(&self, base: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(format!("{base}{path}"))
            .header("x-internal-api-key", RELAY_KEY)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Runs a WebSocket action as the relay would.
    pub(crate) async fn action(&self, user: &User, action: &str, body: Value) -> Response {
        let request = json!({
            "connectionId": "conn-1",
            "identity": {"userId": user.id, "username": user.name},
            "body": body,
        });
        self.internal(&format!("/internal/ws/actions/{action}"), &request)
            .await
    }

    /// Waits for the relay stand-in to have received `n` publishes, and returns them.
    pub(crate) async fn published(&self, n: usize) -> Vec<Value> {
        self.relay
            .wait_for(n)
            .await
            .into_iter()
            .map(|(key, body)| {
                assert_eq!(key.as_deref(), Some(CHAT_KEY));
                body
            })
            .collect()
    }
}

/// One event of a relay's batch (`POST /internal/ws/actions`).
pub(crate) fn event(user: &User, connection: &str, action: &str, body: Value) -> Value {
    json!({
        "action": action,
        "connectionId": connection,
        "identity": {"userId": user.id, "username": user.name},
        "body": body,
    })
}

pub(crate) fn seqs(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}
