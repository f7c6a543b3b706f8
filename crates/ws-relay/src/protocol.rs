//! The client protocol (`docs/protocol.md`): parsing client frames and
//! building the frames the relay itself sends. Server frames are serialised once, here, into
//! a `ByteString` that every recipient shares.

use bytestring::ByteString;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// Close codes the relay uses (RFC 6455 ones, and ours in 4000–4999).
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const PROTOCOL: u16 = 1002;
    pub const UNSUPPORTED: u16 = 1003;
    pub const INVALID: u16 = 1007;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL: u16 = 1011;
    pub const RESTART: u16 = 1012;
    pub const TRY_AGAIN: u16 = 1013;
    /// The access token behind the connection expired without a `refreshToken`.
    pub const TOKEN_EXPIRED: u16 = 4001;
    /// The user logged out everywhere (`disconnectUser`).
    pub const LOGGED_OUT: u16 = 4003;
    /// Nothing (not even a pong) came from the client for `WS_IDLE_TIMEOUT_SECS`.
    pub const IDLE: u16 = 4008;
}

/// Actions forwarded to chat-service (`POST /internal/ws/actions/{action}`).
pub const FORWARDED_ACTIONS: &[&str] = &[SEND_MESSAGE, "sync", "typing", "markRead"];

/// The action a connection may pipeline (see `socket::session`).
pub const SEND_MESSAGE: &str = "sendMessage";

/// What a client frame asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Ping,
    RefreshToken(Option<String>),
    /// One of [`FORWARDED_ACTIONS`], with the frame minus `action` and `id`.
    Forward(&'static str, Value),
    Unknown(String),
}

impl Action {
    /// A low-cardinality label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Action::Ping => "ping",
            Action::RefreshToken(_) => "refreshToken",
            Action::Forward(name, _) => name,
            Action::Unknown(_) => "unknown",
        }
    }
}

/// A parsed client frame: the action and the `id` to echo.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFrame {
    pub action: Action,
    pub id: Option<Value>,
}

/// Parses a client text frame; `Err` is the message of an `invalid_frame` error (with the `id`
/// when one could be read).
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, (String, Option<Value>)> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| (format!("the frame is not valid JSON: {e}"), None))?;
    let Value::Object(mut body) = value else {
        return Err(("the frame must be a JSON object".to_owned(), None));
    };
    let id = match body.remove("id") {
        None | Some(Value::Null) => None,
        Some(id @ Value::String(_)) | Some(id @ Value::Number(_)) => {
            if id.as_str().is_some_and(|s| s.len() > 128) {
                return Err(("`id` must be at most 128 characters".to_owned(), None));
            }
            Some(id)
        }
        Some(_) => {
            return Err(("`id` must be a string or a number".to_owned(), None));
        }
    };
    let action = match body.remove("action") {
        Some(Value::String(action)) => action,
        _ => return Err(("the frame needs a string `action`".to_owned(), id)),
    };
    let action = match action.as_str() {
        "ping" => Action::Ping,
        "refreshToken" => {
            Action::RefreshToken(body.get("token").and_then(Value::as_str).map(str::to_owned))
        }
        other => match FORWARDED_ACTIONS.iter().find(|a| **a == other) {
            Some(name) => Action::Forward(name, Value::Object(body)),
            None => Action::Unknown(action),
        },
    };
    Ok(ClientFrame { action, id })
}

/// Serialises a frame once.
pub fn encode(value: &Value) -> ByteString {
    ByteString::from(value.to_string())
}

fn with_id(mut frame: Map<String, Value>, id: Option<&Value>) -> Value {
    if let Some(id) = id {
        frame.insert("id".to_owned(), id.clone());
    }
    Value::Object(frame)
}

/// `{"type":"error","code","message","temporary","id"?}`.
pub fn error_frame(code: &str, message: &str, temporary: bool, id: Option<&Value>) -> ByteString {
    let frame = json!({
        "type": "error",
        "code": code,
        "message": message,
        "temporary": temporary,
    });
    encode(&with_id(into_map(frame), id))
}

/// `expires_at`: when the access token behind the connection expires (Unix seconds).
pub fn ready_frame(
    connection_id: &str,
    user_id: Uuid,
    rooms: &[i64],
    expires_at: i64,
) -> ByteString {
    encode(&json!({
        "type": "ready",
        "connectionId": connection_id,
        "userId": user_id,
        "rooms": rooms,
        "expiresAt": expires_at,
    }))
}

pub fn pong_frame(id: Option<&Value>) -> ByteString {
    encode(&with_id(into_map(json!({"type": "pong"})), id))
}

pub fn token_refreshed_frame(expires_at: i64, id: Option<&Value>) -> ByteString {
    encode(&with_id(
        into_map(json!({"type": "tokenRefreshed", "expiresAt": expires_at})),
        id,
    ))
}

/// chat-service's `reply`, with the client's `id` added. A reply that is not an object is
/// wrapped so that every server frame stays an object.
pub fn reply_frame(reply: Value, id: Option<&Value>) -> ByteString {
    match reply {
        Value::Object(map) => encode(&with_id(map, id)),
        other => encode(&with_id(
            into_map(json!({"type": "reply", "data": other})),
            id,
        )),
    }
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_actions_lose_action_and_id() {
        let frame = parse_client_frame(
            r#"{"action":"sendMessage","id":"7","roomId":1,"content":"hi","clientMsgId":"c"}"#,
        )
        .unwrap();
        assert_eq!(frame.id, Some(json!("7")));
        assert_eq!(
            frame.action,
            Action::Forward(
                "sendMessage",
                json!({"roomId": 1, "content": "hi", "clientMsgId": "c"})
            )
        );
    }

    #[test]
    fn relay_actions_and_unknown_ones() {
        assert_eq!(
            parse_client_frame(r#"{"action":"ping"}"#).unwrap().action,
            Action::Ping
        );
        assert_eq!(
            parse_client_frame(r#"{"action":"refreshToken","token":"t"}"#)
                .unwrap()
                .action,
            Action::RefreshToken(Some("t".into()))
        );
        assert_eq!(
            parse_client_frame(r#"{"action":"$connect","id":3}"#).unwrap(),
            ClientFrame {
                action: Action::Unknown("$connect".into()),
                id: Some(json!(3))
            }
        );
    }

    #[test]
    fn invalid_frames_are_errors_not_panics() {
        for bad in [
            "",
            "nope",
            "[1,2]",
            "42",
            r#"{"id":"x"}"#,
            r#"{"action":5}"#,
            r#"{"action":"ping","id":{"a":1}}"#,
        ] {
            assert!(parse_client_frame(bad).is_err(), "{bad}");
        }
        let (_, id) = parse_client_frame(r#"{"id":"x"}"#).unwrap_err();
        assert_eq!(id, Some(json!("x")));
    }

    #[test]
    fn error_frames_echo_the_id() {
        let f = error_frame("unknown_action", "no", false, Some(&json!("9")));
        let v: Value = serde_json::from_str(&f).unwrap();
        assert_eq!(
            v,
            json!({"type":"error","code":"unknown_action","message":"no","temporary":false,"id":"9"})
        );
    }
}
