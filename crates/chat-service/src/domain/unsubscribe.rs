//! One-click unsubscribe links for e-mail digests (RFC 8058; docs/architecture.md,
//! "Notifications"): `{PUBLIC_URL}/notifications/unsubscribe?user=<uuid>&sig=<sig>`, where
//! `sig` is base64url (no padding) of HMAC-SHA256(key, "digest-unsubscribe:" + uuid). The key
//! is an instance secret shared by the replicas (`store::secrets`); the link never expires
//! and needs no log-in, so it can only ever turn the digest off.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The link's path (served by `routes::unsubscribe`).
pub const PATH: &str = "/notifications/unsubscribe";

/// The name of the key in `instance_secrets`.
pub const KEY_NAME: &str = "unsubscribe_key";

/// What the MAC covers besides the user id, so that the key signs nothing else by accident.
const PURPOSE: &str = "digest-unsubscribe:";

/// The key that signs and checks unsubscribe links.
#[derive(Clone)]
pub struct UnsubscribeKey(hmac::Key);

impl std::fmt::Debug for UnsubscribeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnsubscribeKey(..)")
    }
}

impl UnsubscribeKey {
    /// A fresh random key as stored (base64url of 32 bytes).
    pub fn generate() -> anyhow::Result<String> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes)
            .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The key from its stored form.
    pub fn from_stored(stored: &str) -> anyhow::Result<Self> {
        let bytes = URL_SAFE_NO_PAD
            .decode(stored)
            .map_err(|e| anyhow::anyhow!("the stored unsubscribe key is not base64url: {e}"))?;
        if bytes.len() < 32 {
            anyhow::bail!("the stored unsubscribe key is shorter than 32 bytes");
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    /// The `sig` of the user's link.
    pub fn sign(&self, user: Uuid) -> String {
        let tag = hmac::sign(&self.0, message(user).as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// The user's unsubscribe link under `public_url`.
    pub fn link(&self, public_url: &str, user: Uuid) -> String {
        format!(
            "{}{PATH}?user={user}&sig={}",
            public_url.trim_end_matches('/'),
            self.sign(user)
        )
    }

    /// The user a link's `user` and `sig` name, if the signature is theirs (compared in
    /// constant time).
    pub fn verify(&self, user: Option<&str>, sig: Option<&str>) -> Option<Uuid> {
        let user: Uuid = user?.parse().ok()?;
        let sig = URL_SAFE_NO_PAD.decode(sig?).ok()?;
        hmac::verify(&self.0, message(user).as_bytes(), &sig).ok()?;
        Some(user)
    }
}

fn message(user: Uuid) -> String {
    // The hyphenated lower-case form, whatever form the link carried.
    format!("{PURPOSE}{}", user.hyphenated())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies() {
        let key = UnsubscribeKey::from_stored(&UnsubscribeKey::generate().unwrap()).unwrap();
        let other = UnsubscribeKey::from_stored(&UnsubscribeKey::generate().unwrap()).unwrap();
        let user = Uuid::new_v4();
        let sig = key.sign(user);
        let id = user.to_string();
        assert_eq!(key.verify(Some(&id), Some(&sig)), Some(user));
        assert_eq!(other.verify(Some(&id), Some(&sig)), None);
        let someone_else = Uuid::new_v4().to_string();
        assert_eq!(key.verify(Some(&someone_else), Some(&sig)), None);
        assert_eq!(key.verify(Some(&id), Some("")), None);
        assert_eq!(key.verify(Some(&id), Some("%%%")), None);
        assert_eq!(key.verify(Some("not-a-uuid"), Some(&sig)), None);
        assert_eq!(key.verify(None, Some(&sig)), None);
        assert_eq!(key.verify(Some(&id), None), None);
        assert!(
            key.link("https://chat.example.com/", user)
                .starts_with("https://chat.example.com/notifications/unsubscribe?user=")
        );
    }
}
