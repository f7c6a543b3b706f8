//! The second factor's pieces that are neither SQL nor HTTP: the code a person types (a TOTP
//! code or a recovery code), recovery codes, the encryption of TOTP secrets at rest, and the
//! clock TOTP codes are checked against. RFC 6238 itself is [`crate::domain::totp`].

use std::sync::atomic::{AtomicI64, Ordering};

use anyhow::Context;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::{aead, hkdf};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use uuid::Uuid;

use crate::domain::totp::{DIGITS, TotpSecret};

/// Recovery codes per account.
pub const RECOVERY_CODES: usize = 10;
/// Base32 characters per recovery code (50 bits: SHA-256 is enough, as nobody can try 2^50
/// codes against a rate-limited log-in, and a stolen table reveals nothing usable).
const RECOVERY_CODE_CHARS: usize = 10;
/// The name of the stored key in `instance_secrets`, when `TOTP_ENCRYPTION_KEY` is not set.
pub const KEY_SECRET_NAME: &str = "totp_encryption_key";

/// What a person typed as their second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaCode {
    /// Six digits from the authenticator app.
    Totp(String),
    /// A recovery code, normalised (upper case, no separators).
    Recovery(String),
}

impl MfaCode {
    /// Six digits (spaces allowed) are a TOTP code; ten or more base32 characters (dashes and
    /// spaces allowed, any case) a recovery code; anything else is no code at all.
    pub fn parse(raw: &str) -> Option<Self> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if compact.len() == DIGITS && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Self::Totp(compact));
        }
        let upper = compact.to_ascii_uppercase();
        let base32 = |b: u8| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b);
        if (RECOVERY_CODE_CHARS..=64).contains(&upper.len()) && upper.bytes().all(base32) {
            return Some(Self::Recovery(upper));
        }
        None
    }
}

/// The stored form of a recovery code: the hex SHA-256 of its normalised text.
pub fn recovery_code_hash(normalised: &str) -> String {
    crate::domain::SecretToken::hash(normalised)
}

/// Ten new recovery codes, shown as `XXXXX-XXXXX`.
pub fn new_recovery_codes() -> anyhow::Result<Vec<String>> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let rng = SystemRandom::new();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_CODE_CHARS];
            rng.fill(&mut bytes)
                .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
            let chars: String = bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b & 0x1f)]))
                .collect();
            Ok(format!("{}-{}", &chars[..5], &chars[5..]))
        })
        .collect()
}

/// What handlers share for the second factor: the secrets' sealer and the clock.
pub struct Mfa {
    pub sealer: SecretBox,
    pub clock: MfaClock,
}

impl Mfa {
    /// From `TOTP_ENCRYPTION_KEY`, else from the key in `instance_secrets` (made on the first
    /// start, shared by the replicas).
    pub async fn load(
        settings: &crate::config::MfaSettings,
        pool: &sqlx::AnyPool,
    ) -> anyhow::Result<Self> {
        let secret = match &settings.encryption_key {
            Some(key) => key.to_vec(),
            None => {
                let stored = crate::store::mfa::instance_secret(
                    pool,
                    KEY_SECRET_NAME,
                    SecretBox::generate_instance_secret,
                    store_kit::now_ms(),
                )
                .await?;
                SecretBox::decode_instance_secret(&stored)?
            }
        };
        Ok(Self {
            sealer: SecretBox::new(&secret)?,
            clock: MfaClock::default(),
        })
    }
}

/// Encrypts TOTP secrets at rest: AES-256-GCM under a key derived with HKDF-SHA-256 from the
/// instance secret, each secret under a fresh random nonce and bound to its user (the user id
/// is the associated data, so a row copied to another account does not decrypt).
pub struct SecretBox {
    key: aead::LessSafeKey,
}

impl SecretBox {
    /// HKDF's fixed salt and info: a change of either makes every stored secret unreadable.
    const SALT: &'static [u8] = b"cloudchat auth-service";
    const INFO: &'static [u8] = b"totp secret encryption v1";

    pub fn new(instance_secret: &[u8]) -> anyhow::Result<Self> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, Self::SALT).extract(instance_secret);
        let okm = prk
            .expand(&[Self::INFO], &aead::AES_256_GCM)
            .map_err(|_| anyhow::anyhow!("HKDF expansion failed"))?;
        Ok(Self {
            key: aead::LessSafeKey::new(aead::UnboundKey::from(okm)),
        })
    }

    /// A new random instance secret (base64 of 32 bytes), as `instance_secrets` keeps it.
    pub fn generate_instance_secret() -> anyhow::Result<String> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
        Ok(STANDARD.encode(bytes))
    }

    /// The stored instance secret's bytes.
    pub fn decode_instance_secret(stored: &str) -> anyhow::Result<Vec<u8>> {
        STANDARD
            .decode(stored)
            .context("the stored TOTP encryption key is not base64")
    }

    /// base64(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, user_id: Uuid, secret: &TotpSecret) -> anyhow::Result<String> {
        let mut nonce = [0u8; aead::NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
        let mut data = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(user_id.as_bytes()),
                &mut data,
            )
            .map_err(|_| anyhow::anyhow!("encrypting a TOTP secret failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(STANDARD.encode(out))
    }

    pub fn open(&self, user_id: Uuid, sealed: &str) -> anyhow::Result<TotpSecret> {
        let mut bytes = STANDARD
            .decode(sealed)
            .context("a stored TOTP secret is not base64")?;
        if bytes.len() < aead::NONCE_LEN {
            anyhow::bail!("a stored TOTP secret is too short");
        }
        let mut data = bytes.split_off(aead::NONCE_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(&bytes)
            .map_err(|_| anyhow::anyhow!("a stored TOTP secret has a bad nonce"))?;
        let plain = self
            .key
            .open_in_place(nonce, aead::Aad::from(user_id.as_bytes()), &mut data)
            .map_err(|_| {
                anyhow::anyhow!(
                    "a stored TOTP secret does not decrypt (another TOTP_ENCRYPTION_KEY?)"
                )
            })?;
        Ok(TotpSecret::from_bytes(plain.to_vec()))
    }
}

/// The time TOTP codes and log-in challenges are checked against: the system clock, shifted
/// by an offset that only tests set (through [`MfaClock::shift_for_tests`]; nothing in the
/// configuration reaches it), so that "a code from 30 s ago" or "the next step" is tested
/// without sleeping.
#[derive(Default)]
pub struct MfaClock {
    offset_ms: AtomicI64,
}

impl MfaClock {
    pub fn now_ms(&self) -> i64 {
        store_kit::now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves this clock by `secs` (tests only).
    #[doc(hidden)]
    pub fn shift_for_tests(&self, secs: i64) {
        self.offset_ms.fetch_add(secs * 1000, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_totp_or_recovery_or_nothing() {
        assert_eq!(
            MfaCode::parse(" 123 456 "),
            Some(MfaCode::Totp("123456".into()))
        );
        assert_eq!(
            MfaCode::parse("abcde-fgh23"),
            Some(MfaCode::Recovery("ABCDEFGH23".into()))
        );
        for bad in [
            "",
            "12345",
            "1234567",
            "ABCDE",
            "ABCDE-FGH1J",
            "１２３４５６",
        ] {
            assert_eq!(MfaCode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_parse_back() {
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert!(matches!(MfaCode::parse(code), Some(MfaCode::Recovery(c)) if c.len() == 10));
        }
    }

    #[test]
    fn sealed_secrets_open_only_for_their_user_and_key() {
        let sealer = SecretBox::new(&[7u8; 32]).unwrap();
        let secret = TotpSecret::generate().unwrap();
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = sealer.seal(alice, &secret).unwrap();
        assert_ne!(sealer.seal(alice, &secret).unwrap(), sealed, "fresh nonce");
        assert_eq!(sealer.open(alice, &sealed).unwrap(), secret);
        assert!(sealer.open(bob, &sealed).is_err());
        assert!(
            SecretBox::new(&[8u8; 32])
                .unwrap()
                .open(alice, &sealed)
                .is_err()
        );
        assert!(!sealed.contains(&secret.to_base32()));
    }

    #[test]
    fn the_clock_moves_only_when_told() {
        let clock = MfaClock::default();
        let before = clock.now_secs();
        clock.shift_for_tests(-30);
        assert!((before - 31..=before - 29).contains(&clock.now_secs()));
    }
}
