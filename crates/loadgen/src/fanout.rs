//! `fanout`: R rooms x M members, one connection per member, some members sending 100-byte
//! messages at a controlled total rate; counts acks (persisted sends), deliveries and
//! send→receive latency, at each rate of a list (a latency–throughput curve).
//!
//! `--proto nats` runs the same shape against a NATS server's WebSocket listener (one subject
//! per room, no persistence, no authorization): the ceiling we compare ourselves with.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt, stream};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use wire::protocol::SendMessage;
use wire::{ClientAction, ClientFrame, FrameId};

use crate::args::Args;
use crate::connections::wait_ready;
use crate::net::{Ws, connect_ws};
use crate::setup::load;
use crate::stats::{CpuWatch, Samples, percentiles};

const CONTENT_BYTES: usize = 100;

#[derive(Clone, Copy, PartialEq)]
enum Proto {
    CloudChat,
    Nats,
}

type Sink = Arc<tokio::sync::Mutex<SplitSink<Ws, Message>>>;

/// Counters shared by every connection task; reset between runs by taking them.
struct Shared {
    t0: Instant,
    measuring: AtomicBool,
    acks: AtomicU64,
    sent: AtomicU64,
    skipped: AtomicU64,
    deliveries: AtomicU64,
    closed: AtomicU64,
    latency: Samples,
    ack_latency: Samples,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    fn error(&self, key: String) {
        if let Ok(mut m) = self.errors.lock() {
            *m.entry(key).or_insert(0) += 1;
        }
    }
    fn now_us(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }
}

/// The content of a benchmark message: the send time first, so that any receiver can compute
/// the latency, padded to exactly 100 bytes.
fn content(shared: &Shared, sender: usize) -> String {
    let mut s = format!("{:016} s{sender} ", shared.now_us());
    while s.len() < CONTENT_BYTES {
        s.push('x');
    }
    s.truncate(CONTENT_BYTES);
    s
}

/// A `sendMessage` frame with a fresh clientMsgId.
fn send_frame(seq: u64, room: i64, content: String) -> String {
    let frame = ClientFrame {
        id: Some(FrameId::Number(seq.into())),
        action: ClientAction::SendMessage(SendMessage {
            room_id: room,
            content,
            client_msg_id: Some(uuid::Uuid::new_v4().to_string()),
            reply_to_id: None,
            attachment_ids: Vec::new(),
        }),
    };
    serde_json::to_string(&frame).unwrap_or_default()
}

fn sent_at(content: &str) -> Option<u64> {
    content.get(..16)?.parse().ok()
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    message: Option<Body<'a>>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
}

/// `message` is the stored message in `message`/`ack` frames and a human text in `error`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Body<'a> {
    #[serde(borrow)]
    Stored(Msg<'a>),
    /// Not needed: the `code` says what went wrong.
    Other(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Msg<'a> {
    #[serde(borrow)]
    content: Cow<'a, str>,
}

/// One send answered; saturating, since a late answer may come after a reset between runs.
fn release(inflight: &AtomicUsize) {
    let _ = inflight.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
        Some(v.saturating_sub(1))
    });
}

fn on_delivery(shared: &Shared, shard: usize, content: &str) {
    if shared.measuring.load(Ordering::Relaxed) {
        shared.deliveries.fetch_add(1, Ordering::Relaxed);
        if let Some(t) = sent_at(content) {
            shared
                .latency
                .record(shard, shared.now_us().saturating_sub(t));
        }
    }
}

async fn read_cloudchat(
    mut rx: SplitStream<Ws>,
    shared: Arc<Shared>,
    inflight: Arc<AtomicUsize>,
    shard: usize,
) {
    while let Some(frame) = rx.next().await {
        let text = match frame {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(c)) => {
                let code = c.map(|c| u16::from(c.code)).unwrap_or(0);
                shared.error(format!("close {code}"));
                break;
            }
            Ok(_) => continue,
            Err(e) => {
                shared.error(format!("read: {e}"));
                break;
            }
        };
        let Ok(f) = serde_json::from_str::<Frame>(text.as_str()) else {
            let head: String = text.as_str().chars().take(60).collect();
            shared.error(format!("unparsable frame {head}"));
            continue;
        };
        match (f.kind.as_ref(), f.message) {
            ("message", Some(Body::Stored(m))) => on_delivery(&shared, shard, &m.content),
            ("ack", Some(Body::Stored(m))) => {
                release(&inflight);
                if shared.measuring.load(Ordering::Relaxed) {
                    shared.acks.fetch_add(1, Ordering::Relaxed);
                    if let Some(t) = sent_at(&m.content) {
                        shared
                            .ack_latency
                            .record(shard, shared.now_us().saturating_sub(t));
                    }
                }
            }
            ("error", _) => {
                // An error answering a send frees its slot too (it carries the frame's id).
                if text.as_str().contains("\"id\"") {
                    release(&inflight);
                }
                shared.error(format!(
                    "error {}",
                    f.code.as_deref().unwrap_or("without code")
                ));
            }
            _ => {}
        }
    }
    shared.closed.fetch_add(1, Ordering::Relaxed);
}

/// NATS protocol over WebSocket: frames may hold several protocol messages or part of one.
async fn read_nats(mut rx: SplitStream<Ws>, tx: Sink, shared: Arc<Shared>, shard: usize) {
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = rx.next().await {
        match frame {
            Ok(Message::Binary(b)) => buf.extend_from_slice(&b),
            Ok(Message::Text(t)) => buf.extend_from_slice(t.as_bytes()),
            Ok(Message::Close(_)) | Err(_) => {
                shared.error("nats connection closed".to_owned());
                break;
            }
            Ok(_) => continue,
        }
        let mut pos = 0;
        while let Some(eol) = buf[pos..].windows(2).position(|w| w == b"\r\n") {
            let line = &buf[pos..pos + eol];
            if line.starts_with(b"MSG ") {
                // MSG <subject> <sid> [reply-to] <#bytes>
                let len: Option<usize> = std::str::from_utf8(line)
                    .ok()
                    .and_then(|l| l.rsplit(' ').next())
                    .and_then(|n| n.parse().ok());
                let Some(len) = len else {
                    shared.error("bad nats MSG line".to_owned());
                    buf.clear();
                    pos = 0;
                    break;
                };
                let start = pos + eol + 2;
                if buf.len() < start + len + 2 {
                    break; // the payload is still on its way
                }
                let payload = String::from_utf8_lossy(&buf[start..start + len]);
                on_delivery(&shared, shard, &payload);
                pos = start + len + 2;
            } else {
                if line == b"PING" {
                    let _ = tx
                        .lock()
                        .await
                        .send(Message::Binary(b"PONG\r\n".to_vec().into()))
                        .await;
                } else if line.starts_with(b"-ERR") {
                    shared.error(String::from_utf8_lossy(line).into_owned());
                }
                pos += eol + 2;
            }
        }
        buf.drain(..pos);
    }
    shared.closed.fetch_add(1, Ordering::Relaxed);
}

struct Conn {
    sink: Sink,
    inflight: Arc<AtomicUsize>,
    room: i64,
    sender: bool,
}

async fn open(
    proto: Proto,
    url: &str,
    i: usize,
    token: &str,
    room: i64,
    origin: Option<&str>,
) -> Result<Ws> {
    match proto {
        Proto::CloudChat => {
            let protocol = format!("cloudchat.v1, bearer.{token}");
            let mut ws = connect_ws(url, i, origin, Some(&protocol)).await?;
            let ready = wait_ready(&mut ws).await?;
            if !ready.rooms.contains(&room) {
                bail!("ready frame does not list room {room}");
            }
            Ok(ws)
        }
        Proto::Nats => {
            let mut ws = connect_ws(url, i, None, None).await?;
            let hello = format!(
                "CONNECT {{\"verbose\":false,\"pedantic\":false,\"echo\":true}}\r\nSUB room.{room} 1\r\nPING\r\n"
            );
            ws.send(Message::Binary(hello.into_bytes().into())).await?;
            // The PONG to our PING says the subscription is registered.
            let mut seen = Vec::new();
            while let Some(frame) = ws.next().await {
                if let Message::Binary(b) = frame? {
                    seen.extend_from_slice(&b);
                }
                if seen.windows(6).any(|w| w == b"PONG\r\n") {
                    return Ok(ws);
                }
                if seen.windows(4).any(|w| w == b"-ERR") {
                    bail!("nats: {}", String::from_utf8_lossy(&seen));
                }
            }
            bail!("nats connection ended during subscribe")
        }
    }
}

pub(crate) async fn run(a: &Args) -> Result<Value> {
    let proto = match a.get("proto", "cloudchat".to_owned())?.as_str() {
        "cloudchat" => Proto::CloudChat,
        "nats" => Proto::Nats,
        other => bail!("--proto {other}: cloudchat or nats"),
    };
    let urls: Vec<String> = a.list("ws", "")?;
    if urls.is_empty() {
        bail!("--ws is required");
    }
    let pop = load(&a.str("users")?)?;
    let rates: Vec<f64> = a.list("rates", "1000")?;
    let reps: usize = a.get("reps", 3)?;
    let warmup: f64 = a.get("warmup-secs", 2.0)?;
    let duration: f64 = a.get("duration-secs", 8.0)?;
    let senders_per_room: usize = a.get("senders-per-room", 2)?;
    let max_inflight: usize = a.get("max-inflight", 32)?;
    let origin = a.opt_str("origin");
    let watch = CpuWatch::parse(a.opt_str("watch-pids"), a.opt_str("watch-comms"));

    let shared = Arc::new(Shared {
        t0: Instant::now(),
        measuring: AtomicBool::new(false),
        acks: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        skipped: AtomicU64::new(0),
        deliveries: AtomicU64::new(0),
        closed: AtomicU64::new(0),
        latency: Samples::new(),
        ack_latency: Samples::new(),
        errors: Mutex::new(BTreeMap::new()),
    });

    // Members, with their position in the room (the first few of each room send).
    let mut position: BTreeMap<i64, usize> = BTreeMap::new();
    let members: Vec<(usize, &crate::setup::User, i64, bool)> = pop
        .users
        .iter()
        .enumerate()
        .filter_map(|(i, u)| {
            let room = u.room?;
            let p = position.entry(room).or_insert(0);
            *p += 1;
            Some((i, u, room, *p <= senders_per_room))
        })
        .collect();
    let room_size = members.len() as f64 / pop.rooms.len().max(1) as f64;
    let started = Instant::now();
    let opened: Vec<Result<Conn>> = stream::iter(members)
        .map(|(i, u, room, sender)| {
            let url = urls[i % urls.len()].clone();
            let (origin, shared) = (origin.clone(), shared.clone());
            let token = u.token.clone();
            async move {
                let ws = tokio::time::timeout(
                    Duration::from_secs(30),
                    open(proto, &url, i, &token, room, origin.as_deref()),
                )
                .await
                .context("connect timed out")??;
                let (tx, rx) = ws.split();
                let sink: Sink = Arc::new(tokio::sync::Mutex::new(tx));
                let inflight = Arc::new(AtomicUsize::new(0));
                match proto {
                    Proto::CloudChat => {
                        tokio::spawn(read_cloudchat(rx, shared, inflight.clone(), i));
                    }
                    Proto::Nats => {
                        tokio::spawn(read_nats(rx, sink.clone(), shared, i));
                    }
                }
                Ok(Conn {
                    sink,
                    inflight,
                    room,
                    sender,
                })
            }
        })
        .buffer_unordered(100)
        .collect()
        .await;
    let mut conns = Vec::new();
    let mut connect_errors: BTreeMap<String, u64> = BTreeMap::new();
    for c in opened {
        match c {
            Ok(c) => conns.push(c),
            Err(e) => *connect_errors.entry(format!("{e:#}")).or_insert(0) += 1,
        }
    }
    eprintln!(
        "fanout: {} connections open in {:.1}s ({} failed)",
        conns.len(),
        started.elapsed().as_secs_f64(),
        connect_errors.values().sum::<u64>()
    );
    if conns.is_empty() {
        bail!("no connection could be opened: {connect_errors:?}");
    }
    let conns = Arc::new(conns);
    let senders: Vec<usize> = (0..conns.len()).filter(|&k| conns[k].sender).collect();

    let mut runs = Vec::new();
    for &rate in &rates {
        for rep in 0..reps {
            let run = one_run(
                proto,
                &shared,
                &conns,
                &senders,
                rate,
                warmup,
                duration,
                max_inflight,
                &watch,
            )
            .await;
            eprintln!(
                "fanout {}: rate {rate}/s rep {}: sends {:.0}/s deliveries {:.0}/s p50 {} ms p99 {} ms errors {}",
                if proto == Proto::Nats {
                    "nats"
                } else {
                    "cloudchat"
                },
                rep + 1,
                run["sendsPerSec"].as_f64().unwrap_or(0.0),
                run["deliveriesPerSec"].as_f64().unwrap_or(0.0),
                run["latency"]["p50_ms"],
                run["latency"]["p99_ms"],
                run["errors"]
            );
            runs.push(run);
        }
    }
    Ok(json!({
        "proto": if proto == Proto::Nats { "nats" } else { "cloudchat" },
        "relays": urls.len(),
        "rooms": pop.rooms.len(),
        "roomSize": room_size,
        "connections": conns.len(),
        "senders": senders.len(),
        "connectErrors": connect_errors,
        "warmupSecs": warmup,
        "durationSecs": duration,
        "maxInflightPerSender": max_inflight,
        "runs": runs,
    }))
}

#[allow(clippy::too_many_arguments)]
async fn one_run(
    proto: Proto,
    shared: &Arc<Shared>,
    conns: &Arc<Vec<Conn>>,
    senders: &[usize],
    rate: f64,
    warmup: f64,
    duration: f64,
    max_inflight: usize,
    watch: &CpuWatch,
) -> Value {
    let stop = Arc::new(AtomicBool::new(false));
    let period = Duration::from_secs_f64(senders.len() as f64 / rate.max(0.001));
    let mut tasks = Vec::new();
    let count = senders.len().max(1);
    for (n, &k) in senders.iter().enumerate() {
        let (conns, shared, stop) = (conns.clone(), shared.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            // Spread the senders' ticks over one period so the load is smooth, not in waves.
            let offset = period.mul_f64(n as f64 / count as f64);
            tokio::time::sleep(offset).await;
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let conn = &conns[k];
            let mut seq: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                if proto == Proto::CloudChat
                    && conn.inflight.load(Ordering::Relaxed) >= max_inflight
                {
                    // Open loop with a bound: a saturated server shows up as skipped sends.
                    if shared.measuring.load(Ordering::Relaxed) {
                        shared.skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    continue;
                }
                seq += 1;
                let body = content(&shared, k);
                let frame = match proto {
                    Proto::CloudChat => send_frame(seq, conn.room, body),
                    Proto::Nats => format!("PUB room.{} {}\r\n{}\r\n", conn.room, body.len(), body),
                };
                let msg = match proto {
                    Proto::CloudChat => Message::Text(frame.into()),
                    Proto::Nats => Message::Binary(frame.into_bytes().into()),
                };
                conn.inflight.fetch_add(1, Ordering::Relaxed);
                if conn.sink.lock().await.send(msg).await.is_err() {
                    shared.error("send failed".to_owned());
                    break;
                }
                if shared.measuring.load(Ordering::Relaxed) {
                    shared.sent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(warmup)).await;
    // Forget what the warm-up recorded, then open the window.
    shared.latency.take();
    shared.ack_latency.take();
    for c in [
        &shared.acks,
        &shared.sent,
        &shared.skipped,
        &shared.deliveries,
    ] {
        c.store(0, Ordering::Relaxed);
    }
    if let Ok(mut m) = shared.errors.lock() {
        m.clear();
    }
    let cpu0 = watch.snapshot();
    let w0 = Instant::now();
    shared.measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs_f64(duration)).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let secs = w0.elapsed().as_secs_f64();
    let cpu1 = watch.snapshot();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let sent = shared.sent.load(Ordering::Relaxed) as f64;
    let acks = shared.acks.load(Ordering::Relaxed) as f64;
    let deliveries = shared.deliveries.load(Ordering::Relaxed) as f64;
    let skipped = shared.skipped.load(Ordering::Relaxed);
    let errors = shared.errors.lock().map(|m| m.clone()).unwrap_or_default();
    let result = json!({
        "targetRate": rate,
        "secs": secs,
        "attemptedPerSec": sent / secs,
        // NATS has no acknowledgement: what was published is what we count as sent.
        "sendsPerSec": if proto == Proto::Nats { sent / secs } else { acks / secs },
        "skippedForBackpressure": skipped,
        "deliveriesPerSec": deliveries / secs,
        "latency": percentiles(shared.latency.take()),
        "ackLatency": percentiles(shared.ack_latency.take()),
        "errors": errors,
        "connectionsClosed": shared.closed.load(Ordering::Relaxed),
        "cpuPercent": CpuWatch::usage(&cpu0, &cpu1, secs),
    });
    // Let what is still in flight land before the next run (its counts are discarded).
    tokio::time::sleep(Duration::from_secs(1)).await;
    for c in conns.iter() {
        c.inflight.store(0, Ordering::Relaxed);
    }
    result
}
