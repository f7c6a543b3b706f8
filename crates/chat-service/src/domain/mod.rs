//! Inputs parsed at the edge: once a value has one of these types it is valid.

pub mod files;
pub mod mentions;
pub mod moderation;
pub mod notifications;
pub mod search;
pub mod unsubscribe;

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

/// The name of someone to find (a direct room's peer, a member to add): 1–64 characters once
/// trimmed. Whether such a user exists is the answer's business (404 `user_not_found`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerName(String);

/// A text that is not only white space (the characters `str::trim` removes), as a JSON Schema
/// pattern: what `MessageContent::parse` asks of a message's text.
pub const NOT_ONLY_SPACE_PATTERN: &str =
    r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// [`PeerName`]'s rule, for the OpenAPI documents: blanks, then 1 to 64 characters that start
/// and end with a non-blank, then blanks (blanks as Rust's `trim` knows them).
pub const PEER_NAME_PATTERN: &str = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([\s\S]{0,62}[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";

impl PeerName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(FieldError::new(
                "username",
                "must be a username (1 to 64 characters)",
            ));
        }
        Ok(Self(name.to_owned()))
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

/// The form of a [`MemberCursor`], for the OpenAPI documents.
pub const MEMBER_CURSOR_PATTERN: &str =
    r"^[0-9]{1,18}\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

impl MemberCursor {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("after", "must be a nextCursor from an earlier page");
        let (joined_at, user_id) = raw.split_once('.').ok_or_else(invalid)?;
        // Exactly what `Display` writes (MEMBER_CURSOR_PATTERN): digits, and a hyphenated id.
        if joined_at.is_empty()
            || joined_at.len() > 18
            || !joined_at.bytes().all(|b| b.is_ascii_digit())
            || user_id.len() != 36
        {
            return Err(invalid());
        }
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

/// A reaction: one Unicode emoji ("👍", "👍🏽", "🇫🇷", "❤️", "1️⃣", "👨‍👩‍👧": a pictograph with
/// its variation selector, skin tone and tags, or several joined by zero-width joiners; a
/// keycap; a flag) or a `:shortcode:` of [`SHORTCODES`]: exactly what [`EMOJI_PATTERN`] says,
/// in at most [`EMOJI_MAX_CHARS`] characters.
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

/// The longest reaction, in characters (Unicode scalar values).
pub const EMOJI_MAX_CHARS: usize = 16;

/// The rule of [`Emoji`] as a regular expression, the same text for the server (the `regex`
/// crate) and for the OpenAPI documents (JSON Schema's ECMA-262 dialect): it is written with
/// literal characters and no escapes either side would read differently. Built from the
/// grammar of emoji sequences: a pictograph, optionally followed by a variation selector, a
/// skin tone and a tag sequence, repeated with zero-width joiners; a keycap; two regional
/// indicators.
pub const EMOJI_PATTERN: &str = concat!(
    "^(?:",
    ":thumbsup:|:thumbsdown:|:heart:|:joy:|:tada:|:eyes:|:rocket:|:fire:|:pray:|",
    ":white_check_mark:|:100:|:thinking:|",
    // A keycap: digit, # or *, an optional emoji presentation selector, the keycap mark.
    "[0-9#*]\u{FE0F}?\u{20E3}|",
    // A flag: two regional indicator letters.
    "[\u{1F1E6}-\u{1F1FF}]{2}|",
    // Pictographs joined by zero-width joiners (at most 8 of them).
    "[\u{A9}\u{AE}\u{203C}\u{2049}\u{2122}\u{2139}\u{2194}-\u{21AA}\u{231A}-\u{23FF}\u{24C2}\u{25AA}-\u{27BF}\u{2934}\u{2935}\u{2B05}-\u{2B55}\u{3030}\u{303D}\u{3297}\u{3299}\u{1F000}-\u{1FAFF}]",
    "[\u{FE0E}\u{FE0F}]?[\u{1F3FB}-\u{1F3FF}]?(?:[\u{E0020}-\u{E007E}]+\u{E007F})?",
    "(?:\u{200D}",
    "[\u{A9}\u{AE}\u{203C}\u{2049}\u{2122}\u{2139}\u{2194}-\u{21AA}\u{231A}-\u{23FF}\u{24C2}\u{25AA}-\u{27BF}\u{2934}\u{2935}\u{2B05}-\u{2B55}\u{3030}\u{303D}\u{3297}\u{3299}\u{1F000}-\u{1FAFF}]",
    "[\u{FE0E}\u{FE0F}]?[\u{1F3FB}-\u{1F3FF}]?(?:[\u{E0020}-\u{E007E}]+\u{E007F})?",
    "){0,7}",
    ")$"
);

impl Emoji {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        // A constant, checked by the tests below.
        static RULE: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| match regex::Regex::new(EMOJI_PATTERN) {
                Ok(rule) => rule,
                Err(err) => panic!("EMOJI_PATTERN: {err}"),
            });
        if raw.chars().count() > EMOJI_MAX_CHARS || !RULE.is_match(raw) {
            return Err(FieldError::new(
                "emoji",
                "must be one emoji (such as 👍) or a shortcode such as :thumbsup:",
            ));
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
        // Long but well-formed sequences: a family of four, a kiss with skin tones, the flag
        // of England (tags).
        for ok in [
            "👨\u{200D}👩\u{200D}👧\u{200D}👦",
            "👩🏻\u{200D}❤\u{FE0F}\u{200D}💋\u{200D}👨🏼",
            "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
        ] {
            assert!(Emoji::parse(ok).is_ok(), "{ok:?}");
        }
        for bad in ["👍\n", "🇫🇷🇫", "👍\u{200D}", "\u{FE0F}", "1\u{FE0F}"] {
            assert!(Emoji::parse(bad).is_err(), "{bad:?}");
        }
    }
}
