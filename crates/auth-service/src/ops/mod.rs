//! Operations that more than one entry point runs — HTTP handlers, the internal API, the
//! command line — with their checks and their transactions, so that each rule is written once:
//! ending every session of a user ([`sign_out_everywhere`]), telling the relays, and the
//! moderation changes ([`moderation`]), deleting one's account ([`account`]) and exporting its data ([`export`]).

pub mod account;
pub mod email_verification;
pub mod export;
pub mod mfa;
pub mod moderation;

use service_kit::RequestId;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::startup::AppState;
use crate::store::sessions;

/// Revokes every session of the user and closes their sockets: what `POST /auth/logout-all`
/// does, and a suspension after it. Returns the sessions revoked.
pub async fn sign_out_everywhere(
    state: &AppState,
    user_id: Uuid,
    reason: &str,
    request_id: &RequestId,
) -> ApiResult<Vec<Uuid>> {
    let mut conn = state.db.pool.acquire().await?;
    let revoked =
        sessions::revoke_all(&mut conn, user_id, None, reason, store_kit::now_ms()).await?;
    disconnect_user(state, user_id, request_id);
    Ok(revoked)
}

/// Tells the relays to close every socket of the user (best effort, in the background).
pub(crate) fn disconnect_user(state: &AppState, user_id: Uuid, request_id: &RequestId) {
    disconnect(
        state,
        vec![wire::Control::DisconnectUser(user_id)],
        request_id,
    );
}

/// Tells the relays to close the sockets of these sessions with 4003; services that verify
/// tokens locally also learn of them from `GET /internal/sessions/revoked` within
/// `REVOCATION_POLL_MS`, should this push be lost.
pub(crate) fn disconnect_sessions(
    state: &AppState,
    sessions: impl IntoIterator<Item = Uuid>,
    request_id: &RequestId,
) {
    let control: Vec<wire::Control> = sessions
        .into_iter()
        .map(wire::Control::DisconnectSession)
        .collect();
    if !control.is_empty() {
        disconnect(state, control, request_id);
    }
}

fn disconnect(state: &AppState, control: Vec<wire::Control>, request_id: &RequestId) {
    state.relay.publish_in_background(
        wire::Publish {
            deliveries: Vec::new(),
            control,
        },
        request_id.to_string(),
    );
}
