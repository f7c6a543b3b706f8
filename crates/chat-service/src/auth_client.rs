//! auth-service's internal API: user look-ups, for adding members and opening direct rooms,
//! mail to a user (e-mail digests), and moderation — its audit log and figures for the admin
//! pages, and suspensions decided here (a report's resolution).

use std::time::Duration;

use service_kit::{INTERNAL_KEY_HEADER, InternalApiKey, REQUEST_ID_HEADER};
use wire::PublicUser;

use crate::error::ApiError;

#[derive(Clone)]
pub struct AuthClient {
    http: reqwest::Client,
    base: String,
    key: InternalApiKey,
}

impl AuthClient {
    pub fn new(http: reqwest::Client, base: &str, key: InternalApiKey) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            key,
        }
    }

    /// The user with this name (case-insensitive), `None` when there is none.
    pub async fn user_by_username(
        &self,
        username: &str,
        request_id: &str,
    ) -> Result<Option<PublicUser>, ApiError> {
        let path = format!("/internal/users/by-username/{}", percent_encode(username));
        self.user(&path, request_id).await
    }

    /// The user with this id, `None` when there is none.
    pub async fn user_by_id(
        &self,
        id: uuid::Uuid,
        request_id: &str,
    ) -> Result<Option<PublicUser>, ApiError> {
        self.user(&format!("/internal/users/{id}"), request_id)
            .await
    }

    async fn user(&self, path: &str, request_id: &str) -> Result<Option<PublicUser>, ApiError> {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header(INTERNAL_KEY_HEADER, self.key.as_str())
            .header(REQUEST_ID_HEADER, request_id)
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "auth-service user look-up failed");
                ApiError::AuthUnavailable
            })?;
        match res.status() {
            reqwest::StatusCode::OK => res.json().await.map(Some).map_err(|err| {
                tracing::warn!(error = %err, "auth-service answered a user look-up with an unexpected body");
                ApiError::AuthUnavailable
            }),
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            status => {
                tracing::warn!(%status, "auth-service refused a user look-up");
                Err(ApiError::AuthUnavailable)
            }
        }
    }
}

/// What auth-service made of a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    /// Taken for delivery (sent in the background).
    Accepted,
    /// No account has this id (any more).
    NoSuchUser,
    /// Not taken: unreachable, or an answer we did not expect (said here, and logged).
    Failed(String),
}

impl AuthClient {
    /// Asks auth-service to mail the user (`POST /internal/mail`).
    pub async fn send_mail(&self, mail: &wire::MailRequest, request_id: &str) -> MailOutcome {
        let res = self
            .http
            .post(format!("{}/internal/mail", self.base))
            .header(INTERNAL_KEY_HEADER, self.key.as_str())
            .header(REQUEST_ID_HEADER, request_id)
            .timeout(Duration::from_secs(5))
            .json(mail)
            .send()
            .await;
        match res {
            Ok(res) => match res.status() {
                reqwest::StatusCode::ACCEPTED => MailOutcome::Accepted,
                reqwest::StatusCode::NOT_FOUND => MailOutcome::NoSuchUser,
                status => MailOutcome::Failed(format!("auth-service answered {status}")),
            },
            Err(err) => MailOutcome::Failed(err.without_url().to_string()),
        }
    }
}

/// What `GET /internal/audit` is asked.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub limit: usize,
    /// `(at, id)` of the last entry already given.
    pub before: Option<crate::domain::moderation::AuditCursor>,
    pub actor_id: Option<uuid::Uuid>,
    pub target_user_id: Option<uuid::Uuid>,
    pub action: Option<String>,
    /// Unix ms, at or after.
    pub since: Option<i64>,
    /// Unix ms, before.
    pub until: Option<i64>,
}

impl AuthClient {
    /// auth-service's audit entries, newest first (`GET /internal/audit`); unreachable or an
    /// unexpected answer is `auth_unavailable` (never a partial log).
    pub async fn audit(
        &self,
        query: &AuditQuery,
        request_id: &str,
    ) -> Result<Vec<wire::moderation::AuditEntry>, ApiError> {
        let mut params: Vec<(&str, String)> = vec![("limit", query.limit.to_string())];
        if let Some(before) = query.before {
            params.push(("before", before.to_string()));
        }
        if let Some(actor) = query.actor_id {
            params.push(("actorId", actor.to_string()));
        }
        if let Some(target) = query.target_user_id {
            params.push(("targetUserId", target.to_string()));
        }
        if let Some(action) = &query.action {
            params.push(("action", action.clone()));
        }
        if let Some(since) = query.since {
            params.push(("since", since.to_string()));
        }
        if let Some(until) = query.until {
            params.push(("until", until.to_string()));
        }
        let entries: wire::moderation::AuditEntries = self
            .get_json("/internal/audit", &params, request_id, "audit log")
            .await?;
        Ok(entries.entries)
    }

    /// auth-service's figures (`GET /internal/stats`).
    pub async fn stats(&self, request_id: &str) -> Result<wire::moderation::UserStats, ApiError> {
        self.get_json("/internal/stats", &[], request_id, "figures")
            .await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
        request_id: &str,
        what: &'static str,
    ) -> Result<T, ApiError> {
        let query: Vec<String> = params
            .iter()
            .map(|(name, value)| format!("{name}={}", percent_encode(value)))
            .collect();
        let res = self
            .http
            .get(format!("{}{path}?{}", self.base, query.join("&")))
            .header(INTERNAL_KEY_HEADER, self.key.as_str())
            .header(REQUEST_ID_HEADER, request_id)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|err| {
                tracing::warn!(error = %err.without_url(), what, "auth-service could not be asked");
                ApiError::AuthUnavailable
            })?;
        if res.status() != reqwest::StatusCode::OK {
            tracing::warn!(status = %res.status(), what, "auth-service refused a request");
            return Err(ApiError::AuthUnavailable);
        }
        res.json().await.map_err(|err| {
            tracing::warn!(error = %err.without_url(), what, "auth-service answered with an unexpected body");
            ApiError::AuthUnavailable
        })
    }

    /// Suspends a user on an admin's behalf (`PUT /internal/users/{id}/suspension`): auth-service
    /// checks the actor is an admin again and applies its own rules, whose refusals come back as
    /// ours (`admin_required`, `cannot_target_self`, `target_is_admin`, `user_not_found`).
    pub async fn suspend(
        &self,
        user: uuid::Uuid,
        request: &wire::moderation::SuspensionRequest,
        request_id: &str,
    ) -> Result<wire::moderation::AdminUser, ApiError> {
        let res = self
            .http
            .put(format!("{}/internal/users/{user}/suspension", self.base))
            .header(INTERNAL_KEY_HEADER, self.key.as_str())
            .header(REQUEST_ID_HEADER, request_id)
            .timeout(Duration::from_secs(5))
            .json(request)
            .send()
            .await
            .map_err(|err| {
                tracing::warn!(error = %err.without_url(), "auth-service could not be asked to suspend");
                ApiError::AuthUnavailable
            })?;
        let status = res.status();
        if status == reqwest::StatusCode::OK {
            return res.json().await.map_err(|err| {
                tracing::warn!(error = %err.without_url(), "auth-service answered a suspension with an unexpected body");
                ApiError::AuthUnavailable
            });
        }
        let code = res
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|body| body["code"].as_str().map(str::to_owned));
        match code.as_deref() {
            Some("admin_required") => Err(ApiError::AdminRequired),
            Some("cannot_target_self") => Err(ApiError::CannotTargetSelf),
            Some("target_is_admin") => Err(ApiError::TargetIsAdmin),
            Some("user_not_found") => Err(ApiError::UserNotFound),
            _ => {
                tracing::warn!(%status, ?code, "auth-service refused a suspension");
                Err(ApiError::AuthUnavailable)
            }
        }
    }
}

/// Usernames are `[A-Za-z0-9_.-]`, but the look-up may be asked for anything: escape the
/// rest so it stays one path segment (or one query value).
fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_one_segment() {
        assert_eq!(super::percent_encode("al.ice_1-x"), "al.ice_1-x");
        assert_eq!(super::percent_encode("a/b c"), "a%2Fb%20c");
    }
}
