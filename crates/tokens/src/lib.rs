//! Access tokens for Cloud Chat: Ed25519 (EdDSA) JWTs with a `kid`, the JWKS document that
//! publishes the public keys, and a strict verifier.
//!
//! auth-service signs with [`Issuer`]; chat-service and ws-relay verify locally with a
//! [`Verifier`] fed from auth-service's JWKS (cached, re-fetched on an unknown `kid`, and still
//! working from cache while auth-service is down). The verifier pins `EdDSA`, requires the
//! `at+jwt` type, and requires and checks `exp`, `iss`, `aud` and `sub` — jsonwebtoken alone
//! checks `iss`/`aud` only when they are present.

mod keys;
pub mod revocation;
mod secret;
mod verify;

#[cfg(feature = "actix")]
pub mod actix;

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use keys::{Jwks, KeyError, PublicJwk, SigningKey};
pub use revocation::{RevocationSource, RevokedSessions, SessionStatus};
pub use secret::SecretToken;
pub use verify::{Verifier, VerifyError};

/// The longest access token worth verifying; ours are well under 1 KiB.
pub const MAX_TOKEN_LEN: usize = 4096;

/// Whether `token` has the shape of a JWT (three non-empty base64url segments, at most
/// [`MAX_TOKEN_LEN`]), so that garbage is refused before any key look-up or network call.
pub fn is_well_formed_jwt(token: &str) -> bool {
    token.len() <= MAX_TOKEN_LEN
        && token.split('.').count() == 3
        && token
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(secret::is_base64url))
}

/// The JOSE `typ` of an access token (RFC 9068).
pub const TOKEN_TYPE: &str = "at+jwt";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user id.
    pub sub: Uuid,
    pub username: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub jti: Uuid,
    /// The session (refresh-token family) the token was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// The account has not verified its e-mail address and the instance requires it
    /// (`REQUIRE_EMAIL_VERIFICATION`): chat-service refuses its writes. Absent when false,
    /// so tokens without the policy look as they always did.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
}

/// Signs access tokens.
pub struct Issuer {
    key: SigningKey,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl Issuer {
    pub fn new(
        key: SigningKey,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        Self {
            key,
            issuer: issuer.into(),
            audience: audience.into(),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs a token for the user, valid for the issuer's TTL from now.
    pub fn issue(
        &self,
        user_id: Uuid,
        username: &str,
        session_id: Option<Uuid>,
    ) -> Result<(String, AccessClaims), KeyError> {
        self.issue_marked(user_id, username, session_id, false)
    }

    /// As [`Self::issue`], with the `unverified` claim set as given.
    pub fn issue_marked(
        &self,
        user_id: Uuid,
        username: &str,
        session_id: Option<Uuid>,
        unverified: bool,
    ) -> Result<(String, AccessClaims), KeyError> {
        let now = unix_now();
        let claims = AccessClaims {
            sub: user_id,
            username: username.to_owned(),
            iat: now,
            exp: now + i64::try_from(self.ttl.as_secs()).unwrap_or(900),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: Uuid::new_v4(),
            sid: session_id,
            unverified,
        };
        let token = self.sign(&claims)?;
        Ok((token, claims))
    }

    /// Signs arbitrary claims with the issuer's key and headers (used by `issue`, and by
    /// tests that need tokens with chosen claims).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(self.key.kid().to_owned());
        jsonwebtoken::encode(&header, claims, self.key.encoding_key()).map_err(KeyError::Sign)
    }

    /// The JWKS document for this issuer's key plus any extra published keys.
    pub fn jwks(&self, extra: &[PublicJwk]) -> Jwks {
        let mut keys = vec![self.key.public_jwk()];
        keys.extend(extra.iter().cloned());
        Jwks { keys }
    }
}

pub(crate) fn unix_now() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::is_well_formed_jwt;

    #[test]
    fn only_three_base64url_segments_look_like_a_jwt() {
        assert!(is_well_formed_jwt(
            "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln-_"
        ));
        for bad in [
            "", "abc", "a.b", "a.b.c.d", "a..c", "a.b.c=", "a.b.c d", "a.b.cé",
        ] {
            assert!(!is_well_formed_jwt(bad), "{bad}");
        }
        let long = format!("a.b.{}", "c".repeat(super::MAX_TOKEN_LEN));
        assert!(!is_well_formed_jwt(&long));
    }
}
