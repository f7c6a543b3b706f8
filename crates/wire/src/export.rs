//! A person's data export (`POST /users/me/export`, GDPR article 20): JSON Lines, one object
//! per line, each tagged by `type`. auth-service writes the first lines (the export itself,
//! the profile, sessions, linked identities), then passes on what chat-service streams from
//! `GET /internal/users/{id}/export` (rooms, memberships, messages with their attachments'
//! metadata, reactions, blocks, notification settings), then the `end` line. An export
//! without its `end` line was cut short (docs/architecture.md, "Data export").
//!
//! Times are RFC 3339 strings, as everywhere in the REST API.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The version of the format, in the first line; bumped when a line changes incompatibly.
pub const EXPORT_FORMAT_VERSION: u32 = 1;

/// The media type of an export.
pub const EXPORT_CONTENT_TYPE: &str = "application/jsonl; charset=utf-8";

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ExportLine {
    /// The first line.
    Export(ExportHeader),
    Profile(ExportProfile),
    Session(ExportSession),
    /// An identity of a single sign-on provider linked to the account.
    Identity(ExportIdentity),
    Room(ExportRoom),
    Membership(ExportMembership),
    Message(ExportMessage),
    Reaction(ExportReaction),
    Block(ExportBlock),
    NotificationSettings(ExportNotificationSettings),
    /// The last line: how many lines came before it.
    End(ExportEnd),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportHeader {
    pub version: u32,
    pub user_id: Uuid,
    pub exported_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportProfile {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub role: String,
    pub mfa_enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A session (a log-in and its refresh-token rotations), as long as auth-service keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportSession {
    pub id: Uuid,
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportIdentity {
    pub issuer: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub linked_at: String,
    pub last_login_at: String,
}

/// A room the person belongs to (every such room, hidden direct rooms too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRoom {
    pub id: i64,
    pub name: String,
    /// `general`, `group` or `direct`.
    pub kind: String,
    pub created_at: String,
    /// The other person of a direct room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// The person's membership of a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportMembership {
    pub room_id: i64,
    /// `owner`, `moderator` or `member`.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<String>,
    /// The last message they read (its `seq`).
    pub last_read_seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<String>,
}

/// A message the person wrote and has not deleted (in rooms they may since have left).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportMessage {
    pub id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub content: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_id: Option<i64>,
    pub attachments: Vec<ExportAttachment>,
}

/// A file's metadata (the files themselves are downloaded from their `url`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportAttachment {
    pub id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Relative to the API's base URL.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportReaction {
    pub message_id: i64,
    pub emoji: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportBlock {
    pub user_id: Uuid,
    pub username: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportNotificationSettings {
    /// `all`, `mentions` or `none`.
    pub level: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<String>,
    pub email_digest: bool,
    pub rooms: Vec<ExportRoomNotificationSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRoomNotificationSettings {
    pub room_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportEnd {
    /// The lines before this one.
    pub lines: u64,
}

impl ExportLine {
    /// The line as JSON followed by `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        // Serializing these plain structs cannot fail (no maps with non-string keys).
        let mut out = serde_json::to_vec(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// How many complete lines `chunk` ends (its `\n`s): what auth-service counts of the part
/// chat-service streams, for the `end` line.
pub fn count_lines(chunk: &[u8]) -> u64 {
    chunk.iter().filter(|b| **b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_are_tagged_by_type_in_camel_case() {
        let line = ExportLine::NotificationSettings(ExportNotificationSettings {
            level: "mentions".into(),
            muted_until: None,
            email_digest: true,
            rooms: vec![ExportRoomNotificationSettings {
                room_id: 3,
                level: Some("all".into()),
                muted_until: None,
            }],
        });
        let bytes = line.to_line();
        assert_eq!(bytes.last(), Some(&b'\n'));
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            value,
            json!({"type": "notificationSettings", "level": "mentions", "emailDigest": true,
                   "rooms": [{"roomId": 3, "level": "all"}]})
        );
        assert_eq!(serde_json::from_value::<ExportLine>(value).unwrap(), line);
        assert_eq!(count_lines(b"{}\n{}\n{"), 2);
    }
}
