//! Attachment: an admitted client becomes a live connection. Its outbox and [`Closer`] are
//! made and the `101` answer's body becomes its writer; `ready` is queued; the connection is
//! registered in the hub with its rooms (unless a cap says no, and then chat-service hears
//! `$disconnect`); and its session is spawned ([`super::session`]).

use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use service_kit::Problem;

use super::admission::{Admitted, Refused, unavailable};
use super::connection::Connection;
use super::session::{self, SessionParts};
use super::writer::{self, Closer, Outbound, Outbox};
use crate::hub::RegisterError;
use crate::protocol;
use crate::relay::Relay;

/// Registers the admitted client and starts its session; the answer to send is the `101`.
pub(crate) fn attach(
    relay: &Relay,
    admitted: Admitted,
    request_id: &str,
) -> Result<HttpResponse, Refused> {
    let Admitted {
        connection_id,
        accepted,
        source_ip,
        response,
        stream,
    } = admitted;
    let limits = &relay.settings().limits;
    let outbox = Outbox::new(limits.outbound_queue, limits.outbound_max_bytes);
    let (closer, close_rx) = Closer::new();
    let (mut response, written) = writer::attach(response, outbox.clone(), closer.clone());
    let conn = Arc::new(Connection::new(
        connection_id.as_str().into(),
        accepted.identity.clone(),
        outbox,
        closer,
        source_ip,
    ));
    // `ready` goes first: queued before the connection is visible to any delivery.
    conn.send(Outbound::Text(protocol::ready_frame(
        &connection_id,
        accepted.identity.user_id,
        &accepted.rooms,
        accepted.expires_at,
    )));
    if let Err(err) = relay.hub().register(
        conn.clone(),
        &accepted.rooms,
        limits.max_connections,
        limits.max_connections_per_user,
    ) {
        metrics::counter!("ws_relay_connect_refusals_total", "reason" => match err {
            RegisterError::RelayFull => "relay_full",
            RegisterError::UserFull => "user_full",
        })
        .increment(1);
        // chat-service saw the connect; tell it the connection is gone.
        let relay = relay.clone();
        let request = wire::DisconnectRequest {
            connection_id: connection_id.clone(),
            identity: accepted.identity.clone(),
        };
        let request_id = request_id.to_owned();
        actix_web::rt::spawn(async move {
            relay.chat().disconnect(&request, &request_id).await;
        });
        return Err(match err {
            RegisterError::RelayFull => {
                unavailable("relay_full", "this relay is full; retry shortly", 5)
            }
            RegisterError::UserFull => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_connections",
                format!(
                    "at most {} connections per user; close another one first",
                    limits.max_connections_per_user
                ),
            )
            .into(),
        });
    }
    relay.presence().connected(accepted.identity.user_id);
    metrics::counter!("ws_relay_connects_total").increment(1);
    tracing::info!(
        %connection_id,
        user_id = %accepted.identity.user_id,
        rooms = accepted.rooms.len(),
        "connection open"
    );
    actix_web::rt::spawn(session::run(
        relay.clone(),
        SessionParts {
            conn,
            stream,
            close: close_rx,
            written,
            expires_at: accepted.expires_at,
        },
    ));
    // Keep intermediaries from caching or transforming the upgrade answer.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
