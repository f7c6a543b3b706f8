//! The second factor's rules, written once for every entry point that asks for a code — log-in,
//! the single sign-on link, the password change, turning TOTP off, new recovery codes
//! (docs/architecture.md, "Second factor").

use uuid::Uuid;

use crate::domain::SecretToken;
use crate::domain::totp::TotpSecret;
use crate::error::{ApiError, ApiResult};
use crate::mfa::{MfaCode, new_recovery_codes, recovery_code_hash};
use crate::startup::AppState;
use crate::store::mfa as store;
use crate::store::users::User;

/// A pending enrolment: the secret (base32) and the URI an authenticator app scans.
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

/// A new pending secret for the account, replacing an older pending one.
pub async fn enrol(state: &AppState, user: &User) -> ApiResult<Enrolment> {
    if user.mfa_enabled {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let secret = TotpSecret::generate()?;
    let sealed = state.mfa.sealer.seal(user.id, &secret)?;
    if !store::set_pending(&state.db.pool, user.id, &sealed, store_kit::now_ms()).await? {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    tracing::info!(user_id = %user.id, "TOTP enrolment started");
    Ok(Enrolment {
        secret: secret.to_base32(),
        otpauth_uri: secret.provisioning_uri(&state.settings.mfa.issuer, &user.email),
    })
}

/// Enables the pending secret with a code from it: the ten recovery codes, shown once.
pub async fn confirm(state: &AppState, user_id: Uuid, code: &str) -> ApiResult<Vec<String>> {
    let row = match store::totp_of(&state.db.pool, user_id).await? {
        None => return Err(ApiError::MfaNotEnrolled),
        Some(row) if row.enabled => return Err(ApiError::MfaAlreadyEnabled),
        Some(row) => row,
    };
    let secret = state.mfa.sealer.open(user_id, &row.secret_enc)?;
    let step = match MfaCode::parse(code) {
        Some(MfaCode::Totp(code)) => secret.matching_step(&code, state.mfa.clock.now_secs()),
        _ => None,
    };
    let Some(step) = step.and_then(|s| i64::try_from(s).ok()) else {
        return Err(ApiError::InvalidMfaCode { signed_in: true });
    };
    let codes = new_recovery_codes()?;
    let now = store_kit::now_ms();
    let mut tx = state.db.pool.begin().await?;
    if !store::enable(&mut tx, user_id, step, now).await? {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    store::replace_recovery_codes(&mut tx, user_id, &hashes(&codes), now).await?;
    tx.commit().await?;
    tracing::info!(%user_id, "TOTP enabled");
    metrics::counter!("auth_mfa_changes_total", "change" => "enabled").increment(1);
    Ok(codes)
}

/// Checks the second factor of an account that has it on (nothing to check otherwise): a
/// TOTP code of a step later than the last accepted one, or an unused recovery code, which
/// is spent. `signed_in` picks the status of a refusal (403 for a signed-in caller, else 401).
pub async fn verify(
    state: &AppState,
    user: &User,
    code: Option<&str>,
    signed_in: bool,
) -> ApiResult<()> {
    if !user.mfa_enabled {
        return Ok(());
    }
    let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
        return Err(ApiError::MfaCodeRequired { signed_in });
    };
    let pool = &state.db.pool;
    let accepted = match MfaCode::parse(code) {
        Some(MfaCode::Totp(code)) => match store::totp_of(pool, user.id).await? {
            Some(row) if row.enabled => {
                let secret = state.mfa.sealer.open(user.id, &row.secret_enc)?;
                match secret
                    .matching_step(&code, state.mfa.clock.now_secs())
                    .and_then(|s| i64::try_from(s).ok())
                {
                    // A step at or before the last accepted one: a replay, refused.
                    Some(step) => store::accept_step(pool, user.id, step).await?,
                    None => false,
                }
            }
            _ => false,
        },
        Some(MfaCode::Recovery(code)) => {
            let spent = store::spend_recovery_code(
                pool,
                user.id,
                &recovery_code_hash(&code),
                store_kit::now_ms(),
            )
            .await?;
            if spent {
                tracing::info!(user_id = %user.id, "a recovery code was used");
            }
            spent
        }
        None => false,
    };
    let outcome = if accepted { "accepted" } else { "refused" };
    metrics::counter!("auth_mfa_codes_total", "outcome" => outcome).increment(1);
    if accepted {
        Ok(())
    } else {
        tracing::info!(user_id = %user.id, "second factor refused");
        Err(ApiError::InvalidMfaCode { signed_in })
    }
}

/// Turns the second factor off (the caller checked the password and the code).
pub async fn disable(state: &AppState, user: &User) -> ApiResult<()> {
    if !user.mfa_enabled {
        return Err(ApiError::MfaNotEnabled);
    }
    let mut tx = state.db.pool.begin().await?;
    store::disable(&mut tx, user.id).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "TOTP disabled");
    metrics::counter!("auth_mfa_changes_total", "change" => "disabled").increment(1);
    Ok(())
}

/// Ten new recovery codes; the old ones are void (the caller checked password and code).
pub async fn new_codes(state: &AppState, user: &User) -> ApiResult<Vec<String>> {
    if !user.mfa_enabled {
        return Err(ApiError::MfaNotEnabled);
    }
    let codes = new_recovery_codes()?;
    let mut tx = state.db.pool.begin().await?;
    store::replace_recovery_codes(&mut tx, user.id, &hashes(&codes), store_kit::now_ms()).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "new recovery codes; the old ones are void");
    Ok(codes)
}

/// A log-in challenge for an account whose password was right: the token and its expiry.
pub async fn challenge(state: &AppState, user_id: Uuid) -> ApiResult<(String, i64)> {
    let token = SecretToken::generate().map_err(|e| ApiError::Unexpected(e.into()))?;
    let now = state.mfa.clock.now_ms();
    let ttl = i64::try_from(state.settings.mfa.challenge_ttl.as_millis()).unwrap_or(300_000);
    let expires_at = now + ttl;
    store::create_challenge(&state.db.pool, user_id, &token.hash, now, expires_at).await?;
    Ok((token.plain, expires_at))
}

fn hashes(codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|c| match MfaCode::parse(c) {
            Some(MfaCode::Recovery(normalised)) => Some(recovery_code_hash(&normalised)),
            _ => None,
        })
        .collect()
}
