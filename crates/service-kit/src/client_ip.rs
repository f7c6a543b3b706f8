//! The client's IP address. `X-Forwarded-For` is believed only when the TCP peer is a
//! configured trusted proxy (nginx); from anyone else the header is ignored, so a client
//! cannot pick its own rate-limit key by spoofing it.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

use crate::ConfigError;

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a list of IPs and CIDRs (`10.0.0.0/8`, `127.0.0.1`).
    pub fn parse(var: &str, items: &[String]) -> Result<Self, ConfigError> {
        items
            .iter()
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        ConfigError::new(var, format!("{item:?} is not an IP address or CIDR"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn none() -> Self {
        Self(Vec::new())
    }

    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The address of the client: the peer, or — when the peer is trusted — the right-most
    /// address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = canonical(req.peer_addr()?.ip());
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .collect();
        let chosen = forwarded
            .iter()
            .rev()
            .find(|ip| !self.is_trusted(**ip))
            .or(forwarded.first())
            .copied();
        Some(chosen.unwrap_or(peer))
    }
}

/// The key that rate limits count a client address under: an IPv4 address as it is, an IPv6
/// address by its /64 (one customer's prefix: a client that owns a /64 must not get a fresh
/// bucket per address).
pub fn address_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn req(peer: &str, xff: Option<&str>) -> HttpRequest {
        let mut r = TestRequest::default().peer_addr(format!("{peer}:5000").parse().unwrap());
        if let Some(x) = xff {
            r = r.insert_header(("x-forwarded-for", x));
        }
        r.to_http_request()
    }

    #[test]
    fn untrusted_peer_header_is_ignored() {
        let proxies = TrustedProxies::parse("T", &["10.0.0.0/8".into()]).unwrap();
        let ip = proxies.client_ip(&req("203.0.113.9", Some("1.2.3.4")));
        assert_eq!(ip, Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn trusted_peer_yields_rightmost_untrusted() {
        let proxies = TrustedProxies::parse("T", &["10.0.0.0/8".into()]).unwrap();
        let ip = proxies.client_ip(&req("10.0.0.2", Some("6.6.6.6, 198.51.100.7, 10.0.0.9")));
        assert_eq!(ip, Some("198.51.100.7".parse().unwrap()));
        let ip = proxies.client_ip(&req("10.0.0.2", None));
        assert_eq!(ip, Some("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn ipv6_clients_share_their_slash_64() {
        let a = address_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = address_key("2001:db8:1:2:ffff:1:2:3".parse().unwrap());
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, address_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(
            address_key("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1"
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(TrustedProxies::parse("T", &["nope".into()]).is_err());
    }
}
