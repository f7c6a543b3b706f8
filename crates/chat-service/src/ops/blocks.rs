//! Blocks (docs/architecture.md, "Moderation"): a user blocks another — no direct messages
//! between them either way, and the blocked user's messages come hidden to the blocker.

use uuid::Uuid;

use super::Caller;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::blocks::{self, Block, BlockError};
use crate::store::users;

/// The users the caller blocks, the latest first.
pub async fn list(state: &AppState, caller: &Caller) -> ApiResult<Vec<Block>> {
    Ok(blocks::list(&state.db.pool, caller.id).await?)
}

/// Blocks a user (idempotent), who must exist (auth-service is asked); at most
/// `CHAT_MAX_BLOCKS`.
pub async fn block(
    state: &AppState,
    caller: &Caller,
    target: Uuid,
    request_id: &str,
) -> ApiResult<Block> {
    if target == caller.id {
        return Err(ApiError::CannotTargetSelf);
    }
    let user = state
        .auth
        .user_by_id(target, request_id)
        .await?
        .ok_or(ApiError::UserNotFound)?;
    let now = store_kit::now_ms();
    users::remember(&state.db.pool, user.id, &user.username, now).await?;
    let max = state.settings.limits.max_blocks;
    let block = blocks::put(&state.db.pool, caller.id, user.id, now, max)
        .await
        .map_err(|e| match e {
            BlockError::TooMany => ApiError::TooManyBlocks(max),
            BlockError::Unexpected(e) => ApiError::Unexpected(e),
        })?;
    tracing::info!(user = %caller.id, blocked = %target, "user blocked");
    Ok(block)
}

/// Lifts a block (none: nothing happens).
pub async fn unblock(state: &AppState, caller: &Caller, target: Uuid) -> ApiResult<()> {
    if target == caller.id {
        return Err(ApiError::CannotTargetSelf);
    }
    blocks::remove(&state.db.pool, caller.id, target).await?;
    Ok(())
}
