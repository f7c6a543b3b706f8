//! `@username` and `@room` in a message's text (docs/architecture.md, "Mentions").

/// What a message's text names: user names in the order they first appear (lower-case, each
/// once) and whether it says `@room`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    pub names: Vec<String>,
    pub room: bool,
}

impl Named {
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && !self.room
    }
}

/// The word that mentions the whole room; no user can be mentioned by it.
pub const ROOM: &str = "room";

/// Usernames are 3 to 32 of these (auth-service's rule).
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The `@name`s of `text`. An `@` counts at the start or after a character that cannot be in
/// a name (so `alice@example.com` mentions nobody); the name is the longest run of name
/// characters after it, less trailing dots (the end of a sentence).
pub fn parse(text: &str) -> Named {
    let mut named = Named::default();
    if !text.contains('@') {
        return named;
    }
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == '@' && !prev.is_some_and(name_char) {
            let rest = &text[i + 1..];
            let end = rest.find(|c: char| !name_char(c)).unwrap_or(rest.len());
            let name = rest[..end].trim_end_matches('.');
            let len = name.len();
            if name.eq_ignore_ascii_case(ROOM) {
                named.room = true;
            } else if (3..=32).contains(&len) {
                let lower = name.to_ascii_lowercase();
                if !named.names.contains(&lower) {
                    named.names.push(lower);
                }
            }
        }
        prev = Some(c);
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        parse(text).names
    }

    #[test]
    fn finds_names_once_in_order_lower_case() {
        assert_eq!(
            names("@Bob hi @alice, and @bob again"),
            vec!["bob".to_owned(), "alice".to_owned()]
        );
        assert_eq!(names("ask @al.ice_1-x."), vec!["al.ice_1-x".to_owned()]);
        assert_eq!(names("(@carol)"), vec!["carol".to_owned()]);
    }

    #[test]
    fn ignores_addresses_short_and_long_tokens() {
        assert!(parse("mail alice@example.com").is_empty());
        assert!(parse("@ab is too short, @ alone too").is_empty());
        assert!(parse(&format!("@{}", "x".repeat(33))).is_empty());
        assert!(parse("no mention here").is_empty());
    }

    #[test]
    fn room_is_not_a_name() {
        let named = parse("@room standup! cc @Room @dave");
        assert!(named.room);
        assert_eq!(named.names, vec!["dave".to_owned()]);
        assert!(!parse("@roomy").room);
    }
}
