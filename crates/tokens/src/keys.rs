//! Ed25519 signing keys: generation, PEM (PKCS#8) import and export, and the public JWK.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the system random number generator failed")]
    Generate,
    #[error("the private key is not a PEM-encoded PKCS#8 Ed25519 key ({0})")]
    Parse(&'static str),
    #[error("could not sign the token: {0}")]
    Sign(jsonwebtoken::errors::Error),
}

/// An Ed25519 key pair and its key id (derived from the public key, so the same key always
/// has the same `kid`).
pub struct SigningKey {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
    kid: String,
    encoding: EncodingKey,
}

impl SigningKey {
    pub fn generate() -> Result<Self, KeyError> {
        let doc =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Generate)?;
        Self::from_pkcs8(doc.as_ref())
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(der)
            .map_err(|_| KeyError::Parse("rejected by the Ed25519 parser"))?;
        let public = pair.public_key().as_ref().to_vec();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &public);
        let kid = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12]);
        Ok(Self {
            pkcs8: der.to_vec(),
            public,
            kid,
            encoding: EncodingKey::from_ed_der(der),
        })
    }

    /// Reads `-----BEGIN PRIVATE KEY-----` PEM.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let body: String = pem
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .collect();
        if !pem.contains("-----BEGIN PRIVATE KEY-----") {
            return Err(KeyError::Parse("missing the BEGIN PRIVATE KEY line"));
        }
        let der = STANDARD
            .decode(body)
            .map_err(|_| KeyError::Parse("bad base64"))?;
        Self::from_pkcs8(&der)
    }

    pub fn to_pem(&self) -> String {
        let b64 = STANDARD.encode(&self.pkcs8);
        let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END PRIVATE KEY-----\n");
        out
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_ed_der(&self.public)
    }

    pub fn public_jwk(&self) -> PublicJwk {
        PublicJwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: URL_SAFE_NO_PAD.encode(&self.public),
            kid: self.kid.clone(),
            alg: "EdDSA".to_owned(),
            key_use: "sig".to_owned(),
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A public key as published in the JWKS (RFC 8037 OKP key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublicJwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub key_use: String,
}

impl PublicJwk {
    /// The verification key, if this is an Ed25519 signing key.
    pub fn decoding_key(&self) -> Option<DecodingKey> {
        if self.kty != "OKP" || self.crv != "Ed25519" || self.key_use != "sig" {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(&self.x).ok()?;
        (raw.len() == 32).then(|| DecodingKey::from_ed_der(&raw))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Jwks {
    pub keys: Vec<PublicJwk>,
}
