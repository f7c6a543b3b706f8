//! `connections`: opens N idle authenticated WebSockets, measures how fast the relay accepts
//! them (up to its `ready` frame, i.e. authenticated and subscribed) and what they cost in the
//! relay's resident memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use wire::protocol::Ready;
use wire::{Reply, ServerFrame};

use crate::args::Args;
use crate::net::{Ws, connect_ws};
use crate::setup::load;
use crate::stats::{Samples, percentiles, rss_kib};

/// Reads frames until `ready` arrives; anything else first (an `error`, a close) is a failure.
pub(crate) async fn wait_ready(ws: &mut Ws) -> Result<Ready> {
    while let Some(frame) = ws.next().await {
        match frame? {
            Message::Text(t) => match serde_json::from_str::<Reply>(t.as_str()) {
                Ok(Reply {
                    frame: ServerFrame::Ready(ready),
                    ..
                }) => return Ok(ready),
                Ok(Reply {
                    frame: ServerFrame::Error(error),
                    ..
                }) => bail!(
                    "error before ready: {} {}",
                    error.code.as_str(),
                    error.message
                ),
                _ => {}
            },
            Message::Close(c) => bail!("closed before ready: {c:?}"),
            _ => {}
        }
    }
    bail!("connection ended before ready")
}

/// Keeps a connection open and answered (tungstenite replies to pings while we read).
async fn hold(mut ws: Ws, closed: Arc<AtomicUsize>) {
    while let Some(Ok(frame)) = ws.next().await {
        if matches!(frame, Message::Close(_)) {
            break;
        }
    }
    closed.fetch_add(1, Ordering::Relaxed);
}

pub(crate) async fn run(a: &Args) -> Result<Value> {
    let url = a.str("ws")?;
    let pop = load(&a.str("users")?)?;
    let n: usize = a.get("n", 1000)?;
    let concurrency: usize = a.get("concurrency", 200)?;
    let origin = a.opt_str("origin");
    let pid: Option<u32> = a.opt_str("pid").and_then(|p| p.parse().ok());
    let settle: u64 = a.get("settle-secs", 3)?;
    if pop.users.is_empty() {
        bail!("no users in the population file");
    }
    let rss_before = pid.and_then(rss_kib);
    let gate = Arc::new(Semaphore::new(concurrency));
    let latencies = Arc::new(Samples::new());
    let closed = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<
        String,
        u64,
    >::new()));
    let ok = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let user = &pop.users[i % pop.users.len()];
        let protocol = format!("cloudchat.v1, bearer.{}", user.token);
        let (url, origin) = (url.clone(), origin.clone());
        let (gate, latencies, closed, errors, ok) = (
            gate.clone(),
            latencies.clone(),
            closed.clone(),
            errors.clone(),
            ok.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let Ok(permit) = gate.acquire_owned().await else {
                return None;
            };
            let t0 = Instant::now();
            let attempt = async {
                let mut ws = connect_ws(&url, i, origin.as_deref(), Some(&protocol)).await?;
                wait_ready(&mut ws).await?;
                anyhow::Ok(ws)
            };
            let result = tokio::time::timeout(Duration::from_secs(30), attempt).await;
            drop(permit);
            match result {
                Ok(Ok(ws)) => {
                    latencies.record(i, t0.elapsed().as_micros() as u64);
                    ok.fetch_add(1, Ordering::Relaxed);
                    Some(tokio::spawn(hold(ws, closed)))
                }
                Ok(Err(e)) => {
                    let key = format!("{:#}", e).chars().take(120).collect::<String>();
                    if let Ok(mut m) = errors.lock() {
                        *m.entry(key).or_insert(0) += 1;
                    }
                    None
                }
                Err(_) => {
                    if let Ok(mut m) = errors.lock() {
                        *m.entry("timeout (30 s)".to_owned()).or_insert(0) += 1;
                    }
                    None
                }
            }
        }));
    }
    let mut holders = Vec::with_capacity(n);
    for t in tasks {
        if let Ok(Some(h)) = t.await {
            holders.push(h);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let opened = ok.load(Ordering::Relaxed);
    eprintln!(
        "connections: {opened}/{n} ready in {secs:.2}s ({:.0}/s)",
        opened as f64 / secs
    );
    // Let the relay finish its per-connection work (subscriptions, buffers) before weighing it.
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let rss_after = pid.and_then(rss_kib);
    let dropped_while_idle = closed.load(Ordering::Relaxed);
    for h in &holders {
        h.abort();
    }
    let per_conn = match (rss_before, rss_after) {
        (Some(b), Some(a)) if opened > 0 => Some((a.saturating_sub(b)) as f64 / opened as f64),
        _ => None,
    };
    let errors = errors.lock().map(|m| m.clone()).unwrap_or_default();
    Ok(json!({
        "n": n,
        "opened": opened,
        "failed": n - opened,
        "droppedWhileIdle": dropped_while_idle,
        "secs": secs,
        "acceptPerSec": opened as f64 / secs,
        "connectLatency": percentiles(latencies.take()),
        "rssBeforeKiB": rss_before,
        "rssAfterKiB": rss_after,
        "rssPerConnKiB": per_conn,
        "errors": errors,
    }))
}
