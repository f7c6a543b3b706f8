//! Web Push subscriptions (docs/architecture.md, "Notifications"): a browser's
//! `PushSubscription`, stored for the caller; the server's VAPID public key.

use uuid::Uuid;

use super::Caller;
use crate::domain::notifications::{Subscription, SubscriptionError};
use crate::error::{ApiError, ApiResult};
use crate::push::WebPush;
use crate::startup::AppState;
use crate::store::push::{self as store, StoredSubscription};

/// Web Push, or 503 `push_disabled`.
pub fn enabled(state: &AppState) -> ApiResult<&WebPush> {
    state.push.as_ref().ok_or(ApiError::PushDisabled)
}

/// The key browsers subscribe with (`applicationServerKey`).
pub fn public_key(state: &AppState) -> ApiResult<String> {
    Ok(enabled(state)?.vapid.public_key().to_owned())
}

/// Stores the caller's subscription: (it, true) when new; (the existing one, now the
/// caller's, false) when the endpoint was known. Past `PUSH_MAX_SUBSCRIPTIONS_PER_USER` the
/// caller's oldest subscription is deleted.
pub async fn subscribe(
    state: &AppState,
    caller: &Caller,
    endpoint: &str,
    p256dh: &str,
    auth: &str,
) -> ApiResult<(StoredSubscription, bool)> {
    enabled(state)?;
    let settings = &state.settings.push;
    let sub = Subscription::parse(endpoint, p256dh, auth, settings.allow_insecure_endpoints)
        .map_err(|e| match e {
            SubscriptionError::Invalid(errors) => ApiError::Validation(errors),
            SubscriptionError::EndpointRefused(why) => ApiError::PushEndpointRefused(why),
        })?;
    Ok(store::subscribe(
        &state.db.pool,
        caller.id,
        &sub,
        settings.max_subscriptions_per_user,
        store_kit::now_ms(),
    )
    .await?)
}

pub async fn list(state: &AppState, caller: &Caller) -> ApiResult<Vec<StoredSubscription>> {
    enabled(state)?;
    Ok(store::list(&state.db.pool, caller.id).await?)
}

/// Deletes one of the caller's subscriptions (404 for anyone else's).
pub async fn unsubscribe(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<()> {
    enabled(state)?;
    if store::delete(&state.db.pool, caller.id, id).await? {
        Ok(())
    } else {
        Err(ApiError::PushSubscriptionNotFound)
    }
}
