//! auth-service: accounts, sessions (refresh-token families with rotation and reuse
//! detection), password reset, and the signing keys others verify access tokens with.

pub mod config;
pub mod domain;
pub mod error;
pub mod login_throttle;
pub mod mailer;
pub mod oidc;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod store;
