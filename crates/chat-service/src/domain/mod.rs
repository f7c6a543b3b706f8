//! Inputs parsed at the edge: once a value has one of these types it is valid.

pub mod files;
pub mod mentions;

use service_kit::FieldError;

/// A room name: 2–64 characters after trimming, no control characters. Unique without
/// regard to case (`general` is taken by the general room).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        let len = name.chars().count();
        if !(2..=64).contains(&len) {
            return Err(FieldError::new("name", "must be 2 to 64 characters long"));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError::new(
                "name",
                "may not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Message text: 1–4000 characters once trimmed, stored exactly as sent (escaping is the
/// renderer's job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent(String);

pub const MAX_MESSAGE_CHARS: usize = 4000;

impl MessageContent {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new("content", "must not be empty"));
        }
        // The whole text counts (it is stored whole): the rule clients and the OpenAPI
        // document can state.
        if raw.chars().count() > MAX_MESSAGE_CHARS {
            return Err(FieldError::new(
                "content",
                "must be at most 4000 characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The text of a message that carries files: empty (or only white space, kept as sent)
    /// is allowed; the length rule still holds.
    pub fn parse_optional(raw: &str) -> Result<Self, FieldError> {
        if raw.trim().is_empty() {
            return Ok(Self(raw.to_owned()));
        }
        Self::parse(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The client's id for a send, so that a retry finds the original: 1–64 characters of
/// `[A-Za-z0-9_-]` (a UUID fits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty()
            || raw.len() > 64
            || !raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(FieldError::new(
                "clientMsgId",
                "must be 1 to 64 characters of letters, digits, '-' and '_' (a UUID)",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a page of a member list ends: the last member's join time and id, written
/// `<joinedAt ms>.<userId>`. Clients treat it as opaque and send back what `nextCursor` said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberCursor {
    pub joined_at: i64,
    pub user_id: uuid::Uuid,
}

impl MemberCursor {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("after", "must be a nextCursor from an earlier page");
        let (joined_at, user_id) = raw.split_once('.').ok_or_else(invalid)?;
        Ok(Self {
            joined_at: joined_at.parse().map_err(|_| invalid())?,
            user_id: user_id.parse().map_err(|_| invalid())?,
        })
    }
}

impl std::fmt::Display for MemberCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.joined_at, self.user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names() {
        assert_eq!(
            RoomName::parse("  Team  ").map(|n| n.0).ok(),
            Some("Team".into())
        );
        assert!(RoomName::parse("x").is_err());
        assert!(RoomName::parse(&"x".repeat(65)).is_err());
        assert!(RoomName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn message_content() {
        assert!(MessageContent::parse("   ").is_err());
        assert!(MessageContent::parse(&"é".repeat(4000)).is_ok());
        assert!(MessageContent::parse(&"x".repeat(4001)).is_err());
        assert_eq!(
            MessageContent::parse(" hi ").map(|c| c.0).ok(),
            Some(" hi ".into())
        );
        let xss = "<img src=x onerror=alert(1)>";
        assert_eq!(
            MessageContent::parse(xss).map(|c| c.0).ok(),
            Some(xss.into())
        );
    }

    #[test]
    fn member_cursors_round_trip() {
        let cursor = MemberCursor {
            joined_at: 1_700_000_000_123,
            user_id: uuid::Uuid::nil(),
        };
        assert_eq!(MemberCursor::parse(&cursor.to_string()), Ok(cursor));
        for bad in [
            "",
            "12",
            "x.00000000-0000-0000-0000-000000000000",
            "12.nope",
        ] {
            assert!(MemberCursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn client_msg_ids() {
        assert!(ClientMsgId::parse("3f0e1c1e-8a4b-4c56-9d1a-2b3c4d5e6f70").is_ok());
        assert!(ClientMsgId::parse("").is_err());
        assert!(ClientMsgId::parse("has space").is_err());
        assert!(ClientMsgId::parse(&"a".repeat(65)).is_err());
    }
}

/// A reaction: one Unicode emoji (a single grapheme cluster made of emoji characters, with
/// their modifiers, joiners and variation selectors: "👍", "👍🏽", "🇫🇷", "❤️", "1️⃣") or a
/// `:shortcode:` of [`SHORTCODES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emoji(String);

/// The shortcodes a reaction may use instead of an emoji.
pub const SHORTCODES: &[&str] = &[
    ":thumbsup:",
    ":thumbsdown:",
    ":heart:",
    ":joy:",
    ":tada:",
    ":eyes:",
    ":rocket:",
    ":fire:",
    ":pray:",
    ":white_check_mark:",
    ":100:",
    ":thinking:",
];

impl Emoji {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        use unicode_segmentation::UnicodeSegmentation;
        let invalid = || {
            FieldError::new(
                "emoji",
                "must be one emoji (such as 👍) or a shortcode such as :thumbsup:",
            )
        };
        if SHORTCODES.contains(&raw) {
            return Ok(Self(raw.to_owned()));
        }
        if raw.is_empty() || raw.len() > 32 || raw.graphemes(true).count() != 1 {
            return Err(invalid());
        }
        let keycap = raw.contains('\u{20E3}');
        let mut pictographic = false;
        for c in raw.chars() {
            match c {
                // Joiners, variation selectors, the keycap mark, tags (flags of regions).
                '\u{200D}' | '\u{FE0E}' | '\u{FE0F}' | '\u{20E3}' | '\u{E0020}'..='\u{E007F}' => {}
                '0'..='9' | '#' | '*' if keycap => {}
                '\u{00A9}'
                | '\u{00AE}'
                | '\u{203C}'
                | '\u{2049}'
                | '\u{2122}'
                | '\u{2139}'
                | '\u{2194}'..='\u{21AA}'
                | '\u{231A}'..='\u{23FF}'
                | '\u{24C2}'
                | '\u{25AA}'..='\u{27BF}'
                | '\u{2934}'
                | '\u{2935}'
                | '\u{2B05}'..='\u{2B55}'
                | '\u{3030}'
                | '\u{303D}'
                | '\u{3297}'
                | '\u{3299}'
                | '\u{1F000}'..='\u{1FAFF}' => pictographic = true,
                _ => return Err(invalid()),
            }
        }
        if !pictographic && !keycap {
            return Err(invalid());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod emoji_tests {
    use super::Emoji;

    #[test]
    fn one_emoji_or_a_known_shortcode() {
        for ok in [
            "👍",
            "👍🏽",
            "🇫🇷",
            "❤️",
            "1️⃣",
            "👨‍👩‍👧",
            "🎉",
            ":thumbsup:",
            ":100:",
        ] {
            assert!(Emoji::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "👍👍", "👍 ", " 👍", ":nope:", "1", "<b>", "\u{200D}", "é",
        ] {
            assert!(Emoji::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Emoji::parse(&"😀".repeat(9)).is_err());
    }
}
