//! The quick start's front door: what nginx does in deployments (nginx/snippets/
//! cloudchat-server.conf), done in the process. Before any routing it refuses dot segments
//! and encoded dots, slashes and backslashes (400 `bad_path`), oversized request lines and
//! headers (414, 431), and answers 404 for `/internal*`, `/metrics`, `/healthz` and
//! `/readyz`, which live on the loopback ops listener instead; every answer carries nginx's
//! security headers; and the server itself bounds how long a client may take to send its
//! request head and how long an idle connection stays open.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, Error, HttpServer, ResponseError, web};
use service_kit::Problem;

/// The headers nginx adds to every answer (nginx/snippets/security-headers.conf), with the
/// CSP's `connect-src` at nginx's default, `'self'`: the quick start is one origin. HSTS is
/// left out as nginx leaves it out on plain HTTP. A test compares these with nginx's file.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
    ("cross-origin-opener-policy", "same-origin"),
];

/// Paths nginx never proxies (`location ^~ ...` prefixes): the services' internal API and
/// their operational endpoints.
const NEVER_PUBLIC: &[&str] = &["/internal", "/metrics", "/healthz", "/readyz"];

/// How much a client may send and how long it may take (`FRONT_*` variables).
#[derive(Debug, Clone)]
pub struct FrontLimits {
    /// Largest request body forwarded to a service.
    pub max_body_bytes: usize,
    /// Longest request target (path and query), as nginx's 8 KiB request line.
    pub max_uri_bytes: usize,
    /// Most bytes of header names and values in one request.
    pub max_header_bytes: usize,
    /// Time to send the request head once a connection is open (or a keep-alive request
    /// has begun); past it the answer is 408 and the connection is closed.
    pub header_timeout: Duration,
    /// Time to send a request body once the head has arrived.
    pub body_timeout: Duration,
    /// How long an idle keep-alive connection stays open.
    pub keep_alive: Duration,
}

impl Default for FrontLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 32 * 1024,
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(30),
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// nginx's `$cloudchat_bad_path` (nginx/conf.d/20-maps.conf) on the raw, undecoded path:
/// an encoded dot, slash, backslash or NUL, a backslash, an empty segment, or a `.` or `..`
/// segment. None has a use in the API or the web app, and refusing them means the path
/// that was routed is the path the service sees.
pub fn is_bad_path(raw_path: &str) -> bool {
    let lower = raw_path.to_ascii_lowercase();
    ["%2e", "%2f", "%5c", "%00", "\\", "//"]
        .iter()
        .any(|s| lower.contains(s))
        || raw_path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

fn never_public(path: &str) -> bool {
    NEVER_PUBLIC.iter().any(|prefix| path.starts_with(prefix))
}

/// A refusal for a part of the request that is over its size limit.
pub(crate) fn too_large(
    status: StatusCode,
    code: &'static str,
    what: &str,
    limit: usize,
) -> Problem {
    Problem::new(
        status,
        code,
        format!("the request {what} is larger than {limit} bytes"),
    )
}

/// The refusal for a request that must not reach the routes, if any.
fn refusal(req: &ServiceRequest, limits: &FrontLimits) -> Option<Problem> {
    let uri_bytes = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let sizes = [
        (
            uri_bytes,
            limits.max_uri_bytes,
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "target",
        ),
        (
            header_bytes,
            limits.max_header_bytes,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "headers",
        ),
    ];
    if let Some(&(_, limit, status, code, what)) = sizes.iter().find(|(n, limit, ..)| n > limit) {
        return Some(too_large(status, code, what, limit));
    }
    let path = req.uri().path();
    if is_bad_path(path) {
        return Some(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_path",
            "the request path is not valid",
        ));
    }
    if never_public(path) {
        return Some(Problem::not_found("not_found", "no such resource"));
    }
    None
}

/// The middleware: refusals before routing, security headers on every answer.
async fn front_door(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let limits = req
        .app_data::<web::Data<FrontLimits>>()
        .map(|l| l.get_ref().clone())
        .unwrap_or_default();
    let mut res = match refusal(&req, &limits) {
        Some(problem) => req.into_response(problem.error_response()),
        // Handlers and extractors turn their errors into answers themselves; an `Err` here
        // could only come from a middleware, and goes on as it is (holding on to the request
        // to answer it would stop the router from writing its match into it).
        None => next.call(req).await?.map_into_boxed_body(),
    };
    let headers = res.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        // A download carries chat-service's own, stricter policy (`default-src 'none';
        // sandbox`): it stays. (nginx sends both; a browser would apply both.)
        if *name == "content-security-policy" && headers.contains_key(*name) {
            continue;
        }
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    Ok(res)
}

/// The public server on `listener`: the front door around `configure`'s routes, unknown
/// paths as problem+json 404s. Signals are left to the caller, which drains the relay's
/// sockets before stopping (`ws_relay::startup::serve_with_drain`).
pub fn server<F>(
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
    limits: FrontLimits,
    shutdown_timeout_secs: u64,
    configure: F,
) -> std::io::Result<Server>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let (header_timeout, keep_alive) = (limits.header_timeout, limits.keep_alive);
    let limits = web::Data::new(limits);
    let server = HttpServer::new(move || {
        let limits = limits.clone();
        let json_limit = limits.max_body_bytes;
        App::new()
            .app_data(limits)
            .wrap(from_fn(front_door))
            // Outermost: refusals get a request id and an access-log line too.
            .wrap(from_fn(service_kit::middleware::observe))
            .configure(|cfg| service_kit::problem::configure_extractors(cfg, json_limit))
            .configure(configure.clone())
            .default_service(web::to(service_kit::problem::not_found))
    })
    .client_request_timeout(header_timeout)
    .client_disconnect_timeout(Duration::from_secs(1))
    .keep_alive(keep_alive)
    .tcp_nodelay(true)
    .disable_signals()
    .shutdown_timeout(shutdown_timeout_secs);
    Ok(match tls {
        Some(config) => server.listen_rustls_0_23(listener, config)?,
        None => server.listen(listener)?,
    }
    .run())
}

/// The TLS configuration of the public port from a PEM certificate chain and its private
/// key (`TLS_CERT_FILE`, `TLS_KEY_FILE`): TLS 1.2 and 1.3 with aws-lc-rs, HTTP/1.1 (which
/// the WebSocket upgrade needs).
pub fn tls_config(cert_file: &Path, key_file: &Path) -> anyhow::Result<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("TLS_CERT_FILE {}: {e}", cert_file.display()))?;
    if certs.is_empty() {
        anyhow::bail!(
            "TLS_CERT_FILE {}: no certificate in it",
            cert_file.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| anyhow::anyhow!("TLS_KEY_FILE {}: {e}", key_file.display()))?;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            anyhow::anyhow!("TLS_CERT_FILE and TLS_KEY_FILE do not make a key pair: {e}")
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::is_bad_path;

    #[test]
    fn bad_paths_are_nginx_bad_paths() {
        for bad in [
            "/rooms/../internal/ws/connect",
            "/rooms/./1",
            "/rooms/..",
            "/rooms/%2e%2e/internal",
            "/rooms/%2E%2E/internal",
            "/auth/..%2f..%2finternal",
            "/a%5cb",
            "/a\\b",
            "/a%00",
            "//internal/publish",
        ] {
            assert!(is_bad_path(bad), "{bad}");
        }
        for good in [
            "/",
            "/rooms/1/messages",
            "/assets/index-1.2.js",
            "/.well-known/jwks.json",
            "/a..b",
        ] {
            assert!(!is_bad_path(good), "{good}");
        }
    }
}
