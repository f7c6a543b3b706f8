//! Log-in throttling that an attacker cannot turn against the account's owner
//! (docs/decisions.md): only failures count, keyed by (account, client address). An address
//! that failed too often for an account is refused for that account; past a higher
//! account-wide ceiling, addresses that have failed are refused and the others are slowed —
//! a correct password from an address that has not failed always gets in.

use std::time::Duration;

use service_kit::ratelimit::{Decision, Quota};

use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;

/// The window of the account-wide ceiling.
const ACCOUNT_WINDOW: Duration = Duration::from_secs(3600);

/// One log-in attempt's keys: the account (the normalised e-mail, whether or not such an
/// account exists, so answers do not tell) and the client's address key.
pub struct LoginThrottle<'a> {
    state: &'a AppState,
    pair: String,
    account: String,
}

impl<'a> LoginThrottle<'a> {
    pub fn new(state: &'a AppState, email: &str, address: &str) -> Self {
        Self {
            state,
            pair: format!("login:fail:{email}|{address}"),
            account: format!("login:fail:{email}"),
        }
    }

    fn pair_quota(&self) -> Quota {
        let limits = &self.state.settings.rate_limits;
        Quota {
            limit: limits.login_failures_per_address,
            window: limits.login_failure_window,
        }
    }

    fn account_quota(&self) -> Quota {
        Quota {
            limit: self.state.settings.rate_limits.login_failures_per_account,
            window: ACCOUNT_WINDOW,
        }
    }

    /// Before the password is checked: refuses an address that failed too often, and slows
    /// or refuses attempts on an account under attack from many addresses.
    pub async fn admit(&self) -> ApiResult<()> {
        let limiter = &self.state.limiter;
        if let limited @ Decision::Limited { .. } =
            limiter.peek(&self.pair, self.pair_quota()).await
        {
            return Err(refused("address", limited));
        }
        let account = limiter.peek(&self.account, self.account_quota()).await;
        if account.is_allowed() {
            return Ok(());
        }
        let failed_here = Quota {
            limit: 1,
            ..self.pair_quota()
        };
        if !limiter.peek(&self.pair, failed_here).await.is_allowed() {
            return Err(refused("account", account));
        }
        metrics::counter!("auth_login_slowed_total").increment(1);
        tokio::time::sleep(self.state.settings.rate_limits.login_slowdown).await;
        Ok(())
    }

    /// After a wrong password (or an unknown e-mail).
    pub async fn failed(&self) {
        let limiter = &self.state.limiter;
        limiter.hit(&self.pair, self.pair_quota()).await;
        limiter.hit(&self.account, self.account_quota()).await;
    }
}

fn refused(scope: &'static str, decision: Decision) -> ApiError {
    metrics::counter!("auth_rate_limited_total", "scope" => format!("login_failures:{scope}"))
        .increment(1);
    ApiError::RateLimited(decision.retry_after_secs().unwrap_or(60))
}
