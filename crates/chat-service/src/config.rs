//! chat-service settings, read once from the environment (see `.env.example`).

use std::path::PathBuf;
use std::time::Duration;

use relay_client::RetryPolicy;
use service_kit::config::{bool_var, check_database_url, millis_var, parse_var, secs_var, var};
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
    /// Shares rate-limit counters (sends, typing, room creation, member adds) between
    /// replicas; unset: each replica counts in memory.
    pub redis_url: Option<String>,
    /// How publishes with control items are retried (`RELAY_PUBLISH_RETRY_SECS`, `RELAY_PUBLISH_QUEUE`).
    pub relay_retry: RetryPolicy,
    pub limits: Limits,
    /// How often revoked sessions are read from auth-service (`REVOCATION_POLL_MS`): the
    /// bound on how long a revoked session's access token still works here.
    pub revocation_poll: Duration,
    /// Most keys the in-memory rate limiter holds (`RATE_LIMIT_MAX_KEYS`).
    pub rate_limit_max_keys: usize,
}

/// Bounds on what one user may make the service hold or do (docs/architecture.md).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Serialised messages in one `sync` or history answer (at least one message is always sent).
    pub reply_max_bytes: usize,
    /// The whole answer to a relay's batch of actions.
    pub batch_reply_max_bytes: usize,
    /// At most one `typing` fan-out per (user, room) this often.
    pub typing_interval: Duration,
    pub max_rooms_owned: u32,
    pub room_creates_per_hour: u32,
    pub max_members_per_room: u32,
    /// Rooms a user may be a member of (not counting `general`).
    pub max_rooms_per_user: u32,
    /// Member adds per owner per minute.
    pub member_adds_per_minute: u32,
    /// Distinct emoji on one message.
    pub max_reactions_per_message: u32,
    /// Reactions added or removed per user per minute.
    pub reactions_per_minute: u32,
    /// At most one `readMarker` frame per user and room this often.
    pub read_receipt_interval: Duration,
    /// Direct rooms a user may open per hour (opening an existing one is free).
    pub dm_creates_per_hour: u32,
    /// Distinct users one message may mention by name.
    pub max_mentions_per_message: u32,
    /// The largest room `@room` may mention.
    pub room_mention_max_members: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            reply_max_bytes: 512 * 1024,
            batch_reply_max_bytes: 8 * 1024 * 1024,
            typing_interval: Duration::from_millis(2000),
            max_rooms_owned: 100,
            room_creates_per_hour: 20,
            max_members_per_room: 1000,
            max_rooms_per_user: 500,
            member_adds_per_minute: 60,
            max_reactions_per_message: 20,
            reactions_per_minute: 120,
            read_receipt_interval: Duration::from_millis(2000),
            dm_creates_per_hour: 60,
            max_mentions_per_message: 20,
            room_mention_max_members: 500,
        }
    }
}

impl Limits {
    fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        Ok(Self {
            reply_max_bytes: parse_var("CHAT_REPLY_MAX_BYTES", d.reply_max_bytes)?,
            batch_reply_max_bytes: parse_var(
                "CHAT_BATCH_REPLY_MAX_BYTES",
                d.batch_reply_max_bytes,
            )?,
            typing_interval: millis_var("CHAT_TYPING_INTERVAL_MS", d.typing_interval)?,
            max_rooms_owned: parse_var("CHAT_MAX_ROOMS_OWNED", d.max_rooms_owned)?,
            room_creates_per_hour: parse_var(
                "CHAT_ROOM_CREATES_PER_HOUR",
                d.room_creates_per_hour,
            )?,
            max_members_per_room: parse_var("CHAT_MAX_MEMBERS_PER_ROOM", d.max_members_per_room)?,
            max_rooms_per_user: parse_var("CHAT_MAX_ROOMS_PER_USER", d.max_rooms_per_user)?,
            member_adds_per_minute: parse_var(
                "CHAT_MEMBER_ADDS_PER_MINUTE",
                d.member_adds_per_minute,
            )?,
            max_reactions_per_message: parse_var(
                "CHAT_MAX_REACTIONS_PER_MESSAGE",
                d.max_reactions_per_message,
            )?,
            reactions_per_minute: parse_var("CHAT_REACTIONS_PER_MINUTE", d.reactions_per_minute)?,
            read_receipt_interval: millis_var(
                "CHAT_READ_RECEIPT_INTERVAL_MS",
                d.read_receipt_interval,
            )?,
            dm_creates_per_hour: parse_var("CHAT_DM_CREATES_PER_HOUR", d.dm_creates_per_hour)?,
            max_mentions_per_message: parse_var(
                "CHAT_MAX_MENTIONS_PER_MESSAGE",
                d.max_mentions_per_message,
            )?,
            room_mention_max_members: parse_var(
                "CHAT_ROOM_MENTION_MAX_MEMBERS",
                d.room_mention_max_members,
            )?,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        // An answer must hold at least one message and the frame around it.
        if self.reply_max_bytes < 32 * 1024 {
            return Err(ConfigError::new(
                "CHAT_REPLY_MAX_BYTES",
                "must be at least 32768 (one message of 4000 characters)",
            ));
        }
        // Room for a `busy` answer to each of a full batch's events, and for two full syncs.
        if self.batch_reply_max_bytes < (2 * self.reply_max_bytes).max(1024 * 1024) {
            return Err(ConfigError::new(
                "CHAT_BATCH_REPLY_MAX_BYTES",
                "must be at least 1 MiB and twice CHAT_REPLY_MAX_BYTES",
            ));
        }
        let positive = [
            ("CHAT_MAX_ROOMS_OWNED", self.max_rooms_owned),
            ("CHAT_ROOM_CREATES_PER_HOUR", self.room_creates_per_hour),
            ("CHAT_MAX_MEMBERS_PER_ROOM", self.max_members_per_room),
            ("CHAT_MAX_ROOMS_PER_USER", self.max_rooms_per_user),
            ("CHAT_MEMBER_ADDS_PER_MINUTE", self.member_adds_per_minute),
            (
                "CHAT_MAX_REACTIONS_PER_MESSAGE",
                self.max_reactions_per_message,
            ),
            ("CHAT_REACTIONS_PER_MINUTE", self.reactions_per_minute),
            ("CHAT_DM_CREATES_PER_HOUR", self.dm_creates_per_hour),
            (
                "CHAT_MAX_MENTIONS_PER_MESSAGE",
                self.max_mentions_per_message,
            ),
            (
                "CHAT_ROOM_MENTION_MAX_MEMBERS",
                self.room_mention_max_members,
            ),
        ];
        for (var, value) in positive {
            if value == 0 {
                return Err(ConfigError::new(var, "must be at least 1"));
            }
        }
        Ok(())
    }
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
            redis_url: None,
            relay_retry: RetryPolicy::default(),
            limits: Limits::default(),
            revocation_poll: Duration::from_millis(2000),
            rate_limit_max_keys: service_kit::ratelimit::DEFAULT_MAX_KEYS,
        }
    }

    /// The settings the environment gives, checked ([`Self::validate`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        let settings = Self::read_env(None)?;
        settings.validate()?;
        Ok(settings)
    }

    /// The settings the environment gives, unchecked, with the internal keys given instead of
    /// read (the one-process quick start makes its own); check them with [`Self::validate`]
    /// once they are complete.
    pub fn read_env(keys: Option<InternalKeySet>) -> Result<Self, ConfigError> {
        let env = AppEnv::from_env()?;
        let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "data".to_owned()));
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/chat.db", data_dir.display()));
        let d = Self::development(&database_url, "http://127.0.0.1:8081");
        let internal_keys = match keys {
            Some(keys) => keys,
            None => InternalKeySet::from_env(env, USES_KEYS)?,
        };
        Ok(Self {
            env,
            bind_addr: var("BIND_ADDR").unwrap_or(d.bind_addr),
            migrate_on_start: bool_var("MIGRATE_ON_START", database_url.starts_with("sqlite:"))?,
            database_url,
            auth_url: var("AUTH_URL").unwrap_or(d.auth_url),
            relay_url: var("RELAY_URL"),
            jwt_issuer: var("JWT_ISSUER").unwrap_or(d.jwt_issuer),
            jwt_audience: var("JWT_AUDIENCE").unwrap_or(d.jwt_audience),
            internal_keys,
            ticket_ttl: secs_var("WS_TICKET_TTL_SECS", d.ticket_ttl)?,
            send_limit: parse_var("CHAT_SEND_LIMIT", d.send_limit)?,
            send_window: secs_var("CHAT_SEND_WINDOW_SECS", d.send_window)?,
            write_batch: parse_var("CHAT_WRITE_BATCH", d.write_batch)?,
            writers: parse_var("CHAT_WRITERS", d.writers)?,
            redis_url: var("REDIS_URL"),
            relay_retry: RetryPolicy::from_env()?,
            limits: Limits::from_env()?,
            revocation_poll: millis_var("REVOCATION_POLL_MS", d.revocation_poll)?,
            rate_limit_max_keys: parse_var("RATE_LIMIT_MAX_KEYS", d.rate_limit_max_keys)?,
        })
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
        self.limits.validate()?;
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
            self.internal_keys.validate(self.env, USES_KEYS)?;
            check_database_url(self.env, "DATABASE_URL", &self.database_url)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_and_caps_are_checked() {
        let ok = Settings::development("sqlite://x.db", "http://auth");
        assert!(ok.validate().is_ok());
        let with = |change: fn(&mut Limits)| {
            let mut s = ok.clone();
            change(&mut s.limits);
            s.validate().map_err(|e| e.var)
        };
        assert_eq!(
            with(|l| l.reply_max_bytes = 1000),
            Err("CHAT_REPLY_MAX_BYTES".to_owned())
        );
        assert_eq!(
            with(|l| l.batch_reply_max_bytes = 512 * 1024),
            Err("CHAT_BATCH_REPLY_MAX_BYTES".to_owned())
        );
        assert_eq!(
            with(|l| l.max_members_per_room = 0),
            Err("CHAT_MAX_MEMBERS_PER_ROOM".to_owned())
        );
        assert!(with(|l| l.typing_interval = Duration::ZERO).is_ok());
    }
}
