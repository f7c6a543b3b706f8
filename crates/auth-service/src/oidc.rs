//! The OpenID Connect relying party: the provider's discovery document and signing keys
//! (fetched at start, refreshed hourly and on an unknown `kid`, kept while the provider is
//! down), the authorization URL (code flow, PKCE S256), the code exchange, and the ID token
//! checks of OpenID Connect Core 3.1.3.7. Written on jsonwebtoken (aws-lc-rs, the one crypto
//! library) rather than the `openidconnect` crate: docs/decisions.md, "Single sign-on".

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::config::OidcSettings;

/// How often the discovery document and keys are fetched again while all is well.
pub const REFRESH_EVERY: Duration = Duration::from_secs(3600);
/// An unknown `kid` (or a sign-in with nothing cached) triggers at most one fetch per this
/// interval, so garbage cannot turn into a flood of requests to the provider.
const REFETCH_THROTTLE: Duration = Duration::from_secs(1);
/// Clock skew tolerated on `exp` and `iat`.
const LEEWAY_SECS: u64 = 60;
/// Signature algorithms an ID token may use: asymmetric only (`HS*` would need the client
/// secret as the key, `none` nothing at all).
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The parts of the discovery document (OpenID Connect Discovery 3) this client uses.
#[derive(Debug, Clone, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// What was fetched from the provider last.
struct Discovered {
    metadata: Metadata,
    keys: Vec<Jwk>,
}

/// The provider as this service sees it; one per process.
pub struct Provider {
    settings: OidcSettings,
    redirect_url: String,
    http: reqwest::Client,
    cache: RwLock<Option<Arc<Discovered>>>,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

/// The person the provider vouched for, from the checked ID token (and the userinfo
/// endpoint for what the ID token left out).
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub preferred_username: Option<String>,
    pub name: Option<String>,
}

/// The claims of an ID token this client reads; `exp`, `iss` and `aud` are checked by
/// jsonwebtoken (and required), `iat` must be there.
#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    aud: Audience,
    iat: i64,
    azp: Option<String>,
    nonce: Option<String>,
    #[serde(flatten)]
    profile: Profile,
}

/// Profile claims, from the ID token or the userinfo answer.
#[derive(Deserialize, Default)]
struct Profile {
    email: Option<String>,
    /// A boolean, or (some providers) the string "true".
    email_verified: Option<Value>,
    preferred_username: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn as_slice(&self) -> &[String] {
        match self {
            Audience::One(one) => std::slice::from_ref(one),
            Audience::Many(many) => many,
        }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    access_token: Option<String>,
}

/// The PKCE S256 challenge of a verifier (RFC 7636 4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

impl Provider {
    pub fn new(settings: OidcSettings, redirect_url: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            // A few requests per sign-in: a fresh connection each time costs little and
            // never meets one the provider closed while it sat idle (a reset POST to the
            // token endpoint cannot be retried: the code may be spent).
            .pool_max_idle_per_host(0)
            .build()
            .context("building the OpenID Connect HTTP client")?;
        Ok(Self {
            settings,
            redirect_url,
            http,
            cache: RwLock::new(None),
            last_fetch: tokio::sync::Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    fn cached(&self) -> Option<Arc<Discovered>> {
        match self.cache.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Fetches the discovery document and the keys now. On failure what was cached stays in
    /// use (a provider that is down for a while does not stop sign-ins already keyed).
    pub async fn refresh(&self) -> anyhow::Result<()> {
        *self.last_fetch.lock().await = Some(Instant::now());
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let metadata: Metadata = self.get_json(&url).await.context("discovery")?;
        // Discovery 4.3: the document must name exactly the issuer it was fetched for, or
        // tokens of another issuer could be taken for this one's.
        ensure!(
            metadata.issuer == self.settings.issuer,
            "the discovery document names issuer {:?}, not OIDC_ISSUER {:?}",
            metadata.issuer,
            self.settings.issuer
        );
        let jwks: Value = self
            .get_json(&metadata.jwks_uri)
            .await
            .context("the provider's JWKS")?;
        // A key this library cannot read (another type, unknown parameters) is skipped, not
        // a reason to refuse the others.
        let keys: Vec<Jwk> = jwks["keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| serde_json::from_value(k.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        ensure!(!keys.is_empty(), "the provider's JWKS has no usable key");
        tracing::info!(issuer = %metadata.issuer, keys = keys.len(), "OpenID Connect provider keys loaded");
        let discovered = Arc::new(Discovered { metadata, keys });
        match self.cache.write() {
            Ok(mut g) => *g = Some(discovered),
            Err(p) => *p.into_inner() = Some(discovered),
        }
        Ok(())
    }

    /// Refreshes unless a fetch happened within [`REFETCH_THROTTLE`].
    async fn refresh_throttled(&self) {
        let recent = self
            .last_fetch
            .lock()
            .await
            .is_some_and(|t| t.elapsed() < REFETCH_THROTTLE);
        if !recent && let Err(e) = self.refresh().await {
            tracing::warn!(error = %format!("{e:#}"), "cannot reach the OpenID Connect provider; keeping what was cached");
        }
    }

    /// The discovery document and keys, fetched now if none was yet.
    async fn discovered(&self) -> anyhow::Result<Arc<Discovered>> {
        if let Some(d) = self.cached() {
            return Ok(d);
        }
        self.refresh_throttled().await;
        self.cached()
            .ok_or_else(|| anyhow!("the provider's discovery document could not be fetched yet"))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> anyhow::Result<T> {
        self.http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .with_context(|| format!("GET {url}"))?
            .error_for_status()
            .with_context(|| format!("GET {url}"))?
            .json()
            .await
            .with_context(|| format!("reading {url}"))
    }

    /// Where to send the browser: the authorization endpoint with a code request, PKCE S256,
    /// `state` and `nonce`.
    pub async fn authorization_url(
        &self,
        state: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> anyhow::Result<String> {
        let discovered = self.discovered().await?;
        let mut url = url::Url::parse(&discovered.metadata.authorization_endpoint)
            .context("the provider's authorization_endpoint")?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", &self.redirect_url)
            .append_pair("scope", &self.settings.scopes.join(" "))
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &pkce_challenge(pkce_verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// The callback's work with the provider: exchanges the code, checks the ID token and
    /// completes the profile from the userinfo endpoint when the ID token left it out.
    pub async fn sign_in(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> anyhow::Result<Identity> {
        let discovered = self.discovered().await?;
        let answer = self
            .exchange(&discovered.metadata, code, pkce_verifier)
            .await?;
        let id_token = answer
            .id_token
            .ok_or_else(|| anyhow!("the token answer has no id_token"))?;
        let claims = self.verify_id_token(&id_token, nonce).await?;
        let mut profile = claims.profile;
        if profile.email.is_none()
            && let (Some(endpoint), Some(access)) = (
                discovered.metadata.userinfo_endpoint.as_deref(),
                answer.access_token.as_deref(),
            )
        {
            let info: Value = self
                .http
                .get(endpoint)
                .bearer_auth(access)
                .send()
                .await
                .context("userinfo")?
                .error_for_status()
                .context("userinfo")?
                .json()
                .await
                .context("reading userinfo")?;
            // Core 5.3.2: the userinfo `sub` must be the ID token's, or it is someone else.
            ensure!(
                info["sub"].as_str() == Some(claims.sub.as_str()),
                "the userinfo answer is for another subject"
            );
            profile = serde_json::from_value(info).context("reading userinfo claims")?;
        }
        let email_verified = matches!(profile.email_verified, Some(Value::Bool(true)))
            || profile.email_verified.as_ref().and_then(Value::as_str) == Some("true");
        Ok(Identity {
            issuer: discovered.metadata.issuer.clone(),
            subject: claims.sub,
            email: profile.email.map(|e| e.trim().to_lowercase()),
            email_verified,
            preferred_username: profile.preferred_username,
            name: profile.name,
        })
    }

    /// The token request (RFC 6749 4.1.3), authenticated with the client secret in the way
    /// discovery says the provider takes it (basic when it says nothing: Discovery 3).
    async fn exchange(
        &self,
        metadata: &Metadata,
        code: &str,
        pkce_verifier: &str,
    ) -> anyhow::Result<TokenAnswer> {
        let s = &self.settings;
        let methods = metadata.token_endpoint_auth_methods_supported.as_deref();
        let use_post = methods.is_some_and(|m| {
            !m.iter().any(|x| x == "client_secret_basic")
                && m.iter().any(|x| x == "client_secret_post")
        });
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_url.as_str()),
            ("code_verifier", pkce_verifier),
        ];
        let mut request = self.http.post(&metadata.token_endpoint);
        if use_post {
            form.push(("client_id", &s.client_id));
            form.push(("client_secret", &s.client_secret));
        } else {
            // RFC 6749 2.3.1: both parts form-urlencoded before base64.
            let encode =
                |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", encode(&s.client_id), encode(&s.client_secret));
            request = request.header(
                reqwest::header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(pair)),
            );
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .context("the token request")?;
        let status = response.status();
        if !status.is_success() {
            // The provider's error code (invalid_grant for a spent or foreign code) is worth
            // logging; its description too, cut short.
            let body: Value = response.json().await.unwrap_or(Value::Null);
            bail!(
                "the provider refused the code ({status}): {} {}",
                body["error"].as_str().unwrap_or("?"),
                body["error_description"]
                    .as_str()
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect::<String>()
            );
        }
        response.json().await.context("reading the token answer")
    }

    /// Core 3.1.3.7: signature with the provider's key, `iss`, `aud` containing our client
    /// id, `azp` when there are several audiences (and ours when present), `exp` and `iat`
    /// with a small leeway, and the `nonce` of this sign-in.
    async fn verify_id_token(&self, token: &str, nonce: &str) -> anyhow::Result<IdClaims> {
        let header = jsonwebtoken::decode_header(token).context("the ID token's header")?;
        ensure!(
            ALGORITHMS.contains(&header.alg),
            "the ID token is signed with {:?}, not an asymmetric algorithm",
            header.alg
        );
        let key = match self.key_for(header.kid.as_deref(), header.alg).await {
            Some(key) => key,
            None => {
                // A new key the provider rotated in since the last fetch.
                self.refresh_throttled().await;
                self.key_for(header.kid.as_deref(), header.alg)
                    .await
                    .ok_or_else(|| {
                        anyhow!(
                            "no provider key matches the ID token's kid {:?}",
                            header.kid
                        )
                    })?
            }
        };
        let s = &self.settings;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&s.issuer]);
        validation.set_audience(&[&s.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .context("the ID token")?
            .claims;
        let audiences = claims.aud.as_slice();
        if audiences.len() > 1 {
            ensure!(
                claims.azp.is_some(),
                "the ID token has several audiences and no azp"
            );
        }
        if let Some(azp) = &claims.azp {
            ensure!(
                azp == &s.client_id,
                "the ID token's azp is {azp:?}, not our client"
            );
        }
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
        ensure!(
            claims.iat <= now + LEEWAY_SECS as i64,
            "the ID token was issued in the future"
        );
        ensure!(
            claims.nonce.as_deref() == Some(nonce),
            "the ID token's nonce is not this sign-in's"
        );
        ensure!(!claims.sub.is_empty(), "the ID token has an empty sub");
        Ok(claims)
    }

    /// The provider key for this `kid` and algorithm: by `kid`, or the only signing key
    /// when the token names none.
    async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
        let discovered = self.discovered().await.ok()?;
        let usable = |k: &&Jwk| {
            !matches!(k.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature)
                && k.common
                    .key_algorithm
                    .is_none_or(|a| a.to_string().parse::<Algorithm>().is_ok_and(|a| a == alg))
        };
        let mut candidates = discovered.keys.iter().filter(usable);
        let jwk = match kid {
            Some(kid) => candidates.find(|k| k.common.key_id.as_deref() == Some(kid))?,
            None => {
                let first = candidates.next()?;
                if candidates.next().is_some() {
                    return None;
                }
                first
            }
        };
        DecodingKey::from_jwk(jwk).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::pkce_challenge;

    #[test]
    fn pkce_challenge_is_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
