//! The strict verifier, with its key cache.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::{AccessClaims, Jwks, TOKEN_TYPE};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    WrongAlgorithm,
    #[error("the token is not an access token")]
    WrongType,
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    #[error("the token has expired")]
    Expired,
    #[error("the token is invalid: {0}")]
    Invalid(String),
    #[error("the signing keys could not be fetched")]
    KeysUnavailable,
}

/// Verifies access tokens. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    validation: Validation,
    keys: RwLock<HashMap<String, DecodingKey>>,
    source: Option<Source>,
}

struct Source {
    url: String,
    http: reqwest::Client,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

/// An unknown `kid` triggers at most one JWKS fetch per this interval (garbage kids cannot
/// turn into a flood of requests to auth-service).
const REFETCH_THROTTLE: Duration = Duration::from_secs(1);
/// Clock skew tolerated on `exp`.
const LEEWAY_SECS: u64 = 30;

impl Verifier {
    fn build(issuer: &str, audience: &str, source: Option<Source>) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Self {
            inner: Arc::new(Inner {
                validation,
                keys: RwLock::new(HashMap::new()),
                source,
            }),
        }
    }

    /// A verifier for a fixed set of keys (auth-service verifies its own tokens this way).
    pub fn with_keys(issuer: &str, audience: &str, jwks: &Jwks) -> Self {
        let verifier = Self::build(issuer, audience, None);
        verifier.install(jwks);
        verifier
    }

    /// A verifier that fetches keys from a JWKS URL when it meets a `kid` it does not know.
    pub fn from_jwks_url(
        issuer: &str,
        audience: &str,
        url: impl Into<String>,
        http: reqwest::Client,
    ) -> Self {
        Self::build(
            issuer,
            audience,
            Some(Source {
                url: url.into(),
                http,
                last_fetch: tokio::sync::Mutex::new(None),
            }),
        )
    }

    fn install(&self, jwks: &Jwks) {
        let keys: HashMap<String, DecodingKey> = jwks
            .keys
            .iter()
            .filter_map(|k| Some((k.kid.clone(), k.decoding_key()?)))
            .collect();
        let mut guard = match self.inner.keys.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *guard = keys;
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        let guard = match self.inner.keys.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.get(kid).cloned()
    }

    fn has_keys(&self) -> bool {
        match self.inner.keys.read() {
            Ok(g) => !g.is_empty(),
            Err(p) => !p.into_inner().is_empty(),
        }
    }

    /// Fetches the JWKS now (also used at start-up and by a periodic refresh). On failure the
    /// cached keys stay in use.
    pub async fn refresh(&self) -> Result<(), VerifyError> {
        let Some(source) = &self.inner.source else {
            return Ok(());
        };
        let mut last = source.last_fetch.lock().await;
        *last = Some(Instant::now());
        let fetched = async {
            source
                .http
                .get(&source.url)
                .timeout(Duration::from_secs(3))
                .send()
                .await?
                .error_for_status()?
                .json::<Jwks>()
                .await
        }
        .await;
        match fetched {
            Ok(jwks) if !jwks.keys.is_empty() => {
                self.install(&jwks);
                Ok(())
            }
            Ok(_) => {
                tracing::warn!(url = %source.url, "JWKS has no keys; keeping the cached ones");
                Err(VerifyError::KeysUnavailable)
            }
            Err(err) => {
                tracing::warn!(url = %source.url, error = %err, "could not fetch the JWKS; keeping the cached keys");
                Err(VerifyError::KeysUnavailable)
            }
        }
    }

    /// Whether keys were loaded (readiness).
    pub fn ready(&self) -> bool {
        self.has_keys()
    }

    async fn refetch_for_unknown_kid(&self) {
        let Some(source) = &self.inner.source else {
            return;
        };
        {
            let last = source.last_fetch.lock().await;
            if last.is_some_and(|t| t.elapsed() < REFETCH_THROTTLE) {
                return;
            }
        }
        let _ = self.refresh().await;
    }

    /// Verifies signature, algorithm, type and claims.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(VerifyError::WrongAlgorithm);
        }
        if header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(VerifyError::WrongType);
        }
        let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => {
                self.refetch_for_unknown_kid().await;
                match self.key(&kid) {
                    Some(key) => key,
                    None if !self.has_keys() => return Err(VerifyError::KeysUnavailable),
                    None => return Err(VerifyError::UnknownKey),
                }
            }
        };
        jsonwebtoken::decode::<AccessClaims>(token, &key, &self.inner.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => VerifyError::Expired,
                ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
                    VerifyError::WrongAlgorithm
                }
                ErrorKind::InvalidToken
                | ErrorKind::Base64(_)
                | ErrorKind::Json(_)
                | ErrorKind::Utf8(_) => VerifyError::Malformed,
                other => VerifyError::Invalid(format!("{other:?}")),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Issuer, SigningKey};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;
    use uuid::Uuid;

    fn issuer() -> Issuer {
        Issuer::new(
            SigningKey::generate().unwrap(),
            "cloudchat-auth",
            "cloudchat",
            Duration::from_secs(900),
        )
    }

    fn verifier(issuer: &Issuer) -> Verifier {
        Verifier::with_keys("cloudchat-auth", "cloudchat", &issuer.jwks(&[]))
    }

    fn claims(overrides: serde_json::Value) -> serde_json::Value {
        let now = crate::unix_now();
        let mut base = json!({
            "sub": Uuid::new_v4(), "username": "alice", "iat": now, "exp": now + 600,
            "iss": "cloudchat-auth", "aud": "cloudchat", "jti": Uuid::new_v4(),
        });
        if let (Some(b), Some(o)) = (base.as_object_mut(), overrides.as_object()) {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        base
    }

    #[tokio::test]
    async fn accepts_a_fresh_token() {
        let issuer = issuer();
        let (token, issued) = issuer.issue(Uuid::new_v4(), "alice", None).unwrap();
        let verified = verifier(&issuer).verify(&token).await.unwrap();
        assert_eq!(verified, issued);
    }

    #[tokio::test]
    async fn rejects_wrong_claims() {
        let issuer = issuer();
        let v = verifier(&issuer);
        let cases = [
            (json!({"iss": "someone-else"}), "iss"),
            (json!({"aud": "other-app"}), "aud"),
            (json!({"exp": null}), "missing exp"),
            (json!({"iss": null}), "missing iss"),
            (json!({"aud": null}), "missing aud"),
            (json!({"sub": null}), "missing sub"),
        ];
        for (overrides, what) in cases {
            let token = issuer.sign(&claims(overrides)).unwrap();
            assert!(
                v.verify(&token).await.is_err(),
                "accepted a token with {what}"
            );
        }
        let expired = issuer
            .sign(&claims(json!({"exp": crate::unix_now() - 120})))
            .unwrap();
        assert_eq!(v.verify(&expired).await, Err(VerifyError::Expired));
    }

    #[tokio::test]
    async fn rejects_alg_none_other_algorithms_wrong_typ_and_foreign_keys() {
        let issuer = issuer();
        let v = verifier(&issuer);
        let body = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#);
        let alg_none = format!("{none_header}.{body}.");
        assert!(v.verify(&alg_none).await.is_err());

        let hs = jsonwebtoken::encode(
            &{
                let mut h = jsonwebtoken::Header::new(Algorithm::HS256);
                h.typ = Some("at+jwt".into());
                h.kid = Some(issuer.key().kid().into());
                h
            },
            &claims(json!({})),
            &jsonwebtoken::EncodingKey::from_secret(b"guessable"),
        )
        .unwrap();
        assert_eq!(v.verify(&hs).await, Err(VerifyError::WrongAlgorithm));

        let mut header = jsonwebtoken::Header::new(Algorithm::EdDSA);
        header.typ = Some("JWT".into());
        header.kid = Some(issuer.key().kid().into());
        let wrong_typ =
            jsonwebtoken::encode(&header, &claims(json!({})), issuer.key().encoding_key()).unwrap();
        assert_eq!(v.verify(&wrong_typ).await, Err(VerifyError::WrongType));

        let stranger = self::issuer();
        let (foreign, _) = stranger.issue(Uuid::new_v4(), "mallory", None).unwrap();
        assert_eq!(v.verify(&foreign).await, Err(VerifyError::UnknownKey));

        // Same kid, other key: the signature check catches it.
        let mut tampered: Vec<&str> = foreign.split('.').collect();
        let (good, _) = issuer.issue(Uuid::new_v4(), "alice", None).unwrap();
        let good_parts: Vec<&str> = good.split('.').collect();
        tampered[0] = good_parts[0];
        assert!(v.verify(&tampered.join(".")).await.is_err());
        assert_eq!(v.verify("not a token").await, Err(VerifyError::Malformed));
    }

    #[test]
    fn pem_round_trip_keeps_the_kid() {
        let key = SigningKey::generate().unwrap();
        let again = SigningKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(key.kid(), again.kid());
        assert!(
            SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }
}
