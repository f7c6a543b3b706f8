//! Test plumbing shared by the services' integration tests.
//!
//! Every test gets its own database: a SQLite file in a fresh temporary directory, or a fresh
//! PostgreSQL database on the server named by `TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). [`both_engines!`] turns one async test
//! function into a SQLite test and a PostgreSQL test. PostgreSQL tests fail — never skip —
//! when the server cannot be reached.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod smtp;
pub use smtp::{SmtpSink, mail_header, mail_link, mail_text};

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub use store_kit::Engine;

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    pub engine: Engine,
    _dir: Option<TempDir>,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("creating a temporary directory");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The python of the Python test peers (scripts/test-peers.txt): `TEST_PEERS_PYTHON`, else
/// where scripts/test-peers.sh installs them. Panics when it is missing: tests that need a
/// peer fail, never skip.
pub fn test_peers_python() -> String {
    let python = std::env::var("TEST_PEERS_PYTHON")
        .unwrap_or_else(|_| "/var/tmp/cloudchat-tools/test-peers/bin/python".to_owned());
    assert!(
        std::path::Path::new(&python).exists(),
        "the Python test peers are not installed at {python}: run `bash scripts/test-peers.sh` \
         (make test-rust does) or point TEST_PEERS_PYTHON at its python"
    );
    python
}

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

static SWEPT: AtomicBool = AtomicBool::new(false);

/// Databases made by earlier runs are dropped after this many seconds.
const STALE_AFTER_SECS: u64 = 3600;

impl TestDatabase {
    pub async fn create(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => {
                let dir = TempDir::new("cloudchat-test");
                let url = format!("sqlite://{}/test.db", dir.0.display());
                Self {
                    url,
                    engine,
                    _dir: Some(dir),
                }
            }
            Engine::Postgres => {
                sqlx::any::install_default_drivers();
                let admin_url = postgres_admin_url();
                let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "PostgreSQL is required for these tests and is not reachable at {admin_url}: {e}. \
                             Start it (see README) or point TEST_POSTGRES_URL at a server where this user may CREATE DATABASE."
                        )
                    });
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                if !SWEPT.swap(true, Ordering::SeqCst) {
                    drop_stale(&mut admin, now).await;
                }
                let name = format!("cctest_{now}_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("creating the test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin_url);
                Self {
                    url: format!("{base}/{name}"),
                    engine,
                    _dir: None,
                }
            }
        }
    }
}

/// Drops test databases left by runs older than an hour (names carry their creation time).
async fn drop_stale(admin: &mut sqlx::AnyConnection, now: u64) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname::text FROM pg_database WHERE datname LIKE 'cctest\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let created: u64 = name
            .split('_')
            .nth(1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(now);
        if now.saturating_sub(created) > STALE_AFTER_SECS
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut *admin)
            .await;
        }
    }
}

/// The internal key of each caller in every test stack: three different keys, as in
/// production, so that a test notices a service presenting the wrong one.
pub const RELAY_KEY: &str = "test-relay-internal-key-0123456789";
pub const CHAT_KEY: &str = "test-chat-internal-key-0123456789";
pub const AUTH_KEY: &str = "test-auth-internal-key-0123456789";

/// The key set every test service is configured with.
pub fn internal_keys() -> service_kit::InternalKeySet {
    service_kit::InternalKeySet::new(RELAY_KEY, CHAT_KEY, AUTH_KEY)
}

/// What a [`FakePeer`] received: the internal key presented, and the JSON body.
pub type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A real HTTP listener standing in for another service's internal endpoint: records every
/// JSON `POST` to its path that it accepts, with the key presented.
pub struct FakePeer {
    pub url: String,
    pub received: Received,
    /// Requests answered 503 so far (see [`FakePeer::start_refusing`]).
    pub refused: Arc<AtomicUsize>,
}

/// A relay's `POST /internal/publish`, answered 202.
pub type FakeRelay = FakePeer;

impl FakePeer {
    /// A relay.
    pub async fn start() -> Self {
        Self::start_refusing(0).await
    }

    /// A relay that answers the first `n` publishes with 503 (a relay restarting) and records
    /// only the ones after.
    pub async fn start_refusing(n: usize) -> Self {
        Self::start_at("/internal/publish", 202, n).await
    }

    /// `POST path`, answered `accepted` (e.g. chat-service's `/internal/user-events`, 204),
    /// after answering the first `n` requests with 503.
    pub async fn start_at(path: &'static str, accepted: u16, n: usize) -> Self {
        let received: Received = Arc::default();
        let refused = Arc::new(AtomicUsize::new(0));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sink = received.clone();
        let count = refused.clone();
        let accepted = actix_web::http::StatusCode::from_u16(accepted).unwrap();
        let server = actix_web::HttpServer::new(move || {
            let sink = sink.clone();
            let count = count.clone();
            actix_web::App::new().route(
                path,
                web::post().to(move |req: actix_web::HttpRequest, body: web::Json<Value>| {
                    let sink = sink.clone();
                    let count = count.clone();
                    async move {
                        let refuse = count
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                                (c < n).then_some(c + 1)
                            })
                            .is_ok();
                        if refuse {
                            return actix_web::HttpResponse::ServiceUnavailable().finish();
                        }
                        let key = req
                            .headers()
                            .get("x-internal-api-key")
                            .map(|v| v.to_str().unwrap().to_owned());
                        sink.lock().unwrap().push((key, body.into_inner()));
                        actix_web::HttpResponse::build(accepted).finish()
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            url,
            received,
            refused,
        }
    }

    /// Waits up to two seconds for `n` requests.
    pub async fn wait_for(&self, n: usize) -> Vec<(Option<String>, Value)> {
        for _ in 0..40 {
            if self.received.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.received.lock().unwrap().clone()
    }
}

/// GETs `url` (no credentials) and returns its JSON body.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// GETs `url` (no credentials) and returns its body as text.
pub async fn get_text(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// Asserts a problem+json answer with this status and `code`, and returns its body.
pub async fn assert_problem(
    res: reqwest::Response,
    status: reqwest::StatusCode,
    code: &str,
) -> Value {
    assert_eq!(res.status(), status);
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(body["status"], status.as_u16());
    body
}

/// Runs each listed `async fn name(engine: Engine)` as two tests, `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Engine::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Engine::Postgres).await
                }
            )*
        }
    };
}
