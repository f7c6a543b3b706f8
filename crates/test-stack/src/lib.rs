//! The Cloud Chat services running for integration tests, and the calls tests make to them.
//!
//! Three stacks, each the one below plus a service, so that a test suite starts the least it
//! needs:
//! - [`AuthStack`]: auth-service alone (auth-service's tests), with sign-up and log-in;
//! - [`ChatStack`]: auth-service and chat-service publishing to a relay URL the test gives —
//!   a [`FakeRelay`] in chat-service's tests — with the REST calls users make and tickets;
//! - [`Stack`]: auth-service, chat-service behind a [`Gate`] and a real relay, with sockets
//!   ([`Ws`]) and the relay's internal API (ws-relay's tests).
//!
//! Each service listens on port 0 and has its own fresh database (SQLite or PostgreSQL, see
//! [`test_support::TestDatabase`]); every service is configured with the three per-caller
//! internal keys of [`test_support::internal_keys`]. A test tweaks a service's settings with a
//! closure over that service's own `Settings` type before it starts.
//!
//! This crate is only ever a dev-dependency, and it depends on auth-service, chat-service and
//! ws-relay — the crates whose integration tests use it. Cargo allows that cycle because it
//! goes through a dev-dependency, and the types unify: an integration test (`tests/`) links
//! the service's ordinary library, the same build this crate links, so the
//! `chat_service::config::Settings` a test's closure names is the one this crate passes it.
//! Only a service's unit tests (`#[cfg(test)]` in `src/`) are a second build of the library,
//! whose types would not match this crate's; they do not use it. Lighter plumbing that needs
//! no service (databases, [`both_engines!`](test_support::both_engines), the internal keys,
//! [`FakeRelay`], problem+json assertions) stays in `test-support`, which relay-client and
//! the quick start's tests use without building every service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod actions;
mod auth;
mod chat;
mod gate;
mod stack;
mod ws;

use serde_json::Value;
use uuid::Uuid;

pub use actions::{refresh_token, send_message, sync_after};
pub use auth::{AuthStack, auth_settings};
pub use chat::ChatStack;
pub use gate::Gate;
pub use stack::{
    Options, RelayNode, Stack, deliver, relay_settings, spawn_stack, spawn_stack_with, start_relay,
};
pub use test_support::{AUTH_KEY, CHAT_KEY, FakePeer, FakeRelay, RELAY_KEY, assert_problem};
pub use ws::{Ack, IntoFrameId, Refusal, WAIT, Ws, frame_id, upgrade_request};

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";
/// The web app's origin, the one every service allows.
pub const ORIGIN: &str = "http://localhost:8080";
/// The room every user is in.
pub const GENERAL: i64 = 1;
/// The Redis server relays fan out over when a test asks for it.
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// A signed-up user with one session: what register, log-in and refresh answer.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    /// The session's access token.
    pub token: String,
    /// The session's refresh token.
    pub refresh: String,
}

impl User {
    /// The user in an answer of register, log-in or refresh, checked to have `status`.
    async fn from_answer(res: reqwest::Response, status: reqwest::StatusCode) -> Self {
        assert_eq!(res.status(), status, "{}", res.url().path());
        let body: Value = res.json().await.unwrap();
        let text = |v: &Value| v.as_str().unwrap().to_owned();
        Self {
            id: body["user"]["id"].as_str().unwrap().parse().unwrap(),
            name: text(&body["user"]["username"]),
            email: text(&body["user"]["email"]),
            token: text(&body["accessToken"]),
            refresh: text(&body["refreshToken"]),
        }
    }

    /// The session id (`sid`) the access token carries.
    pub fn sid(&self) -> String {
        use base64::Engine as _;
        let payload = self.token.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        claims["sid"].as_str().unwrap().to_owned()
    }
}
