//! WebSocket connections: the two steps of the upgrade (admission, then attachment), the
//! connection as the relay holds it, reading frames safely, writing through a bounded queue,
//! the per-connection rate limit, and the session that drives one connection.

pub(crate) mod admission;
pub(crate) mod attach;
pub(crate) mod connection;
pub(crate) mod ratelimit;
pub(crate) mod reader;
pub(crate) mod session;
pub(crate) mod writer;
