//! ws-relay integration tests: real auth-service, chat-service and relays on port 0, real
//! WebSocket clients, SQLite and PostgreSQL, and real Redis for the multi-relay tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod delivery;
mod internal_api;
mod membership;
mod presence;
mod protocol;
mod redis;
mod revocation;
