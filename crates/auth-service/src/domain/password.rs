use base64::Engine as _;
use service_kit::FieldError;

/// A candidate password: 8 to 1024 characters. It is hashed as SHA-256 then bcrypt
/// ([`hash`]), so its length is not bound by bcrypt's 72 bytes and the rule is one a client
/// (and the OpenAPI document) can state in characters.
pub struct Password(String);

pub(crate) const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 1024;

impl Password {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(FieldError::new(field, "must be at least 8 characters long"));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(FieldError::new(
                field,
                "must be at most 1024 characters long",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Stored hashes of the current scheme start with this; older ones are plain bcrypt of the
/// password (which was then at most 71 bytes).
const PREHASHED: &str = "sha256-bcrypt:";

/// The password's SHA-256 in base64: 44 ASCII bytes, inside bcrypt's 72.
fn prehash(password: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// The hash to store for a password (blocking: run it off the async threads).
pub(crate) fn hash(password: &str, cost: u32) -> Result<String, bcrypt::BcryptError> {
    Ok(format!(
        "{PREHASHED}{}",
        bcrypt::hash(prehash(password), cost)?
    ))
}

/// Whether `password` matches a stored hash of either scheme (blocking).
pub(crate) fn verify(password: &str, stored: &str) -> Result<bool, bcrypt::BcryptError> {
    match stored.strip_prefix(PREHASHED) {
        Some(bcrypt_hash) => bcrypt::verify(prehash(password), bcrypt_hash),
        // A hash from before the pre-hash: bcrypt of the password itself, which was at most
        // 71 bytes; longer ones cannot match it (and would be truncated by bcrypt).
        None if password.len() <= 71 => bcrypt::verify(password, stored),
        None => Ok(false),
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::{Password, hash, verify};

    #[test]
    fn limits_count_characters() {
        assert!(Password::parse("password", "1234567").is_err());
        assert!(Password::parse("password", "12345678").is_ok());
        assert!(Password::parse("password", "éééééééé").is_ok());
        // Past bcrypt's 72 bytes: fine now.
        assert!(Password::parse("password", &"é".repeat(300)).is_ok());
        assert!(Password::parse("password", &"p".repeat(1024)).is_ok());
        assert!(Password::parse("password", &"p".repeat(1025)).is_err());
    }

    #[test]
    fn long_passwords_differ_past_72_bytes_and_old_hashes_still_verify() {
        let long = "x".repeat(100);
        let stored = hash(&format!("{long}a"), 4).unwrap();
        assert!(verify(&format!("{long}a"), &stored).unwrap());
        assert!(!verify(&format!("{long}b"), &stored).unwrap());
        // A hash of the scheme before the pre-hash.
        let old = bcrypt::hash("correct horse", 4).unwrap();
        assert!(verify("correct horse", &old).unwrap());
        assert!(!verify("wrong horse", &old).unwrap());
    }
}
