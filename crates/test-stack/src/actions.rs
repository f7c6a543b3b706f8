//! The actions tests send most, built from the protocol's types. The bodies of those
//! chat-service runs come unwrapped: a [`wire::ClientAction`] on a socket, a
//! [`wire::ChatAction`] in a relay's request.

use wire::ClientAction;
use wire::protocol::{RefreshToken, SendMessage, Sync};

/// `sendMessage` of `content` to `room_id`, with a `clientMsgId` when given.
pub fn send_message(room_id: i64, content: &str, client_msg_id: Option<&str>) -> SendMessage {
    SendMessage {
        room_id,
        content: content.to_owned(),
        client_msg_id: client_msg_id.map(str::to_owned),
        reply_to_id: None,
        attachment_ids: Vec::new(),
    }
}

/// `sync` of `room_id`'s messages after `after_seq` (the older form, answered by `messages`).
pub fn sync_after(room_id: i64, after_seq: i64) -> Sync {
    Sync {
        room_id,
        after_seq: Some(after_seq),
        ..Sync::default()
    }
}

/// `refreshToken` with `token` (the relay's own action: never a chat-service one).
pub fn refresh_token(token: &str) -> ClientAction {
    ClientAction::RefreshToken(RefreshToken {
        token: Some(token.to_owned()),
    })
}
