//! A person's data as chat-service holds it, for their export (`wire::export`, GDPR article
//! 20): streamed to auth-service, which wraps it in the profile lines and the `end` line
//! (docs/architecture.md, "Data export"). The rooms, memberships, blocks and notification
//! settings come first (bounded by the per-user limits), then their messages and reactions
//! page by page in key order, so a long history never sits in memory and no statement holds
//! a connection for the whole download.

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt, stream};
use store_kit::rfc3339;
use uuid::Uuid;
use wire::export::{
    ExportAttachment, ExportBlock, ExportLine, ExportMembership, ExportMessage,
    ExportNotificationSettings, ExportReaction, ExportRoom, ExportRoomNotificationSettings,
};

use crate::startup::AppState;
use crate::store::{blocks, messages, notifications, reactions, rooms, uploads};

/// Messages or reactions read per statement.
const PAGE: i64 = 500;

/// Where the stream is.
enum Stage {
    Start,
    /// Messages after this id.
    Messages(i64),
    /// Reactions after this (message id, emoji).
    Reactions(Option<(i64, String)>),
    Done,
}

/// The person's lines, as chunks of whole lines.
pub fn lines(
    state: actix_web::web::Data<AppState>,
    user: Uuid,
) -> impl Stream<Item = anyhow::Result<Bytes>> + 'static {
    stream::try_unfold(Stage::Start, move |stage| {
        let state = state.clone();
        async move {
            let pool = &state.db.pool;
            let (chunk, next) = match stage {
                Stage::Start => (first_lines(&state, user).await?, Stage::Messages(0)),
                Stage::Messages(after) => {
                    let mut page = messages::by_author(pool, user, after, PAGE).await?;
                    uploads::attach_to(pool, &mut page).await?;
                    let next = match page.last() {
                        Some(last) if page.len() as i64 == PAGE => Stage::Messages(last.id),
                        _ => Stage::Reactions(None),
                    };
                    let chunk = page.iter().flat_map(|m| message(m).to_line()).collect();
                    (chunk, next)
                }
                Stage::Reactions(after) => {
                    let after_ref = after.as_ref().map(|(id, emoji)| (*id, emoji.as_str()));
                    let page = reactions::given_by(pool, user, after_ref, PAGE).await?;
                    let chunk = page
                        .iter()
                        .flat_map(|(message_id, emoji, at)| {
                            ExportLine::Reaction(ExportReaction {
                                message_id: *message_id,
                                emoji: emoji.clone(),
                                created_at: rfc3339(*at),
                            })
                            .to_line()
                        })
                        .collect();
                    let next = match page.last() {
                        Some((id, emoji, _)) if page.len() as i64 == PAGE => {
                            Stage::Reactions(Some((*id, emoji.clone())))
                        }
                        _ => Stage::Done,
                    };
                    (chunk, next)
                }
                Stage::Done => return Ok(None),
            };
            Ok(Some((Bytes::from(chunk), next)))
        }
    })
    .try_filter(|chunk| std::future::ready(!chunk.is_empty()))
}

/// The rooms with the person's membership of each, their blocks and notification settings.
async fn first_lines(state: &AppState, user: Uuid) -> anyhow::Result<Vec<u8>> {
    let pool = &state.db.pool;
    let mut out = Vec::new();
    for b in rooms::belongings(pool, user).await? {
        let role = if b.room.owner_user_id == Some(user) {
            "owner"
        } else {
            b.role.map_or("member", |r| r.as_str())
        };
        out.extend(
            ExportLine::Room(ExportRoom {
                id: b.room.id,
                name: b.room.name.clone(),
                kind: b.room.kind.as_str().to_owned(),
                created_at: rfc3339(b.room.created_at),
                peer: b.peer,
            })
            .to_line(),
        );
        out.extend(
            ExportLine::Membership(ExportMembership {
                room_id: b.room.id,
                role: role.to_owned(),
                joined_at: b.joined_at.map(rfc3339),
                last_read_seq: b.last_read_seq,
                muted_until: b.muted_until.map(rfc3339),
            })
            .to_line(),
        );
    }
    for block in blocks::list(pool, user).await? {
        out.extend(
            ExportLine::Block(ExportBlock {
                user_id: block.user_id,
                username: block.username,
                created_at: rfc3339(block.created_at),
            })
            .to_line(),
        );
    }
    let settings = notifications::get(pool, user).await?;
    let room_settings = notifications::rooms(pool, user).await?;
    out.extend(
        ExportLine::NotificationSettings(ExportNotificationSettings {
            level: settings.level.as_str().to_owned(),
            muted_until: settings.muted_until.map(rfc3339),
            email_digest: settings.email_digest,
            rooms: room_settings
                .into_iter()
                .map(|r| ExportRoomNotificationSettings {
                    room_id: r.room_id,
                    level: r.level.map(|l| l.as_str().to_owned()),
                    muted_until: r.muted_until.map(rfc3339),
                })
                .collect(),
        })
        .to_line(),
    );
    Ok(out)
}

fn message(m: &messages::Message) -> ExportLine {
    ExportLine::Message(ExportMessage {
        id: m.id,
        room_id: m.room_id,
        seq: m.seq,
        content: m.content.clone(),
        created_at: rfc3339(m.created_at),
        edited_at: m.edited_at.map(rfc3339),
        reply_to_id: m.reply_to_id,
        attachments: m
            .attachments
            .iter()
            .map(|u| {
                let view = crate::views::attachment(u);
                ExportAttachment {
                    id: view.id,
                    name: view.name,
                    content_type: view.content_type,
                    size: view.size,
                    width: view.width,
                    height: view.height,
                    url: view.url,
                }
            })
            .collect(),
    })
}
