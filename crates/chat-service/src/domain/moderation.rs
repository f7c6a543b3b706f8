//! Moderation inputs (docs/architecture.md, "Moderation"): room roles, mute durations, the
//! texts that go with an action (reasons, notes), report resolutions, and the cursors of the
//! admin lists.

use service_kit::FieldError;
use uuid::Uuid;

/// A member's role in a group room as stored (`room_members.role`) and as the owner sets it.
/// The owner is not a role here: it is `rooms.owner_user_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomRole {
    Member,
    Moderator,
}

impl RoomRole {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomRole::Member => "member",
            RoomRole::Moderator => "moderator",
        }
    }

    /// The stored value; anything but `moderator` is a plain member.
    pub fn from_stored(raw: &str) -> Self {
        if raw == "moderator" {
            RoomRole::Moderator
        } else {
            RoomRole::Member
        }
    }

    /// `role` of `PUT /rooms/{id}/members/{userId}/role`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "member" => Ok(RoomRole::Member),
            "moderator" => Ok(RoomRole::Moderator),
            _ => Err(FieldError::new("role", "must be moderator or member")),
        }
    }
}

/// The most characters of a moderator's reason (mutes, deletions) and of a role change's.
pub const MAX_REASON_CHARS: usize = 500;
/// The most characters of a report's reason and of a resolution's note.
pub const MAX_REPORT_CHARS: usize = 1000;

/// An optional text that goes with an action (`reason`, `note`): at most `max` characters,
/// trimmed; empty is none.
pub fn optional_text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(Some(text.to_owned()))
}

/// A report's reason: 1 to [`MAX_REPORT_CHARS`] characters once trimmed.
pub fn report_reason(raw: &str) -> Result<String, FieldError> {
    optional_text("reason", Some(raw), MAX_REPORT_CHARS)?
        .ok_or_else(|| FieldError::new("reason", "must not be empty"))
}

/// How long a mute lasts, in seconds, within the configured bounds.
pub fn mute_seconds(raw: Option<i64>, min: u32, max: u32) -> Result<i64, FieldError> {
    let wrong = || {
        FieldError::new(
            "durationSeconds",
            format!("must be {min} to {max} (seconds)"),
        )
    };
    let seconds = raw.ok_or_else(wrong)?;
    if seconds < i64::from(min) || seconds > i64::from(max) {
        return Err(wrong());
    }
    Ok(seconds)
}

/// What resolving a report does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Dismiss,
    DeleteMessage,
    Mute,
    Suspend,
}

impl Resolution {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "dismiss" => Ok(Resolution::Dismiss),
            "delete_message" => Ok(Resolution::DeleteMessage),
            "mute" => Ok(Resolution::Mute),
            "suspend" => Ok(Resolution::Suspend),
            _ => Err(FieldError::new(
                "action",
                "must be dismiss, delete_message, mute or suspend",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Dismiss => "dismiss",
            Resolution::DeleteMessage => "delete_message",
            Resolution::Mute => "mute",
            Resolution::Suspend => "suspend",
        }
    }
}

/// Which reports a queue lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    Open,
    Resolved,
}

impl ReportStatus {
    pub fn parse(raw: Option<&str>) -> Result<Self, FieldError> {
        match raw {
            None | Some("open") => Ok(ReportStatus::Open),
            Some("resolved") => Ok(ReportStatus::Resolved),
            Some(_) => Err(FieldError::new("status", "must be open or resolved")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Open => "open",
            ReportStatus::Resolved => "resolved",
        }
    }
}

/// The page size of the admin lists (reports, audit): 1 to 100, 50 when left out.
pub fn admin_limit(raw: Option<i64>) -> Result<i64, FieldError> {
    match raw {
        None => Ok(50),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(FieldError::new("limit", "must be 1 to 100")),
    }
}

/// A place in the audit log, newest first: the `(at, id)` of the last entry given, written
/// `<at_ms>:<id>` (the `before` of auth-service's `GET /internal/audit` too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AuditCursor {
    pub at: i64,
    pub id: Uuid,
}

impl AuditCursor {
    /// `None` for anything that is not `<at_ms>:<uuid>`.
    pub fn parse(raw: &str) -> Option<Self> {
        let (at, id) = raw.split_once(':')?;
        if at.is_empty() || at.len() > 18 || !at.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            at: at.parse().ok()?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

impl std::fmt::Display for AuditCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.at, self.id)
    }
}

/// The form of an [`AuditCursor`], for the OpenAPI document.
pub const AUDIT_CURSOR_PATTERN: &str =
    r"^[0-9]{1,18}:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// The most characters of an audit `action` filter.
pub const MAX_ACTION_CHARS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_cursors_round_trip() {
        let cursor = AuditCursor {
            at: 1_700_000_000_123,
            id: Uuid::now_v7(),
        };
        assert_eq!(AuditCursor::parse(&cursor.to_string()), Some(cursor));
        let rule = regex::Regex::new(AUDIT_CURSOR_PATTERN).ok();
        assert!(rule.is_some_and(|r| r.is_match(&cursor.to_string())));
        for bad in [
            "",
            "1",
            ":",
            "x:00000000-0000-0000-0000-000000000000",
            "-1:x",
        ] {
            assert_eq!(AuditCursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn texts_and_durations() {
        assert_eq!(optional_text("reason", Some("  "), 5), Ok(None));
        assert_eq!(
            optional_text("reason", Some(" spam "), 5),
            Ok(Some("spam".to_owned()))
        );
        assert!(optional_text("reason", Some("toolong"), 5).is_err());
        assert!(report_reason(" ").is_err());
        assert_eq!(mute_seconds(Some(60), 60, 120), Ok(60));
        assert!(mute_seconds(Some(59), 60, 120).is_err());
        assert!(mute_seconds(None, 60, 120).is_err());
        assert_eq!(RoomRole::parse("moderator"), Ok(RoomRole::Moderator));
        assert!(RoomRole::parse("owner").is_err());
    }
}
