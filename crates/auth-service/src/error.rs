//! The errors auth-service handlers return, and their one mapping to problem+json.
//! Unexpected errors are logged with their cause chain and answered with a generic 500.

use actix_web::http::StatusCode;
use service_kit::{FieldError, Problem};

use crate::store::users::UserWriteError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("username taken")]
    UsernameTaken,
    #[error("email taken")]
    EmailTaken,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("refresh token reused")]
    RefreshTokenReused,
    #[error("invalid reset token")]
    InvalidResetToken,
    /// An e-mail verification link unknown, spent, expired, or sent to an address the
    /// account no longer has.
    #[error("invalid verification token")]
    InvalidVerificationToken,
    #[error("wrong current password")]
    WrongCurrentPassword,
    #[error("origin not allowed")]
    OriginNotAllowed,
    #[error("not found")]
    NotFound(&'static str),
    /// A user id (or, on the command line, an e-mail address) no account has: the admin
    /// API, `POST /internal/mail`.
    #[error("user not found")]
    UserNotFound,
    /// `POST /auth/oidc/link` for an identity linked meanwhile.
    #[error("identity already linked")]
    IdentityLinked,
    #[error("rate limited")]
    RateLimited(u64),
    /// Log-in or refresh of an account whose suspension is in force (after the password).
    #[error("account suspended")]
    AccountSuspended {
        /// Unix ms; `None`: until lifted.
        until: Option<i64>,
        reason: String,
    },
    /// An admin page for someone who is neither moderator nor admin.
    #[error("staff required")]
    StaffRequired,
    /// A role or suspension change by someone who is not an admin.
    #[error("admin required")]
    AdminRequired,
    /// An admin changing their own role or suspension.
    #[error("cannot target self")]
    CannotTargetSelf,
    /// Suspending an admin (revoke the role first).
    #[error("target is an admin")]
    TargetIsAdmin,
    /// Enrolling while the second factor is on.
    #[error("mfa already enabled")]
    MfaAlreadyEnabled,
    /// Disabling the second factor, or new recovery codes, while it is off.
    #[error("mfa not enabled")]
    MfaNotEnabled,
    /// Confirming with no pending enrolment.
    #[error("mfa not enrolled")]
    MfaNotEnrolled,
    /// The password was right and the account has TOTP on: a challenge for the code
    /// (`POST /auth/login/mfa`). No session yet.
    #[error("mfa required")]
    MfaRequired { challenge: String, expires_at: i64 },
    /// A wrong, malformed or already used code. 401 on the log-in paths (no session), 403
    /// for a signed-in caller (a 401 would make clients refresh their token and retry).
    #[error("invalid mfa code")]
    InvalidMfaCode { signed_in: bool },
    /// The account has TOTP on and no code came.
    #[error("mfa code required")]
    MfaCodeRequired { signed_in: bool },
    /// A log-in challenge unknown, spent, expired or dead after too many wrong codes.
    #[error("invalid mfa challenge")]
    InvalidMfaChallenge,
    /// chat-service did not answer the start of a data export.
    #[error("export unavailable")]
    ExportUnavailable,
    /// Deleting the only admin's account: the instance would be left without one.
    #[error("last admin")]
    LastAdmin,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<UserWriteError> for ApiError {
    fn from(err: UserWriteError) -> Self {
        match err {
            UserWriteError::UsernameTaken => ApiError::UsernameTaken,
            UserWriteError::EmailTaken => ApiError::EmailTaken,
            UserWriteError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

impl ApiError {
    pub fn problem(&self) -> Problem {
        match self {
            ApiError::Validation(errors) => Problem::validation(errors.clone()),
            ApiError::UsernameTaken => {
                Problem::conflict("username_taken", "that username is already taken")
                    .with_errors(vec![FieldError::new("username", "is already taken")])
            }
            ApiError::EmailTaken => {
                Problem::conflict("email_taken", "an account with that e-mail already exists")
                    .with_errors(vec![FieldError::new("email", "is already registered")])
            }
            ApiError::InvalidCredentials => {
                Problem::unauthorized("invalid_credentials", "wrong e-mail or password")
            }
            ApiError::InvalidRefreshToken => Problem::unauthorized(
                "invalid_refresh_token",
                "the refresh token is unknown, expired or revoked; log in again",
            ),
            ApiError::RefreshTokenReused => Problem::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; the session has been revoked for safety — log in again",
            ),
            // 404: no live reset has this token (a well-formed request for nothing).
            ApiError::InvalidResetToken => Problem::new(
                StatusCode::NOT_FOUND,
                "invalid_reset_token",
                "the reset link is invalid, expired or already used; ask for a new one",
            ),
            // 404 as for resets: one code for every way a link can be unusable.
            ApiError::InvalidVerificationToken => Problem::new(
                StatusCode::NOT_FOUND,
                "invalid_verification_token",
                "the verification link is invalid, expired, already used or for an earlier address; ask for a new one",
            ),
            ApiError::WrongCurrentPassword => {
                Problem::forbidden("wrong_current_password", "the current password is wrong")
                    .with_errors(vec![FieldError::new("currentPassword", "is wrong")])
            }
            ApiError::OriginNotAllowed => Problem::forbidden(
                "origin_not_allowed",
                "cookie-authenticated requests must come from an allowed Origin",
            ),
            ApiError::NotFound(what) => Problem::not_found("not_found", format!("no such {what}")),
            ApiError::UserNotFound => Problem::not_found("user_not_found", "no user has that id"),
            ApiError::IdentityLinked => Problem::conflict(
                "identity_linked",
                "this single sign-on identity is already linked; sign in with the provider",
            ),
            ApiError::RateLimited(secs) => Problem::rate_limited(*secs),
            ApiError::AccountSuspended { until, reason } => Problem::forbidden(
                "account_suspended",
                match until {
                    Some(until) => format!(
                        "this account is suspended until {}",
                        store_kit::rfc3339(*until)
                    ),
                    None => "this account is suspended".to_owned(),
                },
            )
            .with_extension(
                "suspendedUntil",
                serde_json::json!(until.map(store_kit::rfc3339)),
            )
            .with_extension("reason", serde_json::json!(reason)),
            ApiError::StaffRequired => {
                Problem::forbidden("staff_required", "only moderators and admins may do this")
            }
            ApiError::AdminRequired => {
                Problem::forbidden("admin_required", "only admins may do this")
            }
            ApiError::CannotTargetSelf => Problem::conflict(
                "cannot_target_self",
                "you cannot do this to your own account",
            ),
            ApiError::TargetIsAdmin => Problem::conflict(
                "target_is_admin",
                "admins cannot be suspended; revoke the role first",
            ),
            ApiError::MfaAlreadyEnabled => Problem::conflict(
                "mfa_already_enabled",
                "two-factor authentication is already on; turn it off first",
            ),
            ApiError::MfaNotEnabled => {
                Problem::conflict("mfa_not_enabled", "two-factor authentication is off")
            }
            ApiError::MfaNotEnrolled => Problem::conflict(
                "mfa_not_enrolled",
                "no two-factor enrolment is waiting for a code; enrol first",
            ),
            ApiError::MfaRequired {
                challenge,
                expires_at,
            } => Problem::unauthorized(
                "mfa_required",
                "the password is right; send a code from the authenticator app (or a recovery code) to POST /auth/login/mfa with this challenge",
            )
            .with_extension("challenge", serde_json::json!(challenge))
            .with_extension(
                "expiresAt",
                serde_json::json!(store_kit::rfc3339(*expires_at)),
            ),
            ApiError::InvalidMfaCode { signed_in } => mfa_problem(
                *signed_in,
                "invalid_mfa_code",
                "the code is wrong, expired or already used",
            ),
            ApiError::MfaCodeRequired { signed_in } => mfa_problem(
                *signed_in,
                "mfa_code_required",
                "this account has two-factor authentication on: send a code from the authenticator app (or a recovery code)",
            ),
            ApiError::InvalidMfaChallenge => Problem::unauthorized(
                "invalid_mfa_challenge",
                "the sign-in expired, was used, or had too many wrong codes; log in again",
            ),
            ApiError::ExportUnavailable => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "export_unavailable",
                "your messages could not be read just now; try again in a minute",
            ),
            ApiError::LastAdmin => Problem::conflict(
                "last_admin",
                "you are the only admin: make someone else admin before deleting your account",
            ),
            ApiError::Unexpected(err) => Problem::from_unexpected(err),
        }
    }
}

/// A second-factor refusal: 401 on the log-in paths, 403 for a signed-in caller.
fn mfa_problem(signed_in: bool, code: &'static str, detail: &'static str) -> Problem {
    let problem = if signed_in {
        Problem::forbidden(code, detail)
    } else {
        Problem::unauthorized(code, detail)
    };
    problem.with_errors(vec![FieldError::new("code", "is wrong or missing")])
}

service_kit::problem_response_error!(ApiError, ApiError::Unexpected);

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::Unexpected(err.into())
    }
}

pub type ApiResult<T, E = ApiError> = Result<T, E>;
