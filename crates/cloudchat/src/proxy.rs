//! A small reverse proxy: the quick start's stand-in for nginx in front of auth-service and
//! chat-service. It forwards method, path, query, headers and body, sets `X-Forwarded-For` to
//! the client's address (the services trust loopback as their proxy), and passes the answer
//! back, `Set-Cookie` headers included.

use std::time::Duration;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use service_kit::{Problem, RequestId};

/// Headers that describe one hop, never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "x-forwarded-for",
];

#[derive(Clone)]
pub struct Proxy {
    http: reqwest::Client,
}

impl Proxy {
    pub fn new() -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { http })
    }

    /// Forwards the request to `upstream` (a base URL such as `http://127.0.0.1:41234`).
    pub async fn forward(
        &self,
        upstream: &str,
        req: &HttpRequest,
        body: web::Bytes,
    ) -> HttpResponse {
        let path_and_query = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let url = format!("{upstream}{path_and_query}");
        let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
            .unwrap_or(reqwest::Method::GET);
        let mut outgoing = self.http.request(method, url);
        for (name, value) in req.headers() {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                outgoing = outgoing.header(name.as_str(), value.as_bytes());
            }
        }
        if let Some(peer) = req.peer_addr() {
            outgoing = outgoing.header("x-forwarded-for", peer.ip().to_string());
        }
        if let Some(id) = req.extensions().get::<RequestId>() {
            outgoing = outgoing.header(service_kit::REQUEST_ID_HEADER, id.as_str());
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            outgoing = outgoing.body(body);
        }
        let answer = match outgoing.send().await {
            Ok(answer) => answer,
            Err(err) => {
                tracing::error!(%upstream, error = %err, "proxy: upstream unreachable");
                return actix_web::ResponseError::error_response(&Problem::unavailable(
                    "upstream_unavailable",
                    "a Cloud Chat service did not answer; see the process log",
                ));
            }
        };
        let status =
            StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut response = HttpResponse::build(status);
        for (name, value) in answer.headers() {
            if HOP_BY_HOP.contains(&name.as_str()) || name.as_str() == "x-request-id" {
                continue;
            }
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_str().as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                response.append_header((n, v));
            }
        }
        match answer.bytes().await {
            Ok(bytes) => response.body(bytes),
            Err(err) => {
                tracing::error!(%upstream, error = %err, "proxy: upstream answer cut short");
                actix_web::ResponseError::error_response(&Problem::unavailable(
                    "upstream_unavailable",
                    "a Cloud Chat service's answer was cut short",
                ))
            }
        }
    }
}

/// A route target that forwards everything under a prefix to `upstream`.
pub fn to(upstream: String) -> actix_web::Route {
    web::to(
        move |req: HttpRequest, body: web::Bytes, proxy: web::Data<Proxy>| {
            let upstream = upstream.clone();
            async move { proxy.forward(&upstream, &req, body).await }
        },
    )
}
