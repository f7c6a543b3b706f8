//! Service plumbing shared by the Cloud Chat services.
//!
//! Everything a service needs around its handlers and nothing about chat itself: typed
//! configuration from the environment, tracing set-up, the request middleware (request ids,
//! access log, HTTP metrics), the one error type every response error becomes (RFC 9457
//! problem+json), health/readiness/metrics endpoints, the client IP behind trusted proxies,
//! rate limiting, and the per-caller internal API keys.

pub mod cli;
pub mod client_ip;
pub mod config;
pub mod extract;
pub mod healthcheck;
pub mod internal;
pub mod middleware;
pub mod number;
pub mod openapi;
pub mod ops;
pub mod problem;
pub mod ratelimit;
pub mod server;
pub mod telemetry;

pub use client_ip::TrustedProxies;
pub use config::{AppEnv, ConfigError};
pub use internal::{
    Caller, FromAuth, FromChat, FromChatOrAuth, FromRelay, FromRelayOrChat, INTERNAL_KEY_HEADER,
    InternalApiKey, InternalCaller, InternalKeySet, InternalKeys,
};
pub use middleware::{REQUEST_ID_HEADER, RequestId};
pub use problem::{FieldError, Problem};
