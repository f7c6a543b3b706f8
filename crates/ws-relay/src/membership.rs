//! Re-checking the rooms of live connections against chat-service.
//!
//! Subscriptions change through control items (`subscribe`, `unsubscribe`) that chat-service
//! publishes; one can be lost (a relay restarting, Redis away, a full queue). So every
//! `RELAY_ROOMS_RECHECK_SECS` (jittered, so relays do not all ask at once), and when a
//! connection sends `refreshToken`, the relay reads the rooms of its users again
//! (`POST /internal/ws/rooms`, at most [`ROOMS_REQUEST_MAX_USERS`] users per call) and makes
//! each connection's subscriptions match: a removed member stops hearing the room within one
//! period whatever happened to the `unsubscribe`. A relay that lost its Redis subscription
//! re-checks as soon as it is back (it missed whatever was published meanwhile). A failed read
//! is logged and tried again next round; it never closes a socket.

use std::sync::Weak;
use std::time::Duration;

use uuid::Uuid;
use wire::{ROOMS_REQUEST_MAX_USERS, RoomsRequest};

use crate::chat_client::ChatClient;
use crate::hub::{Hub, Repair, Seen};

/// Starts the periodic re-check; it stops when the hub is dropped.
pub(crate) fn spawn_rechecks(hub: Weak<Hub>, chat: ChatClient, every: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(jittered(every)).await;
            let Some(hub) = hub.upgrade() else {
                return;
            };
            let users = hub.subscriptions();
            if !users.is_empty() {
                recheck(&hub, &chat, users).await;
            }
        }
    });
}

/// One re-check in the background: of `user`'s connections, or of every connection.
pub(crate) fn spawn_recheck(hub: Weak<Hub>, chat: ChatClient, user: Option<Uuid>) {
    tokio::spawn(async move {
        let Some(hub) = hub.upgrade() else {
            return;
        };
        let users = match user {
            Some(user) => vec![(user, hub.subscriptions_of(user))],
            None => hub.subscriptions(),
        };
        if !users.is_empty() {
            recheck(&hub, &chat, users).await;
        }
    });
}

/// `every` ± 20 %.
fn jittered(every: Duration) -> Duration {
    let unit = (Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
    every.mul_f64(0.8 + 0.4 * unit)
}

/// Reads the rooms of `users` and reconciles their connections; a failed read is logged and
/// left for the next round.
pub(crate) async fn recheck(hub: &Hub, chat: &ChatClient, users: Vec<(Uuid, Vec<Seen>)>) {
    let mut total = Repair::default();
    for chunk in users.chunks(ROOMS_REQUEST_MAX_USERS) {
        let request = RoomsRequest {
            user_ids: chunk.iter().map(|(user, _)| *user).collect(),
        };
        let request_id = Uuid::new_v4().to_string();
        let answer = match chat.rooms(&request, &request_id).await {
            Ok(answer) => answer,
            Err(err) => {
                metrics::counter!("ws_relay_rooms_rechecks_total", "outcome" => "failed")
                    .increment(1);
                tracing::warn!(%request_id, users = chunk.len(), error = %err, "cannot re-read rooms from chat-service; retrying next round");
                continue;
            }
        };
        metrics::counter!("ws_relay_rooms_rechecks_total", "outcome" => "ok").increment(1);
        for (user, seen) in chunk {
            let Some(rooms) = answer.rooms.get(user) else {
                continue;
            };
            let repair = hub.reconcile(seen, rooms);
            if repair.subscribed + repair.unsubscribed > 0 {
                // A control item was lost (or crossed a connect): worth knowing.
                tracing::info!(
                    user_id = %user,
                    subscribed = repair.subscribed,
                    unsubscribed = repair.unsubscribed,
                    "rooms re-check repaired subscriptions"
                );
            }
            total.subscribed += repair.subscribed;
            total.unsubscribed += repair.unsubscribed;
            total.skipped += repair.skipped;
        }
    }
    metrics::counter!("ws_relay_rooms_repaired_total", "change" => "subscribed")
        .increment(total.subscribed as u64);
    metrics::counter!("ws_relay_rooms_repaired_total", "change" => "unsubscribed")
        .increment(total.unsubscribed as u64);
}
