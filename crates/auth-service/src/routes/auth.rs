//! `/auth/*`: register, log in, refresh, log out, password reset.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use serde_json::json;
use service_kit::RequestId;
use service_kit::extract::OptionalJson;
use service_kit::ratelimit::Quota;
use tokens::actix::AuthUser;

use super::{
    REFRESH_COOKIE, address, clear_refresh_cookie, client_ip, device, disconnect_sessions,
    disconnect_user, hash_password, lifetimes, rate_limit, token_answer, verify_password,
};
use crate::domain::{Email, Password, Username, collect_errors};
use crate::error::{ApiError, ApiResult};
use crate::login_throttle::LoginThrottle;
use crate::mailer::Mail;
use crate::startup::AppState;
use crate::store::mfa as mfa_store;
use crate::store::sessions::{self, Rotation};
use crate::store::{resets, users};

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RegisterBody {
    /// 3 to 32 letters, digits, `_`, `.` and `-`; unique without regard to case.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 3,
        max_length = 32,
        pattern = r"^[A-Za-z0-9_.-]+$"
    )]
    username: String,
    #[serde(default)]
    #[schema(required = true, max_length = 254)]
    email: String,
    /// 8 to 1024 characters.
    #[serde(default)]
    #[schema(required = true, min_length = 8, max_length = 1024)]
    password: String,
}

#[utoipa::path(tag = "auth", request_body = RegisterBody, responses((status = 201, description = "Account created and logged in; a verification link is mailed to the address (`user.emailVerified` is false until it is opened)", body = super::TokenAnswer), (status = 400, description = "Invalid fields", body = service_kit::openapi::ProblemDoc), (status = 409, description = "Username or e-mail taken", body = service_kit::openapi::ProblemDoc), (status = 429, description = "Rate limited", body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/register")]
pub(crate) async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RegisterBody>,
) -> ApiResult<HttpResponse> {
    let ip = client_ip(&state, &req);
    rate_limit(
        &state,
        "register:ip",
        &address(&state, &req),
        Quota::per_minute(state.settings.rate_limits.per_ip_per_min),
    )
    .await?;
    let username = Username::parse(&body.username);
    let email = Email::parse(&body.email);
    let password = Password::parse("password", &body.password);
    let (username, email, password) = match (username, email, password) {
        (Ok(u), Ok(e), Ok(p)) => (u, e, p),
        (u, e, p) => {
            return Err(ApiError::Validation(collect_errors(&[
                u.err(),
                e.err(),
                p.err(),
            ])));
        }
    };
    let hash = hash_password(&state, &password).await?;
    let now = store_kit::now_ms();
    let user = users::insert(&state.db.pool, &username, &email, &hash, None, now).await?;
    if let Err(err) = crate::ops::email_verification::send_link(&state, &user).await {
        // The account exists; its owner can ask for another link.
        tracing::error!(error = %format!("{err:#}"), user_id = %user.id, "e-mail verification link failed");
    }
    let issued = sessions::start(
        &state.db.pool,
        user.id,
        &device(&state, &req),
        lifetimes(&state),
        now,
    )
    .await?;
    tracing::info!(user_id = %user.id, %ip, "account registered");
    metrics::counter!("auth_registrations_total").increment(1);
    token_answer(&state, StatusCode::CREATED, &user, issued)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct LoginBody {
    #[serde(default)]
    #[schema(required = true)]
    email: String,
    #[serde(default)]
    #[schema(required = true)]
    password: String,
}

#[utoipa::path(tag = "auth", request_body = LoginBody, responses((status = 200, description = "Logged in; the refresh token is also set as an HttpOnly cookie", body = super::TokenAnswer), (status = 401, description = "Wrong e-mail or password (invalid_credentials); or the password is right and the account has two-factor authentication on (mfa_required, with the extensions `challenge`, a token for POST /auth/login/mfa, and `expiresAt`, RFC 3339: no session yet)", body = service_kit::openapi::ProblemDoc), (status = 403, description = "The password is right but the account is suspended (account_suspended, with `suspendedUntil`: RFC 3339 or null, and `reason`)", body = service_kit::openapi::ProblemDoc), (status = 429, description = "Too many failed log-ins for this account from this address (or, past the account-wide ceiling, from an address that has failed); other addresses are slowed, not refused", body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/login")]
pub(crate) async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginBody>,
) -> ApiResult<HttpResponse> {
    let ip = client_ip(&state, &req);
    let address = address(&state, &req);
    super::limit_login_address(&state, &address).await?;
    let email = Email::parse(&body.email).ok();
    // An address that is not an e-mail names no account: the per-address request limit is
    // all it gets.
    let throttle = email
        .as_ref()
        .map(|email| LoginThrottle::new(&state, email.as_str(), &address));
    if let Some(throttle) = &throttle {
        throttle.admit().await?;
    }
    let password = body.password.as_str();
    let user = match &email {
        Some(email) => users::by_email(&state.db.pool, email.as_str()).await?,
        None => None,
    };
    // Passwords longer than any that can be set are wrong by definition; capping here also
    // bounds the work an attacker can ask for.
    let acceptable = password.chars().count() <= crate::domain::MAX_PASSWORD_CHARS;
    let checked_hash = user
        .as_ref()
        .map_or(state.dummy_hash.as_str(), |u| u.password_hash.as_str());
    let matches =
        verify_password(if acceptable { password } else { "" }, checked_hash).await? && acceptable;
    let now = store_kit::now_ms();
    // The suspension is checked only once the password is right, so that it tells nothing
    // to someone who does not know the password.
    let outcome = match (&user, matches) {
        // The suspension is checked after the code (POST /auth/login/mfa).
        (Some(u), true) if u.mfa_enabled => "mfa_required",
        (Some(u), true) if u.suspension_in_force(now).is_some() => "suspended",
        (Some(_), true) => "success",
        (Some(_), false) => "wrong_password",
        (None, _) => "unknown_email",
    };
    let user_id = user
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), |u| u.id.to_string());
    tracing::info!(%user_id, %ip, outcome, "login attempt");
    metrics::counter!("auth_logins_total", "outcome" => outcome).increment(1);
    if !matches!(outcome, "success" | "suspended" | "mfa_required")
        && let Some(throttle) = &throttle
    {
        throttle.failed().await;
    }
    match user {
        // No session yet: a challenge that a code completes.
        Some(user) if matches && user.mfa_enabled => {
            let (challenge, expires_at) = crate::ops::mfa::challenge(&state, user.id).await?;
            Err(ApiError::MfaRequired {
                challenge,
                expires_at,
            })
        }
        Some(user) if matches => {
            refuse_if_suspended(&user, now)?;
            let issued = sessions::start(
                &state.db.pool,
                user.id,
                &device(&state, &req),
                lifetimes(&state),
                store_kit::now_ms(),
            )
            .await?;
            token_answer(&state, StatusCode::OK, &user, issued)
        }
        _ => Err(ApiError::InvalidCredentials),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct LoginMfaBody {
    /// The `challenge` of the log-in's `mfa_required` answer.
    #[serde(default)]
    #[schema(required = true)]
    challenge: String,
    /// A code from the authenticator app (six digits), or a recovery code (then spent).
    #[serde(default)]
    #[schema(required = true)]
    code: String,
}

#[utoipa::path(tag = "auth", request_body = LoginMfaBody, responses((status = 200, description = "Logged in (the answer of POST /auth/login; the refresh token is also set as an HttpOnly cookie); the challenge is spent", body = super::TokenAnswer), (status = 401, description = "invalid_mfa_code: wrong, malformed or already used code (counted by the log-in throttle, and by the challenge, which dies after MFA_CHALLENGE_MAX_ATTEMPTS); invalid_mfa_challenge: the challenge is unknown, spent, expired or dead (log in again)", body = service_kit::openapi::ProblemDoc), (status = 403, description = "The code is right but the account is suspended (account_suspended)", body = service_kit::openapi::ProblemDoc), (status = 429, description = "Too many failed log-ins (passwords and codes alike) for this account from this address", body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/login/mfa")]
pub(crate) async fn login_mfa(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginMfaBody>,
) -> ApiResult<HttpResponse> {
    let ip = client_ip(&state, &req);
    let address = address(&state, &req);
    super::limit_login_address(&state, &address).await?;
    let pool = &state.db.pool;
    let challenge = body.challenge.as_str();
    let user_id = if crate::domain::SecretToken::is_well_formed(challenge) {
        mfa_store::challenge_user(pool, challenge, state.mfa.clock.now_ms()).await?
    } else {
        None
    };
    let Some(user) = (match user_id {
        Some(id) => users::by_id(pool, id).await?,
        None => None,
    }) else {
        return Err(ApiError::InvalidMfaChallenge);
    };
    // Codes count with passwords: a right password does not buy more guesses.
    let throttle = LoginThrottle::new(&state, &user.email, &address);
    throttle.admit().await?;
    if !user.mfa_enabled {
        // Turned off since the password was checked: log in again.
        mfa_store::spend_challenge(pool, challenge).await?;
        return Err(ApiError::InvalidMfaChallenge);
    }
    let checked = crate::ops::mfa::verify(&state, &user, Some(&body.code), false).await;
    let outcome = if checked.is_ok() {
        "success"
    } else {
        "wrong_code"
    };
    tracing::info!(user_id = %user.id, %ip, outcome, "login second factor");
    metrics::counter!("auth_logins_total", "outcome" => outcome).increment(1);
    if let Err(err) = checked {
        if matches!(
            err,
            ApiError::InvalidMfaCode { .. } | ApiError::MfaCodeRequired { .. }
        ) {
            throttle.failed().await;
            let attempts = i64::from(state.settings.mfa.challenge_attempts);
            mfa_store::challenge_failed(pool, challenge, attempts).await?;
            return Err(ApiError::InvalidMfaCode { signed_in: false });
        }
        return Err(err);
    }
    if !mfa_store::spend_challenge(pool, challenge).await? {
        return Err(ApiError::InvalidMfaChallenge);
    }
    let now = store_kit::now_ms();
    refuse_if_suspended(&user, now)?;
    let issued =
        sessions::start(pool, user.id, &device(&state, &req), lifetimes(&state), now).await?;
    token_answer(&state, StatusCode::OK, &user, issued)
}

/// 403 `account_suspended` (with `suspendedUntil` and `reason`) while the account's
/// suspension is in force.
pub(super) fn refuse_if_suspended(user: &users::User, now: i64) -> ApiResult<()> {
    match user.suspension_in_force(now) {
        Some(s) => Err(ApiError::AccountSuspended {
            until: s.until,
            reason: s.reason.clone(),
        }),
        None => Ok(()),
    }
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshBody {
    refresh_token: Option<String>,
}

/// The refresh token from the body, or from the cookie — and then only with an allowed
/// `Origin`, since browsers attach cookies to cross-site requests too (CSRF).
fn presented_refresh_token(
    state: &AppState,
    req: &HttpRequest,
    body: Option<RefreshBody>,
) -> ApiResult<Option<String>> {
    if let Some(token) = body.and_then(|b| b.refresh_token).filter(|t| !t.is_empty()) {
        return Ok(Some(token));
    }
    let Some(cookie) = req.cookie(REFRESH_COOKIE).filter(|c| !c.value().is_empty()) else {
        return Ok(None);
    };
    let origin = req
        .headers()
        .get(actix_web::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    match origin {
        Some(origin) if state.settings.allowed_origins.iter().any(|o| o == origin) => {
            Ok(Some(cookie.value().to_owned()))
        }
        _ => Err(ApiError::OriginNotAllowed),
    }
}

#[utoipa::path(tag = "auth", request_body(content = Option<RefreshBody>, description = "Or send the refresh_token cookie with an allowed Origin"), responses((status = 200, description = "Rotated: the presented token is spent", body = super::TokenAnswer), (status = 401, description = "Invalid, expired, revoked or reused token (reuse revokes the session and closes its sockets with 4003)", body = service_kit::openapi::ProblemDoc), (status = 403, description = "Cookie sent from a disallowed Origin (origin_not_allowed), or a token of a suspended account (account_suspended, with `suspendedUntil` and `reason`)", body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/refresh")]
pub(crate) async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    request_id: RequestId,
    body: OptionalJson<RefreshBody>,
) -> ApiResult<HttpResponse> {
    let ip = client_ip(&state, &req);
    rate_limit(
        &state,
        "refresh:ip",
        &address(&state, &req),
        Quota::per_minute(state.settings.rate_limits.per_ip_per_min),
    )
    .await?;
    let Some(token) = presented_refresh_token(&state, &req, body.0)? else {
        return Err(ApiError::InvalidRefreshToken);
    };
    let now = store_kit::now_ms();
    // A suspended account's sessions were revoked; whoever holds one of its refresh tokens
    // (its owner) learns why, and until when, instead of a bare 401.
    if let Some(owner) = users::by_refresh_token(&state.db.pool, &token).await? {
        refuse_if_suspended(&owner, now)?;
    }
    match sessions::rotate(
        &state.db.pool,
        &token,
        &device(&state, &req),
        lifetimes(&state),
        now,
    )
    .await?
    {
        Rotation::Rotated { user_id, issued } => {
            let Some(user) = users::by_id(&state.db.pool, user_id).await? else {
                return Err(ApiError::InvalidRefreshToken);
            };
            token_answer(&state, StatusCode::OK, &user, issued)
        }
        Rotation::Reused { user_id, family_id } => {
            tracing::warn!(%user_id, %family_id, %ip, "refresh token reuse detected; session revoked");
            metrics::counter!("auth_refresh_reuse_total").increment(1);
            disconnect_sessions(&state, [family_id], &request_id);
            Err(ApiError::RefreshTokenReused)
        }
        Rotation::Invalid => Err(ApiError::InvalidRefreshToken),
    }
}

#[utoipa::path(tag = "auth", request_body(content = Option<RefreshBody>, description = "Or send the refresh_token cookie with an allowed Origin"), responses((status = 204, description = "The session is revoked; its sockets are closed with 4003 and its access tokens refused (401 session_revoked)")))]
#[post("/auth/logout")]
pub(crate) async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    request_id: RequestId,
    body: OptionalJson<RefreshBody>,
) -> ApiResult<HttpResponse> {
    let token = presented_refresh_token(&state, &req, body.0)?;
    let family = match token {
        Some(token) => sessions::family_of(&state.db.pool, &token).await?,
        None => None,
    };
    if let Some((user_id, family_id)) = family {
        sessions::revoke_family(&state.db.pool, family_id, "logout", store_kit::now_ms()).await?;
        tracing::info!(%user_id, %family_id, "logged out");
        disconnect_sessions(&state, [family_id], &request_id);
    }
    Ok(HttpResponse::NoContent()
        .cookie(clear_refresh_cookie())
        .finish())
}

#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 204, description = "Every session revoked, sockets closed"), (status = 401, body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/logout-all")]
pub(crate) async fn logout_all(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
) -> ApiResult<HttpResponse> {
    let revoked =
        crate::ops::sign_out_everywhere(&state, user.id, "logout_all", &request_id).await?;
    tracing::info!(user_id = %user.id, revoked = revoked.len(), "logged out everywhere");
    Ok(HttpResponse::NoContent()
        .cookie(clear_refresh_cookie())
        .finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ForgotBody {
    #[serde(default)]
    #[schema(required = true, max_length = 254)]
    email: String,
}

const FORGOT_ANSWER: &str =
    "If an account exists for that address, a password reset link has been sent to it.";

#[utoipa::path(tag = "auth", request_body = ForgotBody, responses((status = 202, description = "The same neutral answer whether or not the account exists"), (status = 429, description = "More than AUTH_FORGOT_PER_HOUR (5) requests this hour from this address, or for this account", body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/forgot-password")]
pub(crate) async fn forgot_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ForgotBody>,
) -> ApiResult<HttpResponse> {
    // A handful of mails an hour per address and per account is plenty and stops mail
    // bombing.
    let per_hour = Quota::per_hour(state.settings.rate_limits.forgot_per_hour);
    rate_limit(&state, "forgot:ip", &address(&state, &req), per_hour).await?;
    let email = Email::parse(&body.email).map_err(|e| ApiError::Validation(vec![e]))?;
    rate_limit(&state, "forgot:account", email.as_str(), per_hour).await?;

    if state.settings.dev_return_reset_link {
        // Development flag (refused in production): do the work inline and return the link.
        let link = create_reset_link(&state, email.as_str()).await?;
        return Ok(
            HttpResponse::Accepted().json(json!({"message": FORGOT_ANSWER, "resetUrl": link}))
        );
    }
    // The lookup, the token and the mail happen off the request path, so the answer and its
    // timing are the same whether or not the account exists.
    let state = state.into_inner();
    tokio::spawn(async move {
        if let Err(err) = create_reset_link(&state, email.as_str()).await {
            tracing::error!(error = %format!("{err:#}"), "password reset mail failed");
        }
    });
    Ok(HttpResponse::Accepted().json(json!({"message": FORGOT_ANSWER})))
}

/// Creates a reset token and mails the link; `None` when no account has that address.
async fn create_reset_link(state: &AppState, email: &str) -> anyhow::Result<Option<String>> {
    let Some(user) = users::by_email(&state.db.pool, email).await? else {
        return Ok(None);
    };
    let ttl_ms = i64::try_from(state.settings.reset_ttl.as_millis()).unwrap_or(3_600_000);
    let token = resets::create(&state.db.pool, user.id, ttl_ms, store_kit::now_ms()).await?;
    let link = format!(
        "{}/reset-password?token={}",
        state.settings.public_url.trim_end_matches('/'),
        token
    );
    state
        .mailer
        .send(Mail {
            to: user.email.clone(),
            subject: "Reset your Cloud Chat password".to_owned(),
            body: format!(
                "Hello {},\n\nSomeone asked to reset the password of your Cloud Chat account. \
                 If it was you, open this link within {} minutes:\n\n{link}\n\n\
                 If it was not you, ignore this message; your password is unchanged.\n",
                user.username,
                state.settings.reset_ttl.as_secs() / 60
            ),
            unsubscribe_url: None,
        })
        .await?;
    tracing::info!(user_id = %user.id, "password reset requested");
    Ok(Some(link))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResetBody {
    #[serde(default)]
    #[schema(required = true, min_length = 1)]
    token: String,
    #[serde(default)]
    #[schema(required = true, min_length = 8, max_length = 1024)]
    new_password: String,
}

#[utoipa::path(tag = "auth", request_body = ResetBody, responses((status = 204, description = "Password changed, every session revoked"), (status = 400, description = "validation_failed: a bad new password", body = service_kit::openapi::ProblemDoc), (status = 404, description = "invalid_reset_token: the token is unknown, expired or already used", body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/reset-password")]
pub(crate) async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    request_id: RequestId,
    body: web::Json<ResetBody>,
) -> ApiResult<HttpResponse> {
    let ip = client_ip(&state, &req);
    rate_limit(
        &state,
        "reset:ip",
        &address(&state, &req),
        Quota::per_minute(state.settings.rate_limits.per_ip_per_min),
    )
    .await?;
    let password = Password::parse("newPassword", &body.new_password)
        .map_err(|e| ApiError::Validation(vec![e]))?;
    if body.token.is_empty() || body.token.len() > 128 {
        return Err(ApiError::InvalidResetToken);
    }
    let now = store_kit::now_ms();
    let Some(user_id) = resets::peek(&state.db.pool, &body.token, now).await? else {
        return Err(ApiError::InvalidResetToken);
    };
    let hash = hash_password(&state, &password).await?;
    let now = store_kit::now_ms();
    let mut tx = state.db.pool.begin().await?;
    if !resets::spend(&mut tx, &body.token, user_id, now).await? {
        return Err(ApiError::InvalidResetToken);
    }
    users::set_password(&mut tx, user_id, &hash, now).await?;
    sessions::revoke_all(&mut tx, user_id, None, "password_reset", now).await?;
    tx.commit().await?;
    tracing::info!(%user_id, %ip, "password reset; every session revoked");
    disconnect_user(&state, user_id, &request_id);
    Ok(HttpResponse::NoContent()
        .cookie(clear_refresh_cookie())
        .finish())
}
