//! Mentions: resolving `@username` and `@room` when a message is sent or edited, and the
//! caller's recent mentions (docs/architecture.md, "Mentions").

use uuid::Uuid;

use super::Caller;
use crate::domain::mentions::{self as text, Named};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::mentions::{self, Mentions};
use crate::store::messages::{self, Message};
use crate::store::rooms::{Room, RoomKind};
use crate::store::users;

/// Whom `content`, written by `author` in `room`, mentions: `@username` resolves against the
/// room's members (everyone chat-service has met, in `general`); `@room` is every member, and
/// only the owner of a group room may say it (it is plain text in a direct room). Names that
/// match nobody are plain text. Free when the text has no `@`.
pub async fn resolve(
    state: &AppState,
    author: Uuid,
    room: &Room,
    content: &str,
) -> ApiResult<Mentions> {
    let Named {
        names,
        room: says_room,
    } = text::parse(content);
    let limits = &state.settings.limits;
    let pool = &state.db.pool;
    let everyone = says_room && room.kind != RoomKind::Direct;
    if everyone && (room.kind == RoomKind::General || room.owner_user_id != Some(author)) {
        return Err(ApiError::RoomMentionForbidden);
    }
    let found = match room.kind {
        RoomKind::General => users::by_names(pool, &names).await?,
        RoomKind::Group | RoomKind::Direct => {
            mentions::members_by_names(pool, room.id, &names).await?
        }
    };
    // In the order named; each user once (two names cannot share a user, but be sure).
    let mut named: Vec<Uuid> = Vec::new();
    for name in &names {
        for (id, _) in found.iter().filter(|(_, n)| n == name) {
            if !named.contains(id) {
                named.push(*id);
            }
        }
    }
    let max = limits.max_mentions_per_message;
    if named.len() > max as usize {
        return Err(ApiError::TooManyMentions(format!(
            "a message may mention at most {max} people by name; this one names {}",
            named.len()
        )));
    }
    let mut notify = if everyone {
        let members = mentions::member_ids(pool, room.id).await?;
        let max = limits.room_mention_max_members;
        if members.len() > max as usize {
            return Err(ApiError::TooManyMentions(format!(
                "@room may be used in rooms of at most {max} members; this one has {}",
                members.len()
            )));
        }
        members
    } else {
        named.clone()
    };
    notify.retain(|id| *id != author);
    Ok(Mentions {
        users: named,
        room: everyone,
        notify,
    })
}

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 100;

/// The messages that mention the caller, newest first, before message id `before`, in rooms
/// they can still read; and whether more follow.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    before: Option<i64>,
    limit: Option<i64>,
) -> ApiResult<(Vec<Message>, bool)> {
    if limit.is_some_and(|l| !(1..=MAX_PAGE).contains(&l)) {
        return Err(ApiError::field("limit", "must be 1 to 100"));
    }
    if before.is_some_and(|b| b < 1) {
        return Err(ApiError::field("before", "must be a message id"));
    }
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    // Messages the caller does not see (blocked or hidden authors) are left out.
    let hidden = super::messages::HideSet::of(state, caller).await?;
    let (mut page, has_more) =
        messages::mentioning(&state.db.pool, caller.id, before, limit, &hidden.authors()).await?;
    super::messages::as_clients_see(state, &hidden, &mut page).await?;
    Ok((page, has_more))
}
