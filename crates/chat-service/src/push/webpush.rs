//! Web Push message encryption (RFC 8291, the `aes128gcm` content coding of RFC 8188) and
//! VAPID (RFC 8292), on aws-lc-rs. Pure: no I/O, so the RFC's example is a unit test.

use aws_lc_rs::agreement::{self, ECDH_P256, PrivateKey, UnparsedPublicKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use aws_lc_rs::{aead, hkdf};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// The record size we announce (RFC 8188); a push is always one record.
pub const RECORD_SIZE: u32 = 4096;
/// The most plaintext one record holds: the record size less the padding delimiter and the
/// AES-GCM tag.
pub const MAX_PLAINTEXT: usize = RECORD_SIZE as usize - 1 - 16;

/// Whether `bytes` is an uncompressed P-256 point (what `keys.p256dh` must be): a key
/// agreement with a throwaway key succeeds only for a valid point.
pub fn is_p256_point(bytes: &[u8]) -> bool {
    let Ok(mine) = PrivateKey::generate(&ECDH_P256) else {
        return false;
    };
    agreement::agree(&mine, UnparsedPublicKey::new(&ECDH_P256, bytes), (), |_| {
        Ok(())
    })
    .is_ok()
}

/// Encrypts `plaintext` for a subscription (`ua_public`: its `p256dh`, `auth`: its auth
/// secret) with a fresh key pair and salt: the body of the push request.
pub fn encrypt(plaintext: &[u8], ua_public: &[u8], auth: &[u8]) -> anyhow::Result<Vec<u8>> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    rng.fill(&mut salt)
        .map_err(|_| anyhow::anyhow!("no randomness for the salt"))?;
    let server = PrivateKey::generate(&ECDH_P256)
        .map_err(|_| anyhow::anyhow!("could not make an ECDH key"))?;
    encrypt_with(plaintext, ua_public, auth, &server, &salt)
}

/// [`encrypt`] with the server's key and the salt given (RFC 8291 section 3.4 and RFC 8188
/// section 2): `salt ‖ rs ‖ idlen ‖ keyid ‖ AES-128-GCM(plaintext ‖ 0x02)`.
fn encrypt_with(
    plaintext: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    server: &PrivateKey,
    salt: &[u8; 16],
) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(
        plaintext.len() <= MAX_PLAINTEXT,
        "a push holds at most {MAX_PLAINTEXT} bytes"
    );
    let as_public = server
        .compute_public_key()
        .map_err(|_| anyhow::anyhow!("could not compute the public key"))?;
    let as_public = as_public.as_ref();
    let ecdh_secret = agreement::agree(
        server,
        UnparsedPublicKey::new(&ECDH_P256, ua_public),
        anyhow::anyhow!("the subscription's key is not a P-256 point"),
        |shared| Ok(shared.to_vec()),
    )?;
    // IKM = HKDF(auth, ecdh_secret, "WebPush: info" ‖ 0 ‖ ua_public ‖ as_public, 32)
    let mut key_info = Vec::with_capacity(14 + 65 + 65);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(ua_public);
    key_info.extend_from_slice(as_public);
    let ikm = hkdf_sha256(auth, &ecdh_secret, &key_info, 32)?;
    let cek = hkdf_sha256(salt, &ikm, b"Content-Encoding: aes128gcm\0", 16)?;
    let nonce = hkdf_sha256(salt, &ikm, b"Content-Encoding: nonce\0", 12)?;

    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_128_GCM, &cek)
            .map_err(|_| anyhow::anyhow!("bad content-encryption key"))?,
    );
    let nonce =
        aead::Nonce::try_assume_unique_for_key(&nonce).map_err(|_| anyhow::anyhow!("bad nonce"))?;
    // One record, the last: its padding delimiter is 2, with no padding after it.
    let mut record = Vec::with_capacity(plaintext.len() + 1 + 16);
    record.extend_from_slice(plaintext);
    record.push(2);
    key.seal_in_place_append_tag(nonce, aead::Aad::empty(), &mut record)
        .map_err(|_| anyhow::anyhow!("encryption failed"))?;

    let mut body = Vec::with_capacity(16 + 4 + 1 + as_public.len() + record.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(as_public.len() as u8);
    body.extend_from_slice(as_public);
    body.extend_from_slice(&record);
    Ok(body)
}

/// The length of an HKDF output, for aws-lc-rs's `expand`.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA-256 (RFC 5869): extract with `salt`, expand `info` to `len` bytes.
fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], len: usize) -> anyhow::Result<Vec<u8>> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    let okm = prk
        .expand(&info, Len(len))
        .map_err(|_| anyhow::anyhow!("HKDF output too long"))?;
    let mut out = vec![0u8; len];
    okm.fill(&mut out)
        .map_err(|_| anyhow::anyhow!("HKDF failed"))?;
    Ok(out)
}

/// The server's VAPID key pair (RFC 8292): signs the token each push carries.
pub struct Vapid {
    key: EcdsaKeyPair,
    /// The public key, base64url without padding (what browsers pass as
    /// `applicationServerKey`, and the `k=` of each push).
    public: String,
    subject: String,
}

impl Vapid {
    /// From a base64url 32-byte P-256 scalar or a PKCS#8 PEM.
    pub fn from_private_key(text: &str, subject: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let key = if text.starts_with("-----BEGIN") {
            let der: String = text
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .map(str::trim)
                .collect();
            let der = STANDARD
                .decode(der)
                .map_err(|_| anyhow::anyhow!("the PEM's body is not base64"))?;
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .map_err(|e| anyhow::anyhow!("not a PKCS#8 P-256 private key: {e}"))?
        } else {
            let scalar = crate::domain::notifications::decode_b64url(text)
                .filter(|s| s.len() == 32)
                .ok_or_else(|| anyhow::anyhow!("must be 32 bytes in base64url, or a PKCS#8 PEM"))?;
            let public = PrivateKey::from_private_key(&ECDH_P256, &scalar)
                .map_err(|e| anyhow::anyhow!("not a P-256 private key: {e}"))?
                .compute_public_key()
                .map_err(|_| anyhow::anyhow!("could not compute the VAPID public key"))?;
            EcdsaKeyPair::from_private_key_and_public_key(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                &scalar,
                public.as_ref(),
            )
            .map_err(|e| anyhow::anyhow!("not a P-256 private key: {e}"))?
        };
        let public = URL_SAFE_NO_PAD.encode(key.public_key().as_ref());
        Ok(Self {
            key,
            public,
            subject: subject.to_owned(),
        })
    }

    /// A new private key, base64url (what `instance_secrets` keeps).
    pub fn generate_private_key() -> anyhow::Result<String> {
        let rng = SystemRandom::new();
        // A random 32-byte string is a valid scalar unless it is 0 or past the group order:
        // try again in that (astronomically rare) case.
        for _ in 0..8 {
            let mut scalar = [0u8; 32];
            rng.fill(&mut scalar)
                .map_err(|_| anyhow::anyhow!("no randomness for the VAPID key"))?;
            if PrivateKey::from_private_key(&ECDH_P256, &scalar).is_ok() {
                return Ok(URL_SAFE_NO_PAD.encode(scalar));
            }
        }
        anyhow::bail!("could not make a VAPID key")
    }

    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a push to `endpoint`: `vapid t=<ES256 JWT>, k=<key>`,
    /// the token for the endpoint's origin, valid 12 hours from `now_secs`.
    pub fn authorization(&self, endpoint: &str, now_secs: i64) -> anyhow::Result<String> {
        let url = reqwest::Url::parse(endpoint)?;
        let audience = url.origin().ascii_serialization();
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": audience,
            "exp": now_secs + 12 * 3600,
            "sub": self.subject,
        });
        let claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?);
        let signing_input = format!("{header}.{claims}");
        let signature = self
            .key
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .map_err(|_| anyhow::anyhow!("VAPID signing failed"))?;
        Ok(format!(
            "vapid t={signing_input}.{}, k={}",
            URL_SAFE_NO_PAD.encode(signature.as_ref()),
            self.public
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).unwrap()
    }

    /// RFC 8291 section 5 (and appendix A): fixed keys and salt give exactly the RFC's body.
    #[test]
    fn rfc8291_example() {
        let server = PrivateKey::from_private_key(
            &ECDH_P256,
            &b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"),
        )
        .unwrap();
        let ua_public = b64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        );
        let auth = b64("BTBZMqHH6r4Tts7J_aSIgg");
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let body = encrypt_with(
            b"When I grow up, I want to be a watermelon",
            &ua_public,
            &auth,
            &server,
            &salt,
        )
        .unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        );
    }

    #[test]
    fn fresh_encryptions_differ_and_too_long_is_refused() {
        let ua_public = b64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        );
        let auth = b64("BTBZMqHH6r4Tts7J_aSIgg");
        let a = encrypt(b"hi", &ua_public, &auth).unwrap();
        let b = encrypt(b"hi", &ua_public, &auth).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16 + 4 + 1 + 65 + 2 + 1 + 16);
        assert!(encrypt(&[b'x'; MAX_PLAINTEXT + 1], &ua_public, &auth).is_err());
        assert!(is_p256_point(&ua_public));
        assert!(!is_p256_point(&[4u8; 65]));
    }

    #[test]
    fn vapid_keys_load_and_sign() {
        let private = Vapid::generate_private_key().unwrap();
        let vapid = Vapid::from_private_key(&private, "mailto:ops@example.com").unwrap();
        assert_eq!(b64(vapid.public_key()).len(), 65);
        let again = Vapid::from_private_key(&private, "mailto:ops@example.com").unwrap();
        assert_eq!(vapid.public_key(), again.public_key());
        let header = vapid
            .authorization("https://push.example.com:8443/wpush/abc", 1_700_000_000)
            .unwrap();
        let (token, key) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap();
        assert_eq!(key, vapid.public_key());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value = serde_json::from_slice(&b64(parts[1])).unwrap();
        assert_eq!(claims["aud"], "https://push.example.com:8443");
        assert_eq!(claims["exp"], 1_700_000_000 + 12 * 3600);
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        let verifier = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
            b64(key),
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        assert!(verifier.verify(signed.as_bytes(), &b64(parts[2])).is_ok());
        assert!(Vapid::from_private_key("short", "mailto:x@y.z").is_err());
    }
}
