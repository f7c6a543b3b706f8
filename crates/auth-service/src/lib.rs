//! auth-service: accounts, sessions (refresh-token families with rotation and reuse
//! detection), password reset, the signing keys others verify access tokens with, and
//! instance roles and suspensions (with their audit log and the user events chat-service
//! hears of them).

pub mod admin_cli;
pub mod chat_client;
pub mod config;
pub mod domain;
pub mod error;
pub mod login_throttle;
pub mod mailer;
pub mod mfa;
pub mod oidc;
pub mod openapi;
pub mod ops;
pub mod routes;
pub mod startup;
pub mod store;
pub mod user_events;
