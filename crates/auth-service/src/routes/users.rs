//! `/users/*`: the caller's profile and password, public profiles and prefix search.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use futures_util::TryStreamExt;
use serde::Deserialize;
use service_kit::{FieldError, RequestId};
use tokens::actix::AuthUser;
use uuid::Uuid;

use service_kit::ratelimit::Quota;

use super::{UserView, disconnect_user, hash_password, rate_limit, verify_password};
use crate::domain::{Email, Password, Username, collect_errors};
use crate::error::{ApiError, ApiResult};
use crate::login_throttle::LoginThrottle;
use crate::mailer::Mail;
use crate::startup::AppState;
use crate::store::{sessions, users};

pub(super) async fn current_user(state: &AppState, user: &AuthUser) -> ApiResult<users::User> {
    // A token can outlive its account only if the account was deleted; say so plainly.
    users::by_id(&state.db.pool, user.id)
        .await?
        .ok_or(ApiError::NotFound("user"))
}

#[utoipa::path(tag = "users", security(("bearer" = [])), responses((status = 200, body = super::UserView)))]
#[get("/users/me")]
pub(crate) async fn me(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let account = current_user(&state, &user).await?;
    Ok(HttpResponse::Ok().json(UserView::from(&account)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateMeBody {
    #[schema(min_length = 3, max_length = 32, pattern = r"^[A-Za-z0-9_.-]+$")]
    username: Option<String>,
    #[schema(max_length = 254)]
    email: Option<String>,
    /// Required to change `email`.
    current_password: Option<String>,
}

#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = UpdateMeBody, responses((status = 200, description = "Changed. A new e-mail address needs `currentPassword`; the old address is told (the new one masked), the other sessions are revoked, and the new address is unverified until the link mailed to it is opened", body = super::UserView), (status = 400, description = "Invalid fields, or `currentPassword` missing with `email`", body = service_kit::openapi::ProblemDoc), (status = 403, description = "Wrong current password (wrong_current_password)", body = service_kit::openapi::ProblemDoc), (status = 409, description = "Username or e-mail taken (e-mail: answered only after the password check)", body = service_kit::openapi::ProblemDoc), (status = 429, description = "More than AUTH_ACCOUNT_CHANGES_PER_HOUR e-mail or password changes this hour", body = service_kit::openapi::ProblemDoc)))]
#[patch("/users/me")]
pub(crate) async fn update_me(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    body: web::Json<UpdateMeBody>,
) -> ApiResult<HttpResponse> {
    let username = body.username.as_deref().map(Username::parse).transpose();
    let email = body.email.as_deref().map(Email::parse).transpose();
    let (username, email) = match (username, email) {
        (Ok(u), Ok(e)) => (u, e),
        (u, e) => return Err(ApiError::Validation(collect_errors(&[u.err(), e.err()]))),
    };
    if username.is_none() && email.is_none() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "username",
            "send username and/or email to change",
        )]));
    }
    let current_password = body.current_password.as_deref().unwrap_or_default();
    if email.is_some() && current_password.is_empty() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "currentPassword",
            "is required to change the e-mail address",
        )]));
    }
    let account = current_user(&state, &user).await?;
    let email = email.filter(|e| e.as_str() != account.email);
    if email.is_some() {
        confirm_password(&state, &user, &account, current_password).await?;
    }
    let now = store_kit::now_ms();
    let mut tx = state.db.pool.begin().await?;
    if !users::update_profile(&mut tx, user.id, username.as_ref(), email.as_ref(), now).await? {
        return Err(ApiError::NotFound("user"));
    }
    let revoked = match &email {
        Some(_) => {
            sessions::revoke_all(&mut tx, user.id, user.session_id, "email_changed", now).await?
        }
        None => Vec::new(),
    };
    tx.commit().await?;
    let updated = current_user(&state, &user).await?;
    if let Some(email) = &email {
        tracing::info!(user_id = %user.id, revoked = revoked.len(), "e-mail changed; other sessions revoked");
        super::disconnect_sessions(&state, revoked, &request_id);
        tell_old_address(&state, &account, email);
        // The new address is unverified until a link sent to it is opened.
        if let Err(err) = crate::ops::email_verification::send_link(&state, &updated).await {
            tracing::error!(error = %format!("{err:#}"), user_id = %user.id, "e-mail verification link failed");
        }
    } else {
        tracing::info!(user_id = %user.id, "profile updated");
    }
    Ok(HttpResponse::Ok().json(UserView::from(&updated)))
}

/// Mails the old address that the account moved (in the background: the answer does not
/// wait for SMTP; a failure is logged).
fn tell_old_address(state: &web::Data<AppState>, account: &users::User, new_email: &Email) {
    let mail = Mail {
        to: account.email.clone(),
        subject: "Your Cloud Chat e-mail address was changed".to_owned(),
        body: format!(
            "Hello {},\n\nThe e-mail address of your Cloud Chat account was changed to {}, \
             and your other sessions were signed out.\n\n\
             If it was not you, someone has your password: contact the administrator of {} at once.\n",
            account.username,
            new_email.masked(),
            state.settings.public_url,
        ),
        unsubscribe_url: None,
    };
    crate::mailer::send_in_background(state.mailer.clone(), mail, "e-mail change notice");
}

/// Counts an account change against the user's hourly budget (a stolen access token must not
/// become a password-guessing oracle), then checks the current password.
pub(super) async fn confirm_password(
    state: &AppState,
    user: &AuthUser,
    account: &users::User,
    presented: &str,
) -> ApiResult<()> {
    rate_limit(
        state,
        "account_change:user",
        &user.id.to_string(),
        Quota::per_hour(state.settings.rate_limits.account_changes_per_hour),
    )
    .await?;
    let matches = presented.chars().count() <= crate::domain::MAX_PASSWORD_CHARS
        && verify_password(presented, &account.password_hash).await?;
    if matches {
        Ok(())
    } else {
        tracing::info!(user_id = %user.id, "account change refused: wrong current password");
        Err(ApiError::WrongCurrentPassword)
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangePasswordBody {
    #[serde(default)]
    #[schema(required = true)]
    current_password: String,
    #[serde(default)]
    #[schema(required = true, min_length = 8, max_length = 1024)]
    new_password: String,
    /// Required when two-factor authentication is on: a code from the authenticator app, or
    /// a recovery code (then spent).
    code: Option<String>,
}

#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = ChangePasswordBody, responses((status = 204, description = "Changed; other sessions revoked"), (status = 403, description = "Wrong current password (wrong_current_password); with two-factor authentication on, a missing or wrong code (mfa_code_required, invalid_mfa_code)", body = service_kit::openapi::ProblemDoc), (status = 429, description = "More than AUTH_ACCOUNT_CHANGES_PER_HOUR e-mail or password changes this hour", body = service_kit::openapi::ProblemDoc)))]
#[post("/users/me/password")]
pub(crate) async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    body: web::Json<ChangePasswordBody>,
) -> ApiResult<HttpResponse> {
    let new_password = Password::parse("newPassword", &body.new_password)
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let account = current_user(&state, &user).await?;
    confirm_password(&state, &user, &account, &body.current_password).await?;
    crate::ops::mfa::verify(&state, &account, body.code.as_deref(), true).await?;
    let hash = hash_password(&state, &new_password).await?;
    let now = store_kit::now_ms();
    let mut tx = state.db.pool.begin().await?;
    users::set_password(&mut tx, user.id, &hash, now).await?;
    let revoked =
        sessions::revoke_all(&mut tx, user.id, user.session_id, "password_changed", now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, revoked = revoked.len(), "password changed; other sessions revoked");
    disconnect_user(&state, user.id, &request_id);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteMeBody {
    #[serde(default)]
    #[schema(required = true)]
    password: String,
    /// Required when two-factor authentication is on: a code from the authenticator app, or
    /// a recovery code.
    code: Option<String>,
    /// Also delete every message the account wrote (default: they stay, shown as from
    /// "deleted user").
    #[serde(default)]
    delete_messages: bool,
}

/// Deletes the caller's account: every session revoked and socket closed, the account's
/// personal data erased, and chat-service told to forget the person (their name replaced by
/// "deleted user", memberships, reactions, read markers, push subscriptions and settings
/// dropped; their messages kept under that name unless `deleteMessages`). The only admin
/// cannot delete their account (409 `last_admin`), so an instance is never left without one.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = DeleteMeBody, responses((status = 204, description = "Deleted; the access token and every session of the account stop working"), (status = 401, description = "invalid_credentials: wrong password (counted by the log-in throttle); with two-factor authentication on, mfa_code_required (no `code`) or invalid_mfa_code (counted by the log-in throttle); or the token is no longer valid (the account was deleted)", body = service_kit::openapi::ProblemDoc), (status = 409, description = "last_admin: the caller is the instance's only admin; make someone else admin first", body = service_kit::openapi::ProblemDoc), (status = 429, description = "Too many failed log-ins (passwords and codes alike) for this account from this address", body = service_kit::openapi::ProblemDoc)))]
#[delete("/users/me")]
pub(crate) async fn delete_me(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    request_id: RequestId,
    body: web::Json<DeleteMeBody>,
) -> ApiResult<HttpResponse> {
    let account = current_user(&state, &user).await?;
    // The log-in throttle: a stolen access token does not buy more password guesses.
    let address = super::address(&state, &req);
    let throttle = LoginThrottle::new(&state, &account.email, &address);
    throttle.admit().await?;
    let acceptable = body.password.chars().count() <= crate::domain::MAX_PASSWORD_CHARS;
    if !(acceptable && verify_password(&body.password, &account.password_hash).await?) {
        throttle.failed().await;
        tracing::info!(user_id = %user.id, "account deletion refused: wrong password");
        return Err(ApiError::InvalidCredentials);
    }
    match crate::ops::mfa::verify(&state, &account, body.code.as_deref(), false).await {
        Err(ApiError::InvalidMfaCode { .. }) => {
            throttle.failed().await;
            return Err(ApiError::InvalidMfaCode { signed_in: false });
        }
        checked => checked?,
    }
    let ip = Some(super::client_ip(&state, &req));
    crate::ops::account::delete_account(&state, &account, body.delete_messages, ip, &request_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    prefix: String,
}

/// Prefix search on usernames, for autocomplete: at most 20 public profiles.
#[utoipa::path(tag = "users", security(("bearer" = [])), params(("prefix" = String, Query, min_length = 1, max_length = 32, pattern = r"\S", description = "Start of the username (1 to 32 characters, not only spaces)")), responses((status = 200, body = [crate::openapi::PublicUserDoc])))]
#[get("/users")]
pub(crate) async fn search(
    state: web::Data<AppState>,
    _user: AuthUser,
    query: web::Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    let prefix = query.prefix.trim();
    if prefix.is_empty() || prefix.chars().count() > 32 {
        return Err(ApiError::Validation(vec![FieldError::new(
            "prefix",
            "must be 1 to 32 characters long",
        )]));
    }
    let found = users::search_prefix(&state.db.pool, prefix, 20).await?;
    let profiles: Vec<wire::PublicUser> = found
        .into_iter()
        .map(|(id, username)| wire::PublicUser { id, username })
        .collect();
    Ok(HttpResponse::Ok().json(profiles))
}

#[utoipa::path(tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path)), responses((status = 200, body = crate::openapi::PublicUserDoc), (status = 404, body = service_kit::openapi::ProblemDoc)))]
#[get("/users/{id}")]
pub(crate) async fn by_id(
    state: web::Data<AppState>,
    _user: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let user = users::by_id(&state.db.pool, path.into_inner())
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(HttpResponse::Ok().json(wire::PublicUser {
        id: user.id,
        username: user.username,
    }))
}

#[utoipa::path(tag = "users", security(("bearer" = [])), responses((status = 200, description = "The caller's data as JSON Lines (`application/jsonl`), streamed as a download: one object per line tagged by `type` — `export` (first: format version, user id, time), `profile`, `session`s, linked `identity`s, then from chat-service `room`s with the caller's `membership` of each, `block`s, `notificationSettings`, every live `message` they wrote (with `attachments` metadata) and their `reaction`s, and last `end` with the count of the lines before it. An export without its `end` line was cut short: ask again.", content_type = "application/jsonl", body = String), (status = 429, description = "More than AUTH_EXPORTS_PER_HOUR exports this hour", body = service_kit::openapi::ProblemDoc), (status = 503, description = "export_unavailable: chat-service did not answer; try again in a minute", body = service_kit::openapi::ProblemDoc)))]
#[post("/users/me/export")]
pub(crate) async fn export(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let account = current_user(&state, &user).await?;
    let lines = crate::ops::export::export(&state, &account).await?;
    let file = format!(
        "cloudchat-{}-{}.jsonl",
        account.username,
        store_kit::rfc3339(store_kit::now_ms())
            .get(..10)
            .unwrap_or("export")
    );
    Ok(HttpResponse::Ok()
        .content_type(wire::export::EXPORT_CONTENT_TYPE)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .streaming(lines.map_err(actix_web::error::ErrorInternalServerError)))
}
