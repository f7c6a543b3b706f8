//! Rate limiting behind a small trait: a fixed-window counter per key, in memory for a single
//! replica, or in Redis when several replicas must share the counts.
//!
//! Keys are normalised (trimmed, ASCII case folded) and hashed to 16 bytes of SHA-256 before
//! anything is stored, so a key costs the same whatever a client submitted. The in-memory
//! limiter holds at most `max_keys` windows in sharded maps; a full shard evicts the window
//! that started longest ago (expired ones are oldest), and a background sweeper drops expired
//! windows — the request path does a constant amount of work (docs/decisions.md).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Once, Weak};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

/// At most `limit` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub window: Duration,
}

impl Quota {
    pub const fn per_minute(limit: u32) -> Self {
        Self {
            limit,
            window: Duration::from_secs(60),
        }
    }

    pub const fn per_hour(limit: u32) -> Self {
        Self {
            limit,
            window: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Limited { retry_after: Duration },
}

impl Decision {
    /// Seconds for `Retry-After`, rounded up.
    pub fn retry_after_secs(self) -> Option<u64> {
        match self {
            Decision::Allowed => None,
            Decision::Limited { retry_after } => {
                Some(retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0))
            }
        }
    }

    pub fn is_allowed(self) -> bool {
        self == Decision::Allowed
    }
}

pub trait RateLimiter: Send + Sync {
    /// Counts one hit against `key` and says whether it is allowed.
    fn hit<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Decision>;

    /// Says whether `key` has used up `quota`, without counting a hit: limits that count
    /// only some outcomes (failed log-ins) check first and `hit` when the outcome is known.
    fn peek<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Decision>;
}

/// What a key is stored as: the first 16 bytes of the SHA-256 of the normalised key.
pub type KeyDigest = [u8; 16];

/// Hashes `key` trimmed and ASCII-lower-cased, without copying it.
pub fn key_digest(key: &str) -> KeyDigest {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = [0u8; 64];
    for chunk in key.trim().as_bytes().chunks(buf.len()) {
        let folded = &mut buf[..chunk.len()];
        folded.copy_from_slice(chunk);
        folded.make_ascii_lowercase();
        ctx.update(folded);
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&ctx.finish().as_ref()[..16]);
    out
}

/// Default cap on the windows one in-memory limiter holds (`RATE_LIMIT_MAX_KEYS`).
pub const DEFAULT_MAX_KEYS: usize = 100_000;
/// Independent locks: a request locks one shard, the sweeper one shard at a time.
const SHARDS: usize = 16;
/// How often the sweeper drops expired windows.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// Counters in this process, at most `max_keys` of them.
pub struct MemoryRateLimiter {
    table: Arc<Table>,
    sweeper: Once,
}

struct Table {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    epoch: Instant,
}

#[derive(Default)]
struct Shard {
    windows: HashMap<KeyDigest, Window>,
    /// Window starts in the order they happened; a record whose key has since started a new
    /// window (or gone) is stale and skipped. Eviction pops the front: the oldest window.
    order: VecDeque<(KeyDigest, u64)>,
}

#[derive(Clone, Copy)]
struct Window {
    /// Milliseconds since the table's epoch.
    start: u64,
    expires: u64,
    count: u32,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRateLimiter {
    pub fn new() -> Self {
        Self::with_max_keys(DEFAULT_MAX_KEYS)
    }

    /// A limiter that holds at most `max_keys` windows (at least one per shard).
    pub fn with_max_keys(max_keys: usize) -> Self {
        let per_shard = max_keys.div_ceil(SHARDS).max(1);
        Self {
            table: Arc::new(Table {
                shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
                per_shard,
                epoch: Instant::now(),
            }),
            sweeper: Once::new(),
        }
    }

    /// Windows held now (all shards).
    pub fn len(&self) -> usize {
        self.table
            .shards
            .iter()
            .map(|s| lock(s).windows.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sweeper starts with the first hit made inside a Tokio runtime and stops when the
    /// limiter is dropped.
    fn ensure_sweeper(&self) {
        self.sweeper.call_once(|| {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(sweep_forever(Arc::downgrade(&self.table)));
            }
        });
    }

    fn hit_now(&self, key: &str, quota: Quota, now: Instant) -> Decision {
        let digest = key_digest(key);
        let now = self.table.ms(now);
        let window_ms = duration_ms(quota.window);
        let per_shard = self.table.per_shard;
        let mut guard = self.table.shard(&digest);
        let shard = &mut *guard;
        if !shard.windows.contains_key(&digest) && shard.windows.len() >= per_shard {
            shard.evict_oldest();
        }
        let fresh = Window {
            start: now,
            expires: now.saturating_add(window_ms),
            count: 0,
        };
        // A new key starts as an expired window, so that it starts below like any other.
        let window = shard.windows.entry(digest).or_insert(Window {
            expires: 0,
            ..fresh
        });
        let started = now >= window.expires;
        if started {
            *window = fresh;
        }
        let decision = window.decide(quota, now);
        if decision.is_allowed() {
            window.count = window.count.saturating_add(1);
        }
        if started {
            shard.order.push_back((digest, now));
        }
        // Stale records pile up only when the sweeper is not running (no runtime); compact
        // then, rarely enough that each hit still pays a constant share.
        if shard.order.len() > 4 * per_shard + 64 {
            shard.compact();
        }
        decision
    }

    fn peek_now(&self, key: &str, quota: Quota, now: Instant) -> Decision {
        let digest = key_digest(key);
        let now = self.table.ms(now);
        let shard = self.table.shard(&digest);
        match shard.windows.get(&digest) {
            Some(w) if now < w.expires => w.decide(quota, now),
            _ => Decision::Allowed,
        }
    }

    /// Drops expired windows; what the background sweeper does every `SWEEP_EVERY`.
    #[cfg(test)]
    fn sweep_now(&self, now: Instant) -> usize {
        self.table.sweep(now)
    }
}

impl Window {
    fn decide(&self, quota: Quota, now: u64) -> Decision {
        if self.count >= quota.limit {
            Decision::Limited {
                retry_after: Duration::from_millis(self.expires.saturating_sub(now)),
            }
        } else {
            Decision::Allowed
        }
    }
}

impl Shard {
    fn is_current(&self, record: &(KeyDigest, u64)) -> bool {
        self.windows
            .get(&record.0)
            .is_some_and(|w| w.start == record.1)
    }

    /// Removes the window that started longest ago. Each stale record is popped once, so the
    /// work is constant per hit on average.
    fn evict_oldest(&mut self) {
        while let Some(record) = self.order.pop_front() {
            if self.is_current(&record) {
                self.windows.remove(&record.0);
                metrics::counter!("ratelimit_evictions_total").increment(1);
                return;
            }
        }
    }

    fn compact(&mut self) {
        let order = std::mem::take(&mut self.order);
        self.order = order.into_iter().filter(|r| self.is_current(r)).collect();
    }
}

impl Table {
    fn ms(&self, now: Instant) -> u64 {
        duration_ms(now.saturating_duration_since(self.epoch))
    }

    fn shard(&self, digest: &KeyDigest) -> MutexGuard<'_, Shard> {
        lock(&self.shards[usize::from(digest[0]) % SHARDS])
    }

    fn sweep(&self, now: Instant) -> usize {
        let now = self.ms(now);
        let mut dropped = 0;
        for shard in &self.shards {
            let mut shard = lock(shard);
            let before = shard.windows.len();
            shard.windows.retain(|_, w| w.expires > now);
            dropped += before - shard.windows.len();
            shard.compact();
        }
        dropped
    }
}

async fn sweep_forever(table: Weak<Table>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(table) = table.upgrade() else {
            return;
        };
        table.sweep(Instant::now());
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RateLimiter for MemoryRateLimiter {
    fn hit<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Decision> {
        self.ensure_sweeper();
        let decision = self.hit_now(key, quota, Instant::now());
        Box::pin(async move { decision })
    }

    fn peek<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Decision> {
        let decision = self.peek_now(key, quota, Instant::now());
        Box::pin(async move { decision })
    }
}

/// Counters in Redis (`INCR` + `PEXPIRE` on the first hit of a window), shared by replicas,
/// under `{prefix}:{hex of the key digest}`; Redis expires them itself. When Redis cannot be
/// reached the limiter lets requests through and logs it: an outage of the limiter must not
/// become an outage of log-in.
pub struct RedisRateLimiter {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

impl RedisRateLimiter {
    pub fn new(conn: redis::aio::ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
        }
    }

    fn redis_key(&self, key: &str) -> String {
        let hex: String = key_digest(key).iter().map(|b| format!("{b:02x}")).collect();
        format!("{}:{hex}", self.prefix)
    }
}

fn limited_for(ttl_ms: i64) -> Decision {
    Decision::Limited {
        retry_after: Duration::from_millis(u64::try_from(ttl_ms.max(1)).unwrap_or(1)),
    }
}

impl RateLimiter for RedisRateLimiter {
    fn hit<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Decision> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let key = self.redis_key(key);
            let window_ms = i64::try_from(quota.window.as_millis()).unwrap_or(i64::MAX);
            let result: redis::RedisResult<(i64, i64)> = redis::pipe()
                .atomic()
                .cmd("INCR")
                .arg(&key)
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(window_ms)
                .arg("NX")
                .ignore()
                .cmd("PTTL")
                .arg(&key)
                .query_async(&mut conn)
                .await;
            match result {
                Ok((count, ttl_ms)) if count > i64::from(quota.limit) => limited_for(ttl_ms),
                Ok(_) => Decision::Allowed,
                Err(err) => {
                    tracing::warn!(error = %err, "rate limiter could not reach Redis; allowing the request");
                    Decision::Allowed
                }
            }
        })
    }

    fn peek<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Decision> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let key = self.redis_key(key);
            let result: redis::RedisResult<(Option<i64>, i64)> = redis::pipe()
                .cmd("GET")
                .arg(&key)
                .cmd("PTTL")
                .arg(&key)
                .query_async(&mut conn)
                .await;
            match result {
                Ok((Some(count), ttl_ms)) if count >= i64::from(quota.limit) => limited_for(ttl_ms),
                Ok(_) => Decision::Allowed,
                Err(err) => {
                    tracing::warn!(error = %err, "rate limiter could not reach Redis; allowing the request");
                    Decision::Allowed
                }
            }
        })
    }
}

/// The limiter a service counts with: in Redis under `prefix` when `redis_url` is set, so
/// that replicas share their counts, else in this process.
pub async fn connect(
    redis_url: Option<&str>,
    prefix: &str,
    max_keys: usize,
) -> anyhow::Result<std::sync::Arc<dyn RateLimiter>> {
    use anyhow::Context;
    Ok(match redis_url {
        Some(url) => {
            let client = redis::Client::open(url).context("REDIS_URL is not a valid Redis URL")?;
            let conn = redis::aio::ConnectionManager::new(client)
                .await
                .context("cannot connect to REDIS_URL for rate limiting")?;
            std::sync::Arc::new(RedisRateLimiter::new(conn, prefix))
        }
        None => std::sync::Arc::new(MemoryRateLimiter::with_max_keys(max_keys)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTA: Quota = Quota {
        limit: 3,
        window: Duration::from_secs(10),
    };

    /// Window-start records held, stale ones included.
    fn records(limiter: &MemoryRateLimiter) -> usize {
        limiter
            .table
            .shards
            .iter()
            .map(|s| lock(s).order.len())
            .sum()
    }

    #[test]
    fn window_allows_limit_then_refuses_then_resets() {
        let limiter = MemoryRateLimiter::new();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.hit_now("k", QUOTA, t0), Decision::Allowed);
        }
        let refused = limiter.hit_now("k", QUOTA, t0 + Duration::from_secs(4));
        assert_eq!(refused.retry_after_secs(), Some(6));
        assert_eq!(limiter.hit_now("other", QUOTA, t0), Decision::Allowed);
        assert_eq!(
            limiter.hit_now("k", QUOTA, t0 + Duration::from_secs(10)),
            Decision::Allowed
        );
    }

    #[test]
    fn keys_are_normalised_and_hashed_to_a_fixed_size() {
        assert_eq!(
            key_digest(" Login:Alice@Example.COM "),
            key_digest("login:alice@example.com")
        );
        assert_ne!(key_digest("login:a"), key_digest("login:b"));
        let limiter = MemoryRateLimiter::new();
        let t0 = Instant::now();
        let long = "x".repeat(100_000);
        for _ in 0..3 {
            assert!(limiter.hit_now(&long, QUOTA, t0).is_allowed());
        }
        assert!(
            !limiter
                .hit_now(&long.to_uppercase(), QUOTA, t0)
                .is_allowed()
        );
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn peek_does_not_count() {
        let limiter = MemoryRateLimiter::new();
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(limiter.peek_now("k", QUOTA, t0).is_allowed());
        }
        assert!(limiter.is_empty(), "peeking stores nothing");
        for _ in 0..3 {
            limiter.hit_now("k", QUOTA, t0);
        }
        assert!(!limiter.peek_now("k", QUOTA, t0).is_allowed());
        assert!(
            limiter
                .peek_now("k", QUOTA, t0 + Duration::from_secs(10))
                .is_allowed()
        );
    }

    #[test]
    fn the_cap_holds_and_the_oldest_window_goes_first() {
        let limiter = MemoryRateLimiter::with_max_keys(SHARDS * 4);
        let t0 = Instant::now();
        // The first key's window is the oldest; it is limited.
        for _ in 0..3 {
            limiter.hit_now("first", QUOTA, t0);
        }
        assert!(!limiter.peek_now("first", QUOTA, t0).is_allowed());
        for i in 0..10_000u32 {
            let at = t0 + Duration::from_millis(u64::from(i) + 1);
            assert!(limiter.hit_now(&format!("k{i}"), QUOTA, at).is_allowed());
            assert!(limiter.len() <= SHARDS * 4);
        }
        assert!(
            limiter.peek_now("first", QUOTA, t0).is_allowed(),
            "the oldest window was evicted"
        );
        let held = records(&limiter);
        assert!(
            held <= SHARDS * (4 * 4 + 64),
            "stale records stay bounded: {held}"
        );
    }

    #[test]
    fn a_restarted_window_is_not_evicted_as_old() {
        let limiter = MemoryRateLimiter::with_max_keys(SHARDS * 2);
        let t0 = Instant::now();
        let shard_of = |k: &str| usize::from(key_digest(k)[0]) % SHARDS;
        let same_shard = |prefix: &str| {
            (0..)
                .map(|i| format!("{prefix}{i}"))
                .find(|k| shard_of(k) == shard_of("a"))
                .unwrap_or_default()
        };
        let (b, c) = (same_shard("b"), same_shard("c"));
        limiter.hit_now("a", QUOTA, t0);
        limiter.hit_now(&c, QUOTA, t0 + Duration::from_secs(1));
        // `a` starts a new window later and uses it up; its first record is now stale.
        let later = t0 + Duration::from_secs(11);
        for _ in 0..3 {
            limiter.hit_now("a", QUOTA, later);
        }
        // The shard is full: `b` evicts `c`, whose window is older than `a`'s new one.
        limiter.hit_now(&b, QUOTA, later);
        assert!(!limiter.peek_now("a", QUOTA, later).is_allowed());
        assert_eq!(limiter.len(), 2);
    }

    #[test]
    fn the_sweeper_drops_expired_windows() {
        let limiter = MemoryRateLimiter::new();
        let t0 = Instant::now();
        let short = Quota {
            limit: 1,
            window: Duration::from_secs(1),
        };
        for i in 0..100 {
            limiter.hit_now(&format!("k{i}"), short, t0);
        }
        limiter.hit_now("long", QUOTA, t0);
        assert_eq!(limiter.len(), 101);
        assert_eq!(limiter.sweep_now(t0 + Duration::from_secs(2)), 100);
        assert_eq!(limiter.len(), 1);
        let held = records(&limiter);
        assert_eq!(held, 1);
    }

    #[tokio::test]
    async fn the_background_sweeper_starts_with_the_first_hit() {
        let limiter = MemoryRateLimiter::new();
        let quota = Quota {
            limit: 1,
            window: Duration::from_millis(1),
        };
        limiter.hit("k", quota).await;
        assert!(limiter.sweeper.is_completed());
    }
}
