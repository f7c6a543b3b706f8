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

    /// A name built from a hint given by someone else (an identity provider's
    /// `preferred_username`, `name` or an e-mail's local part): blanks become `.`, other
    /// characters the rule refuses are dropped, at most 28 characters so that a number can
    /// follow; `None` when fewer than 3 remain.
    pub fn base_from_hint(hint: &str) -> Option<String> {
        let base: String = hint
            .trim()
            .chars()
            .map(|c| if c.is_whitespace() { '.' } else { c })
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            .take(28)
            .collect();
        (base.len() >= 3).then_some(base)
    }

    /// The `n`th candidate for an account named after `base`: `base`, then `base2`, `base3`…
    pub fn candidate(base: &str, n: u32) -> Result<Self, FieldError> {
        if n <= 1 {
            Self::parse(base)
        } else {
            Self::parse(&format!("{base}{n}"))
        }
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

    #[test]
    fn names_from_hints() {
        assert_eq!(
            Username::base_from_hint("Alice Smith").as_deref(),
            Some("Alice.Smith")
        );
        assert_eq!(Username::base_from_hint("émile").as_deref(), Some("mile"));
        assert_eq!(Username::base_from_hint("李"), None);
        assert_eq!(
            Username::base_from_hint(&"x".repeat(40)).map(|b| b.len()),
            Some(28)
        );
        assert!(Username::candidate("room", 1).is_err());
        assert_eq!(Username::candidate("room", 2).unwrap().as_str(), "room2");
        let long = Username::base_from_hint(&"y".repeat(40)).unwrap();
        assert!(Username::candidate(&long, 9999).is_ok());
    }
}
