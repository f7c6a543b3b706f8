//! Opaque secrets handed to clients (refresh tokens, reset tokens, WebSocket tickets): 32 bytes from the OS
//! CSPRNG, base64url. Only their SHA-256 is stored.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// 32 bytes in base64url without padding.
const PLAIN_LEN: usize = 43;

/// A character of the base64url alphabet (RFC 4648 5).
pub(crate) fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

pub struct SecretToken {
    pub plain: String,
    pub hash: String,
}

impl SecretToken {
    pub fn generate() -> Result<Self, crate::KeyError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| crate::KeyError::Generate)?;
        let plain = URL_SAFE_NO_PAD.encode(bytes);
        let hash = Self::hash(&plain);
        Ok(Self { plain, hash })
    }

    /// Whether `plain` has the shape of a generated token (43 base64url characters), so that
    /// garbage is refused without a database look-up.
    pub fn is_well_formed(plain: &str) -> bool {
        plain.len() == PLAIN_LEN && plain.bytes().all(is_base64url)
    }

    /// Hex SHA-256 of the token as presented.
    pub fn hash(plain: &str) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, plain.as_bytes());
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::SecretToken;

    #[test]
    fn tokens_are_long_distinct_and_hashed() {
        let a = SecretToken::generate().unwrap();
        let b = SecretToken::generate().unwrap();
        assert_eq!(a.plain.len(), 43);
        assert_ne!(a.plain, b.plain);
        assert_eq!(a.hash.len(), 64);
        assert_eq!(a.hash, SecretToken::hash(&a.plain));
        assert!(!a.hash.contains(&a.plain));
        assert!(SecretToken::is_well_formed(&a.plain));
        assert!(!SecretToken::is_well_formed(&a.plain[1..]));
        assert!(!SecretToken::is_well_formed(&format!("{}=", &a.plain[1..])));
        assert!(!SecretToken::is_well_formed(&"é".repeat(21)));
    }
}
