//! The request middleware every service wraps around its app: it adopts or creates the
//! `x-request-id`, opens the request's tracing span, records HTTP metrics by route template
//! (never the raw path, so label sets stay small) and writes one access-log line per request.
//! The access log carries the path without its query string: tickets and reset tokens must
//! never reach a log.

use std::future::{Ready, ready};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, dev::Payload};
use tracing::Instrument;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request's id, from the caller's `x-request-id` when it is sane, else a new UUID.
/// Handlers extract it to pass it on to the services they call.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    fn adopt_or_create(req: &ServiceRequest) -> Self {
        let incoming = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 64
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        RequestId(match incoming {
            Some(id) => id.to_owned(),
            None => uuid::Uuid::new_v4().to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromRequest for RequestId {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()));
        ready(Ok(id))
    }
}

/// Wrap with `actix_web::middleware::from_fn(service_kit::middleware::observe)`.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let started = Instant::now();
    let request_id = RequestId::adopt_or_create(&req);
    req.extensions_mut().insert(request_id.clone());
    let method = req.method().clone();
    let path = req.path().to_owned();
    let span = tracing::info_span!(
        "http",
        request_id = %request_id,
        method = %method,
        route = tracing::field::Empty,
    );
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let _entered = span.enter();
    match result {
        Ok(mut res) => {
            let route = res
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            span.record("route", route.as_str());
            let status = res.status();
            record(&method, &route, status.as_u16(), elapsed.as_secs_f64());
            if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
                res.headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
            }
            // Probes and scrapes are frequent and uninteresting: keep them out of the log.
            if !matches!(route.as_str(), "/healthz" | "/readyz" | "/metrics") {
                let ms = elapsed.as_secs_f64() * 1000.0;
                if status.is_server_error() {
                    tracing::error!(%path, status = status.as_u16(), ms, "request failed");
                } else {
                    tracing::info!(%path, status = status.as_u16(), ms, "request");
                }
            }
            Ok(res)
        }
        Err(err) => {
            record(&method, "unmatched", 500, elapsed.as_secs_f64());
            tracing::error!(%path, error = %err, "request failed");
            Err(err)
        }
    }
}

fn record(method: &actix_web::http::Method, route: &str, status: u16, seconds: f64) {
    let labels = [
        ("method", method.as_str().to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method.as_str().to_owned(),
        "route" => route.to_owned()
    )
    .record(seconds);
}
