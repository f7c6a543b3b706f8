//! HTTP routes: the WebSocket upgrade, the internal API, and the test-only echo socket.

pub(crate) mod echo;
pub(crate) mod internal;
pub(crate) mod ws;
