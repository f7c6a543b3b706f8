//! Notification preferences and Web Push subscriptions, parsed (docs/architecture.md,
//! "Notifications").

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use service_kit::FieldError;

/// Which messages notify a person: every message of their rooms, direct messages and
/// mentions only, or none.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    All,
    #[default]
    Mentions,
    None,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::All => "all",
            Level::Mentions => "mentions",
            Level::None => "none",
        }
    }

    /// The stored text (the column's CHECK allows only these); anything else is the default.
    pub fn from_column(raw: &str) -> Self {
        match raw {
            "all" => Level::All,
            "none" => Level::None,
            _ => Level::Mentions,
        }
    }
}

/// A mute end as the API takes it (RFC 3339), in Unix milliseconds. A time in the past is
/// accepted and means "not muted".
pub fn parse_muted_until(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<i64>, FieldError> {
    raw.map(|text| {
        store_kit::parse_rfc3339(text)
            .ok_or_else(|| FieldError::new(field, "must be an RFC 3339 date-time or null"))
    })
    .transpose()
}

/// The longest endpoint URL kept (push services' URLs are a few hundred characters).
pub const MAX_ENDPOINT_CHARS: usize = 2048;

/// A browser's push subscription (its `PushSubscription` JSON), checked: an endpoint URL,
/// the user agent's P-256 public key (65 bytes, uncompressed) and its 16-byte auth secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub endpoint: String,
    /// base64url without padding, as stored.
    pub p256dh: String,
    pub auth: String,
}

/// Why a subscription is refused: malformed (400) or an endpoint we will not call (422).
#[derive(Debug, PartialEq, Eq)]
pub enum SubscriptionError {
    Invalid(Vec<FieldError>),
    EndpointRefused(&'static str),
}

impl Subscription {
    /// `allow_insecure`: accept http and private or local hosts (tests, development).
    pub fn parse(
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        allow_insecure: bool,
    ) -> Result<Self, SubscriptionError> {
        let mut errors = Vec::new();
        let url = if endpoint.len() > MAX_ENDPOINT_CHARS {
            errors.push(FieldError::new(
                "endpoint",
                "must be at most 2048 characters",
            ));
            None
        } else {
            match reqwest::Url::parse(endpoint) {
                Ok(url) if url.host_str().is_some() && matches!(url.scheme(), "http" | "https") => {
                    Some(url)
                }
                _ => {
                    errors.push(FieldError::new(
                        "endpoint",
                        "must be an absolute http(s) URL",
                    ));
                    None
                }
            }
        };
        let p256dh = match decode_b64url(p256dh) {
            Some(bytes) if bytes.len() == 65 && crate::push::webpush::is_p256_point(&bytes) => {
                URL_SAFE_NO_PAD.encode(bytes)
            }
            _ => {
                errors.push(FieldError::new(
                    "keys.p256dh",
                    "must be a base64url P-256 public key (65 bytes, uncompressed)",
                ));
                String::new()
            }
        };
        let auth = match decode_b64url(auth) {
            Some(bytes) if bytes.len() == 16 => URL_SAFE_NO_PAD.encode(bytes),
            _ => {
                errors.push(FieldError::new(
                    "keys.auth",
                    "must be 16 bytes in base64url",
                ));
                String::new()
            }
        };
        let Some(url) = url.filter(|_| errors.is_empty()) else {
            return Err(SubscriptionError::Invalid(errors));
        };
        if !allow_insecure {
            check_public_https(&url).map_err(SubscriptionError::EndpointRefused)?;
        }
        Ok(Self {
            // As the browser gave it: the web app finds its subscription by this string.
            endpoint: endpoint.to_owned(),
            p256dh,
            auth,
        })
    }
}

/// base64url with or without padding (browsers send it without).
pub fn decode_b64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

/// The endpoint must be https on a public host: no IP literal of a private, loopback or
/// link-local network, no `localhost` or single-label names. A public name that resolves to
/// a private address is caught when pushing: the push client's resolver keeps only public
/// addresses (`push::resolver`).
fn check_public_https(url: &reqwest::Url) -> Result<(), &'static str> {
    if url.scheme() != "https" {
        return Err("must be an https URL");
    }
    let host = url.host_str().unwrap_or_default();
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return if is_public(ip) {
            Ok(())
        } else {
            Err("must name a public host")
        };
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    let local = name == "localhost"
        || [".localhost", ".local", ".internal", ".lan", ".home.arpa"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
        || !name.contains('.');
    if local {
        return Err("must name a public host");
    }
    Ok(())
}

pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            !(ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.is_documentation()
                || ip.is_multicast()
                // 100.64.0.0/10, carrier-grade NAT
                || (ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64))
        }
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = ip.segments()[0];
            !(ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link-local
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P256DH: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    fn parse(endpoint: &str) -> Result<Subscription, SubscriptionError> {
        Subscription::parse(endpoint, P256DH, AUTH, false)
    }

    #[test]
    fn endpoints_must_be_public_https() {
        assert!(parse("https://fcm.googleapis.com/fcm/send/abc").is_ok());
        assert!(parse("https://updates.push.services.mozilla.com/wpush/v2/x").is_ok());
        for refused in [
            "http://push.example.com/x",
            "https://localhost/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://192.168.0.1/x",
            "https://169.254.169.254/latest",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://intranet/x",
            "https://printer.local/x",
        ] {
            assert!(
                matches!(parse(refused), Err(SubscriptionError::EndpointRefused(_))),
                "{refused}"
            );
        }
        assert!(Subscription::parse("http://127.0.0.1:8000/push/1", P256DH, AUTH, true).is_ok());
        assert!(matches!(
            parse("not a url"),
            Err(SubscriptionError::Invalid(_))
        ));
        assert!(matches!(
            parse("ftp://x.example/"),
            Err(SubscriptionError::Invalid(_))
        ));
    }

    #[test]
    fn keys_must_have_the_right_lengths_and_be_a_point() {
        let bad = |p256dh: &str, auth: &str| {
            matches!(
                Subscription::parse("https://push.example.com/x", p256dh, auth, false),
                Err(SubscriptionError::Invalid(_))
            )
        };
        assert!(bad("AAAA", AUTH));
        assert!(bad(P256DH, "AAAA"));
        // 65 bytes that are not a point of the curve.
        let not_a_point = URL_SAFE_NO_PAD.encode([4u8; 65]);
        assert!(bad(&not_a_point, AUTH));
        // Padding is accepted and dropped.
        let padded = Subscription::parse(
            "https://push.example.com/x",
            P256DH,
            "BTBZMqHH6r4Tts7J_aSIgg==",
            false,
        );
        assert_eq!(padded.map(|s| s.auth).ok().as_deref(), Some(AUTH));
    }

    #[test]
    fn mute_ends_parse_as_rfc3339() {
        assert_eq!(parse_muted_until("mutedUntil", None), Ok(None));
        assert_eq!(
            parse_muted_until("mutedUntil", Some("2023-11-14T22:13:20.123Z")),
            Ok(Some(1_700_000_000_123))
        );
        assert!(parse_muted_until("mutedUntil", Some("tomorrow")).is_err());
    }
}
