//! A deleted account's `deleted` user event (docs/architecture.md, "Deleting an account"):
//! chat-service forgets the person in one transaction (`store::account::forget`) and tells the
//! rooms with the events they already know — `memberRemoved` for the rooms the person left,
//! `messageDeleted` for their messages when they asked for those to go. Applying the event
//! again changes and delivers nothing.

use uuid::Uuid;
use wire::Control;

use super::{Outcome, to_room};
use crate::error::ApiResult;
use crate::startup::AppState;
use crate::store::account;
use crate::views::frames;

/// Forgets the deleted account `user_id` (and deletes its messages with `delete_messages`).
pub async fn forget(
    state: &AppState,
    user_id: Uuid,
    delete_messages: bool,
) -> ApiResult<Outcome<()>> {
    // auth-service revoked the sessions before it sent the event: learn of it now, so that no
    // request of the person writes their name again after this (their tokens are refused).
    if let Err(e) = state.revoked.poll_once(&state.revocations).await {
        tracing::warn!(error = %e, "cannot read the revoked sessions before forgetting an account");
    }
    let mut tx = state.db.pool.begin().await?;
    let forgotten = account::forget(&mut tx, user_id, delete_messages, store_kit::now_ms()).await?;
    tx.commit().await?;
    tracing::info!(%user_id, rooms_left = forgotten.removals.len(), messages_deleted = forgotten.deleted.len(), "deleted account forgotten");
    let mut deliveries = Vec::new();
    let mut control = Vec::new();
    for (room_id, removal) in &forgotten.removals {
        if !removal.room_deleted {
            let event = frames::member_removed(*room_id, user_id, removal.new_owner);
            deliveries.push(to_room(*room_id, event));
        }
        control.push(Control::Unsubscribe {
            user_id,
            room_id: *room_id,
        });
    }
    deliveries.extend(
        forgotten
            .deleted
            .iter()
            .map(|m| to_room(m.room_id, frames::message_deleted(m, false))),
    );
    Ok(Outcome::delivering((), deliveries).with_control(control))
}
