//! What crosses Redis between relays, and its signature: every message is
//! `<hex HMAC-SHA256>.<JSON envelope>`, keyed by [`envelope_key`]. A relay drops, counts and
//! logs (rate-limited) a message that is unsigned or badly signed, so writing to Redis is not
//! enough to subscribe someone to a private room.

use aws_lc_rs::hmac;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wire::protocol::PresenceView;
use wire::{Control, Target};

/// One payload for one target, already serialised.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct FrameDelivery {
    pub target: Target,
    pub frame: String,
}

/// What crosses Redis between relays.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Envelope {
    pub origin: Uuid,
    #[serde(default)]
    pub deliveries: Vec<FrameDelivery>,
    #[serde(default)]
    pub control: Vec<Control>,
    /// Presence changes, for the connections that watch those users (`crate::presence`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub presence: Vec<PresenceView>,
}

/// The key that signs and checks envelopes, derived from the relay's internal key so that the
/// key itself never signs anything; every relay of a deployment derives the same one.
pub fn envelope_key(internal_key: &str) -> hmac::Key {
    let base = hmac::Key::new(hmac::HMAC_SHA256, internal_key.as_bytes());
    let derived = hmac::sign(&base, b"cloudchat ws-relay redis envelope v1");
    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
}

/// Length of the hex HMAC-SHA256 in front of a signed message.
const SIGNATURE_HEX: usize = 64;

/// `<hex HMAC-SHA256 of json>.<json>`, what goes on the channel.
pub fn seal(key: &hmac::Key, json: &str) -> String {
    let tag = hmac::sign(key, json.as_bytes());
    let mut out = String::with_capacity(SIGNATURE_HEX + 1 + json.len());
    for byte in tag.as_ref() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out.push('.');
    out.push_str(json);
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Why a message from Redis was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum Rejected {
    #[error("the message is not signed")]
    Unsigned,
    #[error("the message's signature does not match")]
    BadSignature,
}

impl Rejected {
    pub(super) fn label(self) -> &'static str {
        match self {
            Rejected::Unsigned => "unsigned",
            Rejected::BadSignature => "bad_signature",
        }
    }
}

/// The JSON of a signed message, if its signature holds (checked in constant time).
pub(super) fn open<'a>(key: &hmac::Key, message: &'a [u8]) -> Result<&'a [u8], Rejected> {
    if message.len() <= SIGNATURE_HEX || message[SIGNATURE_HEX] != b'.' {
        return Err(Rejected::Unsigned);
    }
    let (hex, json) = (&message[..SIGNATURE_HEX], &message[SIGNATURE_HEX + 1..]);
    let mut tag = [0u8; SIGNATURE_HEX / 2];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let digit = |c: u8| HEX.iter().position(|h| *h == c);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => tag[i] = (hi << 4 | lo) as u8,
            _ => return Err(Rejected::Unsigned),
        }
    }
    hmac::verify(key, json, &tag).map_err(|_| Rejected::BadSignature)?;
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_messages_open_only_with_the_same_key() {
        let key = envelope_key("one key");
        let sealed = seal(&key, r#"{"origin":"x"}"#);
        assert_eq!(open(&key, sealed.as_bytes()), Ok(&br#"{"origin":"x"}"#[..]));
        let other = envelope_key("another key");
        assert_eq!(open(&other, sealed.as_bytes()), Err(Rejected::BadSignature));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = b'y';
        assert_eq!(open(&key, &tampered), Err(Rejected::BadSignature));
        assert_eq!(open(&key, br#"{"origin":"x"}"#), Err(Rejected::Unsigned));
        let upper = sealed.to_uppercase();
        assert_eq!(open(&key, upper.as_bytes()), Err(Rejected::Unsigned));
        assert_eq!(open(&key, b""), Err(Rejected::Unsigned));
    }
}
