use service_kit::FieldError;

/// A candidate password: at least 8 characters and fewer than 72 bytes. bcrypt ignores
/// everything past 72 bytes, so longer passwords are refused rather than silently truncated.
pub struct Password(String);

pub const MAX_PASSWORD_BYTES: usize = 71;

impl Password {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(FieldError::new(
                field,
                "must be shorter than 72 bytes (bcrypt's limit); longer passwords are refused, never truncated",
            ));
        }
        if raw.chars().count() < 8 {
            return Err(FieldError::new(field, "must be at least 8 characters long"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn limits() {
        assert!(Password::parse("password", "1234567").is_err());
        assert!(Password::parse("password", "12345678").is_ok());
        assert!(Password::parse("password", &"p".repeat(64)).is_ok());
        assert!(Password::parse("password", &"p".repeat(71)).is_ok());
        assert!(Password::parse("password", &"p".repeat(72)).is_err());
        // 36 two-byte characters are 72 bytes.
        assert!(Password::parse("password", &"é".repeat(36)).is_err());
    }
}
