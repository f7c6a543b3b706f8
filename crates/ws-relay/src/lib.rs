//! Cloud Chat's WebSocket relay: it holds the client sockets and forwards their events to
//! chat-service over HTTP (the pattern of API Gateway's WebSocket APIs), and delivers what
//! chat-service sends back — alone in memory, or across relays over Redis pub/sub.
//!
//! Layout: [`routes::ws`] (the upgrade and `$connect`), [`socket`] (reading, writing and the
//! per-connection session), [`hub`] (routing tables), [`fanout`] (Redis), [`chat_client`] (the
//! client to chat-service), [`dispatch`] (batching actions to it), [`membership`] (re-reading
//! live connections' rooms), [`protocol`] (frames and close codes), [`relay`] (the handle that
//! ties them together) and [`startup`]. The client protocol is documented in
//! `docs/protocol.md`.

pub mod chat_client;
pub mod config;
pub mod dispatch;
pub mod fanout;
pub mod hub;
pub mod membership;
pub mod protocol;
pub mod relay;
pub mod routes;
pub mod socket;
pub mod startup;

pub use config::Settings;
pub use relay::Relay;
pub use startup::{Application, configure};
