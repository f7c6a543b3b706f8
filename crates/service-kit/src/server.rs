//! The HTTP server every service runs: the request middleware, `/healthz` `/readyz`
//! `/metrics`, problem+json for extractor failures and unknown paths, graceful shutdown.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::ops::Readiness;

/// How long in-flight requests get to finish after SIGTERM/SIGINT.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// Binds the service's listener, naming the variable when the address is unusable.
pub fn bind(bind_addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(bind_addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on BIND_ADDR={bind_addr}: {e}"))
}

/// Builds the server on an already bound listener. `configure` registers the service's app
/// data and routes; it runs once per worker.
pub fn http_server<F>(
    listener: TcpListener,
    readiness: Readiness,
    json_limit: usize,
    configure: F,
) -> std::io::Result<Server>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    Ok(HttpServer::new(move || {
        let readiness = readiness.clone();
        App::new()
            .wrap(from_fn(crate::middleware::observe))
            .configure(move |cfg| crate::ops::configure(cfg, readiness))
            .configure(|cfg| crate::problem::configure_extractors(cfg, json_limit))
            .configure(configure.clone())
            .default_service(web::to(crate::problem::not_found))
    })
    // Without it, a small response written while an earlier one is unacknowledged waits for
    // the peer's delayed ACK (40 ms on Linux): Nagle's algorithm.
    .tcp_nodelay(true)
    .listen(listener)?
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
    .run())
}

/// Resolves on SIGTERM or SIGINT, for services that run their own drain before stopping.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
