//! `/auth/oidc/*`: single sign-on with an OpenID Connect provider (docs/architecture.md,
//! "Single sign-on"). The browser goes to the provider from `start` and comes back to
//! `callback`, which logs it in with the refresh-token cookie (the web app then calls
//! `/auth/refresh` as at every start) or, for an e-mail that already has an account, sends
//! it to the web app to confirm the link with that account's password (`link`).

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use service_kit::ratelimit::Quota;

use super::{
    address, client_ip, hash_password, rate_limit, refresh_cookie, removal_cookie, start_session,
    token_answer, verify_password,
};
use crate::domain::{Email, Password, SecretToken, Username};
use crate::error::{ApiError, ApiResult};
use crate::login_throttle::LoginThrottle;
use crate::oidc::{Identity, Provider};
use crate::startup::AppState;
use crate::store::oidc::{self as store, LinkRequest, PendingLogin};
use crate::store::users::{self, User, UserWriteError};

/// The cookie that binds a sign-in to the browser that started it: a `state` seen elsewhere
/// (a log, a link sent to someone) is useless without it. `Lax`, since the provider's
/// redirect back is a cross-site navigation.
const BROWSER_COOKIE: &str = "oidc_browser";
const COOKIE_PATH: &str = "/auth/oidc";

/// Where the web app shows sign-in errors and link confirmations.
const LOGIN_PAGE: &str = "/login";

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SsoStatus {
    enabled: bool,
    /// What the button names: "Sign in with {displayName}".
    display_name: Option<String>,
}

#[utoipa::path(tag = "sso", responses((status = 200, description = "Whether single sign-on is configured, and the provider's name for the button", body = SsoStatus)))]
#[get("/auth/oidc")]
pub(crate) async fn status(state: web::Data<AppState>) -> HttpResponse {
    let display_name = state.settings.oidc.as_ref().map(|o| o.display_name.clone());
    HttpResponse::Ok().json(SsoStatus {
        enabled: display_name.is_some(),
        display_name,
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StartQuery {
    /// A path of the web app to land on after signing in; anything but a local path is `/`.
    return_to: Option<String>,
}

#[utoipa::path(tag = "sso", params(StartQuery), responses((status = 302, description = "To the provider's authorization endpoint (code flow, PKCE S256, state and nonce), with a short cookie binding the sign-in to this browser; to /login?sso_error=sso_failed when the provider cannot be reached"), (status = 404, description = "Single sign-on is not configured", body = service_kit::openapi::ProblemDoc), (status = 429, body = service_kit::openapi::ProblemDoc)))]
#[get("/auth/oidc/start")]
pub(crate) async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<StartQuery>,
) -> ApiResult<HttpResponse> {
    let provider = provider(&state)?;
    limit_per_address(&state, &req).await?;
    let (sso_state, nonce, verifier, browser) = (secret()?, secret()?, secret()?, secret()?);
    let login = PendingLogin {
        browser_hash: browser.hash,
        nonce: nonce.plain,
        pkce_verifier: verifier.plain,
        return_to: local_path(query.return_to.as_deref()),
    };
    let url = match provider
        .authorization_url(&sso_state.plain, &login.nonce, &login.pkce_verifier)
        .await
    {
        Ok(url) => url,
        Err(e) => return Ok(failed(provider, "sso_failed", &e)),
    };
    store::start_login(&state.db.pool, &sso_state.hash, &login, store_kit::now_ms()).await?;
    let cookie = Cookie::build(BROWSER_COOKIE, browser.plain)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .path(COOKIE_PATH)
        .max_age(CookieDuration::milliseconds(store::PENDING_TTL_MS))
        .finish();
    Ok(found(&url).cookie(cookie).finish())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    /// Set by the provider instead of `code` when it refused (RFC 6749 4.1.2.1).
    error: Option<String>,
    /// The issuer that answered (RFC 9207), when the provider says: it must be ours.
    iss: Option<String>,
}

#[utoipa::path(tag = "sso", params(CallbackQuery), responses((status = 302, description = "Signed in: the refresh-token cookie is set and the browser goes to its returnTo path. An e-mail that already has an account: to /login?sso_link=<token> (confirm with the account's password). Otherwise to /login?sso_error=<code>: sso_state_invalid (unknown, spent, expired or another browser's state), sso_domain_not_allowed, sso_email_unverified, sso_failed (the provider refused, or its answer failed a check)"), (status = 404, description = "Single sign-on is not configured", body = service_kit::openapi::ProblemDoc), (status = 429, body = service_kit::openapi::ProblemDoc)))]
#[get("/auth/oidc/callback")]
pub(crate) async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
) -> ApiResult<HttpResponse> {
    let provider = provider(&state)?;
    limit_per_address(&state, &req).await?;
    let now = store_kit::now_ms();
    // The state is spent whatever happens next: it works once.
    let pending = match query.state.as_deref() {
        Some(s) if SecretToken::is_well_formed(s) => {
            store::take_login(&state.db.pool, s, now).await?
        }
        _ => None,
    };
    let browser = req.cookie(BROWSER_COOKIE);
    let Some(pending) =
        pending.filter(|p| browser.is_some_and(|c| SecretToken::hash(c.value()) == p.browser_hash))
    else {
        return Ok(failed(
            provider,
            "sso_state_invalid",
            &anyhow::anyhow!("unknown, spent or expired state, or another browser's"),
        ));
    };
    if let Some(error) = &query.error {
        let error: String = error.chars().take(64).collect();
        return Ok(failed(
            provider,
            "sso_failed",
            &anyhow::anyhow!("the provider answered {error}"),
        ));
    }
    if query
        .iss
        .as_deref()
        .is_some_and(|iss| iss != provider.settings().issuer)
    {
        return Ok(failed(
            provider,
            "sso_failed",
            &anyhow::anyhow!("the authorization response names another issuer"),
        ));
    }
    let Some(code) = query.code.as_deref() else {
        return Ok(failed(
            provider,
            "sso_failed",
            &anyhow::anyhow!("no code in the callback"),
        ));
    };
    let identity = match provider
        .sign_in(code, &pending.pkce_verifier, &pending.nonce)
        .await
    {
        Ok(identity) => identity,
        Err(e) => return Ok(failed(provider, "sso_failed", &e)),
    };
    match account_for(&state, provider, &identity, now).await? {
        Outcome::SignIn(user) => {
            let issued = start_session(&state, &req, user.id, now).await?;
            tracing::info!(user_id = %user.id, ip = %client_ip(&state, &req), "signed in with single sign-on");
            metrics::counter!("auth_sso_total", "outcome" => "success").increment(1);
            Ok(found(&pending.return_to)
                .cookie(refresh_cookie(&issued))
                .cookie(clear_browser_cookie())
                .finish())
        }
        Outcome::Link(token) => {
            metrics::counter!("auth_sso_total", "outcome" => "link_requested").increment(1);
            Ok(found(&format!("{LOGIN_PAGE}?sso_link={token}"))
                .cookie(clear_browser_cookie())
                .finish())
        }
        Outcome::Refused(code, reason) => Ok(failed(provider, code, &anyhow::anyhow!(reason))),
    }
}

/// What a checked identity leads to.
enum Outcome {
    SignIn(User),
    /// A link request's token: the account with that e-mail must confirm.
    Link(String),
    Refused(&'static str, &'static str),
}

/// The linking rule (docs/decisions.md, "Single sign-on"): a linked identity signs in; an
/// allowed, verified e-mail with no account gets a new one; one that has an account must
/// be confirmed by that account's password.
async fn account_for(
    state: &AppState,
    provider: &Provider,
    identity: &Identity,
    now: i64,
) -> ApiResult<Outcome> {
    let pool = &state.db.pool;
    if let Some(user_id) =
        store::user_of_identity(pool, &identity.issuer, &identity.subject, now).await?
    {
        return Ok(match users::by_id(pool, user_id).await? {
            // A suspended account signs in no more by its provider than by its password.
            Some(user) if user.suspension_in_force(now).is_some() => {
                Outcome::Refused("account_suspended", "the linked account is suspended")
            }
            Some(user) => Outcome::SignIn(user),
            None => Outcome::Refused("sso_failed", "the linked account is gone"),
        });
    }
    let Some(email) = identity.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
        return Ok(Outcome::Refused(
            "sso_email_unverified",
            "the provider gave no usable e-mail address",
        ));
    };
    if !provider.settings().allows_email(email.as_str()) {
        return Ok(Outcome::Refused(
            "sso_domain_not_allowed",
            "the e-mail's domain is not in OIDC_ALLOWED_DOMAINS",
        ));
    }
    if !identity.email_verified {
        return Ok(Outcome::Refused(
            "sso_email_unverified",
            "the provider has not verified the e-mail",
        ));
    }
    if let Some(user) = users::by_email(pool, email.as_str()).await? {
        let token = store::request_link(
            pool,
            &LinkRequest {
                user_id: user.id,
                issuer: identity.issuer.clone(),
                subject: identity.subject.clone(),
                email: email.as_str().to_owned(),
            },
            now,
        )
        .await?;
        tracing::info!(user_id = %user.id, "single sign-on for an existing account: link requested");
        return Ok(Outcome::Link(token));
    }
    // Two sign-ins of one new person at once: the second finds the e-mail or the identity
    // taken and is sent back to sign in again (which then finds the account).
    let user = match create_account(state, identity, &email, now).await {
        Err(ApiError::EmailTaken) => {
            return Ok(Outcome::Refused(
                "sso_failed",
                "an account with that e-mail was created meanwhile",
            ));
        }
        created => created?,
    };
    let mut conn = pool.acquire().await?;
    let linked = store::link_identity(
        &mut conn,
        user.id,
        &identity.issuer,
        &identity.subject,
        Some(email.as_str()),
        now,
    )
    .await?;
    if !linked {
        return Ok(Outcome::Refused(
            "sso_failed",
            "the identity was linked to another account meanwhile",
        ));
    }
    tracing::info!(user_id = %user.id, "account created by single sign-on");
    metrics::counter!("auth_registrations_total").increment(1);
    Ok(Outcome::SignIn(user))
}

/// A new account named after the identity's claims, made unique with a number. Its
/// password is random and never shown (password log-in cannot succeed); a password can
/// be set later through "forgot password". The provider verified the e-mail, so the
/// account starts verified.
async fn create_account(
    state: &AppState,
    identity: &Identity,
    email: &Email,
    now: i64,
) -> ApiResult<User> {
    let base = [
        identity.preferred_username.as_deref(),
        identity.name.as_deref(),
        email.as_str().split('@').next(),
    ]
    .into_iter()
    .flatten()
    .find_map(Username::base_from_hint)
    .unwrap_or_else(|| "user".to_owned());
    let unguessable = secret()?.plain;
    let password =
        Password::parse("password", &unguessable).map_err(|e| ApiError::Validation(vec![e]))?;
    let hash = hash_password(state, &password).await?;
    for n in 1..=50 {
        let Ok(username) = Username::candidate(&base, n) else {
            continue;
        };
        match users::insert(&state.db.pool, &username, email, &hash, Some(now), now).await {
            Ok(user) => return Ok(user),
            Err(UserWriteError::UsernameTaken) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unexpected(anyhow::anyhow!(
        "no free username from {base:?} after 50 tries"
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LinkBody {
    /// From the web app's `/login?sso_link=…`.
    #[serde(default)]
    #[schema(required = true)]
    link_token: String,
    /// The password of the account with the provider's e-mail.
    #[serde(default)]
    #[schema(required = true)]
    password: String,
    /// Required when the account has two-factor authentication on: a code from the
    /// authenticator app, or a recovery code (then spent).
    code: Option<String>,
}

#[utoipa::path(tag = "sso", request_body = LinkBody, responses((status = 200, description = "The identity is linked to the account and the browser logged in (the answer of POST /auth/login; the refresh token is also set as an HttpOnly cookie)", body = super::TokenAnswer), (status = 401, description = "invalid_credentials: wrong password (counted by the log-in throttle); with two-factor authentication on, mfa_code_required (no `code`: ask for one and send again, the link token still works) or invalid_mfa_code (counted by the log-in throttle)", body = service_kit::openapi::ProblemDoc), (status = 404, description = "not_found: the link token is unknown, spent or expired (sign in with the provider again), or single sign-on is off", body = service_kit::openapi::ProblemDoc), (status = 409, description = "identity_linked: the identity was linked meanwhile; sign in with the provider", body = service_kit::openapi::ProblemDoc), (status = 429, body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/oidc/link")]
pub(crate) async fn link(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LinkBody>,
) -> ApiResult<HttpResponse> {
    provider(&state)?;
    let address = address(&state, &req);
    super::limit_login_address(&state, &address).await?;
    let now = store_kit::now_ms();
    let request = if SecretToken::is_well_formed(&body.link_token) {
        store::peek_link(&state.db.pool, &body.link_token, now).await?
    } else {
        None
    };
    let Some(request) = request else {
        return Err(ApiError::NotFound("link request"));
    };
    let Some(user) = users::by_id(&state.db.pool, request.user_id).await? else {
        return Err(ApiError::NotFound("link request"));
    };
    // The same throttle as log-in: a link token does not buy more password guesses.
    let throttle = LoginThrottle::new(&state, &user.email, &address);
    throttle.admit().await?;
    let acceptable = body.password.chars().count() <= crate::domain::MAX_PASSWORD_CHARS;
    let matches = acceptable && verify_password(&body.password, &user.password_hash).await?;
    let outcome = if matches { "success" } else { "wrong_password" };
    tracing::info!(user_id = %user.id, ip = %client_ip(&state, &req), outcome, "single sign-on link attempt");
    metrics::counter!("auth_logins_total", "outcome" => outcome).increment(1);
    if !matches {
        throttle.failed().await;
        return Err(ApiError::InvalidCredentials);
    }
    // The second factor, checked as at log-in; a missing code is not a guess (the web app
    // then asks for one), a wrong one is.
    match crate::ops::mfa::verify(&state, &user, body.code.as_deref(), false).await {
        Err(ApiError::InvalidMfaCode { .. }) => {
            throttle.failed().await;
            return Err(ApiError::InvalidMfaCode { signed_in: false });
        }
        checked => checked?,
    }
    super::auth::refuse_if_suspended(&user, now)?;
    let mut tx = state.db.pool.begin().await?;
    if !store::spend_link(&mut tx, &body.link_token, now).await? {
        return Err(ApiError::NotFound("link request"));
    }
    let linked = store::link_identity(
        &mut tx,
        user.id,
        &request.issuer,
        &request.subject,
        Some(&request.email),
        now,
    )
    .await?;
    if !linked {
        // Linked meanwhile (another link request): the transaction rolls back, the token
        // stays unspent, and signing in with the provider now works.
        return Err(ApiError::IdentityLinked);
    }
    tx.commit().await?;
    let issued = start_session(&state, &req, user.id, now).await?;
    tracing::info!(user_id = %user.id, "single sign-on identity linked");
    token_answer(&state, StatusCode::OK, &user, issued)
}

/// The per-address request limit of the sign-in round trip.
async fn limit_per_address(state: &AppState, req: &HttpRequest) -> ApiResult<()> {
    let quota = Quota::per_minute(state.settings.rate_limits.per_ip_per_min);
    rate_limit(state, "sso:ip", &address(state, req), quota).await
}

/// 32 random bytes and their hash.
fn secret() -> ApiResult<SecretToken> {
    SecretToken::generate().map_err(|e| ApiError::Unexpected(e.into()))
}

/// The provider, or 404 when single sign-on is off.
fn provider(state: &AppState) -> ApiResult<&Provider> {
    state
        .oidc
        .as_deref()
        .ok_or(ApiError::NotFound("single sign-on"))
}

/// `returnTo` when it is a path of this site (`/…`, not `//host` or `/\\host`, no scheme),
/// else `/`: the callback must not become an open redirect.
fn local_path(raw: Option<&str>) -> String {
    match raw {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && p.len() <= 512
                && !p.chars().any(|c| c.is_control() || c == '\\') =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn found(location: &str) -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::Found();
    res.insert_header((LOCATION, location.to_owned()))
        .insert_header((CACHE_CONTROL, "no-store"));
    res
}

/// A failed sign-in: logged with its reason, the browser sent to the login page with a
/// stable code (never a 500 page from the provider's round trip).
fn failed(provider: &Provider, code: &'static str, reason: &anyhow::Error) -> HttpResponse {
    let issuer = &provider.settings().issuer;
    tracing::warn!(code, %issuer, reason = %format!("{reason:#}"), "single sign-on failed");
    metrics::counter!("auth_sso_total", "outcome" => code).increment(1);
    found(&format!("{LOGIN_PAGE}?sso_error={code}"))
        .cookie(clear_browser_cookie())
        .finish()
}

fn clear_browser_cookie() -> Cookie<'static> {
    removal_cookie(BROWSER_COOKIE, COOKIE_PATH, SameSite::Lax)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn return_to_is_a_local_path_or_home() {
        assert_eq!(local_path(Some("/rooms/3?x=1")), "/rooms/3?x=1");
        assert_eq!(local_path(None), "/");
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "rooms",
            "/a\nb",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
    }
}
