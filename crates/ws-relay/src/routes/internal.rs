//! The relay's internal API (docs/architecture.md), behind the callers' internal keys:
//! `POST /internal/publish` (chat-service; auth-service for disconnect controls only),
//! `GET /internal/presence` (chat-service) and the @connections API (chat-service). The @connections API addresses
//! connections held by the relay that answers (410 when it holds no such connection);
//! services that do not know where a connection lives publish a `{connection}` delivery
//! instead, which every relay sees.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use service_kit::internal::forbidden_caller;
use service_kit::{Caller, FieldError, FromChat, FromChatOrAuth, Problem};
use time::format_description::well_known::Rfc3339;
use wire::{Control, Publish, Target};

use crate::protocol::{self, close};
use crate::relay::Relay;
use crate::socket::writer::CloseCommand;

pub(crate) async fn publish(
    caller: FromChatOrAuth,
    relay: web::Data<Relay>,
    body: web::Json<Publish>,
) -> Result<HttpResponse, Problem> {
    let publish = body.into_inner();
    // auth-service ends sessions; it never speaks in rooms or changes memberships.
    if caller.caller() == Caller::Auth && !only_disconnects(&publish) {
        return Err(forbidden_caller(
            Caller::Auth,
            "publish anything but disconnectUser and disconnectSession controls",
        ));
    }
    tracing::debug!(
        deliveries = publish.deliveries.len(),
        control = publish.control.len(),
        "publish"
    );
    relay.publish(publish);
    Ok(HttpResponse::Accepted().finish())
}

fn only_disconnects(publish: &Publish) -> bool {
    publish.deliveries.is_empty()
        && publish.control.iter().all(|c| {
            matches!(
                c,
                Control::DisconnectUser(_) | Control::DisconnectSession(_)
            )
        })
}

#[derive(Deserialize)]
pub(crate) struct PresenceQuery {
    #[serde(rename = "userIds", default)]
    user_ids: String,
}

/// `GET /internal/presence?userIds=a,b`: the users' presence, in the order asked (any relay
/// answers for all of them; unknown users are offline with no `lastSeenAt`).
pub(crate) async fn presence(
    _caller: FromChat,
    relay: web::Data<Relay>,
    query: web::Query<PresenceQuery>,
) -> Result<HttpResponse, Problem> {
    let users = wire::protocol::parse_presence_query(&query.user_ids)
        .map_err(|message| Problem::validation(vec![FieldError::new("userIds", message)]))?;
    let list = relay
        .presence()
        .snapshot(&users)
        .await
        .map_err(|err| presence_unavailable("GET /internal/presence", &err))?;
    Ok(HttpResponse::Ok().json(list))
}

/// `GET /internal/stats`: sockets on every live relay and users online, for chat-service's
/// `GET /admin/stats`.
pub(crate) async fn stats(
    _caller: FromChat,
    relay: web::Data<Relay>,
) -> Result<HttpResponse, Problem> {
    let stats = relay
        .presence()
        .stats()
        .await
        .map_err(|err| presence_unavailable("GET /internal/stats", &err))?;
    Ok(HttpResponse::Ok().json(stats))
}

/// The store (Redis) could not be read: logged, and a 503 the caller may retry.
fn presence_unavailable(route: &str, err: &crate::presence::Unavailable) -> Problem {
    tracing::warn!(error = %err, "{route}: cannot read presence");
    Problem::unavailable(
        "presence_unavailable",
        "presence cannot be read right now; retry shortly",
    )
}

fn gone(id: &str) -> Problem {
    Problem::new(
        actix_web::http::StatusCode::GONE,
        "connection_gone",
        format!("no connection {id:?} on this relay"),
    )
}

pub(crate) async fn get_connection(
    _caller: FromChat,
    relay: web::Data<Relay>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = path.into_inner();
    let info = relay.hub().get(&id).ok_or_else(|| gone(&id))?;
    let conn = &info.conn;
    let identity = conn.identity();
    let idle = conn.idle_for();
    let now = time::OffsetDateTime::now_utc();
    let last_active = now - time::Duration::try_from(idle).unwrap_or(time::Duration::ZERO);
    Ok(HttpResponse::Ok().json(json!({
        "connectionId": conn.id.as_ref(),
        "identity": identity,
        "rooms": info.rooms,
        "connectedAt": conn.connected_at.format(&Rfc3339).unwrap_or_default(),
        "lastActiveAt": last_active.format(&Rfc3339).unwrap_or_default(),
        "sourceIp": conn.source_ip,
        "relayId": relay.settings().relay_id,
        "queuedFrames": conn.outbox.queued_frames(),
        "queuedBytes": conn.outbox.queued_bytes(),
    })))
}

#[derive(Deserialize)]
pub(crate) struct PostToConnection {
    payload: Value,
}

pub(crate) async fn post_to_connection(
    _caller: FromChat,
    relay: web::Data<Relay>,
    path: web::Path<String>,
    body: web::Json<PostToConnection>,
) -> Result<HttpResponse, Problem> {
    let id = path.into_inner();
    if relay.hub().get(&id).is_none() {
        return Err(gone(&id));
    }
    let frame = protocol::encode(&body.into_inner().payload);
    if relay.hub().deliver(&Target::Connection(id.clone()), &frame) == 0 {
        return Err(gone(&id));
    }
    Ok(HttpResponse::NoContent().finish())
}

pub(crate) async fn delete_connection(
    _caller: FromChat,
    relay: web::Data<Relay>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = path.into_inner();
    let info = relay.hub().get(&id).ok_or_else(|| gone(&id))?;
    info.conn
        .closer
        .close(CloseCommand::new(close::NORMAL, "closed by the server").flushing());
    Ok(HttpResponse::NoContent().finish())
}
