//! auth-service integration tests: the real service over HTTP on port 0, each test on its own
//! database, every test on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod account;
mod admin;
mod audit;
mod cli;
mod email_verification;
mod internal;
mod login;
mod mfa;
mod outbox;
mod password_reset;
mod refresh;
mod register;
mod revocation;
mod security;
mod sessions;
mod sockets;
mod sso;
mod suspension;
mod users;
