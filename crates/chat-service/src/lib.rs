//! chat-service: rooms, members and messages over stateless REST, and the relay's internal
//! WebSocket contract. No socket and no per-connection state lives here: every WebSocket
//! event arrives with the identity returned at `$connect`.

pub mod auth_client;
pub mod batcher;
pub mod config;
pub mod domain;
pub mod error;
pub mod images;
pub mod openapi;
pub mod ops;
pub mod push;
pub mod routes;
pub mod startup;
pub mod storage;
pub mod store;
pub mod views;
