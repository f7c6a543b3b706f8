//! Typed settings from environment variables (12-factor). Empty values count as unset.

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("configuration error in {var}: {message}")]
pub struct ConfigError {
    pub var: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(var: &str, message: impl Into<String>) -> Self {
        Self {
            var: var.to_owned(),
            message: message.into(),
        }
    }
}

/// `Ok` when `ok` holds, else the error for `var`: `ensure(n > 0, "X", "must be at least 1")?`.
pub fn ensure(ok: bool, var: &str, message: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(var, message))
    }
}

/// The variable's value, trimmed; `None` when unset or blank.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Parses the variable, or returns `default` when it is unset.
pub fn parse_var<T>(name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|e| ConfigError::new(name, format!("cannot parse {raw:?}: {e}"))),
    }
}

/// A duration given in whole seconds (`..._SECS`), or `default` when unset.
pub fn secs_var(name: &str, default: Duration) -> Result<Duration, ConfigError> {
    parse_var(name, default.as_secs()).map(Duration::from_secs)
}

/// A duration given in milliseconds (`..._MS`), or `default` when unset.
pub fn millis_var(name: &str, default: Duration) -> Result<Duration, ConfigError> {
    let default_ms = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
    parse_var(name, default_ms).map(Duration::from_millis)
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`), or `default` when unset.
pub fn bool_var(name: &str, default: bool) -> Result<bool, ConfigError> {
    match var(name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "true" | "1" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "false" | "0" | "no" | "off") => Ok(false),
        Some(v) => Err(ConfigError::new(
            name,
            format!("expected true or false, got {v:?}"),
        )),
    }
}

/// A comma-separated list; empty when unset.
pub fn list_var(name: &str) -> Vec<String> {
    var(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Development is forgiving (generated keys, SQLite defaults); production refuses to start
/// without real secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

impl AppEnv {
    pub fn from_env() -> Result<Self, ConfigError> {
        match var("APP_ENV")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("development") | Some("dev") | Some("test") => Ok(AppEnv::Development),
            Some("production") | Some("prod") => Ok(AppEnv::Production),
            Some(other) => Err(ConfigError::new(
                "APP_ENV",
                format!("expected development or production, got {other:?}"),
            )),
        }
    }

    pub fn is_production(self) -> bool {
        self == AppEnv::Production
    }
}

/// Values that ship in `.env.example` and docs; a production service must not run with them.
pub const KNOWN_DEFAULT_SECRETS: &[&str] = &[
    "change-me",
    "changeme",
    "dev-internal-key",
    "dev-relay-internal-key",
    "dev-chat-internal-key",
    "dev-auth-internal-key",
    "development",
    "secret",
    "password",
    "postgres",
    "example",
];

/// In production, refuses a missing secret or a known placeholder, naming the variable.
pub fn check_secret(env: AppEnv, name: &str, value: Option<&str>) -> Result<(), ConfigError> {
    if !env.is_production() {
        return Ok(());
    }
    match value {
        None => Err(ConfigError::new(
            name,
            "is required when APP_ENV=production; set it to a long random value",
        )),
        Some(v) if is_placeholder(v) => Err(ConfigError::new(
            name,
            "holds a known default or placeholder value; set a long random value before running with APP_ENV=production",
        )),
        Some(v) if v.len() < 16 => Err(ConfigError::new(
            name,
            "is shorter than 16 characters; use a long random value in production",
        )),
        Some(_) => Ok(()),
    }
}

fn is_placeholder(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    KNOWN_DEFAULT_SECRETS.contains(&lower.as_str()) || lower.contains("change-me")
}

/// In production, refuses a database URL whose password is missing or a known default.
pub fn check_database_url(env: AppEnv, name: &str, url: &str) -> Result<(), ConfigError> {
    if !env.is_production() || url.starts_with("sqlite:") {
        return Ok(());
    }
    // postgres://user:password@host/db — take what sits between the first ':' after the
    // scheme and the last '@'.
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let password = rest
        .rsplit_once('@')
        .and_then(|(creds, _)| creds.split_once(':'))
        .map(|(_, p)| p);
    match password {
        None | Some("") => Err(ConfigError::new(
            name,
            "has no password; production databases need one (postgres://user:PASSWORD@host/db)",
        )),
        Some(p) if is_placeholder(p) => Err(ConfigError::new(
            name,
            "uses a known default password; set a real one before running with APP_ENV=production",
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_refuses_placeholders() {
        let p = AppEnv::Production;
        assert!(check_secret(p, "X", None).is_err());
        assert!(check_secret(p, "X", Some("change-me")).is_err());
        assert!(check_secret(p, "X", Some("please-change-me-now")).is_err());
        assert!(check_secret(p, "X", Some("short")).is_err());
        assert!(check_secret(p, "X", Some("a-long-random-value-123456")).is_ok());
        assert!(check_secret(AppEnv::Development, "X", None).is_ok());
    }

    #[test]
    fn production_database_needs_password() {
        let p = AppEnv::Production;
        assert!(check_database_url(p, "D", "postgres://auth@db/auth").is_err());
        assert!(check_database_url(p, "D", "postgres://auth:postgres@db/auth").is_err());
        assert!(check_database_url(p, "D", "postgres://auth:Zq9v-long-pass@db/auth").is_ok());
        assert!(check_database_url(p, "D", "sqlite://data/auth.db").is_ok());
    }
}
