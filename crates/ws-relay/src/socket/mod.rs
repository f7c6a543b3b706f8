//! WebSocket connections: the two steps of the upgrade (admission, then attachment), the
//! connection as the relay holds it, reading frames safely, writing through a bounded queue,
//! the per-connection rate limit, and the session that drives one connection.

pub mod admission;
pub mod attach;
pub mod connection;
pub mod ratelimit;
pub mod reader;
pub mod session;
pub mod writer;
