//! The one-process quick start: auth-service and chat-service on loopback ports, the relay on
//! the public port, and in front of them the same public paths nginx serves in deployments —
//! `/auth/*`, `/users*`, `/.well-known/*`, `/admin/users*` to auth-service, `/rooms*`, `/messages/*`,
//! `/ws-tickets`, `/dms`, `/mentions`, `/search`, `/presence`, `/push/*`,
//! `/notification-settings*`, `/notifications/*`, `/uploads`, `/files/*` to chat-service
//! (files streamed both ways), `/ws` to the relay, everything else to the web app — behind
//! the same front door (`front.rs`). The relay's internal API and the process's `/healthz`,
//! `/readyz` and `/metrics` answer only on a loopback ops port. The services still talk to
//! each other over HTTP with their per-caller internal keys, exactly as when they run apart.

pub mod backup;
pub mod export;
pub mod front;
mod proxy;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{HttpResponse, Responder, web};
use anyhow::Context;
use service_kit::config::{list_var, parse_var, secs_var, var};
use service_kit::ops::Readiness;
use service_kit::{ConfigError, InternalKeySet};
use ws_relay::relay::Relay;

pub use front::FrontLimits;

/// What the quick start needs to know. Each service's settings are read from the same
/// environment variables, with the same defaults, as when the service runs alone (see
/// `.env.example`); [`start_with_listener`] changes only how the three are wired together in
/// this process: their SQLite files in `data_dir`, loopback addresses, fresh internal keys.
#[derive(Debug, Clone)]
pub struct QuickStart {
    /// Where the public port listens (default 127.0.0.1:8080).
    pub bind_addr: String,
    /// Where `/healthz`, `/readyz`, `/metrics` and the relay's internal API listen: always
    /// loopback (default 127.0.0.1:8090; port 0 picks a free one).
    pub ops_addr: String,
    /// SQLite files and the development signing key (created owner-only).
    pub data_dir: PathBuf,
    /// The built web app (`web/dist`); served when present.
    pub web_dir: PathBuf,
    /// The front door's size and time limits.
    pub limits: FrontLimits,
    /// auth-service's settings (`AUTH_RATE_LIMIT_*`, `SMTP_URL`, token lifetimes, ...).
    pub auth: auth_service::config::Settings,
    /// chat-service's settings (`CHAT_*` limits, ...).
    pub chat: chat_service::config::Settings,
    /// The relay's settings (`WS_*`, `RELAY_*`, ...).
    pub relay: ws_relay::config::Settings,
    /// `PUBLIC_URL` when set; else the public port's local address.
    pub public_url: Option<String>,
    /// `ALLOWED_ORIGINS` when set; else `PUBLIC_URL`'s origin, else the public port's local
    /// addresses.
    pub allowed_origins: Option<Vec<String>>,
    /// `TLS_CERT_FILE` and `TLS_KEY_FILE` (PEM): the public port speaks HTTPS and WSS.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl QuickStart {
    /// What `from_env` gives with nothing set, with these directories.
    pub fn development(data_dir: PathBuf, web_dir: PathBuf) -> Self {
        let sqlite = sqlite_url(&data_dir, AUTH_DB);
        Self {
            bind_addr: "127.0.0.1:8080".to_owned(),
            ops_addr: "127.0.0.1:8090".to_owned(),
            auth: auth_service::config::Settings::development(&sqlite, &data_dir),
            chat: {
                let mut chat = chat_service::config::Settings::development(
                    &sqlite_url(&data_dir, CHAT_DB),
                    "",
                );
                // Uploaded files live beside the databases: one directory to back up.
                chat.files.storage =
                    chat_service::config::StorageConfig::Local(data_dir.join("files"));
                chat
            },
            relay: ws_relay::config::Settings::development("", ""),
            data_dir,
            web_dir,
            limits: FrontLimits::default(),
            public_url: None,
            allowed_origins: None,
            tls: None,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let host = var("HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
        let port: u16 = parse_var("PORT", 8080)?;
        let ops_port: u16 = parse_var("OPS_PORT", 8090)?;
        let d = Self::development(
            PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "data".to_owned())),
            PathBuf::from(var("WEB_DIR").unwrap_or_else(|| "web/dist".to_owned())),
        );
        let l = d.limits;
        let limits = FrontLimits {
            max_body_bytes: parse_var("FRONT_MAX_BODY_BYTES", l.max_body_bytes)?,
            max_uri_bytes: parse_var("FRONT_MAX_URI_BYTES", l.max_uri_bytes)?,
            max_header_bytes: parse_var("FRONT_MAX_HEADER_BYTES", l.max_header_bytes)?,
            header_timeout: secs_var("FRONT_HEADER_TIMEOUT_SECS", l.header_timeout)?,
            body_timeout: secs_var("FRONT_BODY_TIMEOUT_SECS", l.body_timeout)?,
            keep_alive: secs_var("FRONT_KEEP_ALIVE_SECS", l.keep_alive)?,
        };
        for (name, zero) in [
            ("FRONT_HEADER_TIMEOUT_SECS", limits.header_timeout.is_zero()),
            ("FRONT_BODY_TIMEOUT_SECS", limits.body_timeout.is_zero()),
            ("FRONT_MAX_BODY_BYTES", limits.max_body_bytes == 0),
        ] {
            if zero {
                return Err(ConfigError::new(name, "must be at least 1"));
            }
        }
        let origins = list_var("ALLOWED_ORIGINS");
        Ok(Self {
            bind_addr: format!("{host}:{port}"),
            ops_addr: format!("127.0.0.1:{ops_port}"),
            limits,
            // Checked once complete, when the quick start wires them together.
            auth: auth_service::config::Settings::read_env(Some(InternalKeySet::development()))?,
            chat: chat_service::config::Settings::read_env(Some(InternalKeySet::development()))?,
            relay: ws_relay::config::Settings::read_env(Some(InternalKeySet::development()))?,
            public_url: var("PUBLIC_URL"),
            allowed_origins: (!origins.is_empty()).then_some(origins),
            tls: match (var("TLS_CERT_FILE"), var("TLS_KEY_FILE")) {
                (Some(cert), Some(key)) => Some((cert.into(), key.into())),
                (None, None) => None,
                (Some(_), None) => {
                    return Err(ConfigError::new(
                        "TLS_KEY_FILE",
                        "is required with TLS_CERT_FILE",
                    ));
                }
                (None, Some(_)) => {
                    return Err(ConfigError::new(
                        "TLS_CERT_FILE",
                        "is required with TLS_KEY_FILE",
                    ));
                }
            },
            ..d
        })
    }
}

/// The running quick start (auth-service, chat-service and the ops listener run in
/// background tasks).
pub struct Running {
    pub port: u16,
    /// The loopback ops port: `/healthz`, `/readyz`, `/metrics`, the relay's internal API.
    pub ops_port: u16,
    pub relay: Relay,
    front: Server,
}

/// The quick start's databases, in `DATA_DIR`.
pub const AUTH_DB: &str = "auth.db";

/// The quick start's auth database: `cloudchat admin` names admins in it.
pub fn auth_database_url(data_dir: &Path) -> String {
    sqlite_url(data_dir, AUTH_DB)
}
pub const CHAT_DB: &str = "chat.db";

/// `scheme://host[:port]` of a URL (what a browser sends as `Origin`).
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

pub(crate) fn sqlite_url(data_dir: &Path, file: &str) -> String {
    format!("sqlite://{}", data_dir.join(file).display())
}

fn loopback() -> anyhow::Result<TcpListener> {
    TcpListener::bind("127.0.0.1:0").context("binding a loopback port")
}

/// Fresh keys each start: only these three services, in this process, ever use them.
fn random_keys() -> anyhow::Result<InternalKeySet> {
    let key = || -> anyhow::Result<String> { Ok(tokens::SecretToken::generate()?.plain) };
    Ok(InternalKeySet::new(&key()?, &key()?, &key()?))
}

pub async fn start(config: QuickStart) -> anyhow::Result<Running> {
    let front_listener = service_kit::server::bind(&config.bind_addr)?;
    start_with_listener(config, front_listener).await
}

/// Binds the ops listener, on loopback whatever the address asks for.
fn bind_ops(ops_addr: &str) -> anyhow::Result<TcpListener> {
    let port = ops_addr.rsplit_once(':').map_or(ops_addr, |(_, p)| p);
    TcpListener::bind(format!("127.0.0.1:{port}"))
        .with_context(|| format!("cannot listen on 127.0.0.1:{port} (OPS_PORT)"))
}

pub async fn start_with_listener(
    config: QuickStart,
    front_listener: TcpListener,
) -> anyhow::Result<Running> {
    let port = front_listener.local_addr()?.port();
    let production = config.auth.env.is_production();
    if production && config.public_url.is_none() {
        return Err(ConfigError::new(
            "PUBLIC_URL",
            "is required when APP_ENV=production: the address people open (https://chat.example.org), used in password-reset mails and as the allowed origin",
        )
        .into());
    }
    // Read before anything starts, so a bad certificate is the first and only error.
    let tls = config
        .tls
        .as_ref()
        .map(|(cert, key)| front::tls_config(cert, key))
        .transpose()?;
    let ops_listener = bind_ops(&config.ops_addr)?;
    let ops_port = ops_listener.local_addr()?.port();
    // auth-service and chat-service reach the relay's internal API on the ops port, never
    // through the public one.
    let ops_url = format!("http://127.0.0.1:{ops_port}");
    // ALLOWED_ORIGINS, else PUBLIC_URL's origin, else the public port's local addresses.
    let origins = match (&config.allowed_origins, &config.public_url) {
        (Some(list), _) => list.clone(),
        (None, Some(url)) => vec![origin_of(url).to_owned()],
        (None, None) => vec![
            format!("http://localhost:{port}"),
            format!("http://127.0.0.1:{port}"),
        ],
    };
    let internal_keys = random_keys()?;
    store_kit::files::private_dir(&config.data_dir)
        .with_context(|| format!("creating DATA_DIR {}", config.data_dir.display()))?;
    warn_if_open(&config.data_dir);

    let mut auth = config.auth;
    auth.database_url = auth_database_url(&config.data_dir);
    auth.migrate_on_start = true;
    auth.data_dir = config.data_dir.clone();
    auth.internal_keys = internal_keys.clone();
    auth.relay_url = Some(ops_url.clone());
    auth.public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{port}"));
    auth.allowed_origins = origins.clone();
    // chat-service's loopback port, bound now: auth-service delivers role and suspension
    // changes to it (CHAT_URL), and chat-service needs auth-service's address first.
    let chat_listener = loopback()?;
    let chat_url = format!("http://127.0.0.1:{}", chat_listener.local_addr()?.port());
    auth.chat_url = Some(chat_url.clone());
    if auth.jwt_private_key.is_none() {
        // Kept in DATA_DIR in every mode: one binary, one directory to back up.
        auth.jwt_private_key = Some(auth_service::startup::key_file_pem(&config.data_dir)?);
    }
    // The front door, in this process, is auth-service's proxy.
    auth.trusted_proxies =
        service_kit::TrustedProxies::parse("TRUSTED_PROXIES", &["127.0.0.1".to_owned()])?;
    auth.validate()?;
    let public_url = auth.public_url.clone();
    let auth_app =
        auth_service::startup::Application::build_with_listener(auth, loopback()?).await?;
    let auth_url = format!("http://127.0.0.1:{}", auth_app.port());

    let mut chat = config.chat;
    chat.database_url = sqlite_url(&config.data_dir, CHAT_DB);
    chat.migrate_on_start = true;
    chat.auth_url = auth_url.clone();
    // Links in digest mails point where auth-service's reset links do.
    chat.public_url = public_url.trim_end_matches('/').to_owned();
    chat.internal_keys = internal_keys.clone();
    chat.relay_url = Some(ops_url.clone());
    // Behind the same front door: the audit log records the client's address it forwards.
    chat.trusted_proxies =
        service_kit::TrustedProxies::parse("TRUSTED_PROXIES", &["127.0.0.1".to_owned()])?;
    chat.validate()?;
    let chat_app =
        chat_service::startup::Application::build_with_listener(chat, chat_listener).await?;
    // An upload's body may pass UPLOAD_MAX_BYTES by multipart's boundaries and headers;
    // chat-service enforces the limit itself while it streams.
    let upload_limit = chat_app
        .state()
        .settings
        .files
        .upload_max_bytes
        .saturating_add(64 * 1024);

    let mut relay_settings = config.relay;
    relay_settings.chat_url = chat_url.clone();
    relay_settings.auth_url = auth_url.clone();
    relay_settings.internal_keys = internal_keys;
    relay_settings.allowed_origins = origins;
    // The relay is the front door here: the per-address connect limit counts the TCP peer,
    // or what the proxies in TRUSTED_PROXIES (none by default) say the client is.
    let front_proxies = relay_settings.trusted_proxies.clone();
    ws_relay::startup::drop_unread_connections(
        &front_listener,
        relay_settings.limits.idle_timeout,
    )?;
    relay_settings.validate()?;
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
    let ops = service_kit::server::http_server(
        ops_listener,
        readiness,
        ws_relay::startup::INTERNAL_BODY_LIMIT,
        {
            let relay = relay.clone();
            move |cfg| ws_relay::startup::configure_internal(cfg, &relay)
        },
    )?;
    let proxy = web::Data::new(proxy::Proxy::new(&config.limits, front_proxies)?);
    let web_dir = config.web_dir.clone();
    let has_web = web_dir.join("index.html").is_file();
    if !has_web {
        tracing::warn!(dir = %web_dir.display(), "the web app is not built (make web-build); serving the API only");
    }
    let drain = relay.settings().shutdown_drain;
    let front = {
        let relay = relay.clone();
        front::server(
            front_listener,
            tls,
            config.limits.clone(),
            drain.as_secs() + 5,
            move |cfg| {
                ws_relay::startup::configure_public(cfg, &relay);
                cfg.app_data(proxy.clone());
                // A data export streams through, however long the history (nginx:
                // `location = /users/me/export`); registered before `/users`, which buffers.
                cfg.service(
                    web::resource("/users/me/export").route(proxy::streaming(auth_url.clone(), 0)),
                );
                // `/admin` itself is the web app's page; only these API paths under it go on.
                for prefix in ["/auth", "/users", "/.well-known", "/admin/users"] {
                    cfg.service(web::scope(prefix).default_service(proxy::to(auth_url.clone())));
                }
                for prefix in [
                    "/rooms",
                    "/messages",
                    "/ws-tickets",
                    "/dms",
                    "/mentions",
                    "/search",
                    "/presence",
                    "/push",
                    "/notification-settings",
                    "/notifications",
                    "/reports",
                    "/blocks",
                    "/admin/audit",
                    "/admin/stats",
                ] {
                    cfg.service(web::scope(prefix).default_service(proxy::to(chat_url.clone())));
                }
                // Files stream through, as nginx's `proxy_request_buffering off`.
                for prefix in ["/uploads", "/files"] {
                    cfg.service(
                        web::scope(prefix)
                            .default_service(proxy::streaming(chat_url.clone(), upload_limit)),
                    );
                }
                if has_web {
                    // The service worker, revalidated on every load like index.html, so an
                    // update is picked up at once (nginx: `location = /sw.js`).
                    let sw = web_dir.join("sw.js");
                    cfg.route(
                        "/sw.js",
                        web::route()
                            .guard(
                                actix_web::guard::Any(actix_web::guard::Get())
                                    .or(actix_web::guard::Head()),
                            )
                            .to(move |req: actix_web::HttpRequest| {
                                let sw = sw.clone();
                                async move { no_cache_file(&sw, &req).await }
                            }),
                    );
                    cfg.service(spa(&web_dir));
                } else {
                    cfg.route("/", web::get().to(no_web_app));
                }
            },
        )?
    };
    tokio::spawn(auth_app.run_until_stopped());
    tokio::spawn(chat_app.run_until_stopped());
    tokio::spawn(ops);
    Ok(Running {
        port,
        ops_port,
        relay,
        front,
    })
}

/// The data directory holds the signing key and every message: say so when others can
/// read it (an existing directory is not changed: it may be shared or a mount point).
fn warn_if_open(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(dir)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(dir = %dir.display(), "DATA_DIR is open to other users; `chmod 700` it");
        }
    }
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
            async move { no_cache_file(&index, &req).await }
        }))
}

/// A file of the web app that must be revalidated on every load (`Cache-Control: no-cache`).
async fn no_cache_file(path: &Path, req: &actix_web::HttpRequest) -> HttpResponse {
    match actix_files::NamedFile::open_async(path).await {
        Ok(file) => file
            .customize()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
            .respond_to(req)
            .map_into_boxed_body(),
        Err(_) => HttpResponse::NotFound().finish(),
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_origin_of_a_public_url() {
        assert_eq!(
            super::origin_of("https://chat.example.org"),
            "https://chat.example.org"
        );
        assert_eq!(
            super::origin_of("https://chat.example.org:8443/team/"),
            "https://chat.example.org:8443"
        );
    }
}
