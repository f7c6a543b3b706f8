//! HTTP handlers, one module per resource. Paths are those of the OpenAPI document (`/openapi.json`).

pub(crate) mod admin;
pub(crate) mod auth;
pub(crate) mod email_verification;
mod internal;
pub(crate) mod jwks;
pub(crate) mod mfa;
pub(crate) mod oidc;
pub(crate) mod sessions;
pub(crate) mod users;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use service_kit::ratelimit::{Decision, Quota};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
pub(crate) use crate::ops::{disconnect_sessions, disconnect_user};
use crate::startup::AppState;
use crate::store::sessions::{Device, Issued, Lifetimes};
use crate::store::users::User;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Another method on a documented path: 405 with Allow (service_kit::problem::not_found).
    // Built once, not for every worker that runs this.
    static KNOWN: std::sync::OnceLock<web::Data<service_kit::openapi::KnownPaths>> =
        std::sync::OnceLock::new();
    cfg.app_data(KNOWN.get_or_init(known_paths).clone());
    cfg.service(auth::register)
        .service(auth::login)
        .service(auth::login_mfa)
        .service(mfa::enrol)
        .service(mfa::confirm)
        .service(mfa::disable)
        .service(mfa::recovery_codes)
        .service(auth::refresh)
        .service(auth::logout)
        .service(auth::logout_all)
        .service(auth::forgot_password)
        .service(auth::reset_password)
        .service(email_verification::verify)
        .service(email_verification::resend)
        .service(sessions::list)
        .service(sessions::revoke)
        .service(users::me)
        .service(users::update_me)
        .service(users::delete_me)
        .service(users::change_password)
        .service(users::export)
        .service(users::search)
        .service(users::by_id)
        .service(admin::list)
        .service(admin::by_id)
        .service(admin::set_role)
        .service(admin::suspend)
        .service(admin::lift)
        .service(internal::user_by_id)
        .service(internal::suspend)
        .service(internal::audit_log)
        .service(internal::stats)
        .service(internal::user_by_username)
        .service(internal::revoked_sessions)
        .service(
            // A digest is larger than the other bodies (16 KiB).
            web::resource("/internal/mail")
                .app_data(
                    web::JsonConfig::default()
                        .limit(wire::MAIL_BODY_LIMIT)
                        .error_handler(service_kit::problem::json_error),
                )
                .route(web::post().to(internal::mail)),
        )
        .service(oidc::status)
        .service(oidc::start)
        .service(oidc::callback)
        .service(oidc::link)
        .service(jwks::jwks)
        .service(jwks::openapi);
}

/// The name of the HttpOnly refresh cookie (scoped to `/auth`).
pub const REFRESH_COOKIE: &str = "refresh_token";

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub created_at: String,
    pub updated_at: String,
    /// The instance role: moderators and admins see the admin pages.
    pub role: crate::domain::Role,
    /// Whether the second factor (TOTP) is on.
    pub mfa_enabled: bool,
    /// Whether the current e-mail address was verified (a link sent to it was opened).
    pub email_verified: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            created_at: store_kit::rfc3339(u.created_at),
            updated_at: store_kit::rfc3339(u.updated_at),
            role: u.role,
            mfa_enabled: u.mfa_enabled,
            email_verified: u.email_verified(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenAnswer {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    user: UserView,
}

/// The log-in answer (also for register and refresh): an access token, the refresh token in
/// the body and in the HttpOnly cookie.
fn token_answer(
    state: &AppState,
    status: actix_web::http::StatusCode,
    user: &User,
    issued: Issued,
) -> ApiResult<HttpResponse> {
    // REQUIRE_EMAIL_VERIFICATION is decided here, once: chat-service only reads the claim.
    let unverified = state.settings.require_email_verification && !user.email_verified();
    let (access_token, _) = state
        .issuer
        .issue_marked(user.id, &user.username, Some(issued.family_id), unverified)
        .map_err(|e| ApiError::Unexpected(e.into()))?;
    Ok(HttpResponse::build(status)
        .cookie(refresh_cookie(&issued))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(TokenAnswer {
            access_token,
            token_type: "Bearer",
            expires_in: state.issuer.ttl().as_secs(),
            refresh_token: issued.plain,
            user: UserView::from(user),
        }))
}

/// The HttpOnly cookie that carries a session's refresh token (log-in and single sign-on).
fn refresh_cookie(issued: &Issued) -> Cookie<'static> {
    let max_age = (issued.expires_at - store_kit::now_ms()).max(0) / 1000;
    Cookie::build(REFRESH_COOKIE, issued.plain.clone())
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path("/auth")
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

/// A cookie that tells the browser to forget the refresh token.
fn clear_refresh_cookie() -> Cookie<'static> {
    removal_cookie(REFRESH_COOKIE, "/auth", SameSite::Strict)
}

/// A cookie that tells the browser to forget one of ours (the same name, path and flags).
fn removal_cookie(name: &'static str, path: &'static str, same_site: SameSite) -> Cookie<'static> {
    let mut cookie = Cookie::build(name, "")
        .http_only(true)
        .secure(true)
        .same_site(same_site)
        .path(path)
        .finish();
    cookie.make_removal();
    cookie
}

/// Starts a session (a refresh-token family) for the user on the requesting device.
async fn start_session(
    state: &AppState,
    req: &HttpRequest,
    user_id: Uuid,
    now: i64,
) -> ApiResult<Issued> {
    Ok(crate::store::sessions::start(
        &state.db.pool,
        user_id,
        &device(state, req),
        lifetimes(state),
        now,
    )
    .await?)
}

fn lifetimes(state: &AppState) -> Lifetimes {
    Lifetimes {
        token_ms: duration_ms(state.settings.refresh_ttl),
        family_ms: duration_ms(state.settings.session_max_age),
    }
}

fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The rate-limit key of the client's address (`address_key`: IPv6 by its /64).
fn address(state: &AppState, req: &HttpRequest) -> String {
    state
        .settings
        .trusted_proxies
        .client_ip(req)
        .map(service_kit::client_ip::address_key)
        .unwrap_or_else(|| "unknown".to_owned())
}

fn client_ip(state: &AppState, req: &HttpRequest) -> String {
    state
        .settings
        .trusted_proxies
        .client_ip(req)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn device(state: &AppState, req: &HttpRequest) -> Device {
    let user_agent = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(256).collect());
    Device {
        user_agent,
        ip: Some(client_ip(state, req)),
    }
}

/// Counts a log-in request (password, code or single sign-on link) against the client
/// address's per-minute quota.
async fn limit_login_address(state: &AppState, address: &str) -> ApiResult<()> {
    let quota = Quota::per_minute(state.settings.rate_limits.per_ip_per_min);
    rate_limit(state, "login:ip", address, quota).await
}

/// Counts one attempt against `scope:key`; 429 past the quota.
pub(crate) async fn rate_limit(
    state: &AppState,
    scope: &str,
    key: &str,
    quota: Quota,
) -> ApiResult<()> {
    let key = format!("{scope}:{key}");
    match state.limiter.hit(&key, quota).await {
        Decision::Allowed => Ok(()),
        limited => {
            metrics::counter!("auth_rate_limited_total", "scope" => scope.to_owned()).increment(1);
            Err(ApiError::RateLimited(
                limited.retry_after_secs().unwrap_or(60),
            ))
        }
    }
}

/// Runs bcrypt on the blocking pool, inside the caller's span.
async fn blocking<T, F>(f: F) -> ApiResult<T>
where
    F: FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("bcrypt task failed: {e}")))?
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("bcrypt failed: {e}")))
}

async fn hash_password(state: &AppState, password: &crate::domain::Password) -> ApiResult<String> {
    let password = password.expose().to_owned();
    let cost = state.settings.bcrypt_cost;
    blocking(move || crate::domain::password::hash(&password, cost)).await
}

async fn verify_password(password: &str, hash: &str) -> ApiResult<bool> {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    blocking(move || crate::domain::password::verify(&password, &hash)).await
}

fn known_paths() -> web::Data<service_kit::openapi::KnownPaths> {
    web::Data::new(service_kit::openapi::KnownPaths::from_openapi(
        &crate::openapi::document(),
    ))
}
