//! Who hears of a stored message while away, and when (docs/architecture.md,
//! "Notifications"). Sends hand their stored messages over a bounded channel and go on; a
//! background task finds each message's recipients — the other person of a direct room,
//! the people it mentions (`@room` included), and members whose level is `all` — keeps
//! those whose preferences allow it, who have a subscription and no live socket (and have not
//! blocked the author, who is not suspended with their messages hidden), and
//! collapses bursts per (user, room) with `push_windows`: the first message is pushed at
//! once, later ones inside `PUSH_COLLAPSE_SECONDS` are counted, and a ticker sends one push
//! with the count when the window ends.

use std::sync::Arc;
use std::time::Duration;

use relay_client::RelayClient;
use serde::Serialize;
use sqlx::AnyPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::delivery::{Deliverer, Push, Urgency};
use crate::config::PushSettings;
use crate::domain::notifications::Level;
use crate::store::messages::Message;
use crate::store::push::{self as push_store, Window};
use crate::store::rooms::{self, Room, RoomKind};
use crate::store::{mentions, moderation, notifications};

/// The most characters of a message a push shows.
pub const BODY_CHARS: usize = 200;
/// Windows claimed per tick.
const CLAIM_BATCH: i64 = 500;

/// What the notifier needs of a stored message.
#[derive(Debug, Clone)]
pub struct Notice {
    pub message_id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub author: Uuid,
    pub author_name: String,
    /// The first [`BODY_CHARS`] characters.
    pub text: String,
    /// It names someone or says `@room`: its mention rows are read.
    pub mentions: bool,
}

impl Notice {
    pub fn of(message: &Message) -> Self {
        Self {
            message_id: message.id,
            room_id: message.room_id,
            seq: message.seq,
            author: message.user_id,
            author_name: message.username.clone(),
            text: message.content.chars().take(BODY_CHARS).collect(),
            mentions: !message.mentions.is_empty() || message.mentions_room,
        }
    }
}

/// The send path's handle: hands stored messages to the background task.
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::Sender<Vec<Notice>>,
}

impl Notifier {
    /// Never waits: when the queue is full the messages are dropped, counted and logged.
    pub fn notify(&self, notices: Vec<Notice>) {
        if notices.is_empty() {
            return;
        }
        let n = notices.len() as u64;
        if let Err(err) = self.tx.try_send(notices) {
            metrics::counter!("push_notices_dropped_total").increment(n);
            let why = match err {
                mpsc::error::TrySendError::Full(_) => "the queue is full (PUSH_QUEUE)",
                mpsc::error::TrySendError::Closed(_) => "the notifier stopped",
            };
            tracing::warn!(
                messages = n,
                why,
                "messages dropped before push notification"
            );
        }
    }
}

/// Why a user hears of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reason {
    /// A member whose level is `all`.
    All,
    /// A direct message or a mention: heard at level `mentions` too, and urgent.
    Personal,
}

struct Context {
    pool: AnyPool,
    relay: RelayClient,
    settings: PushSettings,
    deliverer: Deliverer,
}

/// Starts the notifier and its ticker.
pub fn start(
    pool: AnyPool,
    relay: RelayClient,
    settings: PushSettings,
    deliverer: Deliverer,
) -> Notifier {
    let (tx, mut rx) = mpsc::channel::<Vec<Notice>>(settings.queue);
    let context = Arc::new(Context {
        pool,
        relay,
        settings,
        deliverer,
    });
    let worker = context.clone();
    tokio::spawn(async move {
        while let Some(notices) = rx.recv().await {
            for notice in notices {
                if let Err(err) = worker.notice(&notice).await {
                    metrics::counter!("push_notify_failures_total").increment(1);
                    tracing::warn!(error = %format!("{err:#}"), message_id = notice.message_id, "could not notify of a message");
                }
            }
        }
    });
    tokio::spawn(async move {
        // Often enough that a window's push goes soon after it ends.
        let every = (context.settings.collapse / 4)
            .clamp(Duration::from_millis(200), Duration::from_secs(5));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = context.flush().await {
                metrics::counter!("push_notify_failures_total").increment(1);
                tracing::warn!(error = %format!("{err:#}"), "could not send collapsed pushes");
            }
        }
    });
    Notifier { tx }
}

impl Context {
    fn window_ms(&self) -> i64 {
        self.settings.collapse.as_millis() as i64
    }

    /// One stored message: its recipients, filtered, each pushed now or counted.
    async fn notice(&self, notice: &Notice) -> anyhow::Result<()> {
        let Some((room, _)) =
            rooms::with_membership(&self.pool, notice.room_id, notice.author).await?
        else {
            return Ok(());
        };
        let mut candidates: Vec<(Uuid, Reason)> = Vec::new();
        let mut add = |user: Uuid, reason: Reason| {
            if user == notice.author {
                return;
            }
            match candidates.iter_mut().find(|(u, _)| *u == user) {
                Some((_, r)) => *r = (*r).max(reason),
                None => candidates.push((user, reason)),
            }
        };
        match room.kind {
            RoomKind::Direct => {
                for user in mentions::member_ids(&self.pool, room.id).await? {
                    add(user, Reason::Personal);
                }
            }
            RoomKind::Group => {
                for user in
                    notifications::members_notified_of_all(&self.pool, room.id, notice.author)
                        .await?
                {
                    add(user, Reason::All);
                }
            }
            RoomKind::General => {}
        }
        if notice.mentions {
            for user in mentions::mentioned_by(&self.pool, notice.message_id).await? {
                add(user, Reason::Personal);
            }
        }
        if candidates.is_empty() {
            return Ok(());
        }
        // Nobody hears of a message by someone they blocked, nor of one by an author
        // suspended with their messages hidden.
        let now = store_kit::now_ms();
        let Some(blockers) = moderation::silenced_for(&self.pool, notice.author, now).await? else {
            return Ok(());
        };
        candidates.retain(|(u, _)| !blockers.contains(u));
        let subscribed = push_store::users_with_subscriptions(
            &self.pool,
            &candidates.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
        )
        .await?;
        candidates.retain(|(u, _)| subscribed.contains(u));
        let prefs = notifications::prefs(
            &self.pool,
            room.id,
            &candidates.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
        )
        .await?;
        candidates.retain(|(user, reason)| {
            prefs
                .iter()
                .find(|(u, _)| u == user)
                .is_some_and(|(_, p)| allows(p.effective(now), *reason))
        });
        let offline = self
            .offline(
                candidates.iter().map(|(u, _)| *u).collect(),
                notice.message_id,
            )
            .await;
        candidates.retain(|(u, _)| offline.contains(u));
        for (user, reason) in candidates {
            let window = push_store::count_message(
                &self.pool,
                user,
                room.id,
                notice.message_id,
                now,
                self.window_ms(),
            )
            .await?;
            if window == Window::Opened {
                let urgency = match reason {
                    Reason::Personal => Urgency::High,
                    Reason::All => Urgency::Normal,
                };
                self.push(user, &room, notice, 1, urgency).await?;
            } else {
                metrics::counter!("push_collapsed_total").increment(1);
            }
        }
        Ok(())
    }

    /// Sends one collapsed push for each window that ended with messages counted.
    async fn flush(&self) -> anyhow::Result<()> {
        let now = store_kit::now_ms();
        for due in push_store::claim_due(&self.pool, now, self.window_ms(), CLAIM_BATCH).await? {
            let Some(message) = (match due.last_message_id {
                Some(id) => crate::store::messages::get(&self.pool, id).await?,
                None => None,
            }) else {
                continue;
            };
            if message.deleted_at.is_some() {
                continue;
            }
            let Some((room, readable)) =
                rooms::with_membership(&self.pool, due.room_id, due.user_id).await?
            else {
                continue;
            };
            if !readable {
                continue;
            }
            let prefs = notifications::prefs(&self.pool, room.id, &[due.user_id]).await?;
            let (level, muted) = prefs
                .first()
                .map(|(_, p)| p.effective(now))
                .unwrap_or_default();
            if muted || level == Level::None {
                continue;
            }
            if !self
                .offline(vec![due.user_id], message.id)
                .await
                .contains(&due.user_id)
            {
                continue;
            }
            let urgency = if room.kind == RoomKind::Direct {
                Urgency::High
            } else {
                Urgency::Normal
            };
            self.push(
                due.user_id,
                &room,
                &Notice::of(&message),
                due.pending,
                urgency,
            )
            .await?;
        }
        Ok(())
    }

    /// Of `users`, those with no live socket. No relay answering counts as everyone offline
    /// (a push too many beats a missed message).
    async fn offline(&self, users: Vec<Uuid>, message_id: i64) -> Vec<Uuid> {
        if users.is_empty() {
            return users;
        }
        let mut offline = Vec::with_capacity(users.len());
        for chunk in users.chunks(wire::protocol::PRESENCE_QUERY_MAX_USERS) {
            match self
                .relay
                .presence(chunk, &format!("push-{message_id}"))
                .await
            {
                Ok(list) => offline.extend(
                    chunk
                        .iter()
                        .filter(|u| !list.iter().any(|p| p.user_id == **u && p.online)),
                ),
                Err(err) => {
                    metrics::counter!("push_presence_unavailable_total").increment(1);
                    tracing::debug!(error = %err, "no relay answered a presence question; pushing as if offline");
                    offline.extend_from_slice(chunk);
                }
            }
        }
        offline
    }

    async fn push(
        &self,
        user: Uuid,
        room: &Room,
        notice: &Notice,
        count: i64,
        urgency: Urgency,
    ) -> anyhow::Result<()> {
        let subscriptions = push_store::list(&self.pool, user).await?;
        if subscriptions.is_empty() {
            return Ok(());
        }
        let payload =
            serde_json::to_vec(&payload(room, notice, count, self.settings.redact_content))?;
        metrics::counter!("push_sent_total").increment(1);
        self.deliverer.send_all(
            subscriptions,
            Arc::new(Push {
                payload,
                topic: format!("room-{}", room.id),
                urgency,
            }),
        );
        Ok(())
    }
}

/// Whether a user with these preferences hears of a message for this reason.
fn allows((level, muted): (Level, bool), reason: Reason) -> bool {
    !muted
        && match level {
            Level::All => true,
            Level::Mentions => reason == Reason::Personal,
            Level::None => false,
        }
}

/// What the service worker reads (docs/protocol.md, "Push payload").
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    #[serde(rename = "type")]
    kind: &'static str,
    room_id: i64,
    room_kind: &'static str,
    room_name: String,
    sender_username: String,
    message_id: i64,
    seq: i64,
    title: String,
    body: String,
    count: i64,
    url: String,
    tag: String,
}

fn payload(room: &Room, notice: &Notice, count: i64, redact: bool) -> Payload {
    let sender = &notice.author_name;
    let room_name = match room.kind {
        RoomKind::Direct => String::new(),
        RoomKind::General | RoomKind::Group => room.name.clone(),
    };
    let title = if room_name.is_empty() {
        sender.clone()
    } else {
        format!("{sender} in {room_name}")
    };
    let text = notice.text.trim();
    let body = match (count, redact || text.is_empty()) {
        (1, true) => format!("New message from {sender}"),
        (1, false) => text.to_owned(),
        (n, true) => format!("{n} new messages, the latest from {sender}"),
        (n, false) => format!("{n} new messages, the latest: {text}"),
    };
    Payload {
        kind: "message",
        room_id: room.id,
        room_kind: room.kind.as_str(),
        room_name,
        sender_username: sender.clone(),
        message_id: notice.message_id,
        seq: notice.seq,
        title,
        body,
        count,
        url: format!("/chat/{}?seq={}", room.id, notice.seq),
        tag: format!("room-{}", room.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(kind: RoomKind, name: &str) -> Room {
        Room {
            id: 12,
            name: name.to_owned(),
            owner_user_id: None,
            owner_username: None,
            is_general: kind == RoomKind::General,
            kind,
            last_seq: 17,
            last_rev: 0,
            created_at: 0,
        }
    }

    fn notice(text: &str) -> Notice {
        Notice {
            message_id: 345,
            room_id: 12,
            seq: 17,
            author: Uuid::nil(),
            author_name: "alice".to_owned(),
            text: text.to_owned(),
            mentions: false,
        }
    }

    #[test]
    fn payloads_say_who_where_and_what() {
        let p = payload(&room(RoomKind::Group, "team"), &notice("hello"), 1, false);
        assert_eq!(
            serde_json::to_value(&p).ok(),
            Some(serde_json::json!({
                "type": "message", "roomId": 12, "roomKind": "group", "roomName": "team",
                "senderUsername": "alice", "messageId": 345, "seq": 17,
                "title": "alice in team", "body": "hello", "count": 1,
                "url": "/chat/12?seq=17", "tag": "room-12"
            }))
        );
        let direct = payload(&room(RoomKind::Direct, "x"), &notice("hello"), 1, true);
        assert_eq!(
            (direct.title.as_str(), direct.room_name.as_str()),
            ("alice", "")
        );
        assert_eq!(direct.body, "New message from alice");
        let collapsed = payload(&room(RoomKind::Group, "team"), &notice("hello"), 4, true);
        assert_eq!(collapsed.body, "4 new messages, the latest from alice");
        assert_eq!(collapsed.count, 4);
    }

    #[test]
    fn levels_and_mutes_decide() {
        assert!(allows((Level::All, false), Reason::All));
        assert!(allows((Level::Mentions, false), Reason::Personal));
        assert!(!allows((Level::Mentions, false), Reason::All));
        assert!(!allows((Level::None, false), Reason::Personal));
        assert!(!allows((Level::All, true), Reason::Personal));
    }
}
