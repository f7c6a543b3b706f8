//! Builds the application: database, keys, collaborators, and the HTTP server bound to its
//! listener (port 0 in tests).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::web;
use anyhow::Context;
use relay_client::RelayClient;
use service_kit::ops::Readiness;
use service_kit::ratelimit::RateLimiter;
use store_kit::{Database, Migrations, database_check};
use tokens::{Issuer, SessionStatus, SigningKey, Verifier};
use uuid::Uuid;

use crate::config::{ACCEPTS_KEYS, HOLDS_KEY, Settings};
use crate::mailer::{LogMailer, Mailer, SmtpMailer};
use crate::routes;
use crate::user_events::UserEvents;

pub static MIGRATOR_SQLITE: sqlx::migrate::Migrator =
    sqlx::migrate!("../../migrations/auth/sqlite");
pub static MIGRATOR_POSTGRES: sqlx::migrate::Migrator =
    sqlx::migrate!("../../migrations/auth/postgres");

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &MIGRATOR_SQLITE,
    postgres: &MIGRATOR_POSTGRES,
};

/// Everything handlers share: one app context instead of many loose pieces of state.
pub struct AppState {
    pub settings: Settings,
    pub db: Database,
    pub issuer: Issuer,
    pub limiter: Arc<dyn RateLimiter>,
    pub mailer: Arc<dyn Mailer>,
    pub relay: RelayClient,
    /// A bcrypt hash of a random password, checked for unknown e-mails so that log-in takes
    /// the same time whether or not the account exists.
    pub dummy_hash: String,
    /// The OpenID Connect provider, when single sign-on is on.
    pub oidc: Option<Arc<crate::oidc::Provider>>,
    /// Wakes the user-event dispatcher after a role or suspension change.
    pub user_events: UserEvents,
    /// The second factor: TOTP secrets' sealer and clock.
    pub mfa: crate::mfa::Mfa,
    /// chat-service's internal API, for the part of a data export it holds.
    pub chat: crate::chat_client::ChatClient,
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
        Self::build_with_mailer(settings, listener, None).await
    }

    /// As [`Self::build_with_listener`], with this mailer instead of the configured one (tests
    /// read the mail sent).
    pub async fn build_with_mailer(
        settings: Settings,
        listener: TcpListener,
        mailer: Option<Arc<dyn Mailer>>,
    ) -> anyhow::Result<Self> {
        settings.validate()?;
        let db = Database::open(
            &settings.database_url,
            &MIGRATIONS,
            settings.migrate_on_start,
        )
        .await?;
        let key = load_or_create_key(&settings)?;
        tracing::info!(kid = key.kid(), "signing key loaded");
        let issuer = Issuer::new(
            key,
            &settings.jwt_issuer,
            &settings.jwt_audience,
            settings.access_ttl,
        );
        let verifier = Verifier::with_keys(
            &settings.jwt_issuer,
            &settings.jwt_audience,
            &issuer.jwks(&[]),
        );
        let limiter = service_kit::ratelimit::connect(
            settings.redis_url.as_deref(),
            "ratelimit:auth",
            settings.rate_limit_max_keys,
        )
        .await?;
        let mailer: Arc<dyn Mailer> = match (mailer, &settings.smtp_url) {
            (Some(mailer), _) => mailer,
            (None, Some(url)) => Arc::new(SmtpMailer::new(url, &settings.mail_from)?),
            (None, None) => Arc::new(LogMailer),
        };
        let relay = RelayClient::new(
            settings.relay_url.as_deref(),
            settings.internal_keys.key(HOLDS_KEY).clone(),
            Duration::from_secs(2),
        )?
        .with_retry(settings.relay_retry);
        let cost = settings.bcrypt_cost;
        let dummy_hash = tokio::task::spawn_blocking(move || {
            crate::domain::password::hash("not-a-real-password-at-all", cost)
        })
        .await
        .context("hashing the dummy password")??;

        let oidc = match &settings.oidc {
            Some(oidc) => {
                let redirect_url = oidc.redirect_url(&settings.public_url);
                Some(start_oidc(oidc.clone(), redirect_url).await?)
            }
            None => None,
        };

        if settings.env.is_production() && settings.mfa.encryption_key.is_none() {
            // Allowed (docs/decisions.md, "Second factor"), but then the key is in the same
            // database, and its backups, as the secrets it protects.
            tracing::warn!(
                "TOTP_ENCRYPTION_KEY is not set: the TOTP secrets' key is kept in the database"
            );
        }
        let mfa = crate::mfa::Mfa::load(&settings.mfa, &db.pool).await?;
        let chat = crate::chat_client::ChatClient::new(
            settings.chat_url.as_deref(),
            settings.internal_keys.key(HOLDS_KEY).clone(),
        )?;

        let state = web::Data::new(AppState {
            settings,
            db,
            issuer,
            limiter,
            mailer,
            relay,
            dummy_hash,
            oidc,
            user_events: UserEvents::default(),
            mfa,
            chat,
        });
        let port = listener.local_addr()?.port();
        let readiness = Readiness(vec![database_check(state.db.clone())]);
        let internal_keys = state.settings.internal_keys.accepting(ACCEPTS_KEYS);
        let server = {
            let state = state.clone();
            let verifier = web::Data::new(verifier);
            let internal_keys = web::Data::new(internal_keys);
            let sessions: web::Data<dyn SessionStatus> = web::Data::from(Arc::new(StoredSessions(
                state.db.pool.clone(),
            ))
                as Arc<dyn SessionStatus>);
            service_kit::server::http_server(listener, readiness, 16 * 1024, move |cfg| {
                cfg.app_data(state.clone())
                    .app_data(verifier.clone())
                    .app_data(internal_keys.clone())
                    .app_data(sessions.clone());
                routes::configure(cfg);
            })?
        };
        spawn_sweeper(state.clone());
        crate::user_events::spawn(
            state.db.pool.clone(),
            &state.user_events,
            state.settings.chat_url.as_deref(),
            state.settings.internal_keys.key(HOLDS_KEY).clone(),
            state.settings.user_events_poll,
        )?;
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from outside (tests stop auth-service to check that others cope).
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGTERM/SIGINT (actix drains in-flight requests for up to 10 s).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// auth-service's own bearer endpoints ask its database whether a token's session was
/// revoked: one primary-key look-up per request.
struct StoredSessions(sqlx::AnyPool);

impl SessionStatus for StoredSessions {
    fn is_revoked(
        &self,
        session_id: Uuid,
    ) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(async move {
            crate::store::sessions::is_revoked(&self.0, session_id)
                .await
                .unwrap_or_else(|e| {
                    // The handler's own queries fail the same way; do not add a second error.
                    tracing::warn!(error = %format!("{e:#}"), "cannot check a session's revocation");
                    false
                })
        })
    }
}

impl AppState {
    /// How long a revocation matters: the access-token lifetime plus the verifiers' clock
    /// leeway (30 s) and a margin. Past it, every token of the session has expired.
    pub fn revocation_window_ms(&self) -> i64 {
        i64::try_from(self.settings.access_ttl.as_millis())
            .unwrap_or(i64::MAX / 2)
            .saturating_add(60_000)
    }
}

/// The signing key: from the environment, or (development only) generated once and kept
/// under the data directory so tokens survive a restart.
fn load_or_create_key(settings: &Settings) -> anyhow::Result<SigningKey> {
    let pem = match &settings.jwt_private_key {
        Some(pem) => pem.clone(),
        None => key_file_pem(&settings.data_dir)?,
    };
    SigningKey::from_pem(&pem).context("JWT_PRIVATE_KEY")
}

/// The signing key kept in `data_dir/jwt-signing-key.pem`, generated there (owner-only) the
/// first time: a development auth-service's key, and the one-process quick start's in any
/// mode (docs/decisions.md).
pub fn key_file_pem(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join(KEY_FILE);
    if path.exists() {
        let pem = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        SigningKey::from_pem(&pem).with_context(|| format!("the key in {}", path.display()))?;
        return Ok(pem);
    }
    let key = SigningKey::generate()?;
    let pem = key.to_pem();
    // Owner-only (0600, in a 0700 directory when we create it): the key signs every token.
    store_kit::files::write_new_private_file(&path, pem.as_bytes())
        .with_context(|| format!("creating {}", path.display()))?;
    tracing::warn!(path = %path.display(), "generated a signing key; keep this file (back it up with the databases) or set JWT_PRIVATE_KEY");
    Ok(pem)
}

/// The signing key's file name in the data directory.
pub const KEY_FILE: &str = "jwt-signing-key.pem";

/// The OpenID Connect provider with its discovery document and keys fetched now if it
/// answers (a provider that is down delays sign-ins, not the start), then every hour.
async fn start_oidc(
    settings: crate::config::OidcSettings,
    redirect_url: String,
) -> anyhow::Result<Arc<crate::oidc::Provider>> {
    let provider = Arc::new(crate::oidc::Provider::new(settings, redirect_url)?);
    if let Err(e) = provider.refresh().await {
        tracing::warn!(error = %format!("{e:#}"), "the OpenID Connect provider did not answer at start; retrying at the first sign-in and every hour");
    }
    let refresher = provider.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::oidc::REFRESH_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = refresher.refresh().await {
                tracing::warn!(error = %format!("{e:#}"), "cannot refresh the OpenID Connect provider's keys; keeping the cached ones");
            }
        }
    });
    Ok(provider)
}

/// Deletes expired refresh, reset and e-mail verification tokens, revocations past the access-token lifetime and
/// user events delivered more than `USER_EVENTS_RETENTION_SECS` ago, ended single sign-on
/// requests and expired log-in challenges, every ten minutes.
fn spawn_sweeper(state: web::Data<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let now = store_kit::now_ms();
            let refresh = crate::store::sessions::sweep(&state.db.pool, now).await;
            let resets = crate::store::resets::sweep(&state.db.pool, now).await;
            if let Err(e) = crate::store::verifications::sweep(&state.db.pool, now).await {
                tracing::warn!(error = %format!("{e:#}"), "e-mail verification sweep failed");
            }
            let before = now.saturating_sub(state.revocation_window_ms());
            if let Err(e) = crate::store::sessions::sweep_revoked(&state.db.pool, before).await {
                tracing::warn!(error = %format!("{e:#}"), "revoked-session sweep failed");
            }
            if let Err(e) = crate::store::oidc::sweep(&state.db.pool, now).await {
                tracing::warn!(error = %format!("{e:#}"), "single sign-on sweep failed");
            }
            if let Err(e) = crate::store::mfa::sweep(&state.db.pool, now).await {
                tracing::warn!(error = %format!("{e:#}"), "log-in challenge sweep failed");
            }
            let retention =
                i64::try_from(state.settings.user_events_retention.as_millis()).unwrap_or(i64::MAX);
            let delivered_before = now.saturating_sub(retention);
            if let Err(e) = crate::store::user_events::sweep(&state.db.pool, delivered_before).await
            {
                tracing::warn!(error = %format!("{e:#}"), "user-event sweep failed");
            }
            match (refresh, resets) {
                (Ok(r), Ok(p)) if r + p > 0 => {
                    tracing::info!(refresh_tokens = r, reset_tokens = p, "swept expired tokens")
                }
                (Ok(_), Ok(_)) => {}
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %format!("{e:#}"), "token sweep failed")
                }
            }
        }
    });
}
