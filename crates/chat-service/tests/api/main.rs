//! chat-service integration tests: real chat-service and real auth-service over HTTP on port
//! 0, each on its own database, every test on SQLite and on PostgreSQL. A plain HTTP listener
//! stands in for the relay to record what chat-service publishes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod admin;
mod batching;
mod blocks;
mod changes;
mod concurrency;
mod digest;
mod direct;
mod email_verification;
mod export;
mod files;
mod internal;
mod limits;
mod members;
mod mentions;
mod messages;
mod moderation;
mod push;
mod reactions;
mod receipts;
mod replies;
mod reports;
mod rooms;
mod search;
