//! `search`: the latency of `GET /search` for representative queries, one at a time, as the
//! first user of the population (a member of the rooms the bench filled; bench/search.py).
//!
//!   loadgen search --base URL --users FILE --queries 'name=q&sort=relevance;...' [--n 200]
//!
//! Each query is `name=` then the query string as sent (already URL-encoded), separated by
//! `;`. Every query runs a few times untimed first (caches, plans), then `n` times timed.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::args::Args;
use crate::net::http_client;
use crate::setup::load;
use crate::stats::percentiles;

const WARMUP: usize = 5;

pub(crate) async fn run(args: &Args) -> Result<Value> {
    let base = args.str("base")?;
    let pop = load(&args.str("users")?)?;
    let n: usize = args.get("n", 200)?;
    let Some(user) = pop.users.first() else {
        bail!("the population has no users");
    };
    let client = http_client(0)?;
    let mut out = serde_json::Map::new();
    for spec in args.str("queries")?.split(';').filter(|s| !s.is_empty()) {
        let (name, query) = spec
            .split_once('=')
            .with_context(|| format!("{spec:?}: expected name=query"))?;
        let url = format!("{base}/search?{query}");
        let mut samples = Vec::with_capacity(n);
        let mut hits = 0;
        for i in 0..WARMUP + n {
            let t0 = Instant::now();
            let res = client
                .get(&url)
                .bearer_auth(&user.token)
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            let status = res.status();
            let body: Value = res.json().await.with_context(|| format!("GET {url}"))?;
            if !status.is_success() {
                bail!("GET {url}: {status} {body}");
            }
            if i >= WARMUP {
                samples.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            hits = body["hits"].as_array().map_or(0, Vec::len);
        }
        let p = percentiles(samples);
        eprintln!(
            "search {name}: p50 {:.1} ms, p99 {:.1} ms ({hits} hits/page)",
            p.p50_ms, p.p99_ms
        );
        out.insert(
            name.to_owned(),
            json!({"query": query, "hitsPerPage": hits, "latency": p}),
        );
    }
    Ok(Value::Object(out))
}
