use service_kit::FieldError;

/// 3–32 characters from `[A-Za-z0-9_.-]`; unique without regard to case; not a word that
/// mentions has taken (`@room` mentions a whole room, docs/architecture.md, "Mentions").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

/// Names no account may take.
const RESERVED: &[&str] = &["room"];

impl Username {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        if !(3..=32).contains(&len) {
            return Err(FieldError::new(
                "username",
                "must be 3 to 32 characters long",
            ));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err(FieldError::new(
                "username",
                "may contain only letters, digits, '_', '.' and '-'",
            ));
        }
        if RESERVED.iter().any(|r| raw.eq_ignore_ascii_case(r)) {
            return Err(FieldError::new(
                "username",
                "is reserved (@room mentions everyone in a room); choose another",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Username;

    #[test]
    fn rules() {
        assert!(Username::parse("al").is_err());
        assert!(Username::parse("alice").is_ok());
        assert!(Username::parse("a.b-c_d").is_ok());
        assert!(Username::parse(&"x".repeat(32)).is_ok());
        assert!(Username::parse(&"x".repeat(33)).is_err());
        assert!(Username::parse("with space").is_err());
        assert!(Username::parse("émile").is_err());
        assert!(Username::parse("<script>").is_err());
        assert!(Username::parse("Room").is_err());
        assert!(Username::parse("roomy").is_ok());
    }
}
