//! Percentiles over recorded samples and per-process CPU accounting from /proc.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Value, json};

/// Latency samples in microseconds, sharded so that thousands of reader tasks rarely meet on
/// the same lock.
pub(crate) struct Samples {
    shards: Vec<Mutex<Vec<u32>>>,
}

impl Samples {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..64).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    pub(crate) fn record(&self, shard: usize, micros: u64) {
        let v = u32::try_from(micros).unwrap_or(u32::MAX);
        if let Some(s) = self.shards.get(shard % self.shards.len())
            && let Ok(mut g) = s.lock()
        {
            g.push(v);
        }
    }

    /// Takes every sample recorded so far, leaving the set empty for the next run.
    pub(crate) fn take(&self) -> Vec<u32> {
        let mut all = Vec::new();
        for s in &self.shards {
            if let Ok(mut g) = s.lock() {
                all.append(&mut g);
            }
        }
        all
    }
}

#[derive(Serialize, Default, Clone)]
pub(crate) struct Percentiles {
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub(crate) fn percentiles(mut v: Vec<u32>) -> Percentiles {
    if v.is_empty() {
        return Percentiles::default();
    }
    v.sort_unstable();
    let at = |q: f64| {
        // Nearest-rank: the smallest sample with at least q of the samples at or below it.
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        f64::from(v[rank - 1]) / 1000.0
    };
    Percentiles {
        count: v.len(),
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: f64::from(v[v.len() - 1]) / 1000.0,
    }
}

/// CPU ticks (user + system) of a process, or of every process with a given command name.
fn ticks_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; the fields we want follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn pids_named(comm: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|c| c.trim() == comm)
                .unwrap_or(false)
        })
        .collect()
}

/// What to watch: `name=pid` pairs and command names (summed over all their processes, e.g.
/// every PostgreSQL backend).
#[derive(Clone, Default)]
pub(crate) struct CpuWatch {
    pub pids: Vec<(String, u32)>,
    pub comms: Vec<String>,
}

impl CpuWatch {
    pub(crate) fn parse(pids: Option<String>, comms: Option<String>) -> Self {
        let mut w = Self::default();
        for item in pids.unwrap_or_default().split(',') {
            if let Some((n, p)) = item.split_once('=')
                && let Ok(p) = p.parse()
            {
                w.pids.push((n.to_owned(), p));
            }
        }
        w.pids.push(("loadgen".to_owned(), std::process::id()));
        w.comms = comms
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        w
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for (name, pid) in &self.pids {
            *m.entry(name.clone()).or_insert(0) += ticks_of(*pid).unwrap_or(0);
        }
        for comm in &self.comms {
            let t: u64 = pids_named(comm).into_iter().filter_map(ticks_of).sum();
            m.insert(comm.clone(), t);
        }
        m
    }

    /// CPU used between two snapshots, as a percentage of one core (200 = both cores).
    pub(crate) fn usage(
        before: &BTreeMap<String, u64>,
        after: &BTreeMap<String, u64>,
        secs: f64,
    ) -> Value {
        // Linux reports these in USER_HZ, 100 on every platform we run on.
        let hz = 100.0;
        let mut out = serde_json::Map::new();
        for (k, a) in after {
            let b = before.get(k).copied().unwrap_or(0);
            let pct = (a.saturating_sub(b)) as f64 / hz / secs.max(1e-9) * 100.0;
            out.insert(k.clone(), json!((pct * 10.0).round() / 10.0));
        }
        Value::Object(out)
    }
}

/// Resident set size of a process in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
