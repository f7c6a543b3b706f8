//! A small reverse proxy: the quick start's stand-in for nginx in front of auth-service and
//! chat-service. It forwards method, path, query, headers and body, sets `X-Forwarded-For` to
//! the client's address (the services trust loopback as their proxy), and passes the answer
//! back, `Set-Cookie` headers included. The request body is read here, within the front
//! door's size and time limits — except for files (`/uploads`, `/files/`), whose bodies
//! stream through both ways ([`streaming`]), as nginx's `proxy_request_buffering off`: the
//! size of an upload is chat-service's to enforce while it stores it (UPLOAD_MAX_BYTES).

use std::time::Duration;

use futures_util::StreamExt;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use service_kit::{Problem, RequestId};

use crate::front::FrontLimits;

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

/// How long a service may take to answer, as nginx's `proxy_read_timeout` (30 s).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// A streamed upload or download may take this long between two reads (no limit on the
/// whole: a large file on a slow link takes what it takes).
const STREAM_READ_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub(crate) struct Proxy {
    http: reqwest::Client,
    /// For streamed bodies: no total timeout, a read timeout.
    streaming: reqwest::Client,
    max_body_bytes: usize,
    body_timeout: Duration,
    /// Proxies in front of the quick start whose `X-Forwarded-For` is believed
    /// (`TRUSTED_PROXIES`; none by default: the TCP peer is the client).
    trusted: service_kit::TrustedProxies,
}

impl Proxy {
    pub(crate) fn new(
        limits: &FrontLimits,
        trusted: service_kit::TrustedProxies,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(UPSTREAM_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let streaming = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .read_timeout(STREAM_READ_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            streaming,
            max_body_bytes: limits.max_body_bytes,
            body_timeout: limits.body_timeout,
            trusted,
        })
    }

    /// The whole request body, refused (413) past the size limit — at once when the
    /// declared length says so — and (408) when the client is slower than the time limit.
    pub(crate) async fn read_body(
        &self,
        req: &HttpRequest,
        mut payload: web::Payload,
    ) -> Result<web::Bytes, Problem> {
        let too_large = || {
            let status = StatusCode::PAYLOAD_TOO_LARGE;
            crate::front::too_large(status, "body_too_large", "body", self.max_body_bytes)
        };
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > self.max_body_bytes) {
            return Err(too_large());
        }
        let read = async {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|err| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_body",
                        format!("could not read the request body: {err}"),
                    )
                })?;
                if body.len() + chunk.len() > self.max_body_bytes {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body.freeze())
        };
        match tokio::time::timeout(self.body_timeout, read).await {
            Ok(result) => result,
            Err(_) => Err(Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "the request body did not arrive within {} s",
                    self.body_timeout.as_secs()
                ),
            )),
        }
    }

    /// Forwards the request to `upstream` (a base URL such as `http://127.0.0.1:41234`).
    pub(crate) async fn forward(
        &self,
        upstream: &str,
        req: &HttpRequest,
        body: web::Bytes,
    ) -> HttpResponse {
        let mut outgoing = self.outgoing(&self.http, upstream, req);
        if req.method() != Method::GET && req.method() != Method::HEAD {
            outgoing = outgoing.body(body);
        }
        let Some((mut response, answer)) = self.send(upstream, outgoing).await else {
            return unavailable("a Cloud Chat service did not answer; see the process log");
        };
        match answer.bytes().await {
            Ok(bytes) => response.body(bytes),
            Err(err) => {
                tracing::error!(%upstream, error = %err, "proxy: upstream answer cut short");
                unavailable("a Cloud Chat service's answer was cut short")
            }
        }
    }

    /// Forwards the request with its body streamed to `upstream` as it arrives, and the
    /// answer's body streamed back (with its length, when the service gave one). A body whose
    /// declared length passes `max_body` is refused at once.
    pub(crate) async fn forward_streaming(
        &self,
        upstream: &str,
        req: &HttpRequest,
        mut payload: web::Payload,
        max_body: u64,
    ) -> HttpResponse {
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_body) {
            let problem = Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "upload_too_large",
                format!("the request body is larger than {max_body} bytes"),
            );
            return actix_web::ResponseError::error_response(&problem);
        }
        let mut outgoing = self.outgoing(&self.streaming, upstream, req);
        if req.method() != Method::GET && req.method() != Method::HEAD {
            // The payload lives on this worker's thread; a pump task hands its chunks over.
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(4);
            actix_web::rt::spawn(async move {
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|e| std::io::Error::other(e.to_string()));
                    let failed = chunk.is_err();
                    if tx.send(chunk).await.is_err() || failed {
                        return;
                    }
                }
            });
            let body = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|chunk| (chunk, rx))
            });
            outgoing = outgoing.body(reqwest::Body::wrap_stream(body));
        }
        let Some((mut response, answer)) = self.send(upstream, outgoing).await else {
            return unavailable("a Cloud Chat service did not answer; see the process log");
        };
        let length = answer.content_length();
        let stream = answer.bytes_stream();
        match length {
            Some(length) => response.body(actix_web::body::SizedStream::new(length, stream)),
            None => response.streaming(stream),
        }
    }

    /// The request to `upstream`: method, path, query and headers, with the client's address
    /// and the request id.
    fn outgoing(
        &self,
        client: &reqwest::Client,
        upstream: &str,
        req: &HttpRequest,
    ) -> reqwest::RequestBuilder {
        let path_and_query = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let url = format!("{upstream}{path_and_query}");
        let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
            .unwrap_or(reqwest::Method::GET);
        let mut outgoing = client.request(method, url);
        for (name, value) in req.headers() {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                outgoing = outgoing.header(name.as_str(), value.as_bytes());
            }
        }
        // The one address the services see: the client's, as far as trusted proxies say.
        if let Some(client) = self.trusted.client_ip(req) {
            outgoing = outgoing.header("x-forwarded-for", client.to_string());
        }
        if let Some(id) = req.extensions().get::<RequestId>() {
            outgoing = outgoing.header(service_kit::REQUEST_ID_HEADER, id.as_str());
        }
        outgoing
    }

    /// Sends the request; the answer's status and headers as a builder, and the answer.
    async fn send(
        &self,
        upstream: &str,
        outgoing: reqwest::RequestBuilder,
    ) -> Option<(actix_web::HttpResponseBuilder, reqwest::Response)> {
        let answer = match outgoing.send().await {
            Ok(answer) => answer,
            Err(err) => {
                tracing::error!(%upstream, error = %err, "proxy: upstream unreachable");
                return None;
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
        Some((response, answer))
    }
}

fn unavailable(detail: &'static str) -> HttpResponse {
    actix_web::ResponseError::error_response(&Problem::unavailable("upstream_unavailable", detail))
}

/// A route target that forwards with bodies streamed both ways (uploads, downloads),
/// refusing a declared body over `max_body` at once.
pub(crate) fn streaming(upstream: String, max_body: u64) -> actix_web::Route {
    web::to(
        move |req: HttpRequest, payload: web::Payload, proxy: web::Data<Proxy>| {
            let upstream = upstream.clone();
            async move {
                proxy
                    .forward_streaming(&upstream, &req, payload, max_body)
                    .await
            }
        },
    )
}

/// A route target that forwards everything under a prefix to `upstream`.
pub(crate) fn to(upstream: String) -> actix_web::Route {
    web::to(
        move |req: HttpRequest, payload: web::Payload, proxy: web::Data<Proxy>| {
            let upstream = upstream.clone();
            async move {
                match proxy.read_body(&req, payload).await {
                    Ok(body) => proxy.forward(&upstream, &req, body).await,
                    Err(problem) => actix_web::ResponseError::error_response(&problem),
                }
            }
        },
    )
}
