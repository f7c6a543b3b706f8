//! `/push`: the VAPID public key and the caller's Web Push subscriptions (RFC 8030/8291/8292;
//! docs/architecture.md, "Notifications").

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use tokens::actix::AuthUser;
use uuid::Uuid;

use super::{JsonObject, take, take_optional};
use crate::error::ApiResult;
use crate::ops::{self, Caller};
use crate::startup::AppState;
use crate::store::push::StoredSubscription;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VapidKey {
    /// The server's P-256 public key, uncompressed (65 bytes), base64url without padding:
    /// the `applicationServerKey` of `pushManager.subscribe`.
    public_key: String,
}

/// The keys of a browser's `PushSubscription`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(try_from = "JsonObject")]
pub(crate) struct SubscriptionKeys {
    /// The browser's P-256 public key (65 bytes, uncompressed), base64url.
    #[schema(pattern = r"^[A-Za-z0-9_-]{87}={0,1}$")]
    p256dh: String,
    /// The browser's 16-byte auth secret, base64url.
    #[schema(pattern = r"^[A-Za-z0-9_-]{22}(==)?$")]
    auth: String,
}

impl TryFrom<JsonObject> for SubscriptionKeys {
    type Error = String;

    fn try_from(mut body: JsonObject) -> Result<Self, String> {
        Ok(Self {
            p256dh: take(&mut body, "p256dh")?,
            auth: take(&mut body, "auth")?,
        })
    }
}

/// A browser's `PushSubscription`, as `JSON.stringify` gives it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", try_from = "JsonObject")]
pub(crate) struct SubscribeBody {
    /// The push service's URL for this browser: https on a public host (unless the server
    /// allows others, `PUSH_ALLOW_INSECURE_ENDPOINTS`), at most 2048 characters.
    #[schema(max_length = 2048)]
    endpoint: String,
    /// When the subscription expires (milliseconds since the epoch); checked, not used.
    #[allow(dead_code)]
    expiration_time: Option<f64>,
    keys: SubscriptionKeys,
}

impl TryFrom<JsonObject> for SubscribeBody {
    type Error = String;

    fn try_from(mut body: JsonObject) -> Result<Self, String> {
        Ok(Self {
            endpoint: take(&mut body, "endpoint")?,
            expiration_time: take_optional::<Option<f64>>(&mut body, "expirationTime")?.flatten(),
            keys: take(&mut body, "keys")?,
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubscriptionView {
    id: Uuid,
    endpoint: String,
    #[schema(format = DateTime)]
    created_at: String,
    /// When a push to it was last accepted by its push service.
    #[schema(format = DateTime)]
    last_success_at: Option<String>,
}

impl From<&StoredSubscription> for SubscriptionView {
    fn from(s: &StoredSubscription) -> Self {
        Self {
            id: s.id,
            endpoint: s.endpoint.clone(),
            created_at: store_kit::rfc3339(s.created_at),
            last_success_at: s.last_success_at.map(store_kit::rfc3339),
        }
    }
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "The key browsers subscribe with", body = VapidKey),
              (status = 503, description = "push_disabled: PUSH_ENABLED=false", body = service_kit::openapi::ProblemDoc)))]
#[get("/push/vapid-public-key")]
pub(crate) async fn vapid_public_key(
    state: web::Data<AppState>,
    _user: AuthUser,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(VapidKey {
        public_key: ops::push::public_key(&state)?,
    }))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])), request_body = SubscribeBody,
    responses((status = 201, description = "Subscribed: pushes for this user go to this browser. Past PUSH_MAX_SUBSCRIPTIONS_PER_USER (10) the user's oldest subscription is deleted", body = SubscriptionView),
              (status = 200, description = "The endpoint was subscribed already (perhaps by another user): it is the caller's now, with the keys given", body = SubscriptionView),
              (status = 400, description = "validation_failed: endpoint not an http(s) URL, p256dh not a P-256 point, auth not 16 bytes", body = service_kit::openapi::ProblemDoc),
              (status = 422, description = "push_endpoint_refused: the endpoint is not https on a public host", body = service_kit::openapi::ProblemDoc),
              (status = 503, description = "push_disabled: PUSH_ENABLED=false", body = service_kit::openapi::ProblemDoc)))]
#[post("/push/subscriptions")]
pub(crate) async fn subscribe(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<SubscribeBody>,
) -> ApiResult<HttpResponse> {
    let (sub, new) = ops::push::subscribe(
        &state,
        &Caller::from(&user),
        &body.endpoint,
        &body.keys.p256dh,
        &body.keys.auth,
    )
    .await?;
    let view = SubscriptionView::from(&sub);
    Ok(if new {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "The caller's subscriptions, oldest first", body = [SubscriptionView]),
              (status = 503, description = "push_disabled: PUSH_ENABLED=false", body = service_kit::openapi::ProblemDoc)))]
#[get("/push/subscriptions")]
pub(crate) async fn list(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let subs = ops::push::list(&state, &Caller::from(&user)).await?;
    Ok(HttpResponse::Ok().json(subs.iter().map(SubscriptionView::from).collect::<Vec<_>>()))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Unsubscribed"),
              (status = 404, description = "push_subscription_not_found: not one of the caller's", body = service_kit::openapi::ProblemDoc),
              (status = 503, description = "push_disabled: PUSH_ENABLED=false", body = service_kit::openapi::ProblemDoc)))]
#[delete("/push/subscriptions/{id}")]
pub(crate) async fn unsubscribe(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    ops::push::unsubscribe(&state, &Caller::from(&user), path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
