//! auth-service settings, read once from the environment (see `.env.example`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use service_kit::config::{
    bool_var, check_database_url, list_var, millis_var, parse_var, secs_var, var,
};
use service_kit::{AppEnv, Caller, ConfigError, InternalKeySet, TrustedProxies};

/// Rate limits. Per-address keys are the client's `address_key` (an IPv6 client by its /64).
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Login, register, refresh and reset requests per client address per minute.
    pub per_ip_per_min: u32,
    /// Failed log-ins for one account from one address per `login_failure_window`; past it
    /// that address is answered 429 for that account (others are not).
    pub login_failures_per_address: u32,
    pub login_failure_window: Duration,
    /// Failed log-ins for one account per hour from all addresses; past it an address that
    /// has failed is refused and one that has not waits `login_slowdown` before its attempt
    /// (slowed, never locked out: docs/decisions.md).
    pub login_failures_per_account: u32,
    pub login_slowdown: Duration,
    /// Forgot-password requests per address per hour, and mails per account per hour.
    pub forgot_per_hour: u32,
    /// Password and e-mail change attempts per user per hour.
    pub account_changes_per_hour: u32,
    /// Resend-verification requests per address per hour, and mails per account per hour
    /// (`EMAIL_VERIFICATION_RESEND_PER_HOUR`).
    pub verification_resend_per_hour: u32,
    /// Data exports per user per hour (`POST /users/me/export`).
    pub exports_per_hour: u32,
    /// Role and suspension changes per staff member per minute (`/admin/users/*`).
    pub admin_actions_per_minute: u32,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub env: AppEnv,
    pub bind_addr: String,
    pub database_url: String,
    pub migrate_on_start: bool,
    pub data_dir: PathBuf,
    /// PEM; `None` in development means "generate one under `data_dir`".
    pub jwt_private_key: Option<String>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub session_max_age: Duration,
    pub reset_ttl: Duration,
    /// How long an e-mail verification link works (`EMAIL_VERIFICATION_TTL_SECS`, 48 h).
    pub email_verification_ttl: Duration,
    /// Whether an account must verify its e-mail address before it may post or connect
    /// (`REQUIRE_EMAIL_VERIFICATION`): its access tokens then carry `unverified`, which
    /// chat-service refuses for writes (docs/architecture.md, "E-mail verification").
    pub require_email_verification: bool,
    /// Holds `AUTH_INTERNAL_KEY` (to publish disconnects to relays and deliver user events to
    /// chat-service); accepts chat-service's and relays' keys on `/internal/...`.
    pub internal_keys: InternalKeySet,
    pub relay_url: Option<String>,
    /// How publishes with control items (disconnects) are retried.
    pub relay_retry: relay_client::RetryPolicy,
    /// chat-service, which user events (role and suspension changes) are delivered to
    /// (`CHAT_URL`; required in production). `None`: they wait in the outbox undelivered.
    pub chat_url: Option<String>,
    /// How often the user-event dispatcher looks for events it was not woken for — written by
    /// the command line or another replica, or due for a retry (`USER_EVENTS_POLL_MS`).
    pub user_events_poll: Duration,
    /// How long delivered user events are kept (`USER_EVENTS_RETENTION_SECS`, 7 days).
    pub user_events_retention: Duration,
    pub public_url: String,
    pub allowed_origins: Vec<String>,
    pub trusted_proxies: TrustedProxies,
    pub bcrypt_cost: u32,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub dev_return_reset_link: bool,
    pub redis_url: Option<String>,
    pub rate_limits: RateLimits,
    /// Most keys the in-memory rate limiter holds (`RATE_LIMIT_MAX_KEYS`).
    pub rate_limit_max_keys: usize,
    /// Single sign-on with OpenID Connect; `None` (no `OIDC_ISSUER`) turns it off.
    pub oidc: Option<OidcSettings>,
    /// The second factor (TOTP).
    pub mfa: MfaSettings,
}

/// The second factor: TOTP secrets' encryption key, the name authenticator apps show, and
/// the log-in challenge's limits.
#[derive(Clone)]
pub struct MfaSettings {
    /// `TOTP_ENCRYPTION_KEY` (base64 of 32 bytes): what the TOTP secrets' AES-256-GCM key is
    /// derived from. `None`: a key made on first start and kept in the database
    /// (`instance_secrets`; docs/decisions.md, "Second factor").
    pub encryption_key: Option<[u8; 32]>,
    /// `TOTP_ISSUER`: the name authenticator apps list the account under.
    pub issuer: String,
    /// `MFA_CHALLENGE_TTL_SECS`: how long a log-in challenge waits for its code.
    pub challenge_ttl: Duration,
    /// `MFA_CHALLENGE_MAX_ATTEMPTS`: wrong codes a challenge survives before it dies.
    pub challenge_attempts: u32,
}

impl std::fmt::Debug for MfaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaSettings")
            .field("encryption_key", &self.encryption_key.map(|_| "<redacted>"))
            .field("issuer", &self.issuer)
            .field("challenge_ttl", &self.challenge_ttl)
            .field("challenge_attempts", &self.challenge_attempts)
            .finish()
    }
}

impl MfaSettings {
    /// `TOTP_ENCRYPTION_KEY`: 32 bytes in base64 (standard, or URL-safe without padding).
    fn parse_key(raw: &str) -> Result<[u8; 32], ConfigError> {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let invalid = || {
            ConfigError::new(
                "TOTP_ENCRYPTION_KEY",
                "must be 32 bytes in base64 (`openssl rand -base64 32`)",
            )
        };
        let bytes = STANDARD
            .decode(raw.trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(raw.trim()))
            .map_err(|_| invalid())?;
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| invalid())
    }

    fn read_env(d: MfaSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            encryption_key: var("TOTP_ENCRYPTION_KEY")
                .map(|raw| Self::parse_key(&raw))
                .transpose()?,
            issuer: var("TOTP_ISSUER").unwrap_or(d.issuer),
            challenge_ttl: secs_var("MFA_CHALLENGE_TTL_SECS", d.challenge_ttl)?,
            challenge_attempts: parse_var("MFA_CHALLENGE_MAX_ATTEMPTS", d.challenge_attempts)?,
        })
    }
}

/// Single sign-on with an OpenID Connect provider (docs/deploy.md, "Single sign-on").
#[derive(Clone)]
pub struct OidcSettings {
    /// `OIDC_ISSUER`: the provider's issuer URL, exactly as its discovery document states it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// `OIDC_REDIRECT_URL`, where the provider sends the browser back; `None` =
    /// `{PUBLIC_URL}/auth/oidc/callback` ([`Self::redirect_url`]).
    pub redirect_url: Option<String>,
    /// Lower-case e-mail domains whose people may sign up or link; empty = any.
    pub allowed_domains: Vec<String>,
    /// The button says "Sign in with {display_name}".
    pub display_name: String,
    /// Requested scopes; always includes `openid`.
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"..")
            .field("redirect_url", &self.redirect_url)
            .field("allowed_domains", &self.allowed_domains)
            .field("display_name", &self.display_name)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl OidcSettings {
    /// The `OIDC_*` variables; `None` when `OIDC_ISSUER` is unset.
    fn read_env() -> Option<Self> {
        let issuer = var("OIDC_ISSUER")?;
        Some(Self {
            issuer,
            client_id: var("OIDC_CLIENT_ID").unwrap_or_default(),
            client_secret: var("OIDC_CLIENT_SECRET").unwrap_or_default(),
            redirect_url: var("OIDC_REDIRECT_URL"),
            allowed_domains: list_var("OIDC_ALLOWED_DOMAINS")
                .into_iter()
                .map(|d| d.trim_start_matches('@').to_lowercase())
                .collect(),
            display_name: var("OIDC_DISPLAY_NAME").unwrap_or_else(|| "single sign-on".to_owned()),
            scopes: var("OIDC_SCOPES")
                .unwrap_or_else(|| "openid email profile".to_owned())
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// The callback URL the provider is told (and has registered for this client).
    pub fn redirect_url(&self, public_url: &str) -> String {
        self.redirect_url
            .clone()
            .unwrap_or_else(|| format!("{}/auth/oidc/callback", public_url.trim_end_matches('/')))
    }

    /// Every value checked at start: a misconfigured provider fails the start, not a sign-in.
    pub fn validate(&self, env: AppEnv, public_url: &str) -> Result<(), ConfigError> {
        check_url(env, "OIDC_ISSUER", &self.issuer)?;
        check_url(env, "OIDC_REDIRECT_URL", &self.redirect_url(public_url))?;
        if self.client_id.trim().is_empty() {
            return Err(ConfigError::new(
                "OIDC_CLIENT_ID",
                "is required with OIDC_ISSUER",
            ));
        }
        if self.client_secret.is_empty() {
            return Err(ConfigError::new(
                "OIDC_CLIENT_SECRET",
                "is required with OIDC_ISSUER (a confidential client)",
            ));
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err(ConfigError::new("OIDC_SCOPES", "must include openid"));
        }
        if self.display_name.trim().is_empty() || self.display_name.chars().count() > 64 {
            return Err(ConfigError::new(
                "OIDC_DISPLAY_NAME",
                "must be 1 to 64 characters",
            ));
        }
        for domain in &self.allowed_domains {
            let ok = !domain.is_empty()
                && domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
            if !ok {
                return Err(ConfigError::new(
                    "OIDC_ALLOWED_DOMAINS",
                    format!(
                        "{domain:?} is not a domain name (a comma list such as example.com,example.org)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether an e-mail's domain may sign up or link.
    pub fn allows_email(&self, email: &str) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_lowercase());
        self.allowed_domains.is_empty() || domain.is_some_and(|d| self.allowed_domains.contains(&d))
    }
}

/// An absolute http(s) URL without a fragment; plain http only for this machine or outside
/// production (the provider's answers are trusted because TLS says who sent them).
fn check_url(env: AppEnv, name: &str, raw: &str) -> Result<(), ConfigError> {
    let url =
        url::Url::parse(raw).map_err(|e| ConfigError::new(name, format!("is not a URL ({e})")))?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if local || !env.is_production() => {}
        _ => {
            return Err(ConfigError::new(
                name,
                "must be an https URL (plain http only for localhost, or outside production)",
            ));
        }
    }
    if url.fragment().is_some() || url.host_str().is_none() {
        return Err(ConfigError::new(
            name,
            "must be an absolute URL without a fragment",
        ));
    }
    Ok(())
}

/// The internal key auth-service presents.
pub const HOLDS_KEY: Caller = Caller::Auth;
/// The callers whose keys auth-service accepts.
pub const ACCEPTS_KEYS: &[Caller] = &[Caller::Chat, Caller::Relay];
/// Every key auth-service reads (and, in production, requires).
pub const USES_KEYS: &[Caller] = &[Caller::Auth, Caller::Chat, Caller::Relay];

/// `DATA_DIR` (default `data`) and `DATABASE_URL` (default the SQLite file `auth.db` in it):
/// all the command line's `admin` needs of the settings.
pub fn database_from_env() -> (PathBuf, String) {
    let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "data".to_owned()));
    let database_url =
        var("DATABASE_URL").unwrap_or_else(|| format!("sqlite://{}/auth.db", data_dir.display()));
    (data_dir, database_url)
}

/// chat-service's address when it runs on the same machine with its development defaults.
pub const DEVELOPMENT_CHAT_URL: &str = "http://127.0.0.1:8082";

impl Settings {
    /// Development defaults: what `from_env` gives with no variables set, on the given
    /// database. Used by tests and by the one-process quick start.
    pub fn development(database_url: &str, data_dir: &Path) -> Self {
        Self {
            env: AppEnv::Development,
            bind_addr: "127.0.0.1:8081".to_owned(),
            database_url: database_url.to_owned(),
            migrate_on_start: true,
            data_dir: data_dir.to_path_buf(),
            jwt_private_key: None,
            jwt_issuer: "cloudchat-auth".to_owned(),
            jwt_audience: "cloudchat".to_owned(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(14 * 24 * 3600),
            session_max_age: Duration::from_secs(30 * 24 * 3600),
            reset_ttl: Duration::from_secs(3600),
            email_verification_ttl: Duration::from_secs(48 * 3600),
            require_email_verification: false,
            internal_keys: InternalKeySet::development(),
            relay_url: None,
            relay_retry: relay_client::RetryPolicy::default(),
            chat_url: Some(DEVELOPMENT_CHAT_URL.to_owned()),
            user_events_poll: Duration::from_millis(1000),
            user_events_retention: Duration::from_secs(7 * 24 * 3600),
            public_url: "http://localhost:8080".to_owned(),
            allowed_origins: vec![
                "http://localhost:8080".to_owned(),
                "http://127.0.0.1:8080".to_owned(),
            ],
            trusted_proxies: TrustedProxies::none(),
            bcrypt_cost: 12,
            smtp_url: None,
            mail_from: "Cloud Chat <no-reply@localhost>".to_owned(),
            dev_return_reset_link: false,
            redis_url: None,
            rate_limits: RateLimits {
                per_ip_per_min: 30,
                login_failures_per_address: 10,
                login_failure_window: Duration::from_secs(15 * 60),
                login_failures_per_account: 100,
                login_slowdown: Duration::from_secs(3),
                forgot_per_hour: 5,
                account_changes_per_hour: 10,
                verification_resend_per_hour: 5,
                exports_per_hour: 4,
                admin_actions_per_minute: 60,
            },
            rate_limit_max_keys: service_kit::ratelimit::DEFAULT_MAX_KEYS,
            oidc: None,
            mfa: MfaSettings {
                encryption_key: None,
                issuer: "Cloud Chat".to_owned(),
                challenge_ttl: Duration::from_secs(300),
                challenge_attempts: 5,
            },
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
        let (data_dir, database_url) = database_from_env();
        let d = Self::development(&database_url, &data_dir);
        let jwt_private_key = match (var("JWT_PRIVATE_KEY"), var("JWT_PRIVATE_KEY_FILE")) {
            (Some(pem), _) => Some(pem.replace("\\n", "\n")),
            (None, Some(path)) => Some(std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::new("JWT_PRIVATE_KEY_FILE", format!("cannot read {path}: {e}"))
            })?),
            (None, None) => None,
        };
        let internal_keys = match keys {
            Some(keys) => keys,
            None => InternalKeySet::from_env(env, USES_KEYS)?,
        };
        let origins = list_var("ALLOWED_ORIGINS");
        let public_url = var("PUBLIC_URL").unwrap_or(d.public_url);
        Ok(Self {
            env,
            bind_addr: var("BIND_ADDR").unwrap_or(d.bind_addr),
            migrate_on_start: bool_var("MIGRATE_ON_START", database_url.starts_with("sqlite:"))?,
            database_url,
            data_dir,
            jwt_private_key,
            jwt_issuer: var("JWT_ISSUER").unwrap_or(d.jwt_issuer),
            jwt_audience: var("JWT_AUDIENCE").unwrap_or(d.jwt_audience),
            access_ttl: secs_var("ACCESS_TOKEN_TTL_SECS", d.access_ttl)?,
            refresh_ttl: secs_var("REFRESH_TOKEN_TTL_SECS", d.refresh_ttl)?,
            session_max_age: secs_var("SESSION_MAX_AGE_SECS", d.session_max_age)?,
            reset_ttl: secs_var("RESET_TOKEN_TTL_SECS", d.reset_ttl)?,
            email_verification_ttl: secs_var(
                "EMAIL_VERIFICATION_TTL_SECS",
                d.email_verification_ttl,
            )?,
            require_email_verification: bool_var("REQUIRE_EMAIL_VERIFICATION", false)?,
            internal_keys,
            relay_url: var("RELAY_URL"),
            relay_retry: relay_client::RetryPolicy::from_env()?,
            oidc: OidcSettings::read_env(),
            public_url,
            // No default in production: `validate` asks for it.
            chat_url: var("CHAT_URL").or(if env.is_production() {
                None
            } else {
                d.chat_url
            }),
            user_events_poll: millis_var("USER_EVENTS_POLL_MS", d.user_events_poll)?,
            user_events_retention: secs_var("USER_EVENTS_RETENTION_SECS", d.user_events_retention)?,
            allowed_origins: if origins.is_empty() {
                d.allowed_origins
            } else {
                origins
            },
            trusted_proxies: TrustedProxies::parse(
                "TRUSTED_PROXIES",
                &list_var("TRUSTED_PROXIES"),
            )?,
            bcrypt_cost: parse_var("BCRYPT_COST", d.bcrypt_cost)?,
            smtp_url: var("SMTP_URL"),
            mail_from: var("MAIL_FROM").unwrap_or(d.mail_from),
            dev_return_reset_link: bool_var("DEV_RETURN_RESET_LINK", false)?,
            redis_url: var("REDIS_URL"),
            rate_limits: RateLimits {
                per_ip_per_min: parse_var(
                    "AUTH_RATE_LIMIT_PER_IP_PER_MIN",
                    d.rate_limits.per_ip_per_min,
                )?,
                login_failures_per_address: parse_var(
                    "AUTH_LOGIN_FAILURES_PER_ADDRESS",
                    d.rate_limits.login_failures_per_address,
                )?,
                login_failure_window: secs_var(
                    "AUTH_LOGIN_FAILURE_WINDOW_SECS",
                    d.rate_limits.login_failure_window,
                )?,
                login_failures_per_account: parse_var(
                    "AUTH_LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR",
                    d.rate_limits.login_failures_per_account,
                )?,
                login_slowdown: millis_var("AUTH_LOGIN_SLOWDOWN_MS", d.rate_limits.login_slowdown)?,
                forgot_per_hour: parse_var("AUTH_FORGOT_PER_HOUR", d.rate_limits.forgot_per_hour)?,
                account_changes_per_hour: parse_var(
                    "AUTH_ACCOUNT_CHANGES_PER_HOUR",
                    d.rate_limits.account_changes_per_hour,
                )?,
                verification_resend_per_hour: parse_var(
                    "EMAIL_VERIFICATION_RESEND_PER_HOUR",
                    d.rate_limits.verification_resend_per_hour,
                )?,
                exports_per_hour: parse_var(
                    "AUTH_EXPORTS_PER_HOUR",
                    d.rate_limits.exports_per_hour,
                )?,
                admin_actions_per_minute: parse_var(
                    "AUTH_ADMIN_ACTIONS_PER_MINUTE",
                    d.rate_limits.admin_actions_per_minute,
                )?,
            },
            rate_limit_max_keys: parse_var("RATE_LIMIT_MAX_KEYS", d.rate_limit_max_keys)?,
            mfa: MfaSettings::read_env(d.mfa)?,
        })
    }

    /// Rules that hold however the settings were built (also for tests).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(4..=31).contains(&self.bcrypt_cost) {
            return Err(ConfigError::new("BCRYPT_COST", "must be between 4 and 31"));
        }
        if self.rate_limit_max_keys == 0 {
            return Err(ConfigError::new(
                "RATE_LIMIT_MAX_KEYS",
                "must be at least 1",
            ));
        }
        if let Some(oidc) = &self.oidc {
            oidc.validate(self.env, &self.public_url)?;
        }
        if self.mfa.challenge_attempts == 0 {
            return Err(ConfigError::new(
                "MFA_CHALLENGE_MAX_ATTEMPTS",
                "must be at least 1",
            ));
        }
        if self.mfa.challenge_ttl.is_zero() {
            return Err(ConfigError::new(
                "MFA_CHALLENGE_TTL_SECS",
                "must be at least 1",
            ));
        }
        if self.email_verification_ttl.is_zero() {
            return Err(ConfigError::new(
                "EMAIL_VERIFICATION_TTL_SECS",
                "must be at least 1",
            ));
        }
        if self.require_email_verification && self.smtp_url.is_none() && self.env.is_production() {
            // Nobody could ever receive a link: every new account would stay read-only.
            return Err(ConfigError::new(
                "REQUIRE_EMAIL_VERIFICATION",
                "needs SMTP_URL in production (verification links are sent by mail)",
            ));
        }
        if self.user_events_poll.is_zero() {
            return Err(ConfigError::new(
                "USER_EVENTS_POLL_MS",
                "must be at least 1",
            ));
        }
        if self.env.is_production() {
            self.internal_keys.validate(self.env, USES_KEYS)?;
            if self.chat_url.is_none() {
                return Err(ConfigError::new(
                    "CHAT_URL",
                    "is required when APP_ENV=production: chat-service's address, where role and suspension changes are delivered (e.g. http://chat-service:8082)",
                ));
            }
            check_database_url(self.env, "DATABASE_URL", &self.database_url)?;
            if self.jwt_private_key.is_none() {
                return Err(ConfigError::new(
                    "JWT_PRIVATE_KEY",
                    "is required when APP_ENV=production (or JWT_PRIVATE_KEY_FILE); generate one with `auth-service keygen`",
                ));
            }
            if self.bcrypt_cost < 10 {
                return Err(ConfigError::new(
                    "BCRYPT_COST",
                    "must be at least 10 in production",
                ));
            }
            if self.dev_return_reset_link {
                return Err(ConfigError::new(
                    "DEV_RETURN_RESET_LINK",
                    "returns reset links in HTTP answers and must be off in production",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{AppEnv, MfaSettings, OidcSettings};

    fn oidc() -> OidcSettings {
        OidcSettings {
            issuer: "https://id.example.com".into(),
            client_id: "cloudchat".into(),
            client_secret: "secret".into(),
            redirect_url: None,
            allowed_domains: vec!["example.com".into()],
            display_name: "Example ID".into(),
            scopes: vec!["openid".into(), "email".into()],
        }
    }

    #[test]
    fn oidc_settings_are_checked() {
        let public = "https://chat.example.com";
        assert!(oidc().validate(AppEnv::Production, public).is_ok());
        assert_eq!(
            oidc().redirect_url(public),
            "https://chat.example.com/auth/oidc/callback"
        );
        let bad = |f: fn(&mut OidcSettings), var: &str| {
            let mut s = oidc();
            f(&mut s);
            let err = s.validate(AppEnv::Production, public).unwrap_err();
            assert!(err.to_string().contains(var), "{err}");
        };
        bad(|s| s.client_id.clear(), "OIDC_CLIENT_ID");
        bad(|s| s.client_secret.clear(), "OIDC_CLIENT_SECRET");
        bad(|s| s.issuer = "http://id.example.com".into(), "OIDC_ISSUER");
        bad(|s| s.issuer = "not a url".into(), "OIDC_ISSUER");
        bad(
            |s| s.redirect_url = Some("https://x/cb#f".into()),
            "OIDC_REDIRECT_URL",
        );
        bad(|s| s.scopes = vec!["email".into()], "OIDC_SCOPES");
        bad(
            |s| s.allowed_domains = vec!["a b".into()],
            "OIDC_ALLOWED_DOMAINS",
        );
        // Plain http is for this machine (or development).
        let mut local = oidc();
        local.issuer = "http://127.0.0.1:9000".into();
        assert!(local.validate(AppEnv::Production, public).is_ok());
    }

    #[test]
    fn the_totp_key_is_32_bytes_of_base64() {
        use base64::Engine as _;
        let key = [7u8; 32];
        let standard = base64::engine::general_purpose::STANDARD.encode(key);
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
        assert_eq!(MfaSettings::parse_key(&standard).unwrap(), key);
        assert_eq!(
            MfaSettings::parse_key(&format!(" {url_safe}\n")).unwrap(),
            key
        );
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        for bad in [short.as_str(), "not base64!", "change-me"] {
            let err = MfaSettings::parse_key(bad).unwrap_err();
            assert!(
                format!("{err}").contains("TOTP_ENCRYPTION_KEY"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn allowed_domains_match_whole_domains() {
        let s = oidc();
        assert!(s.allows_email("a@example.com"));
        assert!(s.allows_email("a@EXAMPLE.com"));
        assert!(!s.allows_email("a@evilexample.com"));
        assert!(!s.allows_email("a@example.com.evil.test"));
        let any = OidcSettings {
            allowed_domains: Vec::new(),
            ..oidc()
        };
        assert!(any.allows_email("a@anything.test"));
    }
}
