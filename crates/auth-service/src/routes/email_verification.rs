//! `/auth/verify-email` and `/auth/resend-verification`: proving the account's e-mail
//! address with a link (docs/architecture.md, "E-mail verification").

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use service_kit::ratelimit::Quota;

use super::{UserView, address, client_ip, rate_limit};
use crate::domain::{Email, SecretToken};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{users, verifications};

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct VerifyBody {
    /// The `token` of the link's query.
    #[serde(default)]
    #[schema(required = true, min_length = 1)]
    token: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct VerifiedAnswer {
    user: UserView,
}

#[utoipa::path(tag = "auth", request_body = VerifyBody, responses((status = 200, description = "The address is verified (no log-in needed: the link may be opened in another browser). Access tokens issued before still carry `unverified` until refreshed", body = VerifiedAnswer), (status = 404, description = "invalid_verification_token: the token is unknown, expired, already used, or was sent to an address the account no longer has", body = service_kit::openapi::ProblemDoc), (status = 429, description = "More than AUTH_RATE_LIMIT_PER_IP_PER_MIN requests this minute from this address", body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/verify-email")]
pub(crate) async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<VerifyBody>,
) -> ApiResult<HttpResponse> {
    rate_limit(
        &state,
        "verify:ip",
        &address(&state, &req),
        Quota::per_minute(state.settings.rate_limits.per_ip_per_min),
    )
    .await?;
    if !SecretToken::is_well_formed(&body.token) {
        return Err(ApiError::InvalidVerificationToken);
    }
    let now = store_kit::now_ms();
    let mut tx = state.db.pool.begin().await?;
    let Some((user_id, email)) = verifications::spend(&mut tx, &body.token, now).await? else {
        return Err(ApiError::InvalidVerificationToken);
    };
    // A link proves only the address it was sent to.
    if !users::mark_email_verified(&mut tx, user_id, &email, now).await? {
        return Err(ApiError::InvalidVerificationToken);
    }
    tx.commit().await?;
    let user = users::by_id(&state.db.pool, user_id)
        .await?
        .ok_or(ApiError::InvalidVerificationToken)?;
    tracing::info!(%user_id, ip = %client_ip(&state, &req), "e-mail address verified");
    metrics::counter!("auth_email_verifications_total").increment(1);
    Ok(HttpResponse::Ok().json(VerifiedAnswer {
        user: UserView::from(&user),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ResendBody {
    #[serde(default)]
    #[schema(required = true, max_length = 254)]
    email: String,
}

const RESEND_ANSWER: &str =
    "If an account with that address is waiting for verification, a new link has been sent to it.";

#[utoipa::path(tag = "auth", request_body = ResendBody, responses((status = 202, description = "The same neutral answer whether the account exists, is verified or not; a link is sent only to an existing unverified account"), (status = 400, description = "validation_failed: not an e-mail address", body = service_kit::openapi::ProblemDoc), (status = 429, description = "More than EMAIL_VERIFICATION_RESEND_PER_HOUR (5) requests this hour from this address, or for this e-mail address", body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/resend-verification")]
pub(crate) async fn resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ResendBody>,
) -> ApiResult<HttpResponse> {
    // A handful of mails an hour per client and per address stops mail bombing.
    let per_hour = Quota::per_hour(state.settings.rate_limits.verification_resend_per_hour);
    rate_limit(&state, "verify_resend:ip", &address(&state, &req), per_hour).await?;
    let email = Email::parse(&body.email).map_err(|e| ApiError::Validation(vec![e]))?;
    rate_limit(&state, "verify_resend:account", email.as_str(), per_hour).await?;
    // The look-up, the token and the mail happen off the request path, so the answer and
    // its timing are the same whatever the account's state.
    let state = state.into_inner();
    tokio::spawn(async move {
        if let Err(err) = crate::ops::email_verification::resend(&state, email.as_str()).await {
            tracing::error!(error = %format!("{err:#}"), "e-mail verification resend failed");
        }
    });
    Ok(HttpResponse::Accepted().json(json!({"message": RESEND_ANSWER})))
}
