use service_kit::FieldError;

/// An e-mail address, trimmed and lower-cased (addresses are unique in that form).
///
/// The same rule as a JSON Schema pattern, for the OpenAPI documents.
pub const EMAIL_PATTERN: &str = r"^[ \t\n\r]*[^@\s\u0000-\u001f\u007f-\u009f]{1,64}@[^@\s.\u0000-\u001f\u007f-\u009f]+(\.[^@\s.\u0000-\u001f\u007f-\u009f]+)+[ \t\n\r]*$";
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Lengths count characters and only ASCII blanks are trimmed, exactly as the OpenAPI
    /// documents state the rule (`EMAIL_PATTERN`), so a client can check an address first.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim_matches([' ', '\t', '\n', '\r']);
        let invalid =
            || FieldError::new("email", "must be an e-mail address like name@example.com");
        if email.chars().count() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || local.chars().count() > 64
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(invalid());
        }
        Ok(Self(email.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address with most of it hidden (`jo***@ex***.com`), for telling the old address
    /// where the account went without handing the new one to whoever reads the old mailbox.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let (name, rest) = domain.split_once('.').unwrap_or((domain, ""));
        let head = |s: &str| s.chars().take(2).collect::<String>();
        format!("{}***@{}***.{rest}", head(local), head(name))
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn normalises_and_rejects() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").map(|e| e.0).ok(),
            Some("alice@example.com".into())
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "a@b",
            "a@@b.c",
            "a b@c.d",
            "a@.com",
            "a@c..d",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn masks_most_of_the_address() {
        let masked = |raw: &str| Email::parse(raw).map(|e| e.masked()).ok();
        assert_eq!(
            masked("john@example.com").as_deref(),
            Some("jo***@ex***.com")
        );
        assert_eq!(masked("a@b.co.uk").as_deref(), Some("a***@b***.co.uk"));
    }
}
