//! E-mail digests of unread direct messages and mentions (docs/architecture.md,
//! "Notifications"): every `DIGEST_TICK_SECONDS`, each person with unread items at least
//! `DIGEST_AFTER_MINUTES` old, who has had no live socket for that long either, gets one mail
//! through auth-service (which alone knows addresses), with a one-click unsubscribe link.
//!
//! A replica claims a person by moving their watermark (`email_digests`) conditionally, so
//! two replicas never mail the same digest; the claim is undone when auth-service does not
//! take the mail, so the next tick tries again. A crash between the claim and the mail loses
//! that one digest rather than ever sending it twice (docs/decisions.md, "E-mail digests").

use std::time::{Duration, Instant};

use actix_web::web;
use uuid::Uuid;
use wire::MailRequest;
use wire::protocol::{PRESENCE_QUERY_MAX_USERS, PresenceView};

use crate::auth_client::MailOutcome;
use crate::startup::AppState;
use crate::store::digests::{self, Item, Watermark, Window};

/// The characters of a message a digest quotes.
const SNIPPET_CHARS: usize = 200;

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    /// Mails auth-service took.
    pub sent: u64,
    /// Mails it did not take (retried next tick).
    pub failed: u64,
    /// People with unread items who are online, or were too recently.
    pub present: u64,
    /// No relay answered the presence query: nobody was mailed.
    pub relay_unavailable: bool,
}

/// Runs [`tick`] every `DIGEST_TICK_SECONDS` when `DIGEST_ENABLED`.
pub fn spawn(state: web::Data<AppState>) {
    let settings = &state.settings.digest;
    if !settings.enabled {
        tracing::info!("e-mail digests are off (DIGEST_ENABLED=false)");
        return;
    }
    let every = settings.tick;
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let started = Instant::now();
            match tick(&state).await {
                Ok(done) if done.sent > 0 || done.failed > 0 => {
                    tracing::info!(sent = done.sent, failed = done.failed, "e-mail digests");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    error = %format!("{e:#}"),
                    "the e-mail digest tick failed; it runs again next tick — check that the database is reachable"
                ),
            }
            metrics::histogram!("digest_tick_seconds").record(started.elapsed().as_secs_f64());
        }
    });
}

/// One pass: everyone with something to mail, a page of people at a time (one presence
/// query per page).
pub async fn tick(state: &AppState) -> anyhow::Result<Tick> {
    let settings = &state.settings.digest;
    let now = store_kit::now_ms();
    let window = Window {
        since: now.saturating_sub(millis(settings.lookback)),
        cutoff: now.saturating_sub(millis(settings.after)),
        now,
    };
    let mut done = Tick::default();
    let mut after = None;
    loop {
        let users =
            digests::users_with_unread(&state.db.pool, window, after, PRESENCE_QUERY_MAX_USERS)
                .await?;
        let Some(last) = users.last() else {
            break;
        };
        after = Some(*last);
        let request_id = format!("digest-{}", Uuid::new_v4().simple());
        let presence = match state.relay.presence(&users, &request_id).await {
            Ok(presence) => presence,
            Err(err) => {
                // Never mail someone who may be online: wait for a relay to say they are not.
                tracing::warn!(error = %err, "e-mail digests wait: no relay answered the presence query");
                metrics::counter!("digest_ticks_skipped_total", "reason" => "relay_unavailable")
                    .increment(1);
                done.relay_unavailable = true;
                return Ok(done);
            }
        };
        let away: Vec<Uuid> = presence
            .iter()
            .filter(|view| away_since(view, window.cutoff))
            .map(|view| view.user_id)
            .collect();
        done.present += presence.len().saturating_sub(away.len()) as u64;
        // Watermarks first, then items: a claim made with a watermark another replica has
        // moved since fails, and nothing is mailed twice.
        let mut from = digests::watermarks(&state.db.pool, &away).await?;
        let mut unread = digests::unread_of(&state.db.pool, window, &away).await?;
        for user in away {
            let ids = unread.remove(&user).unwrap_or_default();
            match mail_one(state, user, from.remove(&user), &ids, window, &request_id).await? {
                Mailed::Sent => done.sent += 1,
                Mailed::Failed => done.failed += 1,
                Mailed::Nothing => {}
            }
        }
        if users.len() < PRESENCE_QUERY_MAX_USERS {
            break;
        }
    }
    Ok(done)
}

/// No live socket, and none since `cutoff` (a user the relays never saw counts as away).
fn away_since(view: &PresenceView, cutoff: i64) -> bool {
    if view.online {
        return false;
    }
    match &view.last_seen_at {
        None => true,
        Some(at) => store_kit::parse_rfc3339(at).is_some_and(|ms| ms <= cutoff),
    }
}

enum Mailed {
    Sent,
    Failed,
    /// Nothing left to mail, or another replica claimed it first.
    Nothing,
}

/// Claims the user's unread items `ids` (read after their watermark `from`) and asks
/// auth-service to mail them.
async fn mail_one(
    state: &AppState,
    user: Uuid,
    from: Option<Watermark>,
    ids: &[i64],
    window: Window,
    request_id: &str,
) -> anyhow::Result<Mailed> {
    let pool = &state.db.pool;
    let Some(&last_id) = ids.last() else {
        return Ok(Mailed::Nothing);
    };
    let to = Watermark {
        last_message_id: last_id,
        last_sent_at: window.now,
    };
    if !digests::claim(pool, user, from, to).await? {
        return Ok(Mailed::Nothing);
    }
    let listed = &ids[..ids.len().min(state.settings.digest.max_items)];
    let items = match digests::items(pool, listed).await {
        Ok(items) => items,
        Err(e) => {
            digests::release(pool, user, to, from).await?;
            return Err(e);
        }
    };
    let unsubscribe = state.unsubscribe.link(&state.settings.public_url, user);
    let mail = compose(
        &state.settings.public_url,
        user,
        ids.len(),
        &items,
        unsubscribe,
    );
    match state.auth.send_mail(&mail, request_id).await {
        MailOutcome::Accepted => {
            metrics::counter!("digest_mails_total", "outcome" => "sent").increment(1);
            tracing::info!(%user, items = ids.len(), "e-mail digest sent");
            Ok(Mailed::Sent)
        }
        MailOutcome::NoSuchUser => {
            // The account is gone: keep the claim so these items are not tried again.
            metrics::counter!("digest_mails_total", "outcome" => "no_user").increment(1);
            tracing::info!(%user, "no e-mail digest: auth-service has no such user");
            Ok(Mailed::Nothing)
        }
        MailOutcome::Failed(reason) => {
            metrics::counter!("digest_mails_total", "outcome" => "failed").increment(1);
            tracing::warn!(%user, %reason, "auth-service did not take an e-mail digest; it is tried again next tick");
            digests::release(pool, user, to, from).await?;
            Ok(Mailed::Failed)
        }
    }
}

/// The mail: the subject counts every unread item, the text lists `items` (the first
/// `DIGEST_MAX_ITEMS`) with a link to each, then the unsubscribe link.
pub(crate) fn compose(
    public_url: &str,
    user: Uuid,
    total: usize,
    items: &[Item],
    unsubscribe_url: String,
) -> MailRequest {
    let noun = if total == 1 { "message" } else { "messages" };
    let mut text = format!("While you were away, {total} unread {noun} arrived for you:\n\n");
    for item in items {
        let place = if item.room_kind == "direct" {
            format!("Direct message from {}", item.username)
        } else {
            format!("{} in #{}", item.username, item.room_name)
        };
        text.push_str(&format!(
            "{place}, {}\n  {}\n  {public_url}/chat/{}?seq={}\n\n",
            when(item.created_at),
            snippet(item),
            item.room_id,
            item.seq
        ));
    }
    if total > items.len() {
        text.push_str(&format!(
            "… and {} more: {public_url}/chat\n\n",
            total - items.len()
        ));
    }
    text.push_str(&format!(
        "--\nYou get this mail because e-mail digests are on for your Cloud Chat account.\n\
         Turn them off in one click: {unsubscribe_url}\n"
    ));
    MailRequest {
        user_id: user,
        subject: format!("{total} unread {noun} on Cloud Chat"),
        text,
        unsubscribe_url: Some(unsubscribe_url),
    }
}

/// `2026-11-30 09:12 UTC`.
fn when(ms: i64) -> String {
    let stamp = store_kit::rfc3339(ms);
    format!(
        "{} UTC",
        stamp
            .get(..16)
            .unwrap_or(stamp.as_str())
            .replacen('T', " ", 1)
    )
}

/// The message's first characters on one line.
fn snippet(item: &Item) -> String {
    let one_line = item
        .content
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if one_line.is_empty() {
        return if item.kind == "text" {
            String::new()
        } else {
            "(a file)".to_owned()
        };
    }
    let mut cut: String = one_line.chars().take(SNIPPET_CHARS).collect();
    if cut.len() < one_line.len() {
        cut.push('…');
    }
    cut
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, room_kind: &str, content: &str) -> Item {
        Item {
            id,
            room_id: 7,
            seq: id,
            username: "bob".to_owned(),
            kind: "text".to_owned(),
            content: content.to_owned(),
            created_at: 1_700_000_000_123,
            room_kind: room_kind.to_owned(),
            room_name: "project".to_owned(),
        }
    }

    #[test]
    fn lists_items_with_links_and_counts_the_rest() {
        let long = "word ".repeat(100);
        let items = [item(1, "direct", "hello\nthere"), item(2, "group", &long)];
        let user = Uuid::nil();
        let mail = compose("https://c.example", user, 5, &items, "https://u".to_owned());
        assert_eq!(mail.subject, "5 unread messages on Cloud Chat");
        assert!(mail.text.contains(
            "Direct message from bob, 2023-11-14 22:13 UTC\n  hello there\n  https://c.example/chat/7?seq=1\n"
        ));
        assert!(mail.text.contains("bob in #project, "));
        assert!(mail.text.contains("… and 3 more: https://c.example/chat\n"));
        assert!(
            mail.text
                .ends_with("Turn them off in one click: https://u\n")
        );
        let quoted = mail.text.lines().find(|l| l.starts_with("  word")).unwrap();
        assert_eq!(quoted.trim().chars().count(), SNIPPET_CHARS + 1);
        assert_eq!(mail.unsubscribe_url.as_deref(), Some("https://u"));
        let one = compose(
            "https://c.example",
            user,
            1,
            &items[..1],
            "https://u".into(),
        );
        assert_eq!(one.subject, "1 unread message on Cloud Chat");
    }

    #[test]
    fn away_means_offline_since_the_cutoff() {
        let view = |online, seen: Option<i64>| PresenceView {
            user_id: Uuid::nil(),
            online,
            last_seen_at: seen.map(store_kit::rfc3339),
        };
        assert!(away_since(&view(false, None), 1000));
        assert!(away_since(&view(false, Some(900)), 1000));
        assert!(!away_since(&view(false, Some(1100)), 1000));
        assert!(!away_since(&view(true, Some(10)), 1000));
    }
}
