//! WebSocket connections: reading frames safely, writing through a bounded queue, and the
//! per-connection session.

pub mod connection;
pub mod ratelimit;
pub mod reader;
pub mod session;
pub mod writer;
