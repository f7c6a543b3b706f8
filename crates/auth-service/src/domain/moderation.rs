//! Moderation inputs: roles, reasons, suspensions, the admin user list's filters and the
//! audit log's, and the `<ms>:<id>` cursors both page with.

use service_kit::FieldError;
use uuid::Uuid;
pub use wire::moderation::{AccountStatus, Role};

/// The longest reason (role change, suspension), in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// The longest `q` of the admin user list, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// The admin user list's page size: default and most.
pub const DEFAULT_USERS_PAGE: i64 = 50;
pub const MAX_USERS_PAGE: i64 = 100;
/// The most audit entries one `GET /internal/audit` answers (chat-service asks for a page of
/// at most 100, plus one to know whether there is more, plus one spare).
pub const MAX_AUDIT_PAGE: i64 = 201;

/// `user`, `moderator` or `admin`.
pub fn parse_role(field: &'static str, raw: &str) -> Result<Role, FieldError> {
    Role::from_name(raw)
        .ok_or_else(|| FieldError::new(field, "must be \"user\", \"moderator\" or \"admin\""))
}

/// Why an admin acted: 1 to 500 characters, trimmed of surrounding blanks, no control
/// characters but line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let reason = raw.trim();
        let chars = reason.chars().count();
        if chars == 0 || chars > MAX_REASON_CHARS {
            return Err(FieldError::new(field, "must be 1 to 500 characters long"));
        }
        if reason
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(FieldError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(reason.to_owned()))
    }

    /// An optional reason: absent or blank is none.
    pub fn parse_optional(
        field: &'static str,
        raw: Option<&str>,
    ) -> Result<Option<Self>, FieldError> {
        match raw {
            Some(r) if !r.trim().is_empty() => Self::parse(field, r).map(Some),
            _ => Ok(None),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A suspension to set: why, until when (Unix ms; `None` until lifted), and whether the
/// account's messages are hidden meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuspensionInput {
    pub reason: Reason,
    pub until: Option<i64>,
    pub hide_messages: bool,
}

impl SuspensionInput {
    /// `until` must be an RFC 3339 time after `now`.
    pub fn parse(
        reason: &str,
        until: Option<&str>,
        hide_messages: Option<bool>,
        now: i64,
    ) -> Result<Self, Vec<FieldError>> {
        let reason = Reason::parse("reason", reason);
        let until = match until {
            None => Ok(None),
            Some(text) => match store_kit::parse_rfc3339(text) {
                Some(ms) if ms > now => Ok(Some(ms)),
                Some(_) => Err(FieldError::new("until", "must be in the future")),
                None => Err(FieldError::new(
                    "until",
                    "must be an RFC 3339 date-time like 2030-01-31T12:00:00Z",
                )),
            },
        };
        match (reason, until) {
            (Ok(reason), Ok(until)) => Ok(Self {
                reason,
                until,
                hide_messages: hide_messages.unwrap_or(false),
            }),
            (reason, until) => Err([reason.err(), until.err()].into_iter().flatten().collect()),
        }
    }
}

/// A position in a list ordered by (time, id), newest first: `<unix ms>:<uuid>`, the last
/// entry given. The next page holds what comes strictly before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub ms: i64,
    pub id: Uuid,
}

impl PageCursor {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new(field, "must be a cursor an earlier page gave");
        let (ms, id) = raw.split_once(':').ok_or_else(invalid)?;
        // The id as `nextCursor` writes it (hyphenated), not the other forms `Uuid` reads.
        if ms.is_empty()
            || ms.len() > 18
            || !ms.bytes().all(|b| b.is_ascii_digit())
            || id.len() != 36
        {
            return Err(invalid());
        }
        Ok(Self {
            ms: ms.parse().map_err(|_| invalid())?,
            id: id.parse().map_err(|_| invalid())?,
        })
    }
}

impl std::fmt::Display for PageCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.ms, self.id)
    }
}

/// `GET /admin/users`'s filters and page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFilter {
    /// Lower-cased; matches the start of the username or of the e-mail address.
    pub prefix: Option<String>,
    pub role: Option<Role>,
    pub status: Option<AccountStatus>,
    pub limit: i64,
    pub cursor: Option<PageCursor>,
}

impl UserFilter {
    pub fn parse(
        q: Option<&str>,
        role: Option<&str>,
        status: Option<&str>,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let prefix = q.map(str::trim).filter(|q| !q.is_empty());
        if prefix.is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
            errors.push(FieldError::new("q", "must be at most 100 characters long"));
        }
        let role = role
            .filter(|r| !r.is_empty())
            .map(|r| parse_role("role", r))
            .transpose()
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        let status = match status.filter(|s| !s.is_empty()) {
            None => None,
            Some("active") => Some(AccountStatus::Active),
            Some("suspended") => Some(AccountStatus::Suspended),
            Some(_) => {
                errors.push(FieldError::new(
                    "status",
                    "must be \"active\" or \"suspended\"",
                ));
                None
            }
        };
        let limit = limit.unwrap_or(DEFAULT_USERS_PAGE);
        if !(1..=MAX_USERS_PAGE).contains(&limit) {
            errors.push(FieldError::new("limit", "must be 1 to 100"));
        }
        let cursor = cursor
            .filter(|c| !c.is_empty())
            .map(|c| PageCursor::parse("cursor", c))
            .transpose()
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            prefix: prefix.map(str::to_lowercase),
            role,
            status,
            limit,
            cursor,
        })
    }
}

/// `GET /internal/audit`'s filters and page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    pub limit: i64,
    /// Entries strictly before this (at, id).
    pub before: Option<PageCursor>,
    pub actor_id: Option<Uuid>,
    pub target_user_id: Option<Uuid>,
    pub action: Option<String>,
    /// Unix ms, inclusive.
    pub since: Option<i64>,
    /// Unix ms, exclusive.
    pub until: Option<i64>,
}

impl AuditFilter {
    /// `limit` 1..=201 (default 50); `before` a `<at_ms>:<id>` cursor; `action` at most 64
    /// characters.
    pub fn parse(
        limit: Option<i64>,
        before: Option<&str>,
        action: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let limit = limit.unwrap_or(DEFAULT_USERS_PAGE);
        if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
            errors.push(FieldError::new("limit", "must be 1 to 201"));
        }
        let before = before
            .filter(|b| !b.is_empty())
            .map(|b| PageCursor::parse("before", b))
            .transpose()
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        let action = action.filter(|a| !a.is_empty());
        if action.is_some_and(|a| a.chars().count() > 64) {
            errors.push(FieldError::new(
                "action",
                "must be at most 64 characters long",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            limit,
            before,
            action: action.map(str::to_owned),
            ..Self::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert!(Reason::parse("reason", "  ").is_err());
        assert!(Reason::parse("reason", &"x".repeat(501)).is_err());
        assert!(Reason::parse("reason", "spam\u{0}").is_err());
        assert_eq!(
            Reason::parse("reason", " spam\nagain ").map(|r| r.0).ok(),
            Some("spam\nagain".to_owned())
        );
        assert_eq!(Reason::parse_optional("reason", Some(" ")).ok(), Some(None));
    }

    #[test]
    fn suspensions_end_in_the_future() {
        let now = 1_800_000_000_000;
        let later = store_kit::rfc3339(now + 60_000);
        let earlier = store_kit::rfc3339(now - 1);
        let ok = SuspensionInput::parse("spam", Some(&later), Some(true), now).ok();
        assert_eq!(
            ok.map(|s| (s.until, s.hide_messages)),
            Some((Some(now + 60_000), true))
        );
        let errors = SuspensionInput::parse("", Some(&earlier), None, now).err();
        let fields: Vec<_> = errors
            .unwrap_or_default()
            .iter()
            .map(|e| e.field.to_string())
            .collect();
        assert_eq!(fields, ["reason", "until"]);
        assert!(SuspensionInput::parse("spam", Some("tomorrow"), None, now).is_err());
    }

    #[test]
    fn cursors_round_trip() {
        let cursor = PageCursor {
            ms: 1_700_000_000_123,
            id: Uuid::now_v7(),
        };
        assert_eq!(
            PageCursor::parse("cursor", &cursor.to_string()).ok(),
            Some(cursor)
        );
        for bad in [
            "",
            "1",
            ":x",
            "-1:00000000-0000-0000-0000-000000000000",
            "1:nope",
        ] {
            assert!(PageCursor::parse("cursor", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_filters() {
        let f = UserFilter::parse(Some(" AL "), Some("admin"), Some("suspended"), None, None);
        assert_eq!(
            f.ok().map(|f| (f.prefix, f.role, f.status, f.limit)),
            Some((
                Some("al".to_owned()),
                Some(Role::Admin),
                Some(AccountStatus::Suspended),
                50
            ))
        );
        let errors = UserFilter::parse(
            Some(&"q".repeat(101)),
            Some("root"),
            Some("gone"),
            Some(0),
            Some("x"),
        );
        assert_eq!(errors.map(|_| ()).unwrap_err().len(), 5);
    }
}
