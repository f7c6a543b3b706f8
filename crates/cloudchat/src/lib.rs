//! The one-process quick start: auth-service and chat-service on loopback ports, the relay on
//! the public port, and in front of them the same public paths nginx serves in deployments —
//! `/auth/*`, `/users*`, `/.well-known/*` to auth-service, `/rooms*`, `/messages/*`,
//! `/ws-tickets` to chat-service, `/ws` to the relay, everything else to the web app. The
//! services still talk to each other over HTTP with the internal API key, exactly as when
//! they run apart.

mod proxy;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{HttpResponse, Responder, web};
use anyhow::Context;
use service_kit::ConfigError;
use service_kit::config::{parse_var, var};
use service_kit::ops::Readiness;
use ws_relay::relay::Relay;

/// What the quick start needs to know; everything else is derived.
#[derive(Debug, Clone)]
pub struct QuickStart {
    /// Where the public port listens (default 127.0.0.1:8080).
    pub bind_addr: String,
    /// SQLite files and the development signing key.
    pub data_dir: PathBuf,
    /// The built web app (`web/dist`); served when present.
    pub web_dir: PathBuf,
    /// bcrypt cost for auth-service (12 unless tests lower it).
    pub bcrypt_cost: u32,
}

impl QuickStart {
    pub fn from_env() -> Result<Self, ConfigError> {
        let host = var("HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
        let port: u16 = parse_var("PORT", 8080)?;
        Ok(Self {
            bind_addr: format!("{host}:{port}"),
            data_dir: PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "data".to_owned())),
            web_dir: PathBuf::from(var("WEB_DIR").unwrap_or_else(|| "web/dist".to_owned())),
            bcrypt_cost: parse_var("BCRYPT_COST", 12)?,
        })
    }
}

/// The running quick start (auth-service and chat-service run in background tasks).
pub struct Running {
    pub port: u16,
    pub relay: Relay,
    front: Server,
}

fn loopback() -> anyhow::Result<TcpListener> {
    TcpListener::bind("127.0.0.1:0").context("binding a loopback port")
}

fn random_key() -> anyhow::Result<String> {
    Ok(tokens::SecretToken::generate()?.plain)
}

pub async fn start(config: QuickStart) -> anyhow::Result<Running> {
    let front_listener = service_kit::server::bind(&config.bind_addr)?;
    start_with_listener(config, front_listener).await
}

pub async fn start_with_listener(
    config: QuickStart,
    front_listener: TcpListener,
) -> anyhow::Result<Running> {
    let port = front_listener.local_addr()?.port();
    let front_url = format!("http://127.0.0.1:{port}");
    let origins = vec![
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}"),
    ];
    // A fresh key each start: only these three services, in this process, ever use it.
    let internal_key = random_key()?;
    let sqlite = |name: &str| format!("sqlite://{}", config.data_dir.join(name).display());

    let mut auth =
        auth_service::config::Settings::development(&sqlite("auth.db"), &config.data_dir);
    auth.internal_api_key = internal_key.clone();
    auth.relay_url = Some(front_url.clone());
    auth.public_url = format!("http://localhost:{port}");
    auth.allowed_origins = origins.clone();
    auth.bcrypt_cost = config.bcrypt_cost;
    auth.trusted_proxies =
        service_kit::TrustedProxies::parse("TRUSTED_PROXIES", &["127.0.0.1".to_owned()])?;
    let auth_app =
        auth_service::startup::Application::build_with_listener(auth, loopback()?).await?;
    let auth_url = format!("http://127.0.0.1:{}", auth_app.port());

    let mut chat = chat_service::config::Settings::from_env()?;
    chat.database_url = sqlite("chat.db");
    chat.migrate_on_start = true;
    chat.auth_url = auth_url.clone();
    chat.internal_api_key = internal_key.clone();
    chat.relay_url = Some(front_url.clone());
    let chat_app =
        chat_service::startup::Application::build_with_listener(chat, loopback()?).await?;
    let chat_url = format!("http://127.0.0.1:{}", chat_app.port());

    let mut relay_settings = ws_relay::config::Settings::from_env()?;
    relay_settings.chat_url = chat_url.clone();
    relay_settings.auth_url = auth_url.clone();
    relay_settings.internal_api_key = internal_key;
    relay_settings.allowed_origins = origins;
    // The relay is the front door here: the TCP peer is the client, whose address the
    // per-address connect limit counts; no proxy's X-Forwarded-For is to be believed.
    relay_settings.trusted_proxies = service_kit::TrustedProxies::none();
    ws_relay::startup::drop_unread_connections(
        &front_listener,
        relay_settings.limits.idle_timeout,
    )?;
    let relay = Relay::new(relay_settings)?;

    let readiness = Readiness(
        relay
            .readiness_checks()
            .into_iter()
            .chain([
                upstream_ready("auth-service", &auth_url),
                upstream_ready("chat-service", &chat_url),
            ])
            .collect(),
    );
    let proxy = web::Data::new(proxy::Proxy::new()?);
    let web_dir = config.web_dir.clone();
    let has_web = web_dir.join("index.html").is_file();
    if !has_web {
        tracing::warn!(dir = %web_dir.display(), "the web app is not built (make web-build); serving the API only");
    }
    let front = {
        let relay = relay.clone();
        service_kit::server::http_server(front_listener, readiness, 1024 * 1024, move |cfg| {
            ws_relay::startup::configure(cfg, &relay);
            cfg.app_data(proxy.clone())
                .app_data(web::PayloadConfig::new(1024 * 1024));
            for prefix in ["/auth", "/users", "/.well-known"] {
                cfg.service(web::scope(prefix).default_service(proxy::to(auth_url.clone())));
            }
            for prefix in ["/rooms", "/messages", "/ws-tickets"] {
                cfg.service(web::scope(prefix).default_service(proxy::to(chat_url.clone())));
            }
            if has_web {
                cfg.service(spa(&web_dir));
            } else {
                cfg.route("/", web::get().to(no_web_app));
            }
        })?
    };
    tokio::spawn(auth_app.run_until_stopped());
    tokio::spawn(chat_app.run_until_stopped());
    Ok(Running { port, relay, front })
}

/// The web app's files, with `index.html` for every path that is not a file (client routes).
fn spa(dir: &Path) -> actix_files::Files {
    let index = dir.join("index.html");
    // Only GET and HEAD: any other method on an unknown path is a problem+json 404, not the app.
    actix_files::Files::new("/", dir)
        .guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
        .index_file("index.html")
        .default_handler(web::to(move |req: actix_web::HttpRequest| {
            let index = index.clone();
            async move {
                match actix_files::NamedFile::open_async(&index).await {
                    Ok(file) => file
                        .customize()
                        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
                        .respond_to(&req)
                        .map_into_boxed_body(),
                    Err(_) => HttpResponse::NotFound().finish(),
                }
            }
        }))
}

async fn no_web_app() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            "<!doctype html><title>Cloud Chat</title><h1>Cloud Chat is running</h1>\
         <p>The web app is not built: run <code>make web-build</code> and restart.</p>",
        )
}

/// Readiness of a co-located service: its own `/readyz`.
fn upstream_ready(
    name: &'static str,
    base: &str,
) -> std::sync::Arc<dyn service_kit::ops::ReadinessCheck> {
    let url = format!("{base}/readyz");
    let http = reqwest::Client::new();
    service_kit::ops::check(name, move || {
        let (url, http) = (url.clone(), http.clone());
        async move {
            match http.get(&url).timeout(Duration::from_secs(2)).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("{name} is not ready ({})", r.status())),
                Err(e) => Err(format!("{name} does not answer: {e}")),
            }
        }
    })
}

impl Running {
    /// Serves until SIGTERM/SIGINT, then closes the relay's sockets (1012, with a retry hint),
    /// drains, and stops. auth-service and chat-service stop on the same signal.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Running { relay, front, .. } = self;
        ws_relay::startup::serve_with_drain(front, relay, std::future::pending()).await?;
        Ok(())
    }
}
