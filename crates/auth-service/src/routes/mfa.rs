//! `/auth/mfa/*`: the caller's second factor (TOTP): enrol, confirm, turn off, new recovery
//! codes. Log-in's code step is `POST /auth/login/mfa` (routes/auth.rs).

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, delete, post, web};
use serde::{Deserialize, Serialize};
use tokens::actix::AuthUser;

use super::users::{confirm_password, current_user};
use crate::error::ApiResult;
use crate::ops::mfa;
use crate::startup::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnrolBody {
    /// The account's password.
    #[serde(default)]
    #[schema(required = true)]
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnrolAnswer {
    /// The shared secret, RFC 4648 base32 without padding (to type into an app by hand).
    secret: String,
    /// The `otpauth://totp/…` URI an authenticator app scans (the web app draws it as a QR
    /// code): SHA-1, 6 digits, 30 s.
    otpauth_uri: String,
}

#[utoipa::path(tag = "mfa", security(("bearer" = [])), request_body = EnrolBody, responses((status = 200, description = "A pending secret (replacing an older pending one); TOTP is on only once POST /auth/mfa/totp/confirm accepts a code from it", body = EnrolAnswer), (status = 403, description = "wrong_current_password", body = service_kit::openapi::ProblemDoc), (status = 409, description = "mfa_already_enabled", body = service_kit::openapi::ProblemDoc), (status = 429, description = "More than AUTH_ACCOUNT_CHANGES_PER_HOUR password checks this hour", body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/mfa/totp/enrol")]
pub(crate) async fn enrol(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<EnrolBody>,
) -> ApiResult<HttpResponse> {
    let account = current_user(&state, &user).await?;
    if account.mfa_enabled {
        return Err(crate::error::ApiError::MfaAlreadyEnabled);
    }
    confirm_password(&state, &user, &account, &body.password).await?;
    let enrolment = mfa::enrol(&state, &account).await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(EnrolAnswer {
            secret: enrolment.secret,
            otpauth_uri: enrolment.otpauth_uri,
        }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfirmBody {
    /// A code from the pending secret (six digits).
    #[serde(default)]
    #[schema(required = true)]
    code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecoveryCodesAnswer {
    /// Ten single-use recovery codes (`XXXXX-XXXXX`), shown this once: each stands in for a
    /// code from the app one time.
    recovery_codes: Vec<String>,
}

fn codes_answer(codes: Vec<String>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(RecoveryCodesAnswer {
            recovery_codes: codes,
        })
}

#[utoipa::path(tag = "mfa", security(("bearer" = [])), request_body = ConfirmBody, responses((status = 200, description = "TOTP is on: every log-in now asks for a code", body = RecoveryCodesAnswer), (status = 403, description = "invalid_mfa_code", body = service_kit::openapi::ProblemDoc), (status = 409, description = "mfa_not_enrolled (enrol first) or mfa_already_enabled", body = service_kit::openapi::ProblemDoc), (status = 429, body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/mfa/totp/confirm")]
pub(crate) async fn confirm(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<ConfirmBody>,
) -> ApiResult<HttpResponse> {
    // Confirming guesses codes of a secret the caller was just shown: the account-change
    // budget bounds them as it bounds password checks.
    super::rate_limit(
        &state,
        "account_change:user",
        &user.id.to_string(),
        service_kit::ratelimit::Quota::per_hour(
            state.settings.rate_limits.account_changes_per_hour,
        ),
    )
    .await?;
    let codes = mfa::confirm(&state, user.id, &body.code).await?;
    Ok(codes_answer(codes))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PasswordAndCode {
    /// The account's password.
    #[serde(default)]
    #[schema(required = true)]
    password: String,
    /// A code from the authenticator app, or a recovery code (then spent).
    #[serde(default)]
    #[schema(required = true)]
    code: String,
}

#[utoipa::path(tag = "mfa", security(("bearer" = [])), request_body = PasswordAndCode, responses((status = 204, description = "TOTP is off; the secret and the recovery codes are gone"), (status = 403, description = "wrong_current_password, invalid_mfa_code or mfa_code_required", body = service_kit::openapi::ProblemDoc), (status = 409, description = "mfa_not_enabled", body = service_kit::openapi::ProblemDoc), (status = 429, body = service_kit::openapi::ProblemDoc)))]
#[delete("/auth/mfa/totp")]
pub(crate) async fn disable(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<PasswordAndCode>,
) -> ApiResult<HttpResponse> {
    let account = current_user(&state, &user).await?;
    confirm_password(&state, &user, &account, &body.password).await?;
    mfa::verify(&state, &account, Some(&body.code), true).await?;
    mfa::disable(&state, &account).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "mfa", security(("bearer" = [])), request_body = PasswordAndCode, responses((status = 200, description = "Ten new recovery codes; the old ones are void", body = RecoveryCodesAnswer), (status = 403, description = "wrong_current_password, invalid_mfa_code or mfa_code_required", body = service_kit::openapi::ProblemDoc), (status = 409, description = "mfa_not_enabled", body = service_kit::openapi::ProblemDoc), (status = 429, body = service_kit::openapi::ProblemDoc)))]
#[post("/auth/mfa/recovery-codes")]
pub(crate) async fn recovery_codes(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<PasswordAndCode>,
) -> ApiResult<HttpResponse> {
    let account = current_user(&state, &user).await?;
    if !account.mfa_enabled {
        return Err(crate::error::ApiError::MfaNotEnabled);
    }
    confirm_password(&state, &user, &account, &body.password).await?;
    mfa::verify(&state, &account, Some(&body.code), true).await?;
    let codes = mfa::new_codes(&state, &account).await?;
    Ok(codes_answer(codes))
}
