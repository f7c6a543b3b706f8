//! WebSocket tickets: a 30-second, single-use ticket for opening a socket.

use super::Caller;
use crate::error::ApiResult;
use crate::startup::AppState;
use crate::store::{tickets, users};

/// A ticket for the caller's session; the caller's name is remembered on the way, for
/// `@username` in `general` (docs/architecture.md, "Mentions").
pub async fn issue(
    state: &AppState,
    caller: &Caller,
    session_id: Option<uuid::Uuid>,
    token_expires_at: i64,
) -> ApiResult<String> {
    let now = store_kit::now_ms();
    users::remember(&state.db.pool, caller.id, &caller.username, now).await?;
    let ttl_ms = i64::try_from(state.settings.ticket_ttl.as_millis()).unwrap_or(30_000);
    let holder = tickets::Holder {
        user_id: caller.id,
        username: caller.username.clone(),
        session_id,
        token_expires_at,
    };
    Ok(tickets::issue(&state.db.pool, &holder, ttl_ms, now).await?)
}
