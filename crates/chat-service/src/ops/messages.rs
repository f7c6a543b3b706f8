//! Messages: sending (one send path: a send is a batch of one), reading history and the
//! change feed, editing, deleting, read markers and typing.

use service_kit::ratelimit::Quota;
use uuid::Uuid;
use wire::ServerFrame;

use super::{Actor, Caller, Outcome, rate_limit, to_room, visible_room};
use crate::domain::moderation as moderation_input;
use crate::domain::{ClientMsgId, Emoji, MessageContent};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::audit::NewEntry;
use crate::store::messages::{
    self, Change, Cursor, InsertError, Message, NewMessage, PageQuery, Stored,
};
use crate::store::moderation::{self as moderation_store, Hidden};
use crate::store::reactions::{self, ReactError};
use crate::store::rooms::{self, PostRefusal, Room};
use crate::store::uploads;
use crate::views::{self, frames};

fn reject(reason: &'static str, err: ApiError) -> ApiError {
    metrics::counter!("chat_sends_rejected_total", "reason" => reason).increment(1);
    err
}

/// Stores a message (or finds the original of a retried send): a batch of one.
pub async fn send(state: &AppState, send: SendRequest) -> ApiResult<Outcome<Stored>> {
    send_many(state, vec![send])
        .await
        .pop()
        .unwrap_or_else(|| Err(unanswered()))
}

fn unanswered() -> ApiError {
    ApiError::Unexpected(anyhow::anyhow!("a send went unanswered"))
}

/// One send of a batch: who, and the `sendMessage` body's fields.
pub struct SendRequest {
    pub caller: Caller,
    pub room_id: i64,
    pub content: String,
    pub client_msg_id: Option<String>,
    /// The message it answers (`replyToId`).
    pub reply_to_id: Option<i64>,
    /// Uploads of the sender to attach (`attachmentIds`).
    pub attachment_ids: Vec<Uuid>,
}

impl SendRequest {
    /// A socket's `sendMessage` by `caller`.
    pub fn from_action(caller: Caller, send: wire::protocol::SendMessage) -> Self {
        Self {
            caller,
            room_id: send.room_id,
            content: send.content,
            client_msg_id: send.client_msg_id,
            reply_to_id: send.reply_to_id,
            attachment_ids: send.attachment_ids,
        }
    }
}

/// Sends (one, or a relay's batch): content, clientMsgId and the sender's rate are checked
/// per send, membership, mutes and blocks for all of them in three statements, and the accepted ones are queued
/// together to the group-commit writers so that they share commits, in the order given. One
/// answer per send, in order: the stored message (or the original of a retried send), to be
/// delivered to its room unless it is such a retry.
pub async fn send_many(
    state: &AppState,
    sends: Vec<SendRequest>,
) -> Vec<ApiResult<Outcome<Stored>>> {
    let checked: Vec<ApiResult<NewMessage>> =
        futures_util::future::join_all(sends.iter().map(|s| check_send(state, s))).await;
    let pairs: Vec<(i64, Uuid)> = checked
        .iter()
        .filter_map(|c| c.as_ref().ok().map(|m| (m.room_id, m.user_id)))
        .collect();
    let rights = match rooms::may_post(&state.db.pool, &pairs, store_kit::now_ms()).await {
        Ok(rights) => rights,
        Err(err) => {
            // The cause is logged here; each send answers with a 500.
            tracing::error!(error = %format!("{err:#}"), "could not read memberships for a batch of sends");
            return sends
                .iter()
                .map(|_| {
                    Err(ApiError::Unexpected(anyhow::anyhow!(
                        "membership lookup failed"
                    )))
                })
                .collect();
        }
    };
    let mut answers: Vec<Option<ApiResult<Stored>>> = Vec::with_capacity(checked.len());
    let mut accepted = Vec::new();
    for (i, check) in checked.into_iter().enumerate() {
        match check {
            Err(err) => answers.push(Some(Err(err))),
            Ok(message) if rights.check((message.room_id, message.user_id)).is_err() => {
                let refusal = rights.check((message.room_id, message.user_id)).err();
                answers.push(Some(Err(refused(refusal))));
            }
            // What a reply answers, whom it mentions and the files it carries are looked up
            // only for members (no probing other rooms).
            Ok(message) => match check_reply(state, &message).await {
                Err(err) => answers.push(Some(Err(err))),
                Ok(()) => match check_attachments(state, &message).await {
                    Err(err) => answers.push(Some(Err(err))),
                    Ok(()) => match with_mentions(state, message).await {
                        Err(err) => answers.push(Some(Err(err))),
                        Ok(message) => {
                            answers.push(None);
                            accepted.push((i, message));
                        }
                    },
                },
            },
        }
    }
    let (slots, messages): (Vec<usize>, Vec<NewMessage>) = accepted.into_iter().unzip();
    for (i, outcome) in slots
        .into_iter()
        .zip(state.sends.insert_many(messages).await)
    {
        answers[i] = Some(stored(outcome));
    }
    let mut answers: Vec<ApiResult<Stored>> = answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(unanswered())))
        .collect();
    // The files they carry (one statement for all), for the ack and the room.
    let mut carrying: Vec<Message> = answers
        .iter()
        .zip(&sends)
        .filter(|(_, send)| !send.attachment_ids.is_empty())
        .filter_map(|(a, _)| a.as_ref().ok())
        .map(|s| s.message.clone())
        .collect();
    if !carrying.is_empty() {
        match uploads::attach_to(&state.db.pool, &mut carrying).await {
            Ok(()) => {
                for answer in answers.iter_mut().flatten() {
                    if let Some(m) = carrying.iter().find(|m| m.id == answer.message.id) {
                        answer.message.attachments = m.attachments.clone();
                    }
                }
            }
            Err(err) => {
                tracing::error!(error = %format!("{err:#}"), "could not read the attachments of stored sends");
                for answer in answers.iter_mut() {
                    if answer.is_ok() {
                        *answer = Err(ApiError::Unexpected(anyhow::anyhow!(
                            "reading attachments failed"
                        )));
                    }
                }
            }
        }
    }
    // The quotes of the replies among them, for the ack and the room.
    for answer in answers.iter_mut() {
        if let Ok(stored) = answer
            && stored.message.reply_to_id.is_some()
            && let Err(err) =
                messages::attach_replies(&state.db.pool, std::slice::from_mut(&mut stored.message))
                    .await
        {
            *answer = Err(err.into());
        }
    }
    notify_away(state, &answers);
    answers.into_iter().map(|a| a.map(delivered)).collect()
}

/// The answer to a send [`rooms::may_post`] refused (a room the sender is not in answers as
/// one that does not exist).
fn refused(refusal: Option<PostRefusal>) -> ApiError {
    match refusal {
        Some(PostRefusal::Muted(until)) => reject("muted", ApiError::Muted(until)),
        Some(PostRefusal::Blocked) => reject("blocked", ApiError::Blocked),
        Some(PostRefusal::NotMember) | None => reject("not_member", ApiError::RoomNotFound),
    }
}

/// Hands the newly stored messages (not retries of stored ones) to the push notifier, which
/// works in the background and never slows the send.
fn notify_away(state: &AppState, answers: &[ApiResult<Stored>]) {
    if let Some(push) = &state.push {
        push.notify(
            answers
                .iter()
                .flatten()
                .filter(|stored| !stored.duplicate)
                .map(|stored| crate::push::notifier::Notice::of(&stored.message))
                .collect(),
        );
    }
}

/// A reply must answer a live message of its own room.
async fn check_reply(state: &AppState, message: &NewMessage) -> ApiResult<()> {
    let Some(id) = message.reply_to_id else {
        return Ok(());
    };
    match messages::get(&state.db.pool, id).await? {
        Some(original) if original.room_id == message.room_id && original.deleted_at.is_none() => {
            Ok(())
        }
        _ => Err(reject("invalid", ApiError::ReplyTargetNotFound)),
    }
}

/// Every upload a send carries must be the sender's, complete, not deleted and on no message
/// yet — unless the send is a retry of a stored one (same clientMsgId), whose uploads its
/// original already carries: the batch answers with that original.
async fn check_attachments(state: &AppState, message: &NewMessage) -> ApiResult<()> {
    if message.attachments.is_empty() {
        return Ok(());
    }
    let found = uploads::attachable(&state.db.pool, message.user_id, &message.attachments).await?;
    if found.len() == message.attachments.len() {
        return Ok(());
    }
    if let Some(cid) = &message.client_msg_id
        && messages::exists_by_client_id(&state.db.pool, message.user_id, cid.as_str()).await?
    {
        return Ok(());
    }
    Err(reject("invalid", attachments_unavailable()))
}

/// 404 `attachment_not_found`, as for a `replyToId` that names no message: the request is
/// well formed, the upload it names is not there for this sender.
fn attachments_unavailable() -> ApiError {
    ApiError::AttachmentNotFound
}

/// The message with whom it mentions (nobody, without a database read, when its text has no
/// `@`).
async fn with_mentions(state: &AppState, mut message: NewMessage) -> ApiResult<NewMessage> {
    if !message.content.as_str().contains('@') {
        return Ok(message);
    }
    let (room, _) = rooms::with_membership(&state.db.pool, message.room_id, message.user_id)
        .await?
        .ok_or(ApiError::RoomNotFound)?;
    message.mentions =
        super::mentions::resolve(state, message.user_id, &room, message.content.as_str())
            .await
            .map_err(|e| reject("invalid", e))?;
    Ok(message)
}

/// A stored send's outcome: the message for its room — unless it is a retry of a stored send,
/// which is acknowledged again but not delivered a second time.
fn delivered(stored: Stored) -> Outcome<Stored> {
    let deliveries = if stored.duplicate {
        Vec::new()
    } else {
        vec![to_room(
            stored.message.room_id,
            frames::message(&stored.message),
        )]
    };
    Outcome::delivering(stored, deliveries)
}

/// Everything about a send but membership and what it answers: content, clientMsgId, the
/// sender's rate.
async fn check_send(state: &AppState, send: &SendRequest) -> ApiResult<NewMessage> {
    let caller = &send.caller;
    // With files, the text may be empty.
    let parsed_content = if send.attachment_ids.is_empty() {
        MessageContent::parse(&send.content)
    } else {
        MessageContent::parse_optional(&send.content)
    };
    let parsed_cid = send
        .client_msg_id
        .as_deref()
        .map(ClientMsgId::parse)
        .transpose();
    let (content, cid) = match (parsed_content, parsed_cid) {
        (Ok(c), Ok(id)) => (c, id),
        (c, id) => {
            let errors = [c.err(), id.err()].into_iter().flatten().collect();
            return Err(reject("invalid", ApiError::Validation(errors)));
        }
    };
    let max = state.settings.limits.max_attachments_per_message as usize;
    if send.attachment_ids.len() > max {
        return Err(reject(
            "invalid",
            ApiError::Validation(vec![service_kit::FieldError::new(
                "attachmentIds",
                format!("at most {max} files per message"),
            )]),
        ));
    }

    let quota = Quota {
        limit: state.settings.send_limit,
        window: state.settings.send_window,
    };
    rate_limit(state, &format!("send:{}", caller.id), quota)
        .await
        .map_err(|e| reject("rate_limited", e))?;
    Ok(NewMessage {
        room_id: send.room_id,
        user_id: caller.id,
        username: caller.username.clone(),
        content,
        client_msg_id: cid,
        reply_to_id: send.reply_to_id,
        mentions: Default::default(),
        // A file named twice is attached once, where it was first named.
        attachments: send
            .attachment_ids
            .iter()
            .enumerate()
            .filter(|(i, id)| !send.attachment_ids[..*i].contains(id))
            .map(|(_, id)| *id)
            .collect(),
        now: store_kit::now_ms(),
    })
}

/// `typing`: delivered to the room at most once per user and room every
/// `CHAT_TYPING_INTERVAL_MS` (counted in Redis when replicas share it); the others are
/// dropped without an error, as the indicator they would refresh is still showing. The
/// throttle comes first: a dropped `typing` costs no database read.
pub async fn typing(state: &AppState, caller: &Caller, room_id: i64) -> ApiResult<Outcome<()>> {
    let quota = Quota {
        limit: 1,
        window: state.settings.limits.typing_interval,
    };
    let key = format!("typing:{}:{room_id}", caller.id);
    if rate_limit(state, &key, quota).await.is_err() {
        metrics::counter!("chat_typing_throttled_total").increment(1);
        return Ok(Outcome::quiet(()));
    }
    visible_room(state, caller, room_id).await?;
    Ok(Outcome::delivering(
        (),
        vec![to_room(
            room_id,
            frames::typing(room_id, caller.id, &caller.username),
        )],
    ))
}

fn stored(outcome: Result<Stored, InsertError>) -> ApiResult<Stored> {
    match outcome {
        Ok(stored) => {
            if !stored.duplicate {
                metrics::counter!("chat_messages_created_total").increment(1);
            }
            Ok(stored)
        }
        Err(InsertError::RoomGone) => Err(reject("not_member", ApiError::RoomNotFound)),
        Err(InsertError::AttachmentTaken) => Err(reject("invalid", attachments_unavailable())),
        Err(InsertError::Unexpected(e)) => Err(e.into()),
    }
}

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

/// A page of a room's messages, as [`read`] answers it.
#[derive(Debug, Clone)]
pub struct Page {
    pub messages: Vec<Message>,
    /// More lie beyond the page in the direction read.
    pub has_more: bool,
    /// The room's revision: every change up to it is reflected in the page's messages (the
    /// room is read before them). A client keeps it as its change-feed cursor.
    pub rev: i64,
}

/// The cursor of a read from its request fields: `sinceRev` (the change feed) or
/// `afterSeq`/`beforeSeq`. Negative values and `sinceRev` with a seq cursor are refused.
pub fn cursor(
    after_seq: Option<i64>,
    before_seq: Option<i64>,
    since_rev: Option<i64>,
) -> ApiResult<Cursor> {
    let mut errors = Vec::new();
    for (name, value) in [
        ("afterSeq", after_seq),
        ("beforeSeq", before_seq),
        ("sinceRev", since_rev),
    ] {
        if value.is_some_and(|v| v < 0) {
            errors.push(service_kit::FieldError::new(name, "must be 0 or more"));
        }
    }
    if since_rev.is_some() && (after_seq.is_some() || before_seq.is_some()) {
        errors.push(service_kit::FieldError::new(
            "sinceRev",
            "cannot be combined with afterSeq or beforeSeq",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(match since_rev {
        Some(rev) => Cursor::SinceRev(rev),
        None => Cursor::Seq {
            after: after_seq,
            before: before_seq,
        },
    })
}

/// The cursor of a socket `sync`: `sinceRev`, or `afterSeq` (0 when neither is given, the
/// older form's default).
pub fn sync_cursor(sync: &wire::protocol::Sync) -> ApiResult<Cursor> {
    let after_seq = match sync.since_rev {
        Some(_) => sync.after_seq,
        None => Some(sync.after_seq.unwrap_or(0)),
    };
    cursor(after_seq, None, sync.since_rev)
}

/// A page of a room's messages from `cursor`: history by seq, or the change feed by
/// revision. Limits above 200 are capped; the serialised messages stay within `max_bytes`
/// (at least one is always sent), with `has_more` true when the budget left some out.
pub async fn read(
    state: &AppState,
    caller: &Caller,
    room_id: i64,
    cursor: Cursor,
    limit: Option<i64>,
    max_bytes: usize,
) -> ApiResult<Page> {
    if limit.is_some_and(|l| l < 1) {
        return Err(ApiError::field(
            "limit",
            "must be at least 1 (at most 200 are returned)",
        ));
    }
    // The room (and its revision) is read before the messages, so the page reflects every
    // change up to that revision.
    let room = visible_room(state, caller, room_id).await?;
    let query = PageQuery {
        cursor,
        limit: limit.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE),
        max_bytes: i64::try_from(max_bytes).unwrap_or(i64::MAX),
    };
    let (mut page, has_more) = messages::page(&state.db.pool, room_id, query).await?;
    // Reactions count in the answer's bytes: attached before the page is trimmed to fit.
    let hidden = HideSet::of(state, caller).await?;
    as_clients_see(state, &hidden, &mut page).await?;
    let cut = views::fit_messages(&mut page, max_bytes, cursor.forward());
    // Changes that committed after the room was read may be in the page; the revision
    // answered covers them too (a room's revisions commit in order).
    let newest = page.iter().map(|m| m.rev).max().unwrap_or(0);
    Ok(Page {
        messages: page,
        has_more: has_more || cut,
        rev: room.last_rev.max(newest),
    })
}

/// The messages around `seq`, oldest first: about half of `limit` before it, the rest from
/// it on, each half within half the byte budget.
pub struct Around {
    pub messages: Vec<Message>,
    pub has_more_before: bool,
    pub has_more_after: bool,
    pub rev: i64,
}

pub async fn read_around(
    state: &AppState,
    caller: &Caller,
    room_id: i64,
    seq: i64,
    limit: Option<i64>,
    max_bytes: usize,
) -> ApiResult<Around> {
    if seq < 0 {
        return Err(ApiError::field("aroundSeq", "must be 0 or more"));
    }
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if limit < 1 {
        return Err(ApiError::field(
            "limit",
            "must be at least 1 (at most 200 are returned)",
        ));
    }
    let limit = limit.min(MAX_PAGE);
    let before_limit = (limit / 2).max(1);
    // Up to and including `seq`, reading back; then what follows it.
    let before = Cursor::Seq {
        after: None,
        before: Some(seq.saturating_add(1)),
    };
    let older = read(
        state,
        caller,
        room_id,
        before,
        Some(before_limit),
        max_bytes / 2,
    )
    .await?;
    let taken = i64::try_from(older.messages.len()).unwrap_or(limit);
    let newer = if taken < limit {
        let after = Cursor::Seq {
            after: Some(seq),
            before: None,
        };
        Some(
            read(
                state,
                caller,
                room_id,
                after,
                Some(limit - taken),
                max_bytes / 2,
            )
            .await?,
        )
    } else {
        None
    };
    let has_more_after = newer.as_ref().is_none_or(|p| p.has_more);
    let mut messages = older.messages;
    messages.extend(newer.map(|p| p.messages).unwrap_or_default());
    Ok(Around {
        messages,
        has_more_before: older.has_more,
        has_more_after,
        // The first read's: every change up to it is in both halves.
        rev: older.rev,
    })
}

/// The message, if the caller can see its room.
async fn visible_message(state: &AppState, caller: &Caller, id: i64) -> ApiResult<(Message, Room)> {
    let message = messages::get(&state.db.pool, id)
        .await?
        .ok_or(ApiError::MessageNotFound)?;
    let room = visible_room(state, caller, message.room_id)
        .await
        .map_err(|_| ApiError::MessageNotFound)?;
    Ok((message, room))
}

/// Replaces the text of the caller's own message; the edited message (with its new
/// revision) goes to the room as `messageEdited`.
pub async fn edit(
    state: &AppState,
    caller: &Caller,
    id: i64,
    content: &str,
) -> ApiResult<Outcome<Message>> {
    let (message, room) = visible_message(state, caller, id).await?;
    if message.user_id != caller.id {
        return Err(ApiError::NotAuthor);
    }
    let mut with_files = [message];
    uploads::attach_to(&state.db.pool, &mut with_files).await?;
    let [message] = with_files;
    // A message with files may lose its text.
    let content = if message.attachments.is_empty() {
        MessageContent::parse(content)
    } else {
        MessageContent::parse_optional(content)
    }
    .map_err(|e| ApiError::Validation(vec![e]))?;
    let mentioned = super::mentions::resolve(state, caller.id, &room, content.as_str()).await?;
    let edited = messages::change(
        &state.db.pool,
        &message,
        Change::Edit(&content, &mentioned),
        store_kit::now_ms(),
        None,
    )
    .await?
    .ok_or(ApiError::MessageNotFound)?;
    let mut edited = reactions::attached(&state.db.pool, edited).await?;
    messages::attach_replies(&state.db.pool, std::slice::from_mut(&mut edited)).await?;
    edited.attachments = message.attachments.clone();
    let event = frames::message_edited(&edited);
    Ok(Outcome::delivering(
        edited,
        vec![to_room(message.room_id, event)],
    ))
}

/// Soft-deletes a message: its author, or anyone who moderates its room (see
/// `ops::moderation::may_moderate`); the room hears `messageDeleted`, with `byModerator` when
/// it was not the author, whose deletion is recorded in the audit log (`reason`, at most 500
/// characters). Idempotent: deleting a deleted message changes and delivers nothing.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    id: i64,
    reason: Option<&str>,
) -> ApiResult<Outcome<()>> {
    let reason =
        moderation_input::optional_text("reason", reason, moderation_input::MAX_REASON_CHARS)
            .map_err(|e| ApiError::Validation(vec![e]))?;
    let caller = &actor.caller;
    let message = messages::get(&state.db.pool, id)
        .await?
        .ok_or(ApiError::MessageNotFound)?;
    let by_author = message.user_id == caller.id;
    let room = if by_author {
        visible_room(state, caller, message.room_id)
            .await
            .map_err(|_| ApiError::MessageNotFound)?
    } else {
        let authority = super::moderation::authority(state, caller, message.room_id)
            .await
            .map_err(|_| ApiError::MessageNotFound)?;
        if !authority.moderates() {
            return Err(ApiError::NotAuthor);
        }
        authority.room
    };
    let entry = (!by_author).then(|| NewEntry {
        target: Some((message.user_id, message.username.as_str())),
        room_id: Some(room.id),
        message_id: Some(message.id),
        reason: reason.as_deref(),
        ..NewEntry::new(actor.audit(), "message.delete")
    });
    let deleted = messages::change(
        &state.db.pool,
        &message,
        Change::Delete,
        store_kit::now_ms(),
        entry.as_ref(),
    )
    .await?;
    let Some(deleted) = deleted else {
        return Ok(Outcome::quiet(()));
    };
    tracing::info!(message_id = message.id, room_id = room.id, by = %caller.id, by_moderator = !by_author, "message deleted");
    Ok(Outcome::delivering(
        (),
        vec![to_room(
            room.id,
            frames::message_deleted(&deleted, !by_author),
        )],
    ))
}

/// Moves the caller's read marker (never past the room's last seq, never backwards).
pub async fn mark_read(
    state: &AppState,
    caller: &Caller,
    room_id: i64,
    seq: i64,
) -> ApiResult<Outcome<()>> {
    if seq < 0 {
        return Err(ApiError::field("seq", "must be 0 or more"));
    }
    let room = visible_room(state, caller, room_id).await?;
    let seq = seq.min(room.last_seq);
    if !rooms::mark_read(&state.db.pool, room_id, caller.id, seq).await? {
        return Ok(Outcome::quiet(()));
    }
    // At most one receipt a user and room every interval; later moves are stored, not told.
    let quota = Quota {
        limit: 1,
        window: state.settings.limits.read_receipt_interval,
    };
    let key = format!("receipt:{}:{room_id}", caller.id);
    if rate_limit(state, &key, quota).await.is_err() {
        return Ok(Outcome::quiet(()));
    }
    let event = ServerFrame::ReadMarker {
        room_id,
        user_id: caller.id,
        seq,
    };
    // In `general` only the reader's own devices hear it (everyone's receipts would flood).
    let target = if room.is_general {
        super::to_user(caller.id, event)
    } else {
        to_room(room_id, event)
    };
    Ok(Outcome::delivering((), vec![target]))
}

/// The read markers of a group room's members.
pub async fn read_markers(
    state: &AppState,
    caller: &Caller,
    room_id: i64,
) -> ApiResult<Vec<rooms::ReadMarker>> {
    let room = visible_room(state, caller, room_id).await?;
    if room.is_general {
        return Err(ApiError::GeneralRoom);
    }
    Ok(rooms::read_markers(&state.db.pool, room_id).await?)
}

/// Adds (`add`) or removes the caller's reaction to a message of a room they can see. No
/// change (already there, or not there) is no error and tells nobody; a change takes the
/// room's next revision and goes to the room as `reactionChanged`. `room_id`, when the
/// client gave one (the socket action), must be the message's room.
pub async fn react(
    state: &AppState,
    caller: &Caller,
    message_id: i64,
    room_id: Option<i64>,
    emoji: &str,
    add: bool,
) -> ApiResult<Outcome<Message>> {
    let emoji = Emoji::parse(emoji).map_err(|e| ApiError::Validation(vec![e]))?;
    let per_minute = Quota::per_minute(state.settings.limits.reactions_per_minute);
    rate_limit(state, &format!("react:{}", caller.id), per_minute).await?;
    let (message, _) = visible_message(state, caller, message_id).await?;
    if message.deleted_at.is_some() || room_id.is_some_and(|r| r != message.room_id) {
        return Err(ApiError::MessageNotFound);
    }
    let max = state.settings.limits.max_reactions_per_message;
    let changed = reactions::change(
        &state.db.pool,
        &message,
        emoji.as_str(),
        caller.id,
        add,
        max,
        store_kit::now_ms(),
    )
    .await
    .map_err(|e| match e {
        ReactError::Gone => ApiError::MessageNotFound,
        ReactError::TooMany => ApiError::TooManyReactions(max),
        ReactError::Unexpected(e) => ApiError::Unexpected(e),
    })?;
    let Some(changed) = changed else {
        // Nothing changed: the message as it is, for the REST answer.
        let mut message = reactions::attached(&state.db.pool, message).await?;
        messages::attach_replies(&state.db.pool, std::slice::from_mut(&mut message)).await?;
        uploads::attach_to(&state.db.pool, std::slice::from_mut(&mut message)).await?;
        return Ok(Outcome::quiet(message));
    };
    let event = ServerFrame::ReactionChanged {
        room_id: changed.message.room_id,
        message_id: changed.message.id,
        rev: changed.message.rev,
        emoji: emoji.as_str().to_owned(),
        user_id: caller.id,
        added: add,
        count: changed.count,
    };
    let room = changed.message.room_id;
    let mut message = changed.message;
    uploads::attach_to(&state.db.pool, std::slice::from_mut(&mut message)).await?;
    Ok(Outcome::delivering(message, vec![to_room(room, event)]))
}

/// The authors whose messages one reader does not see (read once per page): those they
/// blocked, and — unless they are staff — those suspended with their messages hidden.
#[derive(Debug, Clone, Default)]
pub struct HideSet(std::collections::HashMap<Uuid, Hidden>);

impl HideSet {
    pub async fn of(state: &AppState, reader: &Caller) -> ApiResult<Self> {
        Ok(Self(
            moderation_store::hidden_authors(&state.db.pool, reader.id, store_kit::now_ms())
                .await?,
        ))
    }

    /// The authors left out of searches and mention lists.
    pub fn authors(&self) -> Vec<Uuid> {
        let mut authors: Vec<Uuid> = self.0.keys().copied().collect();
        authors.sort_unstable();
        authors
    }

    fn get(&self, author: Uuid) -> Option<Hidden> {
        self.0.get(&author).copied()
    }
}

/// Fills in what one reader sees of stored messages besides their row: reactions, the quotes
/// of replies, files (history, mentions and search answer messages alike) — and, for the
/// messages of authors the reader does not see (`hidden`), nothing but the row: no text, no
/// files, no mentions, no quote (their seqs stay, so a page has no gaps). A quote of such an
/// author's message loses its text too. Live frames are not filtered (docs/protocol.md).
pub async fn as_clients_see(
    state: &AppState,
    hidden: &HideSet,
    page: &mut [Message],
) -> ApiResult<()> {
    reactions::attach(&state.db.pool, page).await?;
    messages::attach_replies(&state.db.pool, page).await?;
    uploads::attach_to(&state.db.pool, page).await?;
    if hidden.0.is_empty() {
        return Ok(());
    }
    for message in page.iter_mut() {
        if let Some(quote) = message.reply_to.as_mut()
            && hidden.get(quote.user_id).is_some()
        {
            quote.excerpt.clear();
        }
        let Some(why) = hidden.get(message.user_id) else {
            continue;
        };
        if message.deleted_at.is_some() {
            continue;
        }
        message.hidden = Some(why);
        message.content.clear();
        message.attachments.clear();
        message.mentions.clear();
        message.mentions_room = false;
        message.reply_to = None;
    }
    Ok(())
}
