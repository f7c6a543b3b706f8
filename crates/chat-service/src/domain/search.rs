//! A search (`GET /search`, docs/architecture.md "Search"): the text of `q` parsed into terms
//! and filters, the dates the filters take, and the highlight ranges of a hit.
//!
//! A term is made of tokens: runs of letters and digits, which is what both indexes count as
//! words once they have split the text (store/search.rs). Nothing else of what the user typed
//! reaches an engine's query syntax, and each token reaches it quoted.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The longest `q`, in characters (a contract of the API, like a message's length).
pub const MAX_QUERY_CHARS: usize = 500;

/// A word or a quoted phrase: its tokens, as typed (a word such as `e-mail` is the phrase
/// `e mail`, as the indexes see it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term(Vec<String>);

impl Term {
    /// The term of `text`; `None` when it has no letter or digit.
    fn of(text: &str) -> Option<Self> {
        let tokens: Vec<String> = tokens(text).map(|(_, t)| t.to_owned()).collect();
        (!tokens.is_empty()).then_some(Self(tokens))
    }

    pub fn tokens(&self) -> &[String] {
        &self.0
    }

    /// The tokens separated by spaces: the text each engine splits again into the same tokens.
    pub fn text(&self) -> String {
        self.0.join(" ")
    }

    fn normalised(&self) -> Vec<String> {
        self.0.iter().map(|t| normalise(t)).collect()
    }
}

/// `in:` — a group room (or `general`) by name, or the caller's direct room with a user
/// (`in:@username`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomFilter {
    Named(String),
    Direct(String),
}

/// A parsed `q`, with the filters given as parameters added ([`SearchQuery::restrict`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words and phrases every hit contains.
    pub terms: Vec<Term>,
    /// The last bare word: a hit has a word that starts with it (its earlier tokens, if it has
    /// several, are matched whole).
    pub prefix: Option<Term>,
    /// Words and phrases no hit contains.
    pub excluded: Vec<Term>,
    /// Authors (by username, any case); several can only all hold for nobody.
    pub from: Vec<String>,
    pub rooms: Vec<RoomFilter>,
    /// Only messages with files.
    pub has_file: bool,
    /// Only messages created at or after this time (Unix ms).
    pub after: Option<i64>,
    /// Only messages created before this time (Unix ms).
    pub before: Option<i64>,
}

impl SearchQuery {
    /// Parses `q`: words, `"quoted phrases"` (an unclosed quote runs to the end), `-word` and
    /// `-"phrase"` to exclude, and the filters `from:name`, `in:room`, `in:@name`, `has:file`,
    /// `before:YYYY-MM-DD`, `after:YYYY-MM-DD` (values may be quoted). A filter whose value
    /// does not parse, and any other `key:value`, is searched as words. Never fails: every
    /// text is a query, perhaps one that finds nothing.
    pub fn parse(q: &str) -> Self {
        let mut query = Self::default();
        // Where the last bare word is in `terms`: it becomes the prefix at the end.
        let mut last_bare: Option<usize> = None;
        let mut rest = q;
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let (negated, body) = match rest.strip_prefix('-') {
                Some(after) if after.starts_with(|c: char| !c.is_whitespace()) => (true, after),
                _ => (false, rest),
            };
            if let Some(inner) = body.strip_prefix('"') {
                let (phrase, next) = quoted(inner);
                rest = next;
                query.add(Term::of(phrase), negated);
                continue;
            }
            if !negated && let Some(next) = query.filter(body) {
                rest = next;
                continue;
            }
            let end = body.find(char::is_whitespace).unwrap_or(body.len());
            let (word, next) = body.split_at(end);
            rest = next;
            if query.add(Term::of(word), negated) && !negated {
                last_bare = Some(query.terms.len() - 1);
            }
        }
        if let Some(i) = last_bare {
            query.prefix = Some(query.terms.remove(i));
        }
        query
    }

    /// Adds a term; whether there was one.
    fn add(&mut self, term: Option<Term>, negated: bool) -> bool {
        let Some(term) = term else {
            return false;
        };
        if negated {
            self.excluded.push(term);
        } else {
            self.terms.push(term);
        }
        true
    }

    /// Takes a filter from the start of `text`; what follows it, or `None` when `text` does
    /// not start with one (it is then searched as words).
    fn filter<'a>(&mut self, text: &'a str) -> Option<&'a str> {
        let (key, after) = text.split_once(':')?;
        if key.is_empty() || key.contains(char::is_whitespace) || key.contains('"') {
            return None;
        }
        let (value, rest) = match after.strip_prefix('"') {
            Some(inner) => quoted(inner),
            None => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                after.split_at(end)
            }
        };
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        match key.to_ascii_lowercase().as_str() {
            "from" => self.add_from(value),
            "in" => self.rooms.push(match value.strip_prefix('@') {
                Some(user) if !user.is_empty() => RoomFilter::Direct(name(user)),
                _ => RoomFilter::Named(name(value)),
            }),
            "has" if value.eq_ignore_ascii_case("file") => self.has_file = true,
            // Days are UTC: before a day is before it starts; after a day, from the next on.
            "before" => self.restrict_before(day_start(value)?),
            "after" => self.restrict_after(day_start(value)? + DAY_MS),
            _ => return None,
        }
        Some(rest)
    }

    /// Only messages by this user too (`@` in front is allowed).
    pub fn add_from(&mut self, username: &str) {
        self.from
            .push(name(username.strip_prefix('@').unwrap_or(username)));
    }

    /// Only messages created before `ms` too.
    pub fn restrict_before(&mut self, ms: i64) {
        self.before = Some(self.before.map_or(ms, |b| b.min(ms)));
    }

    /// Only messages created at or after `ms` too.
    pub fn restrict_after(&mut self, ms: i64) {
        self.after = Some(self.after.map_or(ms, |a| a.max(ms)));
    }

    /// Whether it has words or phrases to look up in the index.
    pub fn has_terms(&self) -> bool {
        !self.terms.is_empty() || self.prefix.is_some()
    }

    /// The ranges of `content` to highlight, in UTF-16 code units (JavaScript string indices):
    /// every occurrence of a term (and of a word starting with the prefix), compared the way
    /// the indexes compare (case-folded, diacritics removed); sorted, overlaps merged.
    pub fn highlights(&self, content: &str) -> Vec<(usize, usize)> {
        let words: Vec<(usize, usize, String)> = tokens(content)
            .map(|(start, t)| (start, start + t.len(), normalise(t)))
            .collect();
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        let terms = self.terms.iter().map(|t| (t, false));
        for (term, prefix) in terms.chain(self.prefix.iter().map(|t| (t, true))) {
            let wanted = term.normalised();
            let n = wanted.len();
            for at in 0..words.len().saturating_sub(n - 1) {
                let found = wanted.iter().enumerate().all(|(i, w)| {
                    let word = &words[at + i].2;
                    if prefix && i == n - 1 {
                        word.starts_with(w.as_str())
                    } else {
                        word == w
                    }
                });
                if found {
                    ranges.push((words[at].0, words[at + n - 1].1));
                }
            }
        }
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
            .into_iter()
            .map(|(start, end)| (utf16_len(&content[..start]), utf16_len(&content[..end])))
            .collect()
    }
}

/// A user or room name to compare: a NUL (which PostgreSQL text cannot hold, and no name has)
/// becomes U+FFFD, so the filter finds nothing instead of failing.
fn name(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// A quoted text up to its closing quote (or the end): the text, and what follows the quote.
fn quoted(inner: &str) -> (&str, &str) {
    match inner.find('"') {
        Some(end) => (&inner[..end], &inner[end + 1..]),
        None => (inner, ""),
    }
}

/// Whether `c` belongs to a word: letters, digits, and the marks that accents are made of.
fn word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// The words of `text`, with their byte offsets.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, _) = rest.find(|(_, c)| word_char(*c))?;
        let mut end = text.len();
        while let Some((i, c)) = rest.peek() {
            if !word_char(*c) {
                end = *i;
                break;
            }
            rest.next();
        }
        Some((start, &text[start..end]))
    })
}

/// A word as the indexes compare it: diacritics removed, then case-folded.
pub fn normalise(word: &str) -> String {
    word.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

const DAY_MS: i64 = 86_400_000;

/// The form of the `before`/`after` parameters, for the OpenAPI document: a day
/// (`YYYY-MM-DD`) or an RFC 3339 date-time. February 29th is taken in every year (in a year
/// without it, it is March 1st).
pub const DATE_PATTERN: &str = concat!(
    "^[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-9])|(?:0[13-9]|1[0-2])-30|(?:0[13578]|1[02])-31)",
    "(?:[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]))?$"
);

/// The start (Unix ms, UTC) of a day written `YYYY-MM-DD`; `None` for anything else.
pub fn day_start(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(text.get(0..4)?)?;
    let month = digits(text.get(5..7)?)?;
    let day = digits(text.get(8..10)?)?;
    let longest = match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=longest).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * DAY_MS)
}

/// The first time (Unix ms) after a day (the next day's start: `after=2024-05-01` begins on
/// May 2nd) or after a date-time (a millisecond later).
pub fn after_time(text: &str) -> Option<i64> {
    match day_start(text) {
        Some(day) => Some(day + DAY_MS),
        None => parse_time(text).map(|ms| ms + 1),
    }
}

/// A parameter's time (Unix ms): a day is its start; a date-time is itself.
pub fn parse_time(text: &str) -> Option<i64> {
    if text.len() == 10 {
        return day_start(text);
    }
    let (date, time) = (text.get(..10)?, text.get(11..)?);
    if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    let day = day_start(date)?;
    let clock = time.as_bytes();
    if clock.len() < 9 || clock[2] != b':' || clock[5] != b':' {
        return None;
    }
    let (h, m, s) = (
        digits(time.get(0..2)?)?,
        digits(time.get(3..5)?)?,
        digits(time.get(6..8)?)?,
    );
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let mut rest = time.get(8..)?;
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&n) {
            return None;
        }
        let ms = format!("{:0<3}", &fraction[..n.min(3)]);
        millis = digits(&ms)?;
        rest = &fraction[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let o = rest.as_bytes();
            if o.len() != 6 || o[3] != b':' {
                return None;
            }
            let (oh, om) = (digits(rest.get(1..3)?)?, digits(rest.get(4..6)?)?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3_600_000 + om * 60_000)
        }
    };
    Some(day + h * 3_600_000 + m * 60_000 + s * 1000 + millis - offset)
}

/// ASCII digits only (no sign), as a number.
fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Days from 1970-01-01 to a day of the proleptic Gregorian calendar (a day past the end of
/// its month runs on into the next).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(tokens: &[&str]) -> Term {
        Term(tokens.iter().map(|t| (*t).to_owned()).collect())
    }

    #[test]
    fn words_phrases_exclusions_and_the_prefix() {
        let q = SearchQuery::parse(r#"deploy "release notes" -draft -"old plan" fri"#);
        assert_eq!(q.terms, [term(&["deploy"]), term(&["release", "notes"])]);
        assert_eq!(q.excluded, [term(&["draft"]), term(&["old", "plan"])]);
        assert_eq!(q.prefix, Some(term(&["fri"])));
        assert!(q.has_terms());
        // The last bare word is the prefix even when a phrase or a filter follows it.
        let q = SearchQuery::parse(r#"hel "big world" from:bob"#);
        assert_eq!(q.prefix, Some(term(&["hel"])));
        assert_eq!(q.terms, [term(&["big", "world"])]);
        // A lone dash is nothing; a dashed word inside is a phrase of its parts.
        let q = SearchQuery::parse("a - e-mail");
        assert_eq!(q.terms, [term(&["a"])]);
        assert_eq!(q.prefix, Some(term(&["e", "mail"])));
    }

    #[test]
    fn filters() {
        let q = SearchQuery::parse(
            r#"FROM:@Alice in:team in:@bob in:"big room" has:file before:2024-05-02 after:2024-05-01 x"#,
        );
        assert_eq!(q.from, ["Alice"]);
        assert_eq!(
            q.rooms,
            [
                RoomFilter::Named("team".into()),
                RoomFilter::Direct("bob".into()),
                RoomFilter::Named("big room".into())
            ]
        );
        assert!(q.has_file);
        assert_eq!(q.before, Some(1_714_608_000_000));
        // after: a whole day later than its start: from the next day on.
        assert_eq!(q.after, Some(1_714_608_000_000));
        assert_eq!(q.prefix, Some(term(&["x"])));
        assert!(q.terms.is_empty());
        // Only filters: nothing to look up.
        assert!(!SearchQuery::parse("from:alice").has_terms());
    }

    #[test]
    fn bad_filters_are_words() {
        let q = SearchQuery::parse("before:2024-13-01 after:yesterday has:cats lang:fr from: in:@");
        let words: Vec<String> = q.terms.iter().chain(&q.prefix).map(Term::text).collect();
        assert_eq!(
            words,
            [
                "before 2024 13 01",
                "after yesterday",
                "has cats",
                "lang fr",
                "from"
            ]
        );
        assert_eq!(q.before, None);
        assert_eq!(q.after, None);
        assert!(!q.has_file);
        // `in:@` alone names nobody: a room called "@"?
        assert_eq!(q.rooms, [RoomFilter::Named("@".into())]);
    }

    #[test]
    fn unicode_and_unbalanced_quotes() {
        let q = SearchQuery::parse("Café «naïve» 東京 \"unclosed phrase");
        assert_eq!(
            q.terms,
            [
                term(&["Café"]),
                term(&["naïve"]),
                term(&["unclosed", "phrase"])
            ]
        );
        assert_eq!(q.prefix, Some(term(&["東京"])));
        assert_eq!(normalise("CAFÉ"), "cafe");
        assert_eq!(normalise("Ça"), "ca");
        // Combining accents (NFD) stay in their word.
        assert_eq!(
            SearchQuery::parse("cafe\u{301}").prefix,
            Some(term(&["cafe\u{301}"]))
        );
    }

    #[test]
    fn query_syntax_is_only_ever_words() {
        for hostile in [
            "a:* | b",
            "\"",
            "NEAR(a b)",
            "*",
            "a' & !b:*",
            "\"\"\"",
            "col:val",
            "^x OR y AND -",
            "\\'; DROP TABLE messages; --",
        ] {
            let q = SearchQuery::parse(hostile);
            for t in q.terms.iter().chain(&q.prefix).chain(&q.excluded) {
                for token in t.tokens() {
                    assert!(token.chars().all(word_char), "{hostile:?} gave {token:?}");
                }
            }
        }
        let q = SearchQuery::parse("a:* | b");
        assert_eq!(q.terms, [term(&["a"])]);
        assert_eq!(q.prefix, Some(term(&["b"])));
        assert_eq!(SearchQuery::parse("*"), SearchQuery::default());
        assert_eq!(SearchQuery::parse("\""), SearchQuery::default());
        let q = SearchQuery::parse("NEAR(");
        assert_eq!(q.prefix, Some(term(&["NEAR"])));
    }

    #[test]
    fn highlights_in_utf16() {
        let q = SearchQuery::parse("cafe \"big deal\" he");
        // "😀" is two UTF-16 code units; "É" one.
        let content = "😀 Café! A BIG   deal, hello HE héllo shelf";
        let got = q.highlights(content);
        let utf16: Vec<u16> = content.encode_utf16().collect();
        let texts: Vec<String> = got
            .iter()
            .map(|(s, e)| String::from_utf16_lossy(&utf16[*s..*e]))
            .collect();
        assert_eq!(texts, ["Café", "BIG   deal", "hello", "HE", "héllo"]);
        assert_eq!(got[0], (3, 7));
        // Overlapping occurrences merge into one range.
        let q = SearchQuery::parse("\"a b\" \"b c\"");
        assert_eq!(q.highlights("a b c"), [(0, 5)]);
        // Nothing to highlight for filters alone.
        assert!(SearchQuery::parse("from:x").highlights("x").is_empty());
    }

    #[test]
    fn days_and_times() {
        assert_eq!(day_start("1970-01-01"), Some(0));
        assert_eq!(day_start("2024-02-29"), Some(1_709_164_800_000));
        // February 29th of a year without one is March 1st.
        assert_eq!(day_start("2023-02-29"), day_start("2023-03-01"));
        for bad in [
            "2024-13-01",
            "2024-04-31",
            "2024-1-01",
            "20240101",
            "2024-01-0x",
            "+024-01-01",
        ] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
        assert_eq!(parse_time("2024-05-02"), Some(1_714_608_000_000));
        assert_eq!(
            parse_time("2024-05-02T01:02:03.456Z"),
            Some(1_714_608_000_000 + 3_723_456)
        );
        assert_eq!(
            parse_time("2024-05-02T01:00:00+01:00"),
            Some(1_714_608_000_000)
        );
        for bad in [
            "2024-05-02T24:00:00Z",
            "2024-05-02T01:00:00",
            "2024-05-02 01:00:00Z",
            "x",
            "2024-05-02T01:00:0é",
            "2024-05-02T01:00:00é00:00",
            "2024-05-02Té",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        let rule = regex::Regex::new(DATE_PATTERN).ok();
        for ok in [
            "2024-05-02",
            "2024-02-29T23:59:59.123456789+05:30",
            "2024-12-31t00:00:00z",
        ] {
            assert!(rule.as_ref().is_some_and(|r| r.is_match(ok)), "{ok}");
            assert!(parse_time(ok).is_some(), "{ok}");
        }
    }
}
