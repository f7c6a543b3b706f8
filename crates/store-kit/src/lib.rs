//! One database code path over SQLite and PostgreSQL.
//!
//! Services talk to their database through sqlx's `Any` driver with `$1` placeholders, so a
//! query is written once and runs on both engines. The price is the driver's small type set:
//! ids cross as text, timestamps as integer milliseconds, flags as integers (see
//! `docs/decisions.md`). This crate opens the pool from a URL, applies the per-connection
//! settings each engine needs, runs the right migration set, and offers what every store
//! module needs: UUID columns ([`UuidText`]), placeholder lists for variable-length statements
//! ([`placeholder_rows`]), and constraint violations turned into the caller's errors
//! ([`ResultExt`], so that they become 409s); and the audit log both services keep
//! ([`audit`]).

pub mod audit;
mod constraint;
pub mod files;
mod sql;
mod uuid_text;

pub use constraint::{Caught, ResultExt};
pub use sql::{placeholder_list, placeholder_rows};
pub use uuid_text::UuidText;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

/// The database engine behind a pool, chosen once from the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Engine::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// Whether a write transaction shuts out every other writer until it ends (SQLite's
    /// database-wide write lock). Statements that only exist to order concurrent writers —
    /// row locks taken in a fixed order, advisory locks — are then not needed (and
    /// PostgreSQL's are not SQL that SQLite speaks).
    pub fn serializes_writers(self) -> bool {
        match self {
            Engine::Sqlite => true,
            Engine::Postgres => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "DATABASE_URL must start with sqlite: or postgres: (for example sqlite://data/auth.db or postgres://user:pass@host/db)"
    )]
    UnsupportedUrl,
    #[error("could not create the SQLite file {path} or its directory (owner-only): {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not connect to the {engine} database: {source}")]
    Connect {
        engine: &'static str,
        source: sqlx::Error,
    },
    #[error("migrations failed on the {engine} database: {source}")]
    Migrate {
        engine: &'static str,
        source: sqlx::migrate::MigrateError,
    },
}

/// A connected pool and the engine it talks to.
#[derive(Clone, Debug)]
pub struct Database {
    pub pool: AnyPool,
    pub engine: Engine,
}

/// Pool sizing; the defaults suit a small machine.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The two migration sets a service ships, one per engine.
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

impl Database {
    /// Opens a pool. SQLite files (and their directory) are created when missing, in WAL mode
    /// with foreign keys on; PostgreSQL must already have the database.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        install_default_drivers();
        let engine = Engine::from_url(url)?;
        let url = match engine {
            Engine::Sqlite => prepare_sqlite_url(url)?,
            Engine::Postgres => url.to_owned(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // foreign_keys is already on (sqlx's default); busy_timeout lets a
                        // writer wait for the lock instead of failing at once.
                        conn.execute("PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;")
                            .await?;
                    }
                    Ok(())
                })
            });
        let pool = options
            .connect(&url)
            .await
            .map_err(|source| StoreError::Connect {
                engine: engine.as_str(),
                source,
            })?;
        if engine == Engine::Sqlite {
            // WAL is a property of the file: set once, it persists. Readers then never block
            // the writer.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .map_err(|source| StoreError::Connect {
                    engine: engine.as_str(),
                    source,
                })?;
        }
        Ok(Self { pool, engine })
    }

    /// Connects with the default pool settings and, when `migrate` is set, applies the
    /// engine's migrations: what a service does at start-up.
    pub async fn open(
        url: &str,
        migrations: &Migrations,
        migrate: bool,
    ) -> Result<Self, StoreError> {
        Self::open_with(url, migrations, migrate, &PoolSettings::default()).await
    }

    /// [`Database::open`] with a pool of its own size.
    pub async fn open_with(
        url: &str,
        migrations: &Migrations,
        migrate: bool,
        pool: &PoolSettings,
    ) -> Result<Self, StoreError> {
        let db = Self::connect(url, pool).await?;
        if migrate {
            db.migrate(migrations).await?;
        }
        Ok(db)
    }

    /// Applies the migration set for this engine.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<(), StoreError> {
        let migrator = match self.engine {
            Engine::Sqlite => migrations.sqlite,
            Engine::Postgres => migrations.postgres,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|source| StoreError::Migrate {
                engine: self.engine.as_str(),
                source,
            })
    }

    /// A cheap round trip, for readiness probes.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// Makes sure a SQLite URL creates its file, and that the file (with its `-wal`/`-shm`) and
/// the directory it creates are owner-only (`files.rs`).
fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let dir = Path::new(path)
        .parent()
        .filter(|d| path != ":memory:" && !d.as_os_str().is_empty());
    let create_err = |source| StoreError::CreateDir {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = dir {
        files::private_dir(dir).map_err(create_err)?;
    }
    let own_file = !(path == ":memory:"
        || path.is_empty()
        || query.contains("mode=memory")
        || query.contains("mode=ro"));
    if own_file {
        files::private_file(Path::new(path)).map_err(create_err)?;
    }
    // sqlx reads an in-memory database only as `sqlite::memory:` (`sqlite://:memory:` is a URL
    // with an empty host).
    let mut url = if path == ":memory:" {
        "sqlite::memory:".to_owned()
    } else {
        format!("sqlite://{path}")
    };
    if query.is_empty() {
        url.push_str("?mode=rwc");
    } else {
        url.push('?');
        url.push_str(query);
        if !query.split('&').any(|kv| kv.starts_with("mode=")) {
            url.push_str("&mode=rwc");
        }
    }
    Ok(url)
}

/// Milliseconds since the Unix epoch: how every timestamp is stored.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

impl FromStr for Engine {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sqlite" => Ok(Engine::Sqlite),
            "postgres" | "postgresql" => Ok(Engine::Postgres),
            _ => Err(StoreError::UnsupportedUrl),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_from_url() {
        assert_eq!(Engine::from_url("sqlite://x.db").ok(), Some(Engine::Sqlite));
        assert_eq!(
            Engine::from_url("postgres://u@h/db").ok(),
            Some(Engine::Postgres)
        );
        assert!(Engine::from_url("mysql://h/db").is_err());
    }

    #[test]
    fn sqlite_url_gets_create_mode() {
        let dir = std::env::temp_dir().join(format!("storekit-{}", std::process::id()));
        let url = format!("sqlite://{}/a.db", dir.display());
        let prepared = prepare_sqlite_url(&url).ok();
        assert_eq!(
            prepared,
            Some(format!("sqlite://{}/a.db?mode=rwc", dir.display()))
        );
        assert!(dir.is_dir());
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:?cache=shared").ok(),
            Some("sqlite::memory:?cache=shared&mode=rwc".to_owned())
        );
    }
}

/// Formats a stored millisecond timestamp as RFC 3339 UTC, as the JSON API shows it.
pub fn rfc3339(ms: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Reads an RFC 3339 date-time, as the JSON API takes it (and as [`rfc3339`] writes them),
/// as Unix milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    let t = time::OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn parses_what_it_formats() {
        for ms in [0, 1_700_000_000_123] {
            assert_eq!(super::parse_rfc3339(&super::rfc3339(ms)), Some(ms));
        }
        assert_eq!(super::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn formats_milliseconds() {
        assert_eq!(
            super::rfc3339(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
    }
}

/// The `/readyz` check for a service's database.
pub fn database_check(db: Database) -> std::sync::Arc<dyn service_kit::ops::ReadinessCheck> {
    service_kit::ops::check("database", move || {
        let db = db.clone();
        async move {
            db.ping()
                .await
                .map_err(|e| format!("the {} database does not answer: {e}", db.engine.as_str()))
        }
    })
}

/// `<service> migrate`: connects, applies the engine's migrations, and says so.
pub async fn migrate_url(url: &str, migrations: &Migrations) -> anyhow::Result<()> {
    let db = Database::open(url, migrations, true).await?;
    tracing::info!(engine = db.engine.as_str(), "migrations applied");
    Ok(())
}
