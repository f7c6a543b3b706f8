//! The JSON shapes of rooms, members and messages, and the WebSocket event payloads built
//! from them (the same shapes over REST and over the socket).

use serde::Serialize;
use uuid::Uuid;
use wire::ServerFrame;

use crate::store::blocks::Block;
use crate::store::members::Member;
use crate::store::messages::Message;
use crate::store::moderation::Mute;
use crate::store::reports::Report;
use crate::store::rooms::{Room, RoomKind, RoomSummary};
use crate::store::uploads::Upload;

pub use wire::protocol::{AttachmentView, MemberView, MessageView, ReactionView};

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id,
            room_id: m.room_id,
            seq: m.seq,
            rev: m.rev,
            user_id: m.user_id,
            username: m.username.clone(),
            kind: m.kind.clone(),
            content: m.content.clone(),
            client_msg_id: m.client_msg_id.clone(),
            created_at: store_kit::rfc3339(m.created_at),
            edited_at: m.edited_at.map(store_kit::rfc3339),
            deleted: m.deleted_at.is_some(),
            reactions: m
                .reactions
                .iter()
                .map(|r| ReactionView {
                    emoji: r.emoji.clone(),
                    count: r.count,
                    user_ids: r.user_ids.clone(),
                })
                .collect(),
            reply_to: m.reply_to.clone().map(Box::new),
            mentions: m.mentions.clone(),
            mentions_room: m.mentions_room,
            attachments: m.attachments.iter().map(attachment).collect(),
            hidden: m.hidden.map(|h| h.as_str().to_owned()),
        }
    }
}

/// An upload as a message carries it: URLs relative to the API base.
pub fn attachment(u: &Upload) -> AttachmentView {
    AttachmentView {
        id: u.id,
        name: u.name.clone(),
        content_type: u.content_type.clone(),
        size: u.size,
        width: u.width,
        height: u.height,
        url: format!("/files/{}", u.id),
        thumbnail_url: u
            .thumbnail
            .as_ref()
            .map(|_| format!("/files/{}/thumbnail", u.id)),
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
    pub id: i64,
    /// Empty for a direct room (clients show `peer.username`).
    pub name: String,
    /// `general`, `group` or `direct`.
    #[schema(example = "group")]
    pub kind: &'static str,
    /// The other person of a direct room (the caller themself in their notes); null otherwise.
    pub peer: Option<PeerView>,
    /// Null for `general` and direct rooms.
    pub owner_user_id: Option<Uuid>,
    pub owner_username: Option<String>,
    pub is_general: bool,
    /// Members with a membership row; 0 for `general`, which belongs to everyone.
    pub member_count: i64,
    pub last_seq: i64,
    /// The room's change-feed revision (`GET /rooms/{id}/changes?sinceRev=`).
    pub last_rev: i64,
    /// Messages by others after the caller's read marker (at most 1000).
    pub unread_count: i64,
    /// Messages after the caller's read marker that mention them (at most 1000).
    pub mention_count: i64,
    pub created_at: String,
    /// Whether the caller moderates the room: its owner, one of its moderators, or instance
    /// staff (never in a direct room; in `general`, staff only).
    pub can_moderate: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeerView {
    pub user_id: Uuid,
    pub username: String,
}

impl From<&RoomSummary> for RoomView {
    fn from(s: &RoomSummary) -> Self {
        let room = &s.room;
        Self {
            id: room.id,
            name: room.name.clone(),
            kind: room.kind.as_str(),
            peer: s.peer.as_ref().map(|p| PeerView {
                user_id: p.user_id,
                username: p.username.clone(),
            }),
            owner_user_id: room.owner_user_id,
            owner_username: room.owner_username.clone(),
            is_general: room.is_general,
            member_count: s.member_count,
            last_seq: room.last_seq,
            last_rev: room.last_rev,
            unread_count: s.unread_count,
            mention_count: s.mention_count,
            created_at: store_kit::rfc3339(room.created_at),
            can_moderate: s.can_moderate,
        }
    }
}

/// A member as clients see it.
pub fn member(member: &Member, room: &Room) -> MemberView {
    let is_owner = room.owner_user_id == Some(member.user_id);
    MemberView {
        user_id: member.user_id,
        username: member.username.clone(),
        joined_at: store_kit::rfc3339(member.joined_at),
        is_owner,
        role: if is_owner {
            "owner".to_owned()
        } else {
            member.role.as_str().to_owned()
        },
        muted_until: member.muted_until.map(store_kit::rfc3339),
    }
}

/// A user as the moderation views name them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserRef {
    pub id: Uuid,
    pub username: String,
}

/// A report, as its reporter and the room's moderators see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportView {
    pub id: i64,
    /// `open` or `resolved`.
    #[schema(example = "open")]
    pub status: &'static str,
    pub reason: String,
    pub created_at: String,
    pub reporter: UserRef,
    pub message: ReportedMessage,
    pub room: ReportedRoom,
    /// Null while open.
    pub resolution: Option<ResolutionView>,
}

/// The message reported, with its text as it was when reported.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportedMessage {
    pub id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub author: UserRef,
    /// The text when it was reported (an edit or a deletion since does not change it).
    pub content: String,
    /// Deleted since.
    pub deleted: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportedRoom {
    pub id: i64,
    /// Null for a direct room.
    pub name: Option<String>,
    /// `general`, `group` or `direct`.
    #[schema(example = "group")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResolutionView {
    /// `dismiss`, `delete_message`, `mute` or `suspend`.
    #[schema(example = "dismiss")]
    pub action: String,
    pub note: Option<String>,
    pub by: UserRef,
    pub at: String,
}

impl From<&Report> for ReportView {
    fn from(r: &Report) -> Self {
        Self {
            id: r.id,
            status: r.status.as_str(),
            reason: r.reason.clone(),
            created_at: store_kit::rfc3339(r.created_at),
            reporter: UserRef {
                id: r.reporter_id,
                username: r.reporter_name.clone(),
            },
            message: ReportedMessage {
                id: r.message_id,
                room_id: r.room_id,
                seq: r.seq,
                author: UserRef {
                    id: r.author_id,
                    username: r.author_name.clone(),
                },
                content: r.content.clone(),
                deleted: r.message_deleted,
            },
            room: ReportedRoom {
                id: r.room_id,
                name: (r.room_kind != RoomKind::Direct).then(|| r.room_name.clone()),
                kind: r.room_kind.as_str(),
            },
            resolution: r.resolution.as_ref().map(|x| ResolutionView {
                action: x.action.clone(),
                note: x.note.clone(),
                by: UserRef {
                    id: x.by,
                    username: x.by_name.clone(),
                },
                at: store_kit::rfc3339(x.at),
            }),
        }
    }
}

/// A user the caller blocks.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockView {
    pub user_id: Uuid,
    pub username: String,
    pub created_at: String,
}

impl From<&Block> for BlockView {
    fn from(b: &Block) -> Self {
        Self {
            user_id: b.user_id,
            username: b.username.clone(),
            created_at: store_kit::rfc3339(b.created_at),
        }
    }
}

/// A mute in force.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MuteView {
    pub room_id: i64,
    pub user_id: Uuid,
    pub username: String,
    /// RFC 3339.
    pub until: String,
    pub reason: Option<String>,
    pub muted_by: Uuid,
}

impl From<&Mute> for MuteView {
    fn from(m: &Mute) -> Self {
        Self {
            room_id: m.room_id,
            user_id: m.user_id,
            username: m.username.clone(),
            until: store_kit::rfc3339(m.until),
            reason: m.reason.clone(),
            muted_by: m.muted_by,
        }
    }
}

/// How many bytes `value` takes as JSON, without building the text.
pub fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing into a counter cannot fail, and these views always serialise.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Trims a page of messages (oldest first) to what fits in `max_bytes` of serialised
/// messages, keeping the end nearest the reader's cursor: the oldest when reading forward
/// (`sync`, `afterSeq`), the newest when reading back. At least one message always stays, so
/// paging moves on. Returns whether any were left out.
pub fn fit_messages(page: &mut Vec<Message>, max_bytes: usize, forward: bool) -> bool {
    let n = page.len();
    let (mut used, mut keep) = (0usize, 0usize);
    while keep < n {
        let m = if forward {
            &page[keep]
        } else {
            &page[n - 1 - keep]
        };
        let size = json_len(&MessageView::from(m)) + 1;
        if keep > 0 && used + size > max_bytes {
            break;
        }
        used += size;
        keep += 1;
    }
    let cut = n - keep;
    if cut == 0 {
        return false;
    }
    if forward {
        page.truncate(keep);
    } else {
        page.drain(..cut);
    }
    true
}

/// Server → client frames (docs/protocol.md), built from what the store returns.
pub mod frames {
    use wire::protocol::Page;

    use super::*;

    pub fn message(m: &Message) -> ServerFrame {
        ServerFrame::Message {
            message: MessageView::from(m),
        }
    }

    pub fn ack(m: &Message) -> ServerFrame {
        ServerFrame::Ack {
            client_msg_id: m.client_msg_id.clone(),
            message: MessageView::from(m),
        }
    }

    /// The answer to `sync`: `messages` for a seq cursor, `changes` for the change feed.
    pub fn page(room_id: i64, page: &crate::ops::messages::Page, changes: bool) -> ServerFrame {
        let page = Page {
            room_id,
            messages: page.messages.iter().map(MessageView::from).collect(),
            has_more: page.has_more,
            rev: page.rev,
        };
        if changes {
            ServerFrame::Changes(page)
        } else {
            ServerFrame::Messages(page)
        }
    }

    pub fn message_edited(m: &Message) -> ServerFrame {
        ServerFrame::MessageEdited {
            room_id: m.room_id,
            message: MessageView::from(m),
        }
    }

    /// `by_moderator`: deleted by someone who moderates the room, not by its author.
    pub fn message_deleted(m: &Message, by_moderator: bool) -> ServerFrame {
        ServerFrame::MessageDeleted {
            room_id: m.room_id,
            id: m.id,
            seq: m.seq,
            rev: m.rev,
            by_moderator,
        }
    }

    pub fn member_role_changed(room_id: i64, user_id: Uuid, role: &str) -> ServerFrame {
        ServerFrame::MemberRoleChanged {
            room_id,
            user_id,
            role: role.to_owned(),
        }
    }

    pub fn member_muted(room_id: i64, user_id: Uuid, until: i64) -> ServerFrame {
        ServerFrame::MemberMuted {
            room_id,
            user_id,
            until: store_kit::rfc3339(until),
        }
    }

    pub fn member_unmuted(room_id: i64, user_id: Uuid) -> ServerFrame {
        ServerFrame::MemberUnmuted { room_id, user_id }
    }

    pub fn typing(room_id: i64, user_id: Uuid, username: &str) -> ServerFrame {
        ServerFrame::Typing {
            room_id,
            user_id,
            username: username.to_owned(),
        }
    }

    pub fn member_added(room: &Room, member: &MemberView) -> ServerFrame {
        ServerFrame::MemberAdded {
            room_id: room.id,
            room_name: room.name.clone(),
            member: member.clone(),
        }
    }

    pub fn member_removed(room_id: i64, user_id: Uuid, new_owner: Option<Uuid>) -> ServerFrame {
        ServerFrame::MemberRemoved {
            room_id,
            user_id,
            new_owner_user_id: new_owner,
        }
    }

    pub fn room_deleted(room_id: i64) -> ServerFrame {
        ServerFrame::RoomDeleted { room_id }
    }

    pub fn room_hidden(room_id: i64) -> ServerFrame {
        ServerFrame::RoomHidden { room_id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: i64, chars: usize) -> Message {
        Message {
            id: seq,
            room_id: 1,
            seq,
            rev: seq,
            user_id: Uuid::nil(),
            username: "alice".to_owned(),
            kind: "text".to_owned(),
            content: "\u{1}".repeat(chars),
            client_msg_id: None,
            created_at: 0,
            edited_at: None,
            deleted_at: None,
            reactions: Vec::new(),
            reply_to_id: None,
            reply_to: None,
            mentions: Vec::new(),
            mentions_room: false,
            attachments: Vec::new(),
            hidden: None,
        }
    }

    fn seqs(page: &[Message]) -> Vec<i64> {
        page.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn a_page_keeps_the_end_nearest_the_cursor_within_the_budget() {
        let page: Vec<Message> = (1..=5).map(|s| message(s, 100)).collect();
        let one = json_len(&MessageView::from(&page[0])) + 1;
        let mut forward = page.clone();
        assert!(fit_messages(&mut forward, 2 * one + 1, true));
        assert_eq!(seqs(&forward), [1, 2]);
        let mut back = page.clone();
        assert!(fit_messages(&mut back, 2 * one + 1, false));
        assert_eq!(seqs(&back), [4, 5]);
        let mut all = page.clone();
        assert!(!fit_messages(&mut all, 5 * one, true));
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn one_message_always_goes_even_past_the_budget() {
        let mut page = vec![message(1, 4000), message(2, 1)];
        assert!(fit_messages(&mut page, 10, true));
        assert_eq!(seqs(&page), [1]);
        let mut empty = Vec::new();
        assert!(!fit_messages(&mut empty, 10, true));
    }
}
