//! Admission: whether a client may connect, decided before the `101 Switching Protocols`,
//! cheapest refusal first: this relay draining, the per-address connect limit, `Origin`, the
//! shape of the ticket or token, capacity, the handshake headers, and only then
//! chat-service's `$connect` (a refused client gets a plain HTTP 401/403/429/503 it can read).
//! The ticket or token is never logged. What comes after is [`super::attach`].

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::MessageStream;
use serde::Deserialize;
use service_kit::ratelimit::{Decision, Quota};
use service_kit::{Problem, RequestId};
use wire::{ConnectRequest, ConnectResponse};

use super::reader;
use crate::chat_client::ChatError;
use crate::relay::Relay;

/// The subprotocol clients offer, and the only one we answer with.
pub(crate) const SUBPROTOCOL: &str = "cloudchat.v1";
const BEARER_PREFIX: &str = "bearer.";

#[derive(Deserialize)]
struct TicketQuery {
    ticket: Option<String>,
}

/// How the client proves who it is.
enum Credential {
    Ticket(String),
    Token(String),
}

/// A refusal before the upgrade: a problem, and when to retry for 503s. Boxed: refusals are
/// rare and `Problem` is large.
pub(crate) struct Refused(Box<(Problem, Option<u64>)>);

impl From<Problem> for Refused {
    fn from(problem: Problem) -> Self {
        Self(Box::new((problem, None)))
    }
}

impl Refused {
    /// The problem+json answer, with `Retry-After` when there is one.
    pub(crate) fn into_response(self) -> HttpResponse {
        let (problem, retry_after) = *self.0;
        let mut response = actix_web::ResponseError::error_response(&problem);
        if let Some(v) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// A client chat-service admitted: its handshake answered, nothing attached yet.
pub(crate) struct Admitted {
    pub connection_id: String,
    /// Who the client is, its rooms and when its token expires.
    pub accepted: ConnectResponse,
    pub source_ip: Option<String>,
    /// actix-ws's `101` answer, whose body [`super::writer::attach`] replaces.
    pub response: HttpResponse,
    /// The client's frames.
    pub stream: MessageStream,
}

/// Runs every check and `$connect`; `Ok` once chat-service has admitted the client.
pub(crate) async fn admit(
    req: &HttpRequest,
    body: web::Payload,
    relay: &Relay,
    request_id: &RequestId,
) -> Result<Admitted, Refused> {
    let settings = relay.settings();
    if relay.is_shutting_down() {
        return Err(unavailable(
            "shutting_down",
            "this relay is restarting; reconnect to another one",
            2,
        ));
    }
    check_connect_rate(req, relay).await?;
    check_origin(req, &settings.allowed_origins)?;
    let credential = credential(req)?;
    if relay.connection_count() >= settings.limits.max_connections {
        metrics::counter!("ws_relay_connect_refusals_total", "reason" => "relay_full").increment(1);
        return Err(unavailable(
            "relay_full",
            "this relay is full; retry shortly",
            5,
        ));
    }

    // Build the handshake response first (it only checks headers): an invalid upgrade must
    // not consume the client's single-use ticket.
    let body = reader::guard_payload(req, body, settings.limits.max_frame_bytes)
        .await
        .map_err(|_| Refused::from(Problem::internal()))?;
    let (response, _unused_session, stream) =
        actix_ws::handle_with_protocols(req, body, &[SUBPROTOCOL]).map_err(|e| {
            Refused::from(Problem::new(
                StatusCode::BAD_REQUEST,
                "not_a_websocket",
                format!("expected a WebSocket upgrade: {e}"),
            ))
        })?;

    let connection_id = uuid::Uuid::new_v4().to_string();
    let (ticket, token) = match credential {
        Credential::Ticket(t) => (Some(t), None),
        Credential::Token(t) => (None, Some(t)),
    };
    let connect = ConnectRequest {
        connection_id: connection_id.clone(),
        ticket,
        token,
        relay_id: settings.relay_id.clone(),
        source_ip: settings
            .trusted_proxies
            .client_ip(req)
            .map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
    };
    let accepted = match relay.chat().connect(&connect, request_id.as_str()).await {
        Ok(accepted) => accepted,
        Err(ChatError::Rejected {
            status,
            code,
            message,
        }) => {
            metrics::counter!("ws_relay_connect_refusals_total", "reason" => status.to_string())
                .increment(1);
            tracing::info!(%connection_id, status, code = code.as_str(), "chat-service refused the connection");
            let status = match status {
                401 => StatusCode::UNAUTHORIZED,
                403 => StatusCode::FORBIDDEN,
                429 => StatusCode::TOO_MANY_REQUESTS,
                // chat-service failing is not the client's fault: a 503 says "retry".
                s if s >= 500 => {
                    return Err(unavailable(
                        "chat_unavailable",
                        "the chat service failed to admit the connection; retry shortly",
                        2,
                    ));
                }
                _ => StatusCode::BAD_REQUEST,
            };
            return Err(Problem::new(status, code.as_str(), message).into());
        }
        Err(err @ (ChatError::Unavailable(_) | ChatError::Busy)) => {
            metrics::counter!("ws_relay_connect_refusals_total", "reason" => "chat_unavailable")
                .increment(1);
            tracing::warn!(%connection_id, reason = %err, "cannot $connect: chat-service unavailable");
            return Err(unavailable(
                "chat_unavailable",
                "the chat service is unavailable; retry shortly",
                2,
            ));
        }
    };
    Ok(Admitted {
        connection_id,
        accepted,
        source_ip: connect.source_ip,
        response,
        stream,
    })
}

/// At most `RELAY_CONNECTS_PER_MINUTE` upgrade attempts per client address (the address
/// behind `TRUSTED_PROXIES`, IPv6 by its /64), counted before anything else costs us work.
async fn check_connect_rate(req: &HttpRequest, relay: &Relay) -> Result<(), Refused> {
    let settings = relay.settings();
    let Some(ip) = settings.trusted_proxies.client_ip(req) else {
        return Ok(());
    };
    let key = service_kit::client_ip::address_key(ip);
    let quota = Quota::per_minute(settings.limits.connects_per_minute);
    match relay.connect_limiter().hit(&key, quota).await {
        Decision::Allowed => Ok(()),
        limited @ Decision::Limited { .. } => {
            metrics::counter!("ws_relay_connect_refusals_total", "reason" => "rate_limited")
                .increment(1);
            Err(Problem::rate_limited(limited.retry_after_secs().unwrap_or(1)).into())
        }
    }
}

/// Browsers always send `Origin` on a WebSocket; it must be exactly one we serve (cross-site
/// WebSocket hijacking). Clients that are not browsers send none and are let through: they
/// cannot carry a victim's cookies anyway, and must still present a ticket or token.
fn check_origin(req: &HttpRequest, allowed: &[String]) -> Result<(), Refused> {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let ok = origin
        .to_str()
        .is_ok_and(|o| allowed.iter().any(|a| a == o));
    if ok {
        Ok(())
    } else {
        metrics::counter!("ws_relay_connect_refusals_total", "reason" => "origin").increment(1);
        Err(Problem::forbidden(
            "origin_not_allowed",
            "this Origin may not open a connection",
        )
        .into())
    }
}

/// `?ticket=` wins over a bearer subprotocol; either one is required.
fn credential(req: &HttpRequest) -> Result<Credential, Refused> {
    let query = web::Query::<TicketQuery>::from_query(req.query_string())
        .map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "the query string cannot be read",
            )
        })
        .map_err(Refused::from)?;
    if let Some(ticket) = query.into_inner().ticket.filter(|t| !t.is_empty()) {
        // Not the shape of a ticket we issue: refused here, without a call to chat-service.
        if !tokens::SecretToken::is_well_formed(&ticket) {
            return Err(malformed("the ticket is not valid"));
        }
        return Ok(Credential::Ticket(ticket));
    }
    let offered: Vec<&str> = req
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let token = offered
        .iter()
        .find_map(|p| p.strip_prefix(BEARER_PREFIX))
        .filter(|t| !t.is_empty());
    match token {
        Some(_) if !offered.contains(&SUBPROTOCOL) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "subprotocol_required",
            "offer the `cloudchat.v1` subprotocol alongside `bearer.<token>`",
        )
        .into()),
        Some(token) if !tokens::is_well_formed_jwt(token) => {
            Err(malformed("the bearer token is not valid"))
        }
        Some(token) => Ok(Credential::Token(token.to_owned())),
        None => {
            metrics::counter!("ws_relay_connect_refusals_total", "reason" => "no_credentials")
                .increment(1);
            Err(Problem::unauthorized(
                "credentials_required",
                "connect with ?ticket= (from POST /ws-tickets) or the `cloudchat.v1, bearer.<token>` subprotocols",
            )
            .into())
        }
    }
}

/// A credential that cannot be one of ours: the same 401 chat-service gives an unknown one.
fn malformed(detail: &'static str) -> Refused {
    metrics::counter!("ws_relay_connect_refusals_total", "reason" => "malformed_credentials")
        .increment(1);
    Problem::unauthorized("invalid_ticket", detail).into()
}

pub(crate) fn unavailable(code: &'static str, detail: &'static str, retry_after: u64) -> Refused {
    Refused(Box::new((
        Problem::unavailable(code, detail),
        Some(retry_after),
    )))
}
