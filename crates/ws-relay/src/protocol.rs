//! The relay's side of the client protocol (`docs/protocol.md`; the frames are `wire`'s
//! types): close codes, and server frames serialised once, here, into a `ByteString` that
//! every recipient shares.

use bytestring::ByteString;
use serde::Serialize;
use uuid::Uuid;
use wire::protocol::Ready;
use wire::{ErrorCode, FrameId, Reply, ServerFrame};

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

/// Serialises a frame once, into the text every recipient shares.
pub fn encode<T: Serialize>(frame: &T) -> ByteString {
    // These frames are plain data: serialising them cannot fail.
    ByteString::from(serde_json::to_string(frame).unwrap_or_default())
}

/// A frame answering a client frame, with the client's `id`.
pub fn reply(frame: ServerFrame, id: Option<&FrameId>) -> ByteString {
    encode(&Reply {
        frame,
        id: id.cloned(),
    })
}

/// `{"type":"error","code","message","temporary","id"?}`, `temporary` as the code says.
pub fn error_frame(code: ErrorCode, message: &str, id: Option<&FrameId>) -> ByteString {
    reply(ServerFrame::error(code, message), id)
}

/// `expires_at`: when the access token behind the connection expires (Unix seconds).
pub fn ready_frame(
    connection_id: &str,
    user_id: Uuid,
    rooms: &[i64],
    expires_at: i64,
) -> ByteString {
    encode(&ServerFrame::Ready(Ready {
        connection_id: connection_id.to_owned(),
        user_id,
        rooms: rooms.to_vec(),
        expires_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn error_frames_echo_the_id_and_say_whether_to_retry() {
        let f = error_frame(
            ErrorCode::UnknownAction,
            "no",
            Some(&FrameId::Text("9".into())),
        );
        let v: Value = serde_json::from_str(&f).unwrap();
        assert_eq!(
            v,
            json!({"type":"error","code":"unknown_action","message":"no","temporary":false,"id":"9"})
        );
        let f = error_frame(ErrorCode::RateLimited, "slow down", None);
        let v: Value = serde_json::from_str(&f).unwrap();
        assert_eq!(v["temporary"], true);
    }
}
