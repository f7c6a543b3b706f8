//! JSON shapes shared by the Cloud Chat services and their HTTP clients: the client
//! WebSocket protocol ([`protocol`]), the moderation shapes both services speak
//! ([`moderation`]) and the internal contracts (docs/architecture.md). Serde
//! only; the OpenAPI schemas of the shapes REST shares come with the `openapi` feature.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod export;
pub mod moderation;
pub mod protocol;

pub use protocol::{
    ChatAction, ClientAction, ClientFrame, ErrorCode, ErrorFrame, FrameId, Reply, ServerFrame,
};

/// A user as other services see it: `GET /internal/users/{id}`, `GET /users/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublicUser {
    pub id: Uuid,
    pub username: String,
}

/// `POST /internal/mail` (chat-service → auth-service): a plain-text mail to a user, whose
/// address only auth-service knows. With `unsubscribe_url`, the mail carries the RFC 8058
/// one-click `List-Unsubscribe` headers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MailRequest {
    pub user_id: Uuid,
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe_url: Option<String>,
}

/// The longest `subject` of a [`MailRequest`], in characters.
pub const MAIL_SUBJECT_MAX_CHARS: usize = 200;
/// The longest `text` of a [`MailRequest`], in bytes.
pub const MAIL_TEXT_MAX_BYTES: usize = 64 * 1024;
/// The longest `unsubscribe_url` of a [`MailRequest`], in bytes.
pub const MAIL_URL_MAX_BYTES: usize = 2048;
/// The largest `POST /internal/mail` body: the text JSON-escaped, and the rest.
pub const MAIL_BODY_LIMIT: usize = 2 * MAIL_TEXT_MAX_BYTES + 8 * 1024;

/// Where a relay delivers a payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Target {
    Room(i64),
    User(Uuid),
    Connection(String),
}

/// One frame for one target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    pub target: Target,
    pub payload: ServerFrame,
}

/// Changes to a relay's routing tables that start outside a WebSocket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Control {
    Subscribe {
        #[serde(rename = "userId")]
        user_id: Uuid,
        #[serde(rename = "roomId")]
        room_id: i64,
    },
    Unsubscribe {
        #[serde(rename = "userId")]
        user_id: Uuid,
        #[serde(rename = "roomId")]
        room_id: i64,
    },
    DisconnectUser(Uuid),
    /// Close every socket of one session (the access token's `sid`) with 4003: logout,
    /// session revoke, refresh-token reuse.
    DisconnectSession(Uuid),
}

/// `POST /internal/publish` on a relay.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Publish {
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
    #[serde(default)]
    pub control: Vec<Control>,
}

/// Who a WebSocket connection belongs to, as chat-service returned it at `$connect`. The
/// relay sends it back with every event, so chat-service keeps no per-connection state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub user_id: Uuid,
    pub username: String,
    /// The session (`sid` of the access token, or of the token that bought the ticket), so a
    /// relay can close the session's sockets when it is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Uuid>,
}

/// `POST /internal/ws/connect` (relay → chat-service). Exactly one of `ticket` and `token`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectRequest {
    pub connection_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub relay_id: String,
    #[serde(default)]
    pub source_ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
}

/// The answer to a connect: who it is, the rooms to subscribe the connection to, and when the
/// access token behind the connection expires (Unix seconds); past that, without a
/// `refreshToken` action, the relay closes the connection with 4001.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectResponse {
    pub identity: Identity,
    pub rooms: Vec<i64>,
    pub expires_at: i64,
}

/// One action of a connection (relay → chat-service), in a batch of `POST /internal/ws/actions`:
/// `{"action", "body", "connectionId", "identity"}`. (`POST /internal/ws/actions/{action}`
/// takes the same with the action in the path: [`SingleActionRequest`].)
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActionRequest {
    pub connection_id: String,
    pub identity: Identity,
    #[serde(flatten)]
    pub action: ChatAction,
}

impl ActionRequest {
    /// Reads one event of a batch on its own, so that an event this build cannot run is
    /// answered alone instead of failing the batch.
    pub fn from_value(value: serde_json::Value) -> Result<Self, EventError> {
        if let Some(name) = value.get("action").and_then(|a| a.as_str())
            && !ChatAction::NAMES.contains(&name)
        {
            return Err(EventError::UnknownAction(name.chars().take(64).collect()));
        }
        serde_json::from_value(value).map_err(|e| EventError::Invalid(e.to_string()))
    }
}

/// Why an event could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventError {
    /// Not an action chat-service runs (`unknown_action`); the name, at most 64 characters.
    UnknownAction(String),
    /// Fields of the wrong shape (`validation_failed`).
    Invalid(String),
}

/// A relay's batch as chat-service reads it: each event is read on its own
/// ([`ActionRequest::from_value`]).
#[derive(Debug, Clone, Deserialize)]
pub struct RawActionBatch {
    pub events: Vec<serde_json::Value>,
}

/// The body of `POST /internal/ws/actions/{action}`: the client's frame without `action` and
/// `id` as `body`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SingleActionRequest {
    pub connection_id: String,
    pub identity: Identity,
    pub body: serde_json::Value,
}

/// What to send back to the sender (`reply`) and to others (`outbound`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ActionResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<ServerFrame>,
    #[serde(default)]
    pub outbound: Vec<Delivery>,
}

/// `POST /internal/ws/actions` (relay → chat-service): several actions in one request.
/// chat-service runs them concurrently (one connection never has two in the same batch) and
/// answers each in `results`, in order. At most [`MAX_BATCH_EVENTS`] events, in at most
/// [`BATCH_BODY_LIMIT`] bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActionBatch {
    pub events: Vec<ActionRequest>,
}

/// Most events one batch may carry (the relay sends far fewer; see `CHAT_BATCH_MAX`).
pub const MAX_BATCH_EVENTS: usize = 1024;
/// Body limit of a batch: its events are client frames of at most 64 KiB each, so a batch
/// needs more room than the 64 KiB of other internal requests.
pub const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The answer to an [`ActionBatch`]: one result per event, in the same order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ActionBatchResponse {
    pub results: Vec<ActionResult>,
}

/// What one batched action gave: the response the single endpoint would have sent, or the
/// problem it would have answered with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum ActionResult {
    /// Boxed: a response holds a whole frame, several times the size of a problem.
    Ok(Box<ActionResponse>),
    Error(ActionProblem),
}

/// The problem+json answer to an action, as far as the relay reads it: the status (5xx is
/// chat-service's trouble), the code and the explanation for the client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ActionProblem {
    pub status: u16,
    pub code: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The fields a `validation_failed` refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// One refused field of a `validation_failed` problem.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// `POST /internal/ws/disconnect` (relay → chat-service), best effort.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DisconnectRequest {
    pub connection_id: String,
    pub identity: Identity,
}

/// `POST /internal/ws/rooms` (relay → chat-service): the rooms each user belongs to now, so a
/// relay can re-check its live connections' subscriptions (on `refreshToken` and periodically)
/// even when an `unsubscribe` control was lost. At most [`ROOMS_REQUEST_MAX_USERS`] users.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RoomsRequest {
    pub user_ids: Vec<Uuid>,
}

pub const ROOMS_REQUEST_MAX_USERS: usize = 1000;

/// The answer to a [`RoomsRequest`]: every asked user, with the ids of the rooms they may read
/// (`general` included); an unknown user has an empty list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RoomsResponse {
    pub rooms: std::collections::HashMap<Uuid, Vec<i64>>,
}

/// `GET /internal/sessions/revoked?since=<unix ms>` (auth-service): sessions revoked at or
/// after `since` (bounded to the access-token lifetime), so services that verify access tokens
/// locally can refuse a revoked session's tokens before they expire.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RevokedSessions {
    pub sessions: Vec<RevokedSession>,
    /// auth-service's clock when it answered (Unix ms): the next `since`.
    pub now: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RevokedSession {
    pub session_id: Uuid,
    pub revoked_at: i64,
}

/// A relay's `GET /internal/stats` (chat-service's key, for `GET /admin/stats`): the sockets
/// open and the users online — with Redis, of every live relay.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RelayStats {
    pub connections: u64,
    pub online_users: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn publish_matches_the_design_shapes() {
        let user = Uuid::nil();
        let publish = Publish {
            deliveries: vec![Delivery {
                target: Target::Room(5),
                payload: ServerFrame::RoomDeleted { room_id: 5 },
            }],
            control: vec![
                Control::Subscribe {
                    user_id: user,
                    room_id: 5,
                },
                Control::DisconnectUser(user),
            ],
        };
        assert_eq!(
            serde_json::to_value(&publish).ok(),
            Some(json!({
                "deliveries": [{"target": {"room": 5}, "payload": {"type": "roomDeleted", "roomId": 5}}],
                "control": [
                    {"subscribe": {"userId": user, "roomId": 5}},
                    {"disconnectUser": user}
                ]
            }))
        );
    }
}
