//! Cloud Chat's WebSocket relay: it holds the client sockets and forwards their events to
//! chat-service over HTTP (the pattern of API Gateway's WebSocket APIs), and delivers what
//! chat-service sends back — alone in memory, or across relays over Redis pub/sub.
//!
//! Layout: [`startup`] (the server and its routes), [`config`], [`relay`] (the handle that ties
//! the rest together), `routes` (`/ws`, the internal API, the echo socket), `socket` (the
//! upgrade's admission and attachment, the connection, reading, writing, the per-connection
//! session), `hub` (routing tables), [`fanout`] (delivery here and over Redis), `chat_client`
//! (the client of chat-service), `dispatch` (batching actions to it), `membership`
//! (re-reading live connections' rooms), `presence` (who is online, `watchPresence`) and
//! [`protocol`] (frames and close codes). The client
//! protocol is documented in `docs/protocol.md`.

pub(crate) mod chat_client;
pub mod config;
pub(crate) mod dispatch;
pub mod fanout;
pub(crate) mod hub;
pub(crate) mod membership;
pub(crate) mod presence;
pub mod protocol;
pub mod relay;
pub(crate) mod routes;
pub(crate) mod socket;
pub mod startup;

pub use config::Settings;
pub use relay::Relay;
pub use startup::{Application, configure};
