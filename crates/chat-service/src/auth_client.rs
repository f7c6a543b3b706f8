//! auth-service's internal API: user look-ups, for adding members and opening direct rooms,
//! and mail to a user (e-mail digests).

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

/// Usernames are `[A-Za-z0-9_.-]`, but the look-up may be asked for anything: escape the
/// rest so it stays one path segment.
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
