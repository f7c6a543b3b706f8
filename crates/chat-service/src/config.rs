//! chat-service settings, read once from the environment (see `.env.example`).

use std::path::PathBuf;
use std::time::Duration;

use service_kit::config::{bool_var, check_database_url, parse_var, var};
use service_kit::{AppEnv, Caller, ConfigError, InternalKeySet};

#[derive(Debug, Clone)]
pub struct Settings {
    pub env: AppEnv,
    pub bind_addr: String,
    pub database_url: String,
    pub migrate_on_start: bool,
    /// auth-service: JWKS at `/.well-known/jwks.json`, user look-ups at `/internal/users/...`.
    pub auth_url: String,
    /// A relay's base URL for `POST /internal/publish`; unset: no real-time fan-out of REST
    /// events (clients still catch up with `sync`).
    pub relay_url: Option<String>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// Holds `CHAT_INTERNAL_KEY` (to call relays and auth-service); accepts relays' key on
    /// `/internal/ws/*`.
    pub internal_keys: InternalKeySet,
    pub ticket_ttl: Duration,
    /// Sends allowed per user per `send_window`: bursts of at least 50 must pass.
    pub send_limit: u32,
    pub send_window: Duration,
    /// Most sends stored in one transaction (group commit).
    pub write_batch: usize,
    /// Group-commit writers on PostgreSQL, each with its own connection and share of the
    /// rooms (SQLite always has one).
    pub writers: usize,
}

/// The internal key chat-service presents.
pub const HOLDS_KEY: Caller = Caller::Chat;
/// The callers whose keys chat-service accepts.
pub const ACCEPTS_KEYS: &[Caller] = &[Caller::Relay];
/// Every key chat-service reads (and, in production, requires).
pub const USES_KEYS: &[Caller] = &[Caller::Chat, Caller::Relay];

impl Settings {
    /// Development defaults: what `from_env` gives with no variables set, on the given
    /// database and auth-service. Used by tests and by the one-process quick start.
    pub fn development(database_url: &str, auth_url: &str) -> Self {
        Self {
            env: AppEnv::Development,
            bind_addr: "127.0.0.1:8082".to_owned(),
            database_url: database_url.to_owned(),
            migrate_on_start: true,
            auth_url: auth_url.to_owned(),
            relay_url: None,
            jwt_issuer: "cloudchat-auth".to_owned(),
            jwt_audience: "cloudchat".to_owned(),
            internal_keys: InternalKeySet::development(),
            ticket_ttl: Duration::from_secs(30),
            send_limit: 120,
            send_window: Duration::from_secs(10),
            write_batch: 128,
            writers: 4,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let env = AppEnv::from_env()?;
        let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "data".to_owned()));
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/chat.db", data_dir.display()));
        let d = Self::development(&database_url, "http://127.0.0.1:8081");
        let internal_keys = InternalKeySet::from_env(env, USES_KEYS)?;
        let settings = Self {
            env,
            bind_addr: var("BIND_ADDR").unwrap_or(d.bind_addr),
            migrate_on_start: bool_var("MIGRATE_ON_START", database_url.starts_with("sqlite:"))?,
            database_url,
            auth_url: var("AUTH_URL").unwrap_or(d.auth_url),
            relay_url: var("RELAY_URL"),
            jwt_issuer: var("JWT_ISSUER").unwrap_or(d.jwt_issuer),
            jwt_audience: var("JWT_AUDIENCE").unwrap_or(d.jwt_audience),
            internal_keys,
            ticket_ttl: Duration::from_secs(parse_var(
                "WS_TICKET_TTL_SECS",
                d.ticket_ttl.as_secs(),
            )?),
            send_limit: parse_var("CHAT_SEND_LIMIT", d.send_limit)?,
            send_window: Duration::from_secs(parse_var(
                "CHAT_SEND_WINDOW_SECS",
                d.send_window.as_secs(),
            )?),
            write_batch: parse_var("CHAT_WRITE_BATCH", d.write_batch)?,
            writers: parse_var("CHAT_WRITERS", d.writers)?,
        };
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.send_limit < 50 {
            return Err(ConfigError::new(
                "CHAT_SEND_LIMIT",
                "must allow bursts of at least 50 messages",
            ));
        }
        if self.write_batch == 0 {
            return Err(ConfigError::new("CHAT_WRITE_BATCH", "must be at least 1"));
        }
        if !(1..=32).contains(&self.writers) {
            return Err(ConfigError::new("CHAT_WRITERS", "must be 1 to 32"));
        }
        if self.env.is_production() {
            self.internal_keys.validate(self.env, USES_KEYS)?;
            check_database_url(self.env, "DATABASE_URL", &self.database_url)?;
        }
        Ok(())
    }
}
