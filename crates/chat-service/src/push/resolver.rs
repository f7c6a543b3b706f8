//! The push client's DNS. A subscription's endpoint was checked to name a public host when it
//! was stored (`domain::notifications`), but a public name may still resolve to a private
//! address — one pointed at an internal service, or rebound after the check. This resolver
//! keeps only public addresses, so the push client never connects inside the network; a name
//! with none fails the push like a host that does not answer (retried, then counted as
//! failed). IP-literal endpoints never reach a resolver and were checked when stored.
//! `PUSH_ALLOW_INSECURE_ENDPOINTS=true` (tests, development) uses the system resolver.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::notifications::is_public;

pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no public address; not pushing there").into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_with_only_private_addresses_is_refused() {
        let name: Name = "localhost".parse().unwrap();
        let err = match PublicOnly.resolve(name).await {
            Ok(addrs) => panic!("localhost resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(err) => err,
        };
        assert!(err.to_string().contains("no public address"), "{err}");
    }
}
