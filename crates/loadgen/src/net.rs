//! Client connections spread over loopback source addresses.
//!
//! Every load-generator connection comes from 127.0.0.1 otherwise: 20,000 sockets would crowd
//! one address's ephemeral ports, and the per-IP rate limits of registration would count a
//! whole benchmark as one abusive client. Linux routes all of 127.0.0.0/8 to the loopback
//! interface, so binding to 127.0.0.x gives distinct, real client addresses.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{Context, Result};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Source addresses used: 127.0.0.2 ..= 127.0.0.(1 + SOURCE_IPS).
pub(crate) const SOURCE_IPS: usize = 200;

pub(crate) fn source_ip(i: usize) -> Ipv4Addr {
    // i % 200 + 2 is at most 201: it fits in a u8.
    Ipv4Addr::new(127, 0, 0, (i % SOURCE_IPS + 2) as u8)
}

pub(crate) type Ws = WebSocketStream<TcpStream>;

/// Opens a WebSocket from source address `i`, with optional `Origin` and subprotocol headers.
pub(crate) async fn connect_ws(
    url: &str,
    i: usize,
    origin: Option<&str>,
    protocol: Option<&str>,
) -> Result<Ws> {
    let mut req = url.into_client_request().context("websocket url")?;
    let uri = req.uri().clone();
    let host = uri.host().context("url without host")?;
    let port = uri.port_u16().unwrap_or(80);
    let ip: Ipv4Addr = if host == "localhost" {
        Ipv4Addr::LOCALHOST
    } else {
        host.parse()
            .context("the load generator connects to IPv4 addresses")?
    };
    if let Some(o) = origin {
        req.headers_mut()
            .insert("origin", HeaderValue::from_str(o).context("origin header")?);
    }
    if let Some(p) = protocol {
        req.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(p).context("protocol header")?,
        );
    }
    let socket = TcpSocket::new_v4().context("socket")?;
    socket
        .bind(SocketAddr::from((source_ip(i), 0)))
        .context("binding a loopback source address")?;
    let stream = socket
        .connect(SocketAddr::from((ip, port)))
        .await
        .context("tcp connect")?;
    stream.set_nodelay(true).context("nodelay")?;
    let (ws, _resp) = tokio_tungstenite::client_async(req, stream)
        .await
        .context("websocket handshake")?;
    Ok(ws)
}

/// An HTTP client whose connections leave from source address `i`.
pub(crate) fn http_client(i: usize) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::V4(source_ip(i)))
        .timeout(std::time::Duration::from_secs(60))
        .pool_max_idle_per_host(64)
        .build()
        .context("http client")
}
