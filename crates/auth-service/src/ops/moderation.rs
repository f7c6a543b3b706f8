//! Role and suspension changes (docs/architecture.md, "Moderation"). Each is one transaction:
//! the user's columns with `moderation_version` + 1, an audit row, and a user event for
//! chat-service. After the commit, the dispatcher is woken and — for a suspension — every
//! session of the account ends as with log-out-everywhere. The same functions serve the
//! admin API, chat-service's internal call (a report's resolution) and the command line, which
//! has no actor account (`Actor::command_line`) and runs without the server: it only writes
//! the database, and the dispatcher finds its event at its next poll.

use serde_json::json;
use service_kit::RequestId;
use sqlx::AnyPool;
use uuid::Uuid;
use wire::moderation::UserChange;

use crate::domain::{Reason, Role, SuspensionInput};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::audit::{self, Actor, NewEntry};
use crate::store::moderation::{self as store, Target};
use crate::store::user_events;
use crate::store::users::{self, User};

/// The account after a change, and whether anything changed (same role again, lifting a
/// suspension that is not in force: no audit row, no event).
#[derive(Debug, Clone)]
pub struct Change {
    pub user: User,
    pub changed: bool,
    /// The role before the change.
    pub previous_role: Role,
}

/// The acting account, if it is staff (moderator or admin); else 403 `staff_required`.
pub async fn require_staff(pool: &AnyPool, actor_id: Uuid) -> ApiResult<User> {
    match users::by_id(pool, actor_id).await? {
        Some(user) if user.role.is_staff() => Ok(user),
        _ => Err(ApiError::StaffRequired),
    }
}

/// The acting account, if it is an admin; else 403 `admin_required`.
pub async fn require_admin(pool: &AnyPool, actor_id: Uuid) -> ApiResult<User> {
    match users::by_id(pool, actor_id).await? {
        Some(user) if user.role == Role::Admin => Ok(user),
        _ => Err(ApiError::AdminRequired),
    }
}

/// What a change does to the claimed row: `Ok(None)` for nothing to do, `Ok(Some(entry))`
/// for the audit row to append once the columns are written.
type Plan = Option<(&'static str, Option<serde_json::Value>)>;

/// Runs one change: claims the row, lets `apply` check and write it, and commits with an audit
/// row and a user event — or rolls back when `apply` finds nothing to do or refuses.
async fn change<F>(
    pool: &AnyPool,
    actor: &Actor,
    target: Target<'_>,
    reason: Option<&str>,
    now: i64,
    apply: F,
) -> ApiResult<Change>
where
    F: AsyncFnOnce(&mut sqlx::AnyConnection, &mut User) -> ApiResult<Plan>,
{
    let mut tx = pool.begin().await?;
    let Some(mut user) = store::claim(&mut tx, target).await? else {
        return Err(ApiError::UserNotFound);
    };
    if actor.id == Some(user.id) {
        return Err(ApiError::CannotTargetSelf);
    }
    let previous_role = user.role;
    let Some((action, details)) = apply(&mut tx, &mut user).await? else {
        // Dropping the transaction rolls the version bump back.
        drop(tx);
        user.moderation_version -= 1;
        return Ok(Change {
            user,
            changed: false,
            previous_role,
        });
    };
    let entry = NewEntry {
        actor,
        action,
        target: Some((user.id, &user.username)),
        reason,
        details,
    };
    audit::append(&mut tx, &entry, now).await?;
    let event = UserChange::Moderation(user.moderation_state());
    user_events::enqueue(&mut tx, user.id, &event, now).await?;
    tx.commit().await?;
    Ok(Change {
        user,
        changed: true,
        previous_role,
    })
}

/// Gives the account `role` (audit `role.change`, details `{"from", "to"}`).
pub async fn change_role(
    pool: &AnyPool,
    actor: &Actor,
    target: Target<'_>,
    role: Role,
    reason: Option<&Reason>,
    now: i64,
) -> ApiResult<Change> {
    change(
        pool,
        actor,
        target,
        reason.map(Reason::as_str),
        now,
        async |conn, user| {
            if user.role == role {
                return Ok(None);
            }
            let from = user.role;
            store::set_role(conn, user, role).await?;
            Ok(Some((
                audit::ROLE_CHANGE,
                Some(json!({"from": from, "to": role})),
            )))
        },
    )
    .await
}

/// Suspends the account, replacing any suspension (audit `suspension.create`, details
/// `{"until", "hideMessages"}`). Admins cannot be suspended (409 `target_is_admin`).
pub async fn suspend(
    pool: &AnyPool,
    actor: &Actor,
    target: Uuid,
    input: &SuspensionInput,
    now: i64,
) -> ApiResult<Change> {
    let reason = Some(input.reason.as_str());
    change(
        pool,
        actor,
        Target::Id(target),
        reason,
        now,
        async |conn, user| {
            if user.role == Role::Admin {
                return Err(ApiError::TargetIsAdmin);
            }
            let suspension = store::suspension(input, actor.id, now);
            store::set_suspension(conn, user, Some(suspension)).await?;
            let until = input.until.map(store_kit::rfc3339);
            Ok(Some((
                audit::SUSPENSION_CREATE,
                Some(json!({"until": until, "hideMessages": input.hide_messages})),
            )))
        },
    )
    .await
}

/// Lifts the account's suspension (audit `suspension.lift`); nothing to do when none is in
/// force.
pub async fn lift(pool: &AnyPool, actor: &Actor, target: Uuid, now: i64) -> ApiResult<Change> {
    change(
        pool,
        actor,
        Target::Id(target),
        None,
        now,
        async |conn, user| {
            if user.suspension_in_force(now).is_none() {
                return Ok(None);
            }
            store::set_suspension(conn, user, None).await?;
            Ok(Some((audit::SUSPENSION_LIFT, None)))
        },
    )
    .await
}

/// After a committed change: the dispatcher delivers its event now; a suspension ends every
/// session of the account (sockets closed with 4003, access tokens refused within
/// `REVOCATION_POLL_MS` by the services that verify them locally).
pub async fn after_commit(
    state: &AppState,
    change: &Change,
    request_id: &RequestId,
) -> ApiResult<()> {
    if !change.changed {
        return Ok(());
    }
    state.user_events.wake();
    if change
        .user
        .suspension_in_force(store_kit::now_ms())
        .is_some()
    {
        let revoked =
            crate::ops::sign_out_everywhere(state, change.user.id, "suspended", request_id).await?;
        tracing::info!(user_id = %change.user.id, revoked = revoked.len(), "account suspended; every session revoked");
    }
    Ok(())
}
