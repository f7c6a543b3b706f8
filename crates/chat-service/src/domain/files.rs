//! Upload and download inputs: a file's name as we keep it ([`FileName`]), its content type as
//! the bytes say ([`Sniffer`]), and a `Range` header against a file's size ([`ByteRange`]).

/// A file's name, sanitised: no path, no control characters or bidirectional overrides,
/// trimmed, at most 255 bytes (the extension kept), never empty (`file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

pub const MAX_FILE_NAME_BYTES: usize = 255;

/// Characters that reorder the text around them (a name that shows as `photo.exe` could
/// read `exe.otohp` to the browser): removed.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl FileName {
    /// Never fails: whatever the client sent becomes a name we can store and show.
    pub fn parse(raw: &str) -> Self {
        // The last path component, whichever separator the client's system uses.
        let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
        let cleaned: String = base
            .chars()
            .filter(|c| !c.is_control() && !is_bidi_control(*c))
            .collect();
        let trimmed = cleaned.trim();
        if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
            return Self("file".to_owned());
        }
        Self(truncate_keeping_extension(trimmed, MAX_FILE_NAME_BYTES))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `name` cut to `max` bytes on a character boundary, its extension (a short `.xyz` tail)
/// kept.
fn truncate_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let ext = name
        .rfind('.')
        .map(|i| &name[i..])
        .filter(|e| e.len() <= 16 && e.len() < name.len());
    let ext = ext.unwrap_or("");
    let room = max - ext.len();
    let mut end = room.min(name.len());
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", name[..end].trim_end(), ext)
}

/// Decides a file's content type from its bytes while they stream: a known binary signature
/// in the first bytes (`infer`), else `text/plain` when the whole file is UTF-8 text (no NUL),
/// else `application/octet-stream`. What the client claims is never used; markup (HTML, XML,
/// SVG) is plain text to us, so it can never be served as something a browser runs.
#[derive(Debug, Default)]
pub struct Sniffer {
    head: Vec<u8>,
    /// The end of an incomplete UTF-8 sequence from the previous chunk.
    carry: Vec<u8>,
    text: bool,
    started: bool,
}

/// How much of the start of a file `infer` looks at.
const SNIFF_BYTES: usize = 8192;

impl Sniffer {
    pub fn new() -> Self {
        Self {
            text: true,
            ..Self::default()
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        self.started = true;
        if self.head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if !self.text {
            return;
        }
        if chunk.contains(&0) {
            self.text = false;
            return;
        }
        let mut joined = std::mem::take(&mut self.carry);
        joined.extend_from_slice(chunk);
        match std::str::from_utf8(&joined) {
            Ok(_) => {}
            // Only an incomplete sequence at the very end may continue in the next chunk.
            Err(e) if e.error_len().is_none() => {
                self.carry = joined[e.valid_up_to()..].to_vec();
            }
            Err(_) => self.text = false,
        }
    }

    /// The content type of everything fed.
    pub fn content_type(&self) -> &'static str {
        if let Some(kind) = infer::get(&self.head)
            && kind.matcher_type() != infer::MatcherType::Text
        {
            return kind.mime_type();
        }
        if self.started && self.text && self.carry.is_empty() {
            "text/plain"
        } else {
            "application/octet-stream"
        }
    }
}

/// The image formats we read for dimensions and thumbnails, and serve inline.
pub fn is_inline_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/jpeg" | "image/png" | "image/gif" | "image/webp"
    )
}

/// What a `Range` header asks of a file of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// No range (or one we do not serve partially, such as several ranges): the whole file.
    Full,
    /// Bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// Nothing of the file matches: 416.
    Unsatisfiable,
}

impl ByteRange {
    /// A single `bytes=a-b`, `bytes=a-` or `bytes=-n`. Several ranges, other units or a
    /// malformed header are answered with the whole file (RFC 9110 allows ignoring `Range`).
    pub fn parse(header: Option<&str>, size: u64) -> Self {
        let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
            return ByteRange::Full;
        };
        if spec.contains(',') {
            return ByteRange::Full;
        }
        let Some((first, last)) = spec.trim().split_once('-') else {
            return ByteRange::Full;
        };
        let (first, last) = (first.trim(), last.trim());
        let parse = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        match (parse(first), parse(last)) {
            (Some(start), end) if end.is_none() == last.is_empty() => {
                if end.is_some_and(|e| e < start) {
                    return ByteRange::Full;
                }
                if start >= size {
                    return ByteRange::Unsatisfiable;
                }
                let end = end.map_or(size - 1, |e| e.min(size - 1));
                ByteRange::Partial { start, end }
            }
            (None, Some(suffix)) if first.is_empty() => {
                if suffix == 0 || size == 0 {
                    return ByteRange::Unsatisfiable;
                }
                ByteRange::Partial {
                    start: size.saturating_sub(suffix),
                    end: size - 1,
                }
            }
            _ => ByteRange::Full,
        }
    }
}

/// `Content-Disposition` for a download: `inline` for the images we show, `attachment` for
/// everything else, with the name as RFC 6266/8187 `filename*` (and an ASCII fallback).
pub fn content_disposition(content_type: &str, name: &str) -> String {
    let kind = if is_inline_image(content_type) {
        "inline"
    } else {
        "attachment"
    };
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        // RFC 8187 attr-char.
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised() {
        assert_eq!(FileName::parse("../../etc/passwd").as_str(), "passwd");
        assert_eq!(FileName::parse("C:\\Users\\a\\b.txt").as_str(), "b.txt");
        assert_eq!(
            FileName::parse("  \u{202E}gpj.exe\u{0007} ").as_str(),
            "gpj.exe"
        );
        assert_eq!(FileName::parse("").as_str(), "file");
        assert_eq!(FileName::parse("dir/").as_str(), "file");
        assert_eq!(FileName::parse("..").as_str(), "file");
        let long = format!("{}.jpeg", "é".repeat(300));
        let cut = FileName::parse(&long);
        assert!(cut.as_str().len() <= 255, "{}", cut.as_str().len());
        assert!(cut.as_str().ends_with(".jpeg"));
    }

    #[test]
    fn types_come_from_the_bytes() {
        let sniff = |chunks: &[&[u8]]| {
            let mut s = Sniffer::new();
            for c in chunks {
                s.feed(c);
            }
            s.content_type()
        };
        assert_eq!(sniff(&[b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"]), "image/png");
        assert_eq!(sniff(&[b"<html><script>alert(1)</script>"]), "text/plain");
        assert_eq!(sniff(&["caf\u{e9}".as_bytes()]), "text/plain");
        // A character split between chunks is still text.
        let e = "é".as_bytes();
        assert_eq!(sniff(&[&[b'a', e[0]], &[e[1], b'b']]), "text/plain");
        assert_eq!(sniff(&[b"a\xffb"]), "application/octet-stream");
        assert_eq!(sniff(&[b"a\0b"]), "application/octet-stream");
        assert_eq!(sniff(&[]), "application/octet-stream");
        // A PDF, even when the rest of it is text.
        assert_eq!(
            sniff(&[b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"]),
            "application/pdf"
        );
        assert_eq!(
            sniff(&[b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"]),
            "application/pdf"
        );
    }

    #[test]
    fn ranges() {
        use ByteRange::*;
        assert_eq!(ByteRange::parse(None, 10), Full);
        assert_eq!(
            ByteRange::parse(Some("bytes=0-3"), 10),
            Partial { start: 0, end: 3 }
        );
        assert_eq!(
            ByteRange::parse(Some("bytes=5-"), 10),
            Partial { start: 5, end: 9 }
        );
        assert_eq!(
            ByteRange::parse(Some("bytes=-4"), 10),
            Partial { start: 6, end: 9 }
        );
        assert_eq!(
            ByteRange::parse(Some("bytes=8-100"), 10),
            Partial { start: 8, end: 9 }
        );
        assert_eq!(ByteRange::parse(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(ByteRange::parse(Some("bytes=0-1,4-5"), 10), Full);
        assert_eq!(ByteRange::parse(Some("items=0-1"), 10), Full);
        assert_eq!(ByteRange::parse(Some("bytes=3-1"), 10), Full);
    }

    #[test]
    fn dispositions() {
        assert_eq!(
            content_disposition("image/png", "a b.png"),
            "inline; filename=\"a b.png\"; filename*=UTF-8''a%20b.png"
        );
        assert!(
            content_disposition("text/plain", "é.txt")
                .starts_with("attachment; filename=\"_.txt\"")
        );
    }
}
