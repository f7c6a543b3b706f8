//! Builds the application: database, token verifier, collaborators, and the HTTP server bound
//! to its listener (port 0 in tests).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::web;
use relay_client::RelayClient;
use service_kit::INTERNAL_KEY_HEADER;
use service_kit::ops::Readiness;
use service_kit::ratelimit::RateLimiter;
use store_kit::{Database, Migrations, database_check};
use tokens::{RevocationSource, RevokedSessions, SessionStatus, Verifier};

use crate::auth_client::AuthClient;
use crate::batcher::SendBatcher;
use crate::config::{ACCEPTS_KEYS, HOLDS_KEY, Settings};
use crate::domain::unsubscribe::{self, UnsubscribeKey};
use crate::images::ImageWorkers;
use crate::push::WebPush;
use crate::routes;
use crate::storage::Storage;

pub static MIGRATOR_SQLITE: sqlx::migrate::Migrator =
    sqlx::migrate!("../../migrations/chat/sqlite");
pub static MIGRATOR_POSTGRES: sqlx::migrate::Migrator =
    sqlx::migrate!("../../migrations/chat/postgres");

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &MIGRATOR_SQLITE,
    postgres: &MIGRATOR_POSTGRES,
};

/// Everything handlers share.
pub struct AppState {
    pub settings: Settings,
    pub db: Database,
    pub verifier: Verifier,
    /// Per-user limits on sends, typing fan-out, room creation and member adds: in Redis when
    /// `REDIS_URL` is set (shared by replicas), else in memory (each replica counts its own).
    pub limiter: Arc<dyn RateLimiter>,
    pub relay: RelayClient,
    pub auth: AuthClient,
    /// Every send goes through here: group commit (see `batcher.rs`).
    pub sends: SendBatcher,
    /// Sessions auth-service revoked recently: their access tokens and tickets are refused.
    pub revoked: RevokedSessions,
    /// Where `revoked` is read from (an account's deletion reads it at once).
    pub revocations: RevocationSource,
    /// Where uploaded files live (`STORAGE_URL`).
    pub storage: Storage,
    /// Decodes uploaded images, a bounded number at once, off the async threads.
    pub images: ImageWorkers,
    /// Web Push; None when `PUSH_ENABLED=false`.
    pub push: Option<WebPush>,
    /// Signs and checks the one-click unsubscribe links of e-mail digests.
    pub unsubscribe: UnsubscribeKey,
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = service_kit::server::bind(&settings.bind_addr)?;
        Self::build_with_listener(settings, listener).await
    }

    pub async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        settings.validate()?;
        // The group-commit writers keep a connection each, on top of the usual pool.
        let defaults = store_kit::PoolSettings::default();
        let pool = store_kit::PoolSettings {
            max_connections: defaults.max_connections + settings.writers as u32,
            ..defaults
        };
        let db = Database::open_with(
            &settings.database_url,
            &MIGRATIONS,
            settings.migrate_on_start,
            &pool,
        )
        .await?;
        let unsubscribe = UnsubscribeKey::from_stored(
            &crate::store::secrets::get_or_create(
                &db.pool,
                unsubscribe::KEY_NAME,
                UnsubscribeKey::generate,
                store_kit::now_ms(),
            )
            .await?,
        )?;
        let http = http_client().build()?;
        let auth_url = settings.auth_url.trim_end_matches('/').to_owned();
        let verifier = Verifier::from_jwks_url(
            &settings.jwt_issuer,
            &settings.jwt_audience,
            format!("{auth_url}/.well-known/jwks.json"),
            http.clone(),
        );
        if verifier.refresh().await.is_err() {
            tracing::warn!(%auth_url, "auth-service's JWKS is not reachable yet; tokens are verified once it is");
        }
        let held_key = settings.internal_keys.key(HOLDS_KEY).clone();
        let relay = RelayClient::new(
            settings.relay_url.as_deref(),
            held_key.clone(),
            Duration::from_secs(2),
        )?
        .with_retry(settings.relay_retry);
        let limiter = service_kit::ratelimit::connect(
            settings.redis_url.as_deref(),
            "ratelimit:chat",
            settings.rate_limit_max_keys,
        )
        .await?;
        let revoked = RevokedSessions::new();
        let revocations = RevocationSource {
            http: http.clone(),
            auth_url: auth_url.clone(),
            key_header: INTERNAL_KEY_HEADER,
            key: held_key.as_str().to_owned(),
        };
        revoked.spawn_poller(revocations.clone(), settings.revocation_poll, |_| {});
        // The same settings, but no redirects: an endpoint was checked to be public, and a
        // redirect must not take a push elsewhere.
        let mut push_http = http_client().redirect(reqwest::redirect::Policy::none());
        if !settings.push.allow_insecure_endpoints {
            push_http = push_http.dns_resolver(crate::push::resolver::PublicOnly);
        }
        let push_http = push_http.build()?;
        let push = WebPush::start(&settings.push, &db.pool, relay.clone(), push_http).await?;
        let auth = AuthClient::new(http, &auth_url, held_key);
        let internal_keys = settings.internal_keys.accepting(ACCEPTS_KEYS);
        // SQLite has one writer anyway; on PostgreSQL the writers (each with its share of the
        // rooms and its own connection) commit side by side.
        let writers = match db.engine {
            store_kit::Engine::Sqlite => 1,
            store_kit::Engine::Postgres => settings.writers,
        };
        let sends = SendBatcher::start(db.clone(), writers, settings.write_batch);
        let storage = Storage::open(&settings.files.storage)?;
        tracing::info!(storage = storage.describe(), "file storage");
        let images = ImageWorkers::new(
            settings.files.image_workers,
            settings.files.image_max_pixels,
        );
        let state = web::Data::new(AppState {
            settings,
            db,
            verifier: verifier.clone(),
            limiter,
            relay,
            auth,
            sends,
            revoked: revoked.clone(),
            revocations,
            storage,
            images,
            push,
            unsubscribe,
        });
        let port = listener.local_addr()?.port();
        let keys = verifier.clone();
        let storage = state.storage.clone();
        let readiness = Readiness(vec![
            database_check(state.db.clone()),
            service_kit::ops::check("signing_keys", move || {
                let ready = keys.ready();
                async move {
                    if ready {
                        Ok(())
                    } else {
                        Err(
                            "auth-service's JWKS has not been fetched yet (is AUTH_URL right?)"
                                .to_owned(),
                        )
                    }
                }
            }),
            service_kit::ops::check("storage", move || {
                let storage = storage.clone();
                async move { storage.check().await }
            }),
        ]);
        let server = {
            let state = state.clone();
            let verifier = web::Data::new(verifier.clone());
            let internal_keys = web::Data::new(internal_keys);
            let sessions: web::Data<dyn SessionStatus> =
                web::Data::from(Arc::new(revoked) as Arc<dyn SessionStatus>);
            service_kit::server::http_server(listener, readiness, 64 * 1024, move |cfg| {
                cfg.app_data(state.clone())
                    .app_data(verifier.clone())
                    .app_data(internal_keys.clone())
                    .app_data(sessions.clone());
                routes::configure(cfg);
            })?
        };
        spawn_background(state.clone(), verifier);
        crate::ops::uploads::spawn_sweeper(state.clone());
        crate::ops::digest::spawn(state.clone());
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGTERM/SIGINT (actix drains in-flight requests for up to 10 s).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The settings of every HTTP client chat-service makes (auth-service, JWKS, push services).
fn http_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
}

/// Sweeps expired tickets every minute and re-reads the JWKS every five (key rotation).
fn spawn_background(state: web::Data<AppState>, verifier: Verifier) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            if let Err(e) = crate::store::tickets::sweep(&state.db.pool, store_kit::now_ms()).await
            {
                tracing::warn!(error = %format!("{e:#}"), "ticket sweep failed");
            }
            if n.is_multiple_of(5) || !verifier.ready() {
                let _ = verifier.refresh().await;
            }
            n += 1;
        }
    });
}
