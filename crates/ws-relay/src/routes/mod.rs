//! HTTP routes: the WebSocket upgrade, the internal API, and the test-only echo socket.

pub mod echo;
pub mod internal;
pub mod ws;
