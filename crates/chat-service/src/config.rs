//! chat-service settings, read once from the environment (see `.env.example`).

use std::path::PathBuf;
use std::time::Duration;

use relay_client::RetryPolicy;
use service_kit::config::{
    bool_var, check_database_url, ensure, list_var, millis_var, parse_var, secs_var, var,
};
use service_kit::{AppEnv, Caller, ConfigError, InternalKeySet, TrustedProxies};

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
    /// `/internal/ws/*` and auth-service's on `/internal/user-events`.
    pub internal_keys: InternalKeySet,
    /// The proxies (nginx) whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`): the
    /// client address the audit log records.
    pub trusted_proxies: TrustedProxies,
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
    /// Uploads, downloads and where the bytes live (docs/architecture.md, "Files").
    pub files: FileSettings,
    /// Web Push (docs/architecture.md, "Notifications").
    pub push: PushSettings,
    /// The address people open the web app at (`PUBLIC_URL`, no trailing `/`): links in mail.
    pub public_url: String,
    /// E-mail digests of unread direct messages and mentions.
    pub digest: DigestSettings,
}

/// E-mail digests (docs/architecture.md, "Notifications"): `DIGEST_*`.
#[derive(Debug, Clone)]
pub struct DigestSettings {
    /// `DIGEST_ENABLED`: run the digest task at all.
    pub enabled: bool,
    /// `DIGEST_TICK_SECONDS`: how often the task looks for people to mail.
    pub tick: Duration,
    /// `DIGEST_AFTER_MINUTES`: how long a person must have been away, and an item unread,
    /// before it is mailed; also the least time between two digests to one person.
    pub after: Duration,
    /// `DIGEST_MAX_ITEMS`: messages listed in one mail (the rest are counted).
    pub max_items: usize,
    /// `DIGEST_LOOKBACK_HOURS`: older unread items are never mailed (nor looked at).
    pub lookback: Duration,
}

impl Default for DigestSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            tick: Duration::from_secs(60),
            after: Duration::from_secs(30 * 60),
            max_items: 20,
            lookback: Duration::from_secs(24 * 3600),
        }
    }
}

impl DigestSettings {
    fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let minutes = |var: &str, default: Duration| -> Result<Duration, ConfigError> {
            let m: u64 = parse_var(var, default.as_secs() / 60)?;
            Ok(Duration::from_secs(m.saturating_mul(60)))
        };
        Ok(Self {
            enabled: bool_var("DIGEST_ENABLED", d.enabled)?,
            tick: secs_var("DIGEST_TICK_SECONDS", d.tick)?,
            after: minutes("DIGEST_AFTER_MINUTES", d.after)?,
            max_items: parse_var("DIGEST_MAX_ITEMS", d.max_items)?,
            lookback: {
                let h: u64 = parse_var("DIGEST_LOOKBACK_HOURS", d.lookback.as_secs() / 3600)?;
                Duration::from_secs(h.saturating_mul(3600))
            },
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        ensure(
            !self.tick.is_zero(),
            "DIGEST_TICK_SECONDS",
            "must be at least 1",
        )?;
        ensure(
            !self.after.is_zero(),
            "DIGEST_AFTER_MINUTES",
            "must be at least 1",
        )?;
        ensure(
            (1..=200).contains(&self.max_items),
            "DIGEST_MAX_ITEMS",
            "must be 1 to 200",
        )?;
        ensure(
            self.lookback >= self.after,
            "DIGEST_LOOKBACK_HOURS",
            "must be at least DIGEST_AFTER_MINUTES",
        )
    }
}

/// Web Push: keys, what may be subscribed, and how pushes are sent (`PUSH_*`).
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// `PUSH_ENABLED`: false answers the push routes with 503 `push_disabled` and sends nothing.
    pub enabled: bool,
    /// `PUSH_VAPID_PRIVATE_KEY`: a base64url P-256 scalar (32 bytes) or a PKCS#8 PEM; unset:
    /// one is made on first start and kept in `instance_secrets`, shared by the replicas.
    pub vapid_private_key: Option<Secret>,
    /// `PUSH_VAPID_SUBJECT`: the contact push services see in the VAPID token (`mailto:` or
    /// `https:`); unset: `PUBLIC_URL` when it is https, else a placeholder address.
    pub vapid_subject: String,
    /// `PUSH_ALLOW_INSECURE_ENDPOINTS`: accept http endpoints and private hosts (tests, dev).
    pub allow_insecure_endpoints: bool,
    /// `PUSH_MAX_SUBSCRIPTIONS_PER_USER`: past it, the user's oldest subscription is replaced.
    pub max_subscriptions_per_user: u32,
    /// `PUSH_COLLAPSE_SECONDS`: after a push for a room, later messages of that room wait
    /// this long and go as one push with their count.
    pub collapse: Duration,
    /// `PUSH_TTL_SECONDS`: how long a push service keeps an undelivered push (`TTL`).
    pub ttl: Duration,
    /// `PUSH_CONCURRENCY`: pushes in flight at once.
    pub concurrency: usize,
    /// `PUSH_RETRIES`: further tries after a network error, 429 or 5xx.
    pub retries: u32,
    /// `PUSH_REDACT_CONTENT`: pushes say who wrote, never what.
    pub redact_content: bool,
    /// `PUSH_QUEUE`: stored messages waiting for the notifier; past it they are dropped
    /// (counted and logged), never slowing a send.
    pub queue: usize,
}

/// A secret setting: its `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

/// The VAPID subject when neither `PUSH_VAPID_SUBJECT` nor an https `PUBLIC_URL` gives one.
pub const DEFAULT_VAPID_SUBJECT: &str = "mailto:push@cloudchat.invalid";

impl PushSettings {
    pub fn development() -> Self {
        Self {
            enabled: true,
            vapid_private_key: None,
            vapid_subject: DEFAULT_VAPID_SUBJECT.to_owned(),
            allow_insecure_endpoints: false,
            max_subscriptions_per_user: 10,
            collapse: Duration::from_secs(60),
            ttl: Duration::from_secs(3600),
            concurrency: 16,
            retries: 3,
            redact_content: false,
            queue: 1024,
        }
    }

    fn from_env() -> Result<Self, ConfigError> {
        let d = Self::development();
        let public_https = var("PUBLIC_URL").filter(|u| u.starts_with("https://"));
        Ok(Self {
            enabled: bool_var("PUSH_ENABLED", d.enabled)?,
            vapid_private_key: var("PUSH_VAPID_PRIVATE_KEY").map(Secret),
            vapid_subject: var("PUSH_VAPID_SUBJECT")
                .or(public_https)
                .unwrap_or(d.vapid_subject),
            allow_insecure_endpoints: bool_var(
                "PUSH_ALLOW_INSECURE_ENDPOINTS",
                d.allow_insecure_endpoints,
            )?,
            max_subscriptions_per_user: parse_var(
                "PUSH_MAX_SUBSCRIPTIONS_PER_USER",
                d.max_subscriptions_per_user,
            )?,
            collapse: secs_var("PUSH_COLLAPSE_SECONDS", d.collapse)?,
            ttl: secs_var("PUSH_TTL_SECONDS", d.ttl)?,
            concurrency: parse_var("PUSH_CONCURRENCY", d.concurrency)?,
            retries: parse_var("PUSH_RETRIES", d.retries)?,
            redact_content: bool_var("PUSH_REDACT_CONTENT", d.redact_content)?,
            queue: parse_var("PUSH_QUEUE", d.queue)?,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let at_least_one = "must be at least 1";
        ensure(
            self.max_subscriptions_per_user > 0,
            "PUSH_MAX_SUBSCRIPTIONS_PER_USER",
            at_least_one,
        )?;
        ensure(
            !self.collapse.is_zero(),
            "PUSH_COLLAPSE_SECONDS",
            at_least_one,
        )?;
        ensure(
            (1..=256).contains(&self.concurrency),
            "PUSH_CONCURRENCY",
            "must be 1 to 256",
        )?;
        ensure(self.retries <= 10, "PUSH_RETRIES", "must be 0 to 10")?;
        ensure(self.queue > 0, "PUSH_QUEUE", at_least_one)?;
        // RFC 8292: the subject is a contact URI.
        ensure(
            self.vapid_subject.starts_with("mailto:") || self.vapid_subject.starts_with("https://"),
            "PUSH_VAPID_SUBJECT",
            "must be a mailto: or https: URI (RFC 8292)",
        )
    }
}

/// Where uploaded files are stored (`STORAGE_URL`).
#[derive(Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// A directory of the local filesystem (`file:///abs/path`; unset: `DATA_DIR/files`).
    Local(PathBuf),
    /// An S3-compatible bucket (`s3://bucket/prefix`).
    S3(S3Config),
}

#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/`; empty for none).
    pub prefix: String,
    /// `S3_ENDPOINT`: for MinIO and other S3-compatible stores; unset: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    /// `S3_ACCESS_KEY_ID` / `S3_SECRET_ACCESS_KEY`; unset: the standard `AWS_*` variables
    /// (object_store's `from_env`).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub allow_http: bool,
    /// Path-style requests (`endpoint/bucket/key`), which MinIO and most self-hosted stores
    /// want; false: virtual-hosted style (`bucket.endpoint/key`).
    pub force_path_style: bool,
}

impl std::fmt::Debug for S3Config {
    // The secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("allow_http", &self.allow_http)
            .field("force_path_style", &self.force_path_style)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageConfig::Local(dir) => write!(f, "Local({})", dir.display()),
            StorageConfig::S3(s3) => s3.fmt(f),
        }
    }
}

impl StorageConfig {
    /// `STORAGE_URL` and the `S3_*` variables; `data_dir/files` when the URL is unset.
    fn from_env(data_dir: &std::path::Path) -> Result<Self, ConfigError> {
        let (bucket, prefix) = match parse_storage_url(var(STORAGE_URL).as_deref(), data_dir)? {
            StorageUrl::Local(dir) => return Ok(StorageConfig::Local(dir)),
            StorageUrl::S3 { bucket, prefix } => (bucket, prefix),
        };
        Ok(StorageConfig::S3(S3Config {
            bucket,
            prefix,
            endpoint: var("S3_ENDPOINT"),
            region: var("S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
            access_key_id: var("S3_ACCESS_KEY_ID"),
            secret_access_key: var("S3_SECRET_ACCESS_KEY"),
            allow_http: bool_var("S3_ALLOW_HTTP", false)?,
            force_path_style: bool_var("S3_FORCE_PATH_STYLE", true)?,
        }))
    }
}

const STORAGE_URL: &str = "STORAGE_URL";

/// What `STORAGE_URL` names.
#[derive(Debug, PartialEq, Eq)]
enum StorageUrl {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

/// `STORAGE_URL`: unset → `data_dir/files`; `file:///abs/dir`; `s3://bucket/prefix`.
fn parse_storage_url(
    url: Option<&str>,
    data_dir: &std::path::Path,
) -> Result<StorageUrl, ConfigError> {
    let Some(url) = url else {
        return Ok(StorageUrl::Local(data_dir.join("files")));
    };
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(ConfigError::new(
                STORAGE_URL,
                "a file URL names an absolute directory: file:///var/lib/cloudchat/files",
            ));
        }
        return Ok(StorageUrl::Local(PathBuf::from(path)));
    }
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err(ConfigError::new(
            STORAGE_URL,
            "must be file:///absolute/dir or s3://bucket/prefix (unset: DATA_DIR/files)",
        ));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(ConfigError::new(
            STORAGE_URL,
            "s3:// needs a bucket: s3://bucket/prefix",
        ));
    }
    Ok(StorageUrl::S3 {
        bucket: bucket.to_owned(),
        prefix: prefix.trim_matches('/').to_owned(),
    })
}

/// Uploads and downloads.
#[derive(Debug, Clone)]
pub struct FileSettings {
    pub storage: StorageConfig,
    /// The largest upload, enforced while it streams (`UPLOAD_MAX_BYTES`).
    pub upload_max_bytes: u64,
    /// What one user's live uploads may add up to (`UPLOAD_QUOTA_BYTES`).
    pub upload_quota_bytes: u64,
    pub uploads_per_hour: u32,
    /// Images decoded at once, on the blocking pool (`IMAGE_WORKERS`).
    pub image_workers: usize,
    /// Larger images (width × height) are kept as plain files (`IMAGE_MAX_PIXELS`).
    pub image_max_pixels: u64,
    /// An upload never attached is deleted this long after it was made.
    pub unattached_ttl: Duration,
    /// How often the sweeper runs (`UPLOAD_SWEEP_SECS`).
    pub sweep_interval: Duration,
    /// `Cache-Control: private, max-age=` of downloads (`FILES_CACHE_MAX_AGE_SECS`).
    pub cache_max_age: Duration,
    /// The `cc_files` cookie is `Secure` (PUBLIC_URL is https, or APP_ENV=production).
    pub secure_cookie: bool,
}

impl FileSettings {
    pub fn development(storage: StorageConfig) -> Self {
        Self {
            storage,
            upload_max_bytes: 25 * 1024 * 1024,
            upload_quota_bytes: 1024 * 1024 * 1024,
            uploads_per_hour: 100,
            image_workers: 2,
            image_max_pixels: 40_000_000,
            unattached_ttl: Duration::from_secs(86_400),
            sweep_interval: Duration::from_secs(300),
            cache_max_age: Duration::from_secs(3600),
            secure_cookie: false,
        }
    }

    fn from_env(env: AppEnv, data_dir: &std::path::Path) -> Result<Self, ConfigError> {
        let d = Self::development(StorageConfig::Local(PathBuf::new()));
        let public_https = var("PUBLIC_URL").is_some_and(|u| u.starts_with("https://"));
        Ok(Self {
            storage: StorageConfig::from_env(data_dir)?,
            upload_max_bytes: parse_var("UPLOAD_MAX_BYTES", d.upload_max_bytes)?,
            upload_quota_bytes: parse_var("UPLOAD_QUOTA_BYTES", d.upload_quota_bytes)?,
            uploads_per_hour: parse_var("UPLOADS_PER_HOUR", d.uploads_per_hour)?,
            image_workers: parse_var("IMAGE_WORKERS", d.image_workers)?,
            image_max_pixels: parse_var("IMAGE_MAX_PIXELS", d.image_max_pixels)?,
            unattached_ttl: secs_var("UPLOAD_UNATTACHED_TTL_SECS", d.unattached_ttl)?,
            sweep_interval: secs_var("UPLOAD_SWEEP_SECS", d.sweep_interval)?,
            cache_max_age: secs_var("FILES_CACHE_MAX_AGE_SECS", d.cache_max_age)?,
            secure_cookie: public_https || env.is_production(),
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.upload_max_bytes == 0 {
            return Err(ConfigError::new("UPLOAD_MAX_BYTES", "must be at least 1"));
        }
        if self.upload_quota_bytes < self.upload_max_bytes {
            return Err(ConfigError::new(
                "UPLOAD_QUOTA_BYTES",
                "must be at least UPLOAD_MAX_BYTES (one upload must fit)",
            ));
        }
        if self.uploads_per_hour == 0 {
            return Err(ConfigError::new("UPLOADS_PER_HOUR", "must be at least 1"));
        }
        if !(1..=64).contains(&self.image_workers) {
            return Err(ConfigError::new("IMAGE_WORKERS", "must be 1 to 64"));
        }
        if self.image_max_pixels == 0 {
            return Err(ConfigError::new("IMAGE_MAX_PIXELS", "must be at least 1"));
        }
        if self.sweep_interval.is_zero() {
            return Err(ConfigError::new("UPLOAD_SWEEP_SECS", "must be at least 1"));
        }
        Ok(())
    }
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
    /// Uploads one message may carry (`attachmentIds`).
    pub max_attachments_per_message: u32,
    /// Searches (`GET /search`) per user per minute.
    pub searches_per_minute: u32,
    /// `sort=relevance` ranks the newest this many matches of a search.
    pub search_rank_window: u32,
    /// The shortest mute (`CHAT_MIN_MUTE_SECONDS`; tests lower it).
    pub min_mute_seconds: u32,
    /// The longest mute (`CHAT_MAX_MUTE_SECONDS`, 30 days).
    pub max_mute_seconds: u32,
    /// Users one user may block (`CHAT_MAX_BLOCKS`).
    pub max_blocks: u32,
    /// Reports one user may file per hour (`CHAT_REPORTS_PER_HOUR`).
    pub reports_per_hour: u32,
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
            max_attachments_per_message: 10,
            searches_per_minute: 120,
            search_rank_window: 1000,
            min_mute_seconds: 60,
            max_mute_seconds: 30 * 24 * 3600,
            max_blocks: 1000,
            reports_per_hour: 20,
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
            max_attachments_per_message: parse_var(
                "CHAT_MAX_ATTACHMENTS_PER_MESSAGE",
                d.max_attachments_per_message,
            )?,
            searches_per_minute: parse_var("CHAT_SEARCHES_PER_MINUTE", d.searches_per_minute)?,
            search_rank_window: parse_var("CHAT_SEARCH_RANK_WINDOW", d.search_rank_window)?,
            min_mute_seconds: parse_var("CHAT_MIN_MUTE_SECONDS", d.min_mute_seconds)?,
            max_mute_seconds: parse_var("CHAT_MAX_MUTE_SECONDS", d.max_mute_seconds)?,
            max_blocks: parse_var("CHAT_MAX_BLOCKS", d.max_blocks)?,
            reports_per_hour: parse_var("CHAT_REPORTS_PER_HOUR", d.reports_per_hour)?,
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
            ("CHAT_SEARCHES_PER_MINUTE", self.searches_per_minute),
            ("CHAT_SEARCH_RANK_WINDOW", self.search_rank_window),
            ("CHAT_MIN_MUTE_SECONDS", self.min_mute_seconds),
            ("CHAT_MAX_BLOCKS", self.max_blocks),
            ("CHAT_REPORTS_PER_HOUR", self.reports_per_hour),
        ];
        for (var, value) in positive {
            if value == 0 {
                return Err(ConfigError::new(var, "must be at least 1"));
            }
        }
        if self.max_mute_seconds < self.min_mute_seconds {
            return Err(ConfigError::new(
                "CHAT_MAX_MUTE_SECONDS",
                "must be at least CHAT_MIN_MUTE_SECONDS",
            ));
        }
        // The relay's frame and answer budgets are sized for at most this many (wire).
        if !(1..=wire::protocol::MAX_ATTACHMENTS as u32).contains(&self.max_attachments_per_message)
        {
            return Err(ConfigError::new(
                "CHAT_MAX_ATTACHMENTS_PER_MESSAGE",
                format!("must be 1 to {}", wire::protocol::MAX_ATTACHMENTS),
            ));
        }
        Ok(())
    }
}

/// The internal key chat-service presents.
pub const HOLDS_KEY: Caller = Caller::Chat;
/// The callers whose keys chat-service accepts: relays (`/internal/ws/*`) and auth-service
/// (`/internal/user-events`).
pub const ACCEPTS_KEYS: &[Caller] = &[Caller::Relay, Caller::Auth];
/// Every key chat-service reads (and, in production, requires).
pub const USES_KEYS: &[Caller] = &[Caller::Chat, Caller::Relay, Caller::Auth];

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
            trusted_proxies: TrustedProxies::none(),
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
            files: FileSettings::development(StorageConfig::Local(PathBuf::from("data/files"))),
            push: PushSettings::development(),
            public_url: "http://localhost:8080".to_owned(),
            digest: DigestSettings::default(),
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
            trusted_proxies: TrustedProxies::parse(
                "TRUSTED_PROXIES",
                &list_var("TRUSTED_PROXIES"),
            )?,
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
            files: FileSettings::from_env(env, &data_dir)?,
            push: PushSettings::from_env()?,
            public_url: var("PUBLIC_URL")
                .map(|u| u.trim_end_matches('/').to_owned())
                .unwrap_or(d.public_url),
            digest: DigestSettings::from_env()?,
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
        self.files.validate()?;
        self.push.validate()?;
        self.digest.validate()?;
        if !(self.public_url.starts_with("https://") || self.public_url.starts_with("http://")) {
            return Err(ConfigError::new(
                "PUBLIC_URL",
                "must be the http(s) address of the web app, e.g. https://chat.example.com",
            ));
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
        assert_eq!(
            with(|l| l.max_attachments_per_message = 21),
            Err("CHAT_MAX_ATTACHMENTS_PER_MESSAGE".to_owned())
        );
        let mut quota_below_max = ok.clone();
        quota_below_max.files.upload_quota_bytes = quota_below_max.files.upload_max_bytes - 1;
        assert_eq!(
            quota_below_max.validate().map_err(|e| e.var),
            Err("UPLOAD_QUOTA_BYTES".to_owned())
        );
    }

    #[test]
    fn storage_urls() {
        let data = std::path::Path::new("/srv/data");
        let parse = |url| parse_storage_url(url, data).map_err(|e| e.var);
        assert_eq!(
            parse(None),
            Ok(StorageUrl::Local(PathBuf::from("/srv/data/files")))
        );
        assert_eq!(
            parse(Some("file:///var/files")),
            Ok(StorageUrl::Local(PathBuf::from("/var/files")))
        );
        assert_eq!(
            parse(Some("s3://bucket/a/b/")),
            Ok(StorageUrl::S3 {
                bucket: "bucket".to_owned(),
                prefix: "a/b".to_owned()
            })
        );
        assert_eq!(
            parse(Some("s3://bucket")),
            Ok(StorageUrl::S3 {
                bucket: "bucket".to_owned(),
                prefix: String::new()
            })
        );
        for bad in [
            "file://relative",
            "s3://",
            "s3:///prefix",
            "http://minio:9000/b",
        ] {
            assert_eq!(parse(Some(bad)), Err(STORAGE_URL.to_owned()), "{bad}");
        }
    }
}
