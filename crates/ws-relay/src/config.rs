//! ws-relay settings, read once from the environment (see `.env.example` and
//! `docs/protocol.md` for the limits).

use std::time::Duration;

use service_kit::config::{bool_var, list_var, millis_var, parse_var, secs_var, var};
use service_kit::{AppEnv, Caller, ConfigError, InternalKeySet, TrustedProxies};

pub use crate::dispatch::DispatchLimits;

/// The internal key a relay presents (to chat-service and auth-service).
pub const HOLDS_KEY: Caller = Caller::Relay;
/// The callers whose keys a relay accepts: chat-service with full power, auth-service for
/// disconnect controls only (`routes/internal.rs`).
pub const ACCEPTS_KEYS: &[Caller] = &[Caller::Chat, Caller::Auth];
/// Every key a relay reads (and, in production, requires).
pub const USES_KEYS: &[Caller] = &[Caller::Relay, Caller::Chat, Caller::Auth];

/// The most events chat-service takes in one `POST /internal/ws/actions`.
pub const MAX_CHAT_BATCH: usize = 1024;

/// The largest batch body chat-service takes (its `BATCH_BODY_LIMIT`), less room for what the
/// relay's estimate of a batch's size leaves out.
pub const MAX_CHAT_BATCH_BYTES: usize = 15 * 1024 * 1024;

/// The most `RELAY_MAX_WATCHED_USERS` may be: a `watchPresence` of that many ids still fits
/// in one client frame (`WS_MAX_FRAME_BYTES`, at least 1024 — a UUID takes 39 bytes).
pub const MAX_WATCHED_USERS: usize = 10_000;

/// Per-connection and per-relay limits (docs/protocol.md, "Limits").
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest client message (a frame, or all fragments of one message), in bytes; past it
    /// the connection is closed with 1009.
    pub max_frame_bytes: usize,
    /// Sustained actions per second per connection (token-bucket refill rate).
    pub actions_per_sec: u32,
    /// Actions a connection may send at once before it is limited (bucket size).
    pub action_burst: u32,
    /// Frames waiting to be written to one client; a client that lets it fill is closed
    /// with 1013.
    pub outbound_queue: usize,
    /// Bytes waiting to be written to one client (the frame being written included); past
    /// it, too, the client is closed with 1013.
    pub outbound_max_bytes: usize,
    /// WebSocket upgrades one client address may attempt per minute (429 past it).
    pub connects_per_minute: u32,
    pub max_connections_per_user: usize,
    pub max_connections: usize,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 64 * 1024,
            actions_per_sec: 20,
            action_burst: 40,
            outbound_queue: 256,
            outbound_max_bytes: 1024 * 1024,
            connects_per_minute: 60,
            max_connections_per_user: 20,
            max_connections: 50_000,
            ping_interval: Duration::from_secs(25),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Presence (docs/architecture.md, "Presence"): the watch limit, the debounce of going
/// offline, and, with Redis, how this relay proves it is alive.
#[derive(Debug, Clone)]
pub struct PresenceSettings {
    /// Users one connection may watch (`watchPresence`).
    pub max_watched: usize,
    /// How long a user stays online after their last socket here closed; a reconnect (to any
    /// relay) within it is no change.
    pub grace: Duration,
    /// How often this relay renews its record in Redis and sweeps dead relays' records.
    pub heartbeat: Duration,
    /// A relay whose record was not renewed for this long is dead: its users are taken
    /// offline by the others.
    pub expiry: Duration,
}

impl Default for PresenceSettings {
    fn default() -> Self {
        Self {
            max_watched: 200,
            grace: Duration::from_secs(10),
            heartbeat: Duration::from_secs(5),
            expiry: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub env: AppEnv,
    pub bind_addr: String,
    /// chat-service's base URL (`/internal/ws/...`).
    pub chat_url: String,
    /// auth-service's base URL, for its JWKS (`refreshToken`).
    pub auth_url: String,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub internal_keys: InternalKeySet,
    /// Exact `Origin` values accepted on `/ws`.
    pub allowed_origins: Vec<String>,
    /// Unset: this relay works alone, in memory.
    pub redis_url: Option<String>,
    /// Prefix of the Redis pub/sub channel (`{prefix}:fanout`); relays that should see each
    /// other's traffic share it.
    pub redis_prefix: String,
    /// This relay's name in logs, in `$connect` and on Redis.
    pub relay_id: String,
    pub trusted_proxies: TrustedProxies,
    /// After SIGTERM, how long connections get to close before the process exits.
    pub shutdown_drain: Duration,
    /// Timeout of every call to chat-service (connect timeout is the smaller of this and 2 s).
    pub chat_timeout: Duration,
    /// How actions are batched to chat-service and how many may wait.
    pub dispatch: DispatchLimits,
    /// Largest `POST /internal/publish` body.
    pub publish_max_bytes: usize,
    /// How often the rooms of every user with a connection here are read again from
    /// chat-service, to repair subscriptions whose control item was lost (jittered).
    pub rooms_recheck: Duration,
    /// Control items (subscribe, unsubscribe, disconnect) waiting for Redis; they are kept
    /// and resent while Redis is away, up to this many.
    pub redis_control_queue: usize,
    pub limits: Limits,
    pub presence: PresenceSettings,
    /// Serves `GET /ws-echo`, an unauthenticated echo socket for the Autobahn protocol suite.
    /// Tests only; refused in production.
    pub enable_echo: bool,
    /// How often revoked sessions are read from auth-service (`REVOCATION_POLL_MS`); live
    /// sockets of a session revoked since are closed with 4003 at each poll.
    pub revocation_poll: Duration,
}

impl Settings {
    /// Development defaults (what `from_env` gives with nothing set), for tests and for a
    /// process that embeds the relay.
    pub fn development(chat_url: &str, auth_url: &str) -> Self {
        Self {
            env: AppEnv::Development,
            bind_addr: "127.0.0.1:8083".to_owned(),
            chat_url: chat_url.to_owned(),
            auth_url: auth_url.to_owned(),
            jwt_issuer: "cloudchat-auth".to_owned(),
            jwt_audience: "cloudchat".to_owned(),
            internal_keys: InternalKeySet::development(),
            allowed_origins: vec![
                "http://localhost:8080".to_owned(),
                "http://127.0.0.1:8080".to_owned(),
            ],
            redis_url: None,
            redis_prefix: "cloudchat".to_owned(),
            relay_id: default_relay_id(),
            trusted_proxies: TrustedProxies::none(),
            shutdown_drain: Duration::from_secs(20),
            chat_timeout: Duration::from_millis(5000),
            dispatch: DispatchLimits::default(),
            publish_max_bytes: 1024 * 1024,
            rooms_recheck: Duration::from_secs(60),
            redis_control_queue: 100_000,
            limits: Limits::default(),
            presence: PresenceSettings::default(),
            enable_echo: false,
            revocation_poll: Duration::from_millis(2000),
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
        let internal_keys = match keys {
            Some(keys) => keys,
            None => InternalKeySet::from_env(env, USES_KEYS)?,
        };
        let allowed_origins = {
            let list = list_var("ALLOWED_ORIGINS");
            if list.is_empty() {
                vec![
                    "http://localhost:8080".to_owned(),
                    "http://127.0.0.1:8080".to_owned(),
                ]
            } else {
                list
            }
        };
        let defaults = Limits::default();
        let limits = Limits {
            max_frame_bytes: parse_var("WS_MAX_FRAME_BYTES", defaults.max_frame_bytes)?,
            actions_per_sec: parse_var("WS_ACTIONS_PER_SEC", defaults.actions_per_sec)?,
            action_burst: parse_var("WS_ACTION_BURST", defaults.action_burst)?,
            outbound_queue: parse_var("WS_OUTBOUND_QUEUE", defaults.outbound_queue)?,
            outbound_max_bytes: parse_var("RELAY_OUTBOUND_MAX_BYTES", defaults.outbound_max_bytes)?,
            connects_per_minute: parse_var(
                "RELAY_CONNECTS_PER_MINUTE",
                defaults.connects_per_minute,
            )?,
            max_connections_per_user: parse_var(
                "WS_MAX_CONNECTIONS_PER_USER",
                defaults.max_connections_per_user,
            )?,
            max_connections: parse_var("WS_MAX_CONNECTIONS", defaults.max_connections)?,
            ping_interval: secs_var("WS_PING_INTERVAL_SECS", Duration::from_secs(25))?,
            idle_timeout: secs_var("WS_IDLE_TIMEOUT_SECS", Duration::from_secs(60))?,
        };
        let dispatch_defaults = DispatchLimits::default();
        let dispatch = DispatchLimits {
            max_batch: parse_var("CHAT_BATCH_MAX", dispatch_defaults.max_batch)?,
            max_in_flight: parse_var("CHAT_MAX_IN_FLIGHT", dispatch_defaults.max_in_flight)?,
            queue: parse_var("CHAT_QUEUE", dispatch_defaults.queue)?,
            max_batch_bytes: parse_var("CHAT_BATCH_MAX_BYTES", dispatch_defaults.max_batch_bytes)?,
            max_reply_bytes: parse_var(
                "CHAT_BATCH_REPLY_MAX_BYTES",
                dispatch_defaults.max_reply_bytes,
            )?,
            sync_reply_bytes: parse_var(
                "CHAT_REPLY_MAX_BYTES",
                dispatch_defaults.sync_reply_bytes,
            )?,
        };
        let presence_defaults = PresenceSettings::default();
        let presence = PresenceSettings {
            max_watched: parse_var("RELAY_MAX_WATCHED_USERS", presence_defaults.max_watched)?,
            grace: secs_var("RELAY_PRESENCE_GRACE_SECS", presence_defaults.grace)?,
            heartbeat: secs_var("RELAY_PRESENCE_HEARTBEAT_SECS", presence_defaults.heartbeat)?,
            expiry: secs_var("RELAY_PRESENCE_EXPIRY_SECS", presence_defaults.expiry)?,
        };
        Ok(Self {
            env,
            bind_addr: var("BIND_ADDR").unwrap_or_else(|| "127.0.0.1:8083".to_owned()),
            chat_url: var("CHAT_URL").unwrap_or_else(|| "http://127.0.0.1:8082".to_owned()),
            auth_url: var("AUTH_URL").unwrap_or_else(|| "http://127.0.0.1:8081".to_owned()),
            jwt_issuer: var("JWT_ISSUER").unwrap_or_else(|| "cloudchat-auth".to_owned()),
            jwt_audience: var("JWT_AUDIENCE").unwrap_or_else(|| "cloudchat".to_owned()),
            internal_keys,
            allowed_origins,
            redis_url: var("REDIS_URL"),
            redis_prefix: var("REDIS_PREFIX").unwrap_or_else(|| "cloudchat".to_owned()),
            relay_id: var("RELAY_ID").unwrap_or_else(default_relay_id),
            trusted_proxies: TrustedProxies::parse(
                "TRUSTED_PROXIES",
                &list_var("TRUSTED_PROXIES"),
            )?,
            shutdown_drain: secs_var("SHUTDOWN_DRAIN_SECS", Duration::from_secs(20))?,
            chat_timeout: millis_var("CHAT_TIMEOUT_MS", Duration::from_millis(5000))?,
            dispatch,
            publish_max_bytes: parse_var("RELAY_PUBLISH_MAX_BYTES", 1024 * 1024)?,
            rooms_recheck: secs_var("RELAY_ROOMS_RECHECK_SECS", Duration::from_secs(60))?,
            redis_control_queue: parse_var("RELAY_REDIS_CONTROL_QUEUE", 100_000)?,
            limits,
            presence,
            enable_echo: bool_var("WS_ENABLE_ECHO", false)?,
            revocation_poll: millis_var("REVOCATION_POLL_MS", Duration::from_millis(2000))?,
        })
    }

    /// Rules that hold however the settings were built (also for tests and embedding).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        if l.max_frame_bytes < 1024 {
            return Err(ConfigError::new(
                "WS_MAX_FRAME_BYTES",
                "must be at least 1024",
            ));
        }
        if l.actions_per_sec == 0 || l.action_burst == 0 {
            return Err(ConfigError::new(
                "WS_ACTIONS_PER_SEC",
                "WS_ACTIONS_PER_SEC and WS_ACTION_BURST must be at least 1",
            ));
        }
        if l.outbound_queue == 0 {
            return Err(ConfigError::new("WS_OUTBOUND_QUEUE", "must be at least 1"));
        }
        if l.outbound_max_bytes < 1024 {
            return Err(ConfigError::new(
                "RELAY_OUTBOUND_MAX_BYTES",
                "must be at least 1024",
            ));
        }
        if l.connects_per_minute == 0 {
            return Err(ConfigError::new(
                "RELAY_CONNECTS_PER_MINUTE",
                "must be at least 1",
            ));
        }
        if self.publish_max_bytes < 1024 {
            return Err(ConfigError::new(
                "RELAY_PUBLISH_MAX_BYTES",
                "must be at least 1024",
            ));
        }
        if self.rooms_recheck.is_zero() {
            return Err(ConfigError::new(
                "RELAY_ROOMS_RECHECK_SECS",
                "must be at least 1",
            ));
        }
        if self.redis_control_queue == 0 {
            return Err(ConfigError::new(
                "RELAY_REDIS_CONTROL_QUEUE",
                "must be at least 1",
            ));
        }
        if l.max_connections == 0 || l.max_connections_per_user == 0 {
            return Err(ConfigError::new(
                "WS_MAX_CONNECTIONS",
                "WS_MAX_CONNECTIONS and WS_MAX_CONNECTIONS_PER_USER must be at least 1",
            ));
        }
        if l.ping_interval.is_zero() || l.idle_timeout <= l.ping_interval {
            return Err(ConfigError::new(
                "WS_IDLE_TIMEOUT_SECS",
                "must be longer than WS_PING_INTERVAL_SECS, which must be at least 1",
            ));
        }
        let p = &self.presence;
        if p.max_watched == 0 || p.max_watched > MAX_WATCHED_USERS {
            return Err(ConfigError::new(
                "RELAY_MAX_WATCHED_USERS",
                format!("must be 1 to {MAX_WATCHED_USERS}"),
            ));
        }
        if p.heartbeat.is_zero() {
            return Err(ConfigError::new(
                "RELAY_PRESENCE_HEARTBEAT_SECS",
                "must be at least 1",
            ));
        }
        if p.expiry < p.heartbeat * 2 {
            return Err(ConfigError::new(
                "RELAY_PRESENCE_EXPIRY_SECS",
                "must be at least twice RELAY_PRESENCE_HEARTBEAT_SECS (one late heartbeat must not make a live relay look dead)",
            ));
        }
        if self.revocation_poll < Duration::from_millis(100) {
            return Err(ConfigError::new(
                "REVOCATION_POLL_MS",
                "must be at least 100",
            ));
        }
        if self.chat_timeout.is_zero() {
            return Err(ConfigError::new("CHAT_TIMEOUT_MS", "must be at least 1"));
        }
        let d = &self.dispatch;
        if d.max_batch == 0 || d.max_batch > MAX_CHAT_BATCH {
            return Err(ConfigError::new(
                "CHAT_BATCH_MAX",
                format!("must be 1 to {MAX_CHAT_BATCH} (what chat-service accepts in one batch)"),
            ));
        }
        if d.max_batch_bytes < 64 * 1024 || d.max_batch_bytes > MAX_CHAT_BATCH_BYTES {
            return Err(ConfigError::new(
                "CHAT_BATCH_MAX_BYTES",
                format!(
                    "must be 65536 to {MAX_CHAT_BATCH_BYTES} (what chat-service accepts in one batch)"
                ),
            ));
        }
        if d.sync_reply_bytes == 0 || d.max_reply_bytes < d.sync_reply_bytes.max(64 * 1024) {
            return Err(ConfigError::new(
                "CHAT_BATCH_REPLY_MAX_BYTES",
                "must be at least 65536 and at least CHAT_REPLY_MAX_BYTES (one sync answer), which must be at least 1",
            ));
        }
        if d.max_in_flight == 0 || d.queue == 0 {
            return Err(ConfigError::new(
                "CHAT_MAX_IN_FLIGHT",
                "CHAT_MAX_IN_FLIGHT and CHAT_QUEUE must be at least 1",
            ));
        }
        if self.relay_id.is_empty() || self.relay_id.len() > 128 {
            return Err(ConfigError::new("RELAY_ID", "must be 1 to 128 characters"));
        }
        if self.env.is_production() {
            self.internal_keys.validate(self.env, USES_KEYS)?;
            if self.enable_echo {
                return Err(ConfigError::new(
                    "WS_ENABLE_ECHO",
                    "serves an unauthenticated test socket and must be off in production",
                ));
            }
        }
        Ok(())
    }
}

/// The host name (containers and pods name themselves), else a random id.
fn default_relay_id() -> String {
    var("HOSTNAME")
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| format!("relay-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]))
}
