//! `http`: login throughput (bcrypt-bound), the latency of `GET /rooms` alone and while logins
//! run (does hashing stall other requests?), and history page fetches per second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::args::Args;
use crate::net::http_client;
use crate::setup::{User, load};
use crate::stats::{CpuWatch, Samples, percentiles};

struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    latency: Samples,
}

impl Tally {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latency: Samples::new(),
        })
    }
    fn report(&self, secs: f64) -> Value {
        let ok = self.ok.load(Ordering::Relaxed);
        json!({"ok": ok, "failed": self.failed.load(Ordering::Relaxed),
               "perSec": ok as f64 / secs, "latency": percentiles(self.latency.take())})
    }
}

async fn timed(tally: &Tally, shard: usize, req: reqwest::RequestBuilder) {
    let t0 = Instant::now();
    match req.send().await {
        Ok(r) if r.status().is_success() => {
            // Read the body: a fetch is not done until its answer has arrived.
            if r.bytes().await.is_ok() {
                tally.ok.fetch_add(1, Ordering::Relaxed);
                tally.latency.record(shard, t0.elapsed().as_micros() as u64);
                return;
            }
            tally.failed.fetch_add(1, Ordering::Relaxed);
        }
        _ => {
            tally.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `GET /rooms` at a fixed rate (open loop) until `stop`.
/// `GET /rooms` at a steady rate in the background, into a tally, until finished.
struct Probe {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Probe {
    fn start(base: &str, token: &str, rate: f64, tally: &Arc<Tally>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(probe_rooms(
            base.to_owned(),
            token.to_owned(),
            rate,
            stop.clone(),
            tally.clone(),
        ));
        Self { stop, task }
    }

    /// Stops the probe and lets its last requests land.
    async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn probe_rooms(
    base: String,
    token: String,
    rate: f64,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let Ok(client) = http_client(199) else {
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.1)));
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        n += 1;
        let req = client.get(format!("{base}/rooms")).bearer_auth(&token);
        let tally = tally.clone();
        tokio::spawn(async move { timed(&tally, n, req).await });
    }
}

/// Closed loop: `concurrency` workers each repeating `make(i)` until `stop`.
async fn closed_loop<F>(concurrency: usize, secs: f64, tally: Arc<Tally>, make: F)
where
    F: Fn(usize, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let make = Arc::new(make);
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (stop, tally, make) = (stop.clone(), tally.clone(), make.clone());
            tokio::spawn(async move {
                let mut k = 0;
                while !stop.load(Ordering::Relaxed) {
                    timed(&tally, w, make(w, k)).await;
                    k += 1;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
}

pub(crate) async fn run(a: &Args) -> Result<Value> {
    let base = a.str("base")?;
    let auth_base = a.opt_str("auth-base").unwrap_or_else(|| base.clone());
    let login_users: Vec<User> = load(&a.str("login-users")?)?.users;
    let pop = load(&a.str("users")?)?;
    let secs: f64 = a.get("duration-secs", 8.0)?;
    let concurrency: usize = a.get("concurrency", 8)?;
    let probe_rate: f64 = a.get("probe-rate", 50.0)?;
    let watch = CpuWatch::parse(a.opt_str("watch-pids"), a.opt_str("watch-comms"));
    let Some(prober) = pop.users.iter().find(|u| u.room.is_some()) else {
        bail!("the population has no room member to probe with");
    };
    if login_users.is_empty() {
        bail!("no login users");
    }
    let room = prober.room.unwrap_or_default();

    // 1. GET /rooms alone.
    let alone = Tally::new();
    let probe = Probe::start(&base, &prober.token, probe_rate, &alone);
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    probe.finish().await;
    let rooms_alone = alone.report(secs);

    // 2. Logins (closed loop) with the same probe running.
    let logins = Tally::new();
    let during = Tally::new();
    let probe = Probe::start(&base, &prober.token, probe_rate, &during);
    let clients: Vec<reqwest::Client> = (0..concurrency).map(http_client).collect::<Result<_>>()?;
    let cpu0 = watch.snapshot();
    let t0 = Instant::now();
    {
        let base = auth_base.clone();
        let users = login_users.clone();
        closed_loop(concurrency, secs, logins.clone(), move |w, k| {
            let u = &users[(w + k * concurrency) % users.len()];
            clients[w % clients.len()]
                .post(format!("{base}/auth/login"))
                .json(&json!({"email": u.email, "password": u.password}))
        })
        .await;
    }
    let login_secs = t0.elapsed().as_secs_f64();
    let cpu1 = watch.snapshot();
    probe.finish().await;
    let login_report = logins.report(login_secs);
    eprintln!(
        "http: logins {:.1}/s",
        login_report["perSec"].as_f64().unwrap_or(0.0)
    );
    let rooms_during = during.report(login_secs);

    // 3. History pages: 50 messages before the room's end, closed loop.
    let history = Tally::new();
    let clients: Vec<reqwest::Client> = (0..concurrency).map(http_client).collect::<Result<_>>()?;
    let h0 = Instant::now();
    {
        let base = base.clone();
        let token = prober.token.clone();
        closed_loop(concurrency, secs, history.clone(), move |w, _| {
            clients[w % clients.len()]
                .get(format!("{base}/rooms/{room}/messages?limit=50"))
                .bearer_auth(&token)
        })
        .await;
    }
    let history_report = history.report(h0.elapsed().as_secs_f64());
    eprintln!(
        "http: history pages {:.0}/s",
        history_report["perSec"].as_f64().unwrap_or(0.0)
    );
    Ok(json!({
        "concurrency": concurrency,
        "probeRatePerSec": probe_rate,
        "roomsAlone": rooms_alone,
        "logins": login_report,
        "roomsDuringLogins": rooms_during,
        "loginCpuPercent": CpuWatch::usage(&cpu0, &cpu1, login_secs),
        "historyPages": history_report,
    }))
}
