//! Operational endpoints every service serves: `GET /healthz` (the process answers),
//! `GET /readyz` (its dependencies answer) and `GET /metrics` (Prometheus text).

use std::sync::{Arc, OnceLock};

use actix_web::{HttpResponse, web};
use futures_util::future::BoxFuture;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;

/// A dependency the service needs to take traffic (its database, Redis, ...).
pub trait ReadinessCheck: Send + Sync {
    /// A short name for logs and the `/readyz` body.
    fn name(&self) -> &'static str;
    /// `Err` says what is wrong, in words an operator can act on.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// A readiness check from a name and an async closure.
pub fn check<F, Fut>(name: &'static str, f: F) -> Arc<dyn ReadinessCheck>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    Arc::new(FnCheck { name, f })
}

struct FnCheck<F> {
    name: &'static str,
    f: F,
}

impl<F, Fut> ReadinessCheck for FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin((self.f)())
    }
}

/// The checks behind `/readyz`, registered as app data.
#[derive(Clone, Default)]
pub struct Readiness(pub Vec<Arc<dyn ReadinessCheck>>);

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once) and returns its handle.
pub fn metrics_handle() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            let latency_buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ];
            let builder = PrometheusBuilder::new();
            let builder = match builder.set_buckets(&latency_buckets) {
                Ok(b) => b,
                Err(_) => PrometheusBuilder::new(),
            };
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed (should not happen): keep a detached one so
                // /metrics still answers.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    for check in &readiness.0 {
        let outcome = check.check().await;
        let value = match outcome {
            Ok(()) => json!("ok"),
            Err(reason) => {
                ready = false;
                tracing::warn!(check = check.name(), %reason, "readiness check failed");
                json!(reason)
            }
        };
        checks.insert(check.name().to_owned(), value);
    }
    let body = json!({"status": if ready {"ready"} else {"not_ready"}, "checks": checks});
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics_text() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics_handle().render())
}

/// Registers `/healthz`, `/readyz` and `/metrics`.
pub fn configure(cfg: &mut web::ServiceConfig, readiness: Readiness) {
    metrics_handle();
    cfg.app_data(web::Data::new(readiness))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics_text));
}
