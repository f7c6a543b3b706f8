//! chat-service settings, read once from the environment (see `.env.example`).

use std::path::PathBuf;
use std::time::Duration;

use service_kit::config::{bool_var, check_database_url, check_secret, parse_var, var};
use service_kit::{AppEnv, ConfigError};

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
    pub internal_api_key: String,
    pub ticket_ttl: Duration,
    /// Sends allowed per user per `send_window`: bursts of at least 50 must pass.
    pub send_limit: u32,
    pub send_window: Duration,
    /// Most sends stored in one transaction (group commit).
    pub write_batch: usize,
    /// Group-commit writers on PostgreSQL, each with its own connection and share of the
    /// rooms (SQLite always has one).
    pub writers: usize,
    /// How often revoked sessions are read from auth-service (`REVOCATION_POLL_MS`): the
    /// bound on how long a revoked session's access token still works here.
    pub revocation_poll: Duration,
    /// Most keys the in-memory rate limiter holds (`RATE_LIMIT_MAX_KEYS`).
    pub rate_limit_max_keys: usize,
}

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
            internal_api_key: "dev-internal-key".to_owned(),
            ticket_ttl: Duration::from_secs(30),
            send_limit: 120,
            send_window: Duration::from_secs(10),
            write_batch: 128,
            writers: 4,
            revocation_poll: Duration::from_millis(2000),
            rate_limit_max_keys: service_kit::ratelimit::DEFAULT_MAX_KEYS,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let env = AppEnv::from_env()?;
        let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "data".to_owned()));
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/chat.db", data_dir.display()));
        let d = Self::development(&database_url, "http://127.0.0.1:8081");
        let internal_api_key = var("INTERNAL_API_KEY");
        if env.is_production() {
            check_secret(env, "INTERNAL_API_KEY", internal_api_key.as_deref())?;
        }
        let settings = Self {
            env,
            bind_addr: var("BIND_ADDR").unwrap_or(d.bind_addr),
            migrate_on_start: bool_var("MIGRATE_ON_START", database_url.starts_with("sqlite:"))?,
            database_url,
            auth_url: var("AUTH_URL").unwrap_or(d.auth_url),
            relay_url: var("RELAY_URL"),
            jwt_issuer: var("JWT_ISSUER").unwrap_or(d.jwt_issuer),
            jwt_audience: var("JWT_AUDIENCE").unwrap_or(d.jwt_audience),
            internal_api_key: internal_api_key.unwrap_or(d.internal_api_key),
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
            revocation_poll: Duration::from_millis(parse_var(
                "REVOCATION_POLL_MS",
                d.revocation_poll.as_millis() as u64,
            )?),
            rate_limit_max_keys: parse_var("RATE_LIMIT_MAX_KEYS", d.rate_limit_max_keys)?,
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
        if self.revocation_poll < Duration::from_millis(100) {
            return Err(ConfigError::new(
                "REVOCATION_POLL_MS",
                "must be at least 100",
            ));
        }
        if self.rate_limit_max_keys == 0 {
            return Err(ConfigError::new(
                "RATE_LIMIT_MAX_KEYS",
                "must be at least 1",
            ));
        }
        if self.env.is_production() {
            check_secret(self.env, "INTERNAL_API_KEY", Some(&self.internal_api_key))?;
            check_database_url(self.env, "DATABASE_URL", &self.database_url)?;
        }
        Ok(())
    }
}
