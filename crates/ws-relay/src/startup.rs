//! Builds the relay and its HTTP server bound to a listener (port 0 in tests), and runs it
//! until SIGTERM/SIGINT with the relay's own drain (close 1012, wait, exit).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use service_kit::ops::Readiness;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::relay::Relay;
use crate::routes;

/// Mounts all the relay's routes: [`configure_public`] and [`configure_internal`] on one
/// port, as the relay binary serves them (nginx keeps `/internal` off the public side).
/// Operational endpoints are not included: a process mounting several services serves one
/// `/healthz`/`/readyz`/`/metrics` and adds [`Relay::readiness_checks`] to its readiness.
pub fn configure(cfg: &mut web::ServiceConfig, relay: &Relay) {
    configure_public(cfg, relay);
    configure_internal(cfg, relay);
}

/// What clients reach: `/ws`, and `/ws-echo` when enabled.
pub fn configure_public(cfg: &mut web::ServiceConfig, relay: &Relay) {
    cfg.app_data(web::Data::new(relay.clone()))
        .route("/ws", web::get().to(routes::ws::upgrade));
    if relay.settings().enable_echo {
        cfg.route("/ws-echo", web::get().to(routes::echo::echo));
    }
}

/// What only the other services reach, behind their internal keys: `/internal/publish`,
/// `/internal/presence`, `/internal/stats` and the @connections API (`/internal/connections/{id}`).
pub fn configure_internal(cfg: &mut web::ServiceConfig, relay: &Relay) {
    cfg.app_data(web::Data::new(relay.clone()))
        .app_data(web::Data::new(relay.internal_keys().clone()))
        .service(
            web::resource("/internal/publish")
                // Its own limit (`RELAY_PUBLISH_MAX_BYTES`), whatever the embedding app's is.
                .app_data(
                    web::JsonConfig::default()
                        .limit(relay.settings().publish_max_bytes)
                        .error_handler(service_kit::problem::json_error),
                )
                .route(web::post().to(routes::internal::publish)),
        )
        .route(
            "/internal/presence",
            web::get().to(routes::internal::presence),
        )
        .route("/internal/stats", web::get().to(routes::internal::stats))
        .route(
            "/internal/connections/{id}",
            web::get().to(routes::internal::get_connection),
        )
        .route(
            "/internal/connections/{id}",
            web::post().to(routes::internal::post_to_connection),
        )
        .route(
            "/internal/connections/{id}",
            web::delete().to(routes::internal::delete_connection),
        );
}

/// Makes the kernel drop a connection whose peer acknowledges nothing we send (or keeps its
/// receive window shut) for `timeout` (`TCP_USER_TIMEOUT`, which accepted sockets inherit
/// from the listener). The relay closes a client that stops reading with 1013 and frees its
/// queue, but the TCP connection, and the frame the server was writing into it, would
/// otherwise live for as long as that client keeps it open. Call it on every listener that
/// serves `/ws` (the quick start's too); the relay passes `WS_IDLE_TIMEOUT_SECS`, the silence
/// after which it gives up on a client anyway. A no-op outside Linux.
pub fn drop_unread_connections(listener: &TcpListener, timeout: Duration) -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket2::SockRef::from(listener).set_tcp_user_timeout(Some(timeout))?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = (listener, timeout);
    Ok(())
}

/// Largest JSON body of the other internal routes (`/internal/connections/{id}`).
pub const INTERNAL_BODY_LIMIT: usize = 1024 * 1024;

pub struct Application {
    port: u16,
    server: Server,
    relay: Relay,
    stop: Arc<Notify>,
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
        let drain = settings.shutdown_drain;
        drop_unread_connections(&listener, settings.limits.idle_timeout)?;
        let relay = Relay::new(settings)?;
        let port = listener.local_addr()?.port();
        let readiness = Readiness(relay.readiness_checks());
        // Not `service_kit::server::http_server`: the relay handles signals itself (it closes
        // its sockets before the server stops) and waits `SHUTDOWN_DRAIN_SECS`, not 10 s.
        let server = {
            let relay = relay.clone();
            HttpServer::new(move || {
                App::new()
                    .wrap(from_fn(service_kit::middleware::observe))
                    .configure(|cfg| service_kit::ops::configure(cfg, readiness.clone()))
                    .configure(|cfg| {
                        service_kit::problem::configure_extractors(cfg, INTERNAL_BODY_LIMIT)
                    })
                    .configure(|cfg| configure(cfg, &relay))
                    .default_service(web::to(service_kit::problem::not_found))
            })
            // Frames go out as soon as they are written, not after the client's delayed ACK.
            .tcp_nodelay(true)
            // Signals are ours: the relay closes its sockets before the server stops.
            .disable_signals()
            .shutdown_timeout(drain.as_secs() + 5)
            .listen(listener)?
            .run()
        };
        Ok(Self {
            port,
            server,
            relay,
            stop: Arc::new(Notify::new()),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn relay(&self) -> Relay {
        self.relay.clone()
    }

    /// Starts the same graceful shutdown as SIGTERM (for tests and embedding).
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// Serves until SIGTERM/SIGINT (or [`Stopper::stop`]); then refuses new connections,
    /// closes every socket with 1012 and a jittered retry hint, waits up to
    /// `SHUTDOWN_DRAIN_SECS` for them to go, and stops.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            server,
            relay,
            stop,
            ..
        } = self;
        serve_with_drain(server, relay, async move { stop.notified().await }).await
    }
}

/// Runs `server` until SIGTERM/SIGINT or `stop`, then closes the relay's sockets with 1012
/// and a retry hint while the server stops accepting, and waits for both (used by the relay
/// binary and by any process that mounts the relay with [`configure`]).
pub async fn serve_with_drain(
    server: Server,
    relay: Relay,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let handle = server.handle();
    // The server future must keep being polled for `stop` to make progress.
    let mut server = tokio::spawn(server);
    tokio::select! {
        result = &mut server => return result.unwrap_or(Ok(())),
        _ = service_kit::server::shutdown_signal() => tracing::info!("termination signal received"),
        _ = stop => tracing::info!("stop requested"),
    }
    let drain = relay.settings().shutdown_drain;
    // Stop accepting new TCP connections while the open sockets are closed and drained.
    tokio::join!(handle.stop(true), relay.shutdown(drain));
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) | Err(_) => Ok(()),
    }
}

#[derive(Clone)]
pub struct Stopper(Arc<Notify>);

impl Stopper {
    pub fn stop(&self) {
        self.0.notify_one();
    }
}
