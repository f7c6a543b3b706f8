//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, 30-second steps,
//! six digits — what authenticator apps expect by default — and the `otpauth://` URI they scan.
//! SHA-1 is what RFC 6238 and the apps use here; an HMAC keeps it sound (RFC 4226, annex A.4).

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Steps either side of now a code may come from (clock drift and typing time: ±30 s).
pub const DRIFT_STEPS: i64 = 1;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
const SECRET_BYTES: usize = 20;

/// A TOTP shared secret: the raw bytes (kept by the server, shown once to the user in base32).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// A new random secret.
    pub fn generate() -> anyhow::Result<Self> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding: what authenticator apps take.
    pub fn to_base32(&self) -> String {
        base32(&self.0)
    }

    /// The code of step `counter` (RFC 4226 section 5.3: dynamic truncation, then the low
    /// `DIGITS` decimal digits).
    pub fn code_at_step(&self, counter: u64) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let tag = hmac::sign(&key, &counter.to_be_bytes());
        let mac = tag.as_ref();
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        format!(
            "{:0width$}",
            binary % 10u32.pow(DIGITS as u32),
            width = DIGITS
        )
    }

    /// The code of the step holding `unix_secs`.
    pub fn code_at(&self, unix_secs: i64) -> String {
        self.code_at_step(step_of(unix_secs))
    }

    /// The step (within `DRIFT_STEPS` of now) whose code `code` is, if any, comparing in
    /// constant time. The caller refuses a step at or before the last one it accepted, so a
    /// code is used once.
    pub fn matching_step(&self, code: &str, unix_secs: i64) -> Option<u64> {
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = step_of(unix_secs);
        let mut found = None;
        // Every candidate is computed and compared, so the time taken says nothing of which matched.
        for delta in -DRIFT_STEPS..=DRIFT_STEPS {
            let Some(step) = now.checked_add_signed(delta) else {
                continue;
            };
            let candidate = self.code_at_step(step);
            if aws_lc_rs::constant_time::verify_slices_are_equal(
                candidate.as_bytes(),
                code.as_bytes(),
            )
            .is_ok()
            {
                found = Some(step);
            }
        }
        found
    }

    /// The `otpauth://` URI an authenticator app scans (as a QR code drawn by the web app).
    pub fn provisioning_uri(&self, issuer: &str, account: &str) -> String {
        let issuer_enc = percent_encode(issuer);
        format!(
            "otpauth://totp/{issuer_enc}:{}?secret={}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            percent_encode(account),
            self.to_base32(),
        )
    }
}

/// The step number of a Unix time (steps before 1970 count as step 0).
pub fn step_of(unix_secs: i64) -> u64 {
    u64::try_from(unix_secs.div_euclid(STEP_SECS)).unwrap_or(0)
}

/// RFC 4648 base32, upper case, no padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 0x1f) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(
            ALPHABET[((buffer << (5 - bits)) & 0x1f) as usize],
        ));
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (the RFC prints 8 digits; ours are their last 6).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.code_at(time), eight[2..], "T = {time}");
        }
    }

    /// RFC 4226 appendix D: HOTP values for counters 0..9.
    #[test]
    fn rfc_4226_hotp_values() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(secret.code_at_step(counter as u64), *code);
        }
    }

    #[test]
    fn codes_match_within_one_step_either_side_only() {
        let secret = TotpSecret::generate().unwrap();
        let now = 1_800_000_015;
        let step = step_of(now);
        for delta in [-1i64, 0, 1] {
            let code = secret.code_at_step(step.checked_add_signed(delta).unwrap());
            assert_eq!(
                secret.matching_step(&code, now),
                Some(step.checked_add_signed(delta).unwrap())
            );
        }
        for delta in [-2i64, 2] {
            let code = secret.code_at_step(step.checked_add_signed(delta).unwrap());
            // Another step's code may collide by chance (1 in a million); this one must not match
            // as the step it came from.
            assert_ne!(
                secret.matching_step(&code, now),
                Some(step.checked_add_signed(delta).unwrap())
            );
        }
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(secret.matching_step(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn base32_follows_rfc_4648() {
        // RFC 4648 section 10, without padding.
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn the_uri_names_the_issuer_and_account() {
        let secret = TotpSecret::from_bytes(b"foobar".to_vec());
        assert_eq!(
            secret.provisioning_uri("Cloud Chat", "alice@example.com"),
            "otpauth://totp/Cloud%20Chat:alice%40example.com?secret=MZXW6YTBOI&issuer=Cloud%20Chat&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{secret:?}"), "TotpSecret(..)");
    }
}
