//! Deleting one's own account (docs/architecture.md, "Deleting an account"): one transaction
//! revokes every session, erases the account's row (and with it everything that cascades from
//! it), renames the person in the audit log, records the deletion and queues the `deleted`
//! user event that makes chat-service forget them. After the commit the relays close their
//! sockets and the dispatcher delivers the event, retrying until chat-service accepts it.

use service_kit::RequestId;
use wire::DELETED_USER_NAME;
use wire::moderation::UserChange;

use crate::domain::Role;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::audit::{self, Actor, NewEntry};
use crate::store::users::{self, User};
use crate::store::{sessions, user_events};

/// Deletes `account`, whose password (and second factor) the caller has checked. The only
/// admin cannot delete their account (409 `last_admin`): an instance always keeps one.
pub async fn delete_account(
    state: &AppState,
    account: &User,
    delete_messages: bool,
    ip: Option<String>,
    request_id: &RequestId,
) -> ApiResult<()> {
    let now = store_kit::now_ms();
    let mut tx = state.db.pool.begin().await?;
    let revoked = sessions::revoke_all(&mut tx, account.id, None, "account_deleted", now).await?;
    if !users::delete(&mut tx, account.id).await? {
        // Deleted meanwhile by another request: that one did the rest.
        return Err(ApiError::NotFound("user"));
    }
    if account.role == Role::Admin && users::other_admins(&mut tx, account.id).await? == 0 {
        return Err(ApiError::LastAdmin);
    }
    // The person is the actor and the target, already under the neutral name.
    let actor = Actor {
        id: Some(account.id),
        name: DELETED_USER_NAME.to_owned(),
        ip,
    };
    store_kit::audit::rename(&mut tx, account.id, DELETED_USER_NAME).await?;
    let entry = NewEntry {
        actor: &actor,
        action: audit::ACCOUNT_DELETE,
        target: Some((account.id, DELETED_USER_NAME)),
        reason: None,
        details: Some(serde_json::json!({"deleteMessages": delete_messages})),
    };
    audit::append(&mut tx, &entry, now).await?;
    let event = UserChange::Deleted { delete_messages };
    user_events::enqueue(&mut tx, account.id, &event, now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %account.id, revoked = revoked.len(), delete_messages, "account deleted");
    metrics::counter!("auth_accounts_deleted_total").increment(1);
    state.user_events.wake();
    crate::ops::disconnect_user(state, account.id, request_id);
    Ok(())
}
