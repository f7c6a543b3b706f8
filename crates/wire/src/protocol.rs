//! The client WebSocket protocol as types (docs/protocol.md, docs/asyncapi.yaml): what a
//! client sends ([`ClientFrame`], one [`ClientAction`] tagged by `action`), what it receives
//! ([`ServerFrame`], tagged by `type`, with the request's `id` echoed by [`Reply`]), and the
//! error codes of `error` frames ([`ErrorCode`], each knowing whether it is temporary).
//!
//! The relay parses client frames into these types and forwards [`ChatAction`]s to
//! chat-service, which answers with [`ServerFrame`]s; nothing on the way is built or compared
//! as a string.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `id` a client may put on a frame (a string of at most [`MAX_FRAME_ID_CHARS`]
/// characters, or a number), copied into the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FrameId {
    Number(serde_json::Number),
    Text(String),
}

pub const MAX_FRAME_ID_CHARS: usize = 128;

/// `sendMessage`: store a message in a room (at most once per `clientMsgId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    pub room_id: i64,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    /// The message this one answers: a live message of the same room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_id: Option<i64>,
    /// Uploads of the sender (`POST /uploads`) not attached yet, in the order shown; with at
    /// least one, `content` may be empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment_ids: Vec<Uuid>,
}

/// `sync`: the room's change feed after `sinceRev` (answered with `changes`), or — the older
/// form — its messages after `afterSeq` (answered with `messages`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sync {
    pub room_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_rev: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// `typing`: tell the room (throttled, no answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Typing {
    pub room_id: i64,
}

/// `markRead`: move the read marker (never backwards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkRead {
    pub room_id: i64,
    pub seq: i64,
}

/// `react` / `unreact`: add or remove the sender's reaction to a message (idempotent; no
/// answer on success, `reactionChanged` to the room when something changed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct React {
    pub room_id: i64,
    pub message_id: i64,
    pub emoji: String,
}

/// `refreshToken`: a fresh access token of the connection's session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    #[serde(default)]
    pub token: Option<String>,
}

/// `watchPresence`: the users whose presence this connection follows (replacing its previous
/// list; `[]` stops), answered by the relay itself with `presenceList` and then `presence`
/// frames on every change (docs/protocol.md, "Presence").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchPresence {
    pub user_ids: Vec<Uuid>,
}

/// Every client action, as the client writes it: `{"action": "<name>", ...fields}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum ClientAction {
    SendMessage(SendMessage),
    Sync(Sync),
    Typing(Typing),
    MarkRead(MarkRead),
    React(React),
    Unreact(React),
    RefreshToken(RefreshToken),
    WatchPresence(WatchPresence),
    Ping,
}

/// A client frame: its action and the `id` to echo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientFrame {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<FrameId>,
    #[serde(flatten)]
    pub action: ClientAction,
}

/// Why a client frame could not be read, and the `id` it carried when that was readable.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
    pub id: Option<FrameId>,
}

impl ClientFrame {
    /// Reads a client text frame. A frame that is not a JSON object with a string `action`
    /// is `invalid_frame`; an action nobody knows is `unknown_action`; a known one with
    /// fields of the wrong shape is `validation_failed`.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let invalid = |message: String, id: Option<FrameId>| FrameError {
            code: ErrorCode::InvalidFrame,
            message,
            id,
        };
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| invalid(format!("the frame is not valid JSON: {e}"), None))?;
        let serde_json::Value::Object(mut body) = value else {
            return Err(invalid("the frame must be a JSON object".to_owned(), None));
        };
        let id = match body.remove("id") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => Some(FrameId::Number(n)),
            Some(serde_json::Value::String(s)) if s.chars().count() <= MAX_FRAME_ID_CHARS => {
                Some(FrameId::Text(s))
            }
            Some(serde_json::Value::String(_)) => {
                return Err(invalid(
                    format!("`id` must be at most {MAX_FRAME_ID_CHARS} characters"),
                    None,
                ));
            }
            Some(_) => {
                return Err(invalid(
                    "`id` must be a string or a number".to_owned(),
                    None,
                ));
            }
        };
        let Some(name) = body.get("action").and_then(|a| a.as_str()) else {
            return Err(invalid("the frame needs a string `action`".to_owned(), id));
        };
        if !ClientAction::NAMES.contains(&name) {
            let shown: String = name.chars().take(64).collect();
            return Err(FrameError {
                code: ErrorCode::UnknownAction,
                message: format!("unknown action {shown:?}"),
                id,
            });
        }
        match serde_json::from_value::<ClientAction>(serde_json::Value::Object(body)) {
            Ok(action) => Ok(ClientFrame { id, action }),
            Err(e) => Err(FrameError {
                code: ErrorCode::ValidationFailed,
                message: e.to_string(),
                id,
            }),
        }
    }
}

impl ClientAction {
    /// The `action` names, as clients write them.
    pub const NAMES: &'static [&'static str] = &[
        "sendMessage",
        "sync",
        "typing",
        "markRead",
        "react",
        "unreact",
        "refreshToken",
        "watchPresence",
        "ping",
    ];

    /// The action's name, as clients write it (also a low-cardinality metrics label).
    pub fn name(&self) -> &'static str {
        match self {
            ClientAction::SendMessage(_) => "sendMessage",
            ClientAction::Sync(_) => "sync",
            ClientAction::Typing(_) => "typing",
            ClientAction::MarkRead(_) => "markRead",
            ClientAction::React(_) => "react",
            ClientAction::Unreact(_) => "unreact",
            ClientAction::RefreshToken(_) => "refreshToken",
            ClientAction::WatchPresence(_) => "watchPresence",
            ClientAction::Ping => "ping",
        }
    }

    /// The action chat-service runs, or `Err` with the action the relay answers itself.
    pub fn into_chat(self) -> Result<ChatAction, ClientAction> {
        match self {
            ClientAction::SendMessage(a) => Ok(ChatAction::SendMessage(a)),
            ClientAction::Sync(a) => Ok(ChatAction::Sync(a)),
            ClientAction::Typing(a) => Ok(ChatAction::Typing(a)),
            ClientAction::MarkRead(a) => Ok(ChatAction::MarkRead(a)),
            ClientAction::React(a) => Ok(ChatAction::React(a)),
            ClientAction::Unreact(a) => Ok(ChatAction::Unreact(a)),
            relay @ (ClientAction::RefreshToken(_)
            | ClientAction::WatchPresence(_)
            | ClientAction::Ping) => Err(relay),
        }
    }
}

/// The actions the relay forwards to chat-service, as they travel in its requests:
/// `{"action": "<name>", "body": {...fields}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", content = "body", rename_all = "camelCase")]
pub enum ChatAction {
    SendMessage(SendMessage),
    Sync(Sync),
    Typing(Typing),
    MarkRead(MarkRead),
    React(React),
    Unreact(React),
}

impl ChatAction {
    /// The names of the actions chat-service runs.
    pub const NAMES: &'static [&'static str] = &[
        "sendMessage",
        "sync",
        "typing",
        "markRead",
        "react",
        "unreact",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            ChatAction::SendMessage(_) => "sendMessage",
            ChatAction::Sync(_) => "sync",
            ChatAction::Typing(_) => "typing",
            ChatAction::MarkRead(_) => "markRead",
            ChatAction::React(_) => "react",
            ChatAction::Unreact(_) => "unreact",
        }
    }
}

/// A message as clients see it, over REST and in frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: i64,
    pub room_id: i64,
    /// The message's place in its room: gap-free from 1.
    pub seq: i64,
    /// The room revision of this message's last change (creation, edit or deletion). (Fields
    /// added after the first version default when absent, so that a relay and a chat-service
    /// of two versions read each other during a rolling upgrade.)
    #[serde(default)]
    pub rev: i64,
    pub user_id: Uuid,
    pub username: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Empty once deleted.
    pub content: String,
    pub client_msg_id: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    pub edited_at: Option<String>,
    pub deleted: bool,
    /// Reactions by emoji, in the order each was first used (none on a deleted message).
    #[serde(default)]
    pub reactions: Vec<ReactionView>,
    /// The message this one answers, as it is now; `null` for a message that answers none.
    #[serde(default)]
    pub reply_to: Option<Box<ReplyPreview>>,
    /// The users the text names (`@username`), resolved when it was sent or last edited.
    #[serde(default)]
    pub mentions: Vec<Uuid>,
    /// The text says `@room`: every member is mentioned.
    #[serde(default)]
    pub mentions_room: bool,
    /// The files it carries, in the order they were attached (none once it is deleted).
    #[serde(default)]
    pub attachments: Vec<AttachmentView>,
    /// Why this reader does not see it: `blocked` (they blocked its author) or `suspended`
    /// (its author is suspended with their messages hidden). A hidden message keeps its row
    /// and seq but comes without text, files, mentions or quote. Absent when visible; never
    /// set in live frames (docs/protocol.md, "Moderation").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<String>,
}

/// A file a message carries. `url` and `thumbnailUrl` are relative to the API base; a browser
/// fetches them with the `cc_files` cookie (`POST /files/cookie`), an API client with its
/// bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    pub id: Uuid,
    /// The file's name, sanitised (at most 255 bytes).
    pub name: String,
    /// Sniffed from the bytes, never taken from the uploader.
    pub content_type: String,
    pub size: u64,
    /// Pixels, for images (after EXIF orientation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// `/files/{id}`.
    pub url: String,
    /// `/files/{id}/thumbnail`, for images larger than a thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

/// The most attachments any message may carry, whatever `CHAT_MAX_ATTACHMENTS_PER_MESSAGE`
/// says: the relay's answer budgets assume it.
pub const MAX_ATTACHMENTS: usize = 20;

/// The most one [`AttachmentView`] adds to a serialised message: a name of 255 bytes escaped
/// (at most twice as long, control characters being removed), the content type, the URLs and
/// the fixed fields. Answer budgets reserve it twice per attachment id of a send.
pub const ATTACHMENT_VIEW_MAX_BYTES: usize = 2 * 255 + 512;

/// The most a send's attachments add to its message serialised.
pub fn attachments_max_bytes(ids: &[Uuid]) -> usize {
    ids.len() * ATTACHMENT_VIEW_MAX_BYTES
}

/// The most the resolved mentions of a message with this text add to it serialised: each `@`
/// may name one user, whose id takes 39 bytes in `mentions`. Answer budgets reserve it twice
/// (the sender's `ack` and the room's delivery).
pub fn mentions_max_bytes(content: &str) -> usize {
    content.bytes().filter(|b| *b == b'@').count() * 39
}

/// The quote of the message a reply answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReplyPreview {
    pub id: i64,
    pub seq: i64,
    pub user_id: Uuid,
    pub username: String,
    /// The first [`REPLY_EXCERPT_CHARS`] characters of the original's text; empty once it is
    /// deleted.
    pub excerpt: String,
}

pub const REPLY_EXCERPT_CHARS: usize = 120;

/// The most a reply's quote adds to a serialised message: the excerpt escaped (6 bytes a
/// character at most), the author and the ids. Answer budgets reserve it twice for a reply
/// (the sender's `ack` and the room's delivery).
pub const REPLY_QUOTE_MAX_BYTES: usize = 6 * REPLY_EXCERPT_CHARS + 256;

/// A member's read marker, `GET /rooms/{id}/read-markers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReadMarkerView {
    pub user_id: Uuid,
    pub username: String,
    pub seq: i64,
}

/// One emoji's reactions on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReactionView {
    pub emoji: String,
    pub count: i64,
    /// The first [`REACTION_USERS_SHOWN`] users who reacted with it, by time.
    pub user_ids: Vec<Uuid>,
}

pub const REACTION_USERS_SHOWN: usize = 50;

/// A room member as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub user_id: Uuid,
    pub username: String,
    pub joined_at: String,
    pub is_owner: bool,
    /// `owner`, `moderator` or `member`.
    #[serde(default = "member_role")]
    pub role: String,
    /// RFC 3339: the member's sends are refused until then; null when not muted.
    #[serde(default)]
    pub muted_until: Option<String>,
}

fn member_role() -> String {
    "member".to_owned()
}

/// One user's presence: online while they have a socket on any relay (and for
/// `RELAY_PRESENCE_GRACE_SECS` after their last one closed); `lastSeenAt` (RFC 3339) is when
/// they went offline, `null` while online and for users never seen. In `presence` frames,
/// `presenceList` and `GET /presence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PresenceView {
    pub user_id: Uuid,
    pub online: bool,
    #[serde(default)]
    pub last_seen_at: Option<String>,
}

/// The most users one `GET /presence` (and the relay's `GET /internal/presence`) asks about.
pub const PRESENCE_QUERY_MAX_USERS: usize = 200;

/// The `userIds` of `GET /presence` and of the relay's `GET /internal/presence`: UUIDs
/// separated by commas, at most [`PRESENCE_QUERY_MAX_USERS`], kept in the order given (the
/// answer's order); an empty value asks about nobody. `Err` says what is wrong.
pub fn parse_presence_query(text: &str) -> Result<Vec<Uuid>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let users = text
        .split(',')
        .map(|id| {
            // Hyphenated only (36 characters), as `presence_query_pattern` states.
            let hyphenated = id.len() == 36;
            Uuid::parse_str(id)
                .ok()
                .filter(|_| hyphenated)
                .ok_or_else(|| {
                    let shown: String = id.chars().take(40).collect();
                    format!("{shown:?} is not a user id (a UUID)")
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if users.len() > PRESENCE_QUERY_MAX_USERS {
        return Err(format!(
            "at most {PRESENCE_QUERY_MAX_USERS} user ids at a time"
        ));
    }
    Ok(users)
}

/// The rule of [`parse_presence_query`] as a JSON Schema pattern: empty, or 1 to
/// [`PRESENCE_QUERY_MAX_USERS`] hyphenated UUIDs separated by commas.
pub fn presence_query_pattern() -> String {
    const UUID: &str =
        "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}";
    format!(
        "^(?:{UUID}(?:,{UUID}){{0,{}}})?$",
        PRESENCE_QUERY_MAX_USERS - 1
    )
}

/// `ready`: the first frame of every connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ready {
    pub connection_id: String,
    pub user_id: Uuid,
    /// The rooms this connection receives events for.
    pub rooms: Vec<i64>,
    /// When the access token behind the connection expires (Unix seconds).
    pub expires_at: i64,
}

/// A page of a room's messages: the answer to `sync` (`messages` by seq, `changes` by
/// revision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub room_id: i64,
    pub messages: Vec<MessageView>,
    pub has_more: bool,
    /// The room's revision: every change up to it is reflected in the page.
    #[serde(default)]
    pub rev: i64,
}

/// An `error` frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    pub code: ErrorCode,
    pub message: String,
    /// Whether the same request may succeed later (retry with backoff).
    pub temporary: bool,
}

impl ErrorFrame {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            temporary: code.temporary(),
        }
    }
}

/// Every frame the server sends, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerFrame {
    Ready(Ready),
    /// The sender's `sendMessage` is stored (also for a retry of a stored message).
    #[serde(rename_all = "camelCase")]
    Ack {
        client_msg_id: Option<String>,
        message: MessageView,
    },
    /// A new message in one of the connection's rooms.
    Message {
        message: MessageView,
    },
    Messages(Page),
    Changes(Page),
    #[serde(rename_all = "camelCase")]
    MessageEdited {
        room_id: i64,
        message: MessageView,
    },
    #[serde(rename_all = "camelCase")]
    MessageDeleted {
        room_id: i64,
        id: i64,
        seq: i64,
        #[serde(default)]
        rev: i64,
        /// Deleted by a moderator of the room rather than by its author (absent otherwise).
        #[serde(default, skip_serializing_if = "is_false")]
        by_moderator: bool,
    },
    #[serde(rename_all = "camelCase")]
    Typing {
        room_id: i64,
        user_id: Uuid,
        username: String,
    },
    #[serde(rename_all = "camelCase")]
    MemberAdded {
        room_id: i64,
        room_name: String,
        member: MemberView,
    },
    #[serde(rename_all = "camelCase")]
    MemberRemoved {
        room_id: i64,
        user_id: Uuid,
        new_owner_user_id: Option<Uuid>,
    },
    #[serde(rename_all = "camelCase")]
    RoomDeleted {
        room_id: i64,
    },
    /// The room's owner (or staff) made a member a moderator of the room, or a member again.
    #[serde(rename_all = "camelCase")]
    MemberRoleChanged {
        room_id: i64,
        user_id: Uuid,
        /// `moderator` or `member`.
        role: String,
    },
    /// A member's sends to the room are refused until `until` (RFC 3339).
    #[serde(rename_all = "camelCase")]
    MemberMuted {
        room_id: i64,
        user_id: Uuid,
        until: String,
    },
    /// A mute was lifted before its end.
    #[serde(rename_all = "camelCase")]
    MemberUnmuted {
        room_id: i64,
        user_id: Uuid,
    },
    /// The user hid this direct room on one of their devices (`POST /rooms/{id}/hide`): it
    /// leaves their list until its next message.
    #[serde(rename_all = "camelCase")]
    RoomHidden {
        room_id: i64,
    },
    /// A member's read marker moved forward (at most one a user and room every
    /// `CHAT_READ_RECEIPT_INTERVAL_MS`).
    #[serde(rename_all = "camelCase")]
    ReadMarker {
        room_id: i64,
        user_id: Uuid,
        seq: i64,
    },
    /// A reaction was added or removed; `rev` is the revision it took (the message's new one).
    #[serde(rename_all = "camelCase")]
    ReactionChanged {
        room_id: i64,
        message_id: i64,
        rev: i64,
        emoji: String,
        user_id: Uuid,
        added: bool,
        /// That emoji's total on the message after the change.
        count: i64,
    },
    #[serde(rename_all = "camelCase")]
    TokenRefreshed {
        expires_at: i64,
    },
    /// A watched user came online or went offline (after `watchPresence`).
    Presence(PresenceView),
    /// The answer to `watchPresence`: the watched users as they are now, in the order asked.
    PresenceList {
        users: Vec<PresenceView>,
    },
    Pong,
    Error(ErrorFrame),
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ServerFrame {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error(ErrorFrame::new(code, message))
    }
}

/// A frame answering a client frame: the frame with the client's `id` added. (`messageDeleted`
/// has an `id` of its own, the message's; it is never a reply, so read it as a
/// [`ServerFrame`].)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    #[serde(flatten)]
    pub frame: ServerFrame,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<FrameId>,
}

/// The codes of `error` frames (and of chat-service's problem+json answers), each with
/// whether it is temporary: the same request may succeed later, so a client retries it with
/// backoff; otherwise the request itself is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // The relay's own.
    InvalidFrame,
    UnknownAction,
    InvalidToken,
    SessionRevoked,
    ChatUnavailable,
    AuthUnavailable,
    RateLimited,
    Busy,
    /// No relay answered chat-service (`GET /presence`).
    RelayUnavailable,
    // chat-service's.
    ValidationFailed,
    RoomNotFound,
    MessageNotFound,
    UserNotFound,
    MemberNotFound,
    NotRoomOwner,
    NotMessageAuthor,
    GeneralRoom,
    RoomNameTaken,
    AlreadyMember,
    InvalidTicket,
    TooManyRoomsOwned,
    RoomFull,
    TooManyRooms,
    TooManyReactions,
    DirectRoom,
    NotDirectRoom,
    RoomMentionForbidden,
    TooManyMentions,
    /// No such file, or one the caller may not see (downloads).
    FileNotFound,
    /// An `attachmentIds` entry that is not the sender's upload, or is already on a message,
    /// or was deleted.
    AttachmentNotFound,
    /// An upload larger than `UPLOAD_MAX_BYTES`.
    UploadTooLarge,
    /// The uploader's live files would pass `UPLOAD_QUOTA_BYTES`.
    UploadQuotaExceeded,
    /// An upload without a body, or a malformed multipart body.
    UnsupportedMediaType,
    /// Object storage did not answer.
    StorageUnavailable,
    /// Web Push is turned off on this server (`PUSH_ENABLED=false`).
    PushDisabled,
    /// A push subscription whose endpoint is not https on a public host.
    PushEndpointRefused,
    /// No such push subscription of the caller's.
    PushSubscriptionNotFound,
    /// An e-mail unsubscribe link whose signature does not match (`/notifications/unsubscribe`).
    InvalidUnsubscribeLink,
    /// A page cursor that no earlier page gave out (`GET /search`).
    InvalidCursor,
    // Moderation (docs/architecture.md, "Moderation").
    /// Log-in or refresh of an account whose suspension is in force.
    AccountSuspended,
    /// Only instance moderators and admins may do this.
    StaffRequired,
    /// Only instance admins may do this.
    AdminRequired,
    /// Only who moderates the room (its owner, its moderators, staff) may do this.
    ModeratorRequired,
    /// A moderation action aimed at oneself.
    CannotTargetSelf,
    /// Suspending an admin.
    TargetIsAdmin,
    /// The sender is muted in this room.
    Muted,
    /// One of the two people of a direct room has blocked the other.
    Blocked,
    /// More blocks than `CHAT_MAX_BLOCKS`.
    TooManyBlocks,
    /// The caller already has an open report of this message.
    AlreadyReported,
    /// The report was resolved already.
    ReportResolved,
    ReportNotFound,
    /// The account has not verified its e-mail address and the instance requires it
    /// (`REQUIRE_EMAIL_VERIFICATION`): no posting, no socket.
    EmailUnverified,
    InternalError,
    /// A code this build does not know (a newer service): not temporary.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// Whether the same request may succeed later.
    pub fn temporary(self) -> bool {
        matches!(
            self,
            ErrorCode::ChatUnavailable
                | ErrorCode::AuthUnavailable
                | ErrorCode::RateLimited
                | ErrorCode::Busy
                | ErrorCode::RelayUnavailable
                | ErrorCode::StorageUnavailable
                | ErrorCode::InternalError
        )
    }

    /// The code as it is written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidFrame => "invalid_frame",
            ErrorCode::UnknownAction => "unknown_action",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::SessionRevoked => "session_revoked",
            ErrorCode::ChatUnavailable => "chat_unavailable",
            ErrorCode::AuthUnavailable => "auth_unavailable",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Busy => "busy",
            ErrorCode::RelayUnavailable => "relay_unavailable",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::RoomNotFound => "room_not_found",
            ErrorCode::MessageNotFound => "message_not_found",
            ErrorCode::UserNotFound => "user_not_found",
            ErrorCode::MemberNotFound => "member_not_found",
            ErrorCode::NotRoomOwner => "not_room_owner",
            ErrorCode::NotMessageAuthor => "not_message_author",
            ErrorCode::GeneralRoom => "general_room",
            ErrorCode::RoomNameTaken => "room_name_taken",
            ErrorCode::AlreadyMember => "already_member",
            ErrorCode::InvalidTicket => "invalid_ticket",
            ErrorCode::TooManyRoomsOwned => "too_many_rooms_owned",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::TooManyRooms => "too_many_rooms",
            ErrorCode::TooManyReactions => "too_many_reactions",
            ErrorCode::DirectRoom => "direct_room",
            ErrorCode::NotDirectRoom => "not_direct_room",
            ErrorCode::RoomMentionForbidden => "room_mention_forbidden",
            ErrorCode::TooManyMentions => "too_many_mentions",
            ErrorCode::FileNotFound => "file_not_found",
            ErrorCode::AttachmentNotFound => "attachment_not_found",
            ErrorCode::UploadTooLarge => "upload_too_large",
            ErrorCode::UploadQuotaExceeded => "upload_quota_exceeded",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::StorageUnavailable => "storage_unavailable",
            ErrorCode::PushDisabled => "push_disabled",
            ErrorCode::PushEndpointRefused => "push_endpoint_refused",
            ErrorCode::PushSubscriptionNotFound => "push_subscription_not_found",
            ErrorCode::InvalidUnsubscribeLink => "invalid_unsubscribe_link",
            ErrorCode::InvalidCursor => "invalid_cursor",
            ErrorCode::AccountSuspended => "account_suspended",
            ErrorCode::StaffRequired => "staff_required",
            ErrorCode::AdminRequired => "admin_required",
            ErrorCode::ModeratorRequired => "moderator_required",
            ErrorCode::CannotTargetSelf => "cannot_target_self",
            ErrorCode::TargetIsAdmin => "target_is_admin",
            ErrorCode::Muted => "muted",
            ErrorCode::Blocked => "blocked",
            ErrorCode::TooManyBlocks => "too_many_blocks",
            ErrorCode::AlreadyReported => "already_reported",
            ErrorCode::ReportResolved => "report_resolved",
            ErrorCode::ReportNotFound => "report_not_found",
            ErrorCode::EmailUnverified => "email_unverified",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_codes_serialise_as_their_names() {
        for code in [
            ErrorCode::InvalidFrame,
            ErrorCode::NotMessageAuthor,
            ErrorCode::TooManyRoomsOwned,
            ErrorCode::InternalError,
        ] {
            assert_eq!(serde_json::to_value(code).ok(), Some(json!(code.as_str())));
        }
        assert_eq!(
            serde_json::from_value::<ErrorCode>(json!("from_the_future")).ok(),
            Some(ErrorCode::Unknown)
        );
    }

    #[test]
    fn client_frames_parse_into_actions() {
        let frame = ClientFrame::parse(
            r#"{"action":"sendMessage","id":"7","roomId":1,"content":"hi","clientMsgId":"c"}"#,
        );
        assert_eq!(
            frame,
            Ok(ClientFrame {
                id: Some(FrameId::Text("7".into())),
                action: ClientAction::SendMessage(SendMessage {
                    room_id: 1,
                    content: "hi".into(),
                    client_msg_id: Some("c".into()),
                    reply_to_id: None,
                    attachment_ids: Vec::new(),
                }),
            })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"action":"ping","id":3}"#).map(|f| f.action),
            Ok(ClientAction::Ping)
        );
        let refresh = ClientFrame::parse(r#"{"action":"refreshToken"}"#).map(|f| f.action);
        assert_eq!(
            refresh,
            Ok(ClientAction::RefreshToken(RefreshToken { token: None }))
        );
    }

    #[test]
    fn bad_frames_say_why_with_their_id() {
        for (text, code) in [
            ("", ErrorCode::InvalidFrame),
            ("[1]", ErrorCode::InvalidFrame),
            (r#"{"id":"x"}"#, ErrorCode::InvalidFrame),
            (r#"{"action":5}"#, ErrorCode::InvalidFrame),
            (r#"{"action":"ping","id":{"a":1}}"#, ErrorCode::InvalidFrame),
            (
                r#"{"action":"$connect","id":"x"}"#,
                ErrorCode::UnknownAction,
            ),
            (r#"{"action":"sync","id":"x"}"#, ErrorCode::ValidationFailed),
            (
                r#"{"action":"sendMessage","id":"x","roomId":"one"}"#,
                ErrorCode::ValidationFailed,
            ),
        ] {
            let err = ClientFrame::parse(text).err();
            assert_eq!(err.as_ref().map(|e| e.code), Some(code), "{text}");
        }
        let err = ClientFrame::parse(r#"{"action":"nope","id":"x"}"#).err();
        assert_eq!(err.and_then(|e| e.id), Some(FrameId::Text("x".into())));
        let long = format!(r#"{{"action":"ping","id":"{}"}}"#, "x".repeat(129));
        assert!(ClientFrame::parse(&long).is_err());
    }

    #[test]
    fn frames_of_an_older_chat_service_still_read() {
        // Before the change feed: no `rev` on messages, pages or deletions.
        let old = json!({"type": "messageDeleted", "roomId": 1, "id": 2, "seq": 3});
        assert!(serde_json::from_value::<ServerFrame>(old).is_ok());
        let old = json!({"type": "messages", "roomId": 1, "messages": [], "hasMore": false});
        assert!(serde_json::from_value::<ServerFrame>(old).is_ok());
    }

    #[test]
    fn watch_presence_reads_uuids_and_refuses_anything_else() {
        let user = Uuid::new_v4();
        let frame = ClientFrame::parse(&format!(
            r#"{{"action":"watchPresence","id":"w","userIds":["{user}"]}}"#
        ));
        assert_eq!(
            frame.map(|f| f.action),
            Ok(ClientAction::WatchPresence(WatchPresence {
                user_ids: vec![user]
            }))
        );
        for bad in [
            r#"{"action":"watchPresence","userIds":["nope"]}"#,
            r#"{"action":"watchPresence","userIds":"x"}"#,
            r#"{"action":"watchPresence"}"#,
        ] {
            let err = ClientFrame::parse(bad).err().map(|e| e.code);
            assert_eq!(err, Some(ErrorCode::ValidationFailed), "{bad}");
        }
        assert_eq!(
            ClientAction::WatchPresence(WatchPresence::default()).into_chat(),
            Err(ClientAction::WatchPresence(WatchPresence::default()))
        );
    }

    #[test]
    fn presence_queries_keep_their_order_and_have_a_limit() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(parse_presence_query(&format!("{b},{a}")), Ok(vec![b, a]));
        assert_eq!(parse_presence_query(""), Ok(vec![]));
        assert!(parse_presence_query("nope").is_err());
        assert!(parse_presence_query(&format!("{a},")).is_err());
        let many = vec![a.to_string(); PRESENCE_QUERY_MAX_USERS + 1].join(",");
        assert!(parse_presence_query(&many).is_err());
    }

    #[test]
    fn chat_actions_travel_as_action_and_body() {
        let action = ChatAction::MarkRead(MarkRead { room_id: 4, seq: 9 });
        assert_eq!(
            serde_json::to_value(&action).ok(),
            Some(json!({"action": "markRead", "body": {"roomId": 4, "seq": 9}}))
        );
    }

    #[test]
    fn replies_carry_the_type_and_the_id() {
        let reply = Reply {
            frame: ServerFrame::error(ErrorCode::Busy, "later"),
            id: Some(FrameId::Number(7.into())),
        };
        assert_eq!(
            serde_json::to_value(&reply).ok(),
            Some(
                json!({"type": "error", "code": "busy", "message": "later", "temporary": true, "id": 7})
            )
        );
        let pong = Reply {
            frame: ServerFrame::Pong,
            id: None,
        };
        assert_eq!(
            serde_json::to_value(&pong).ok(),
            Some(json!({"type": "pong"}))
        );
    }
}
