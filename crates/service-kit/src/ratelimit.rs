//! Rate limiting behind a small trait: a fixed-window counter per key, in memory for a single
//! replica, or in Redis when several replicas must share the counts.

use std::collections::HashMap;
use std::sync::Mutex;
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
}

pub trait RateLimiter: Send + Sync {
    /// Counts one hit against `key` and says whether it is allowed.
    fn hit<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Decision>;
}

/// Counters in this process. Stale windows are pruned when the map grows.
#[derive(Default)]
pub struct MemoryRateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

const PRUNE_ABOVE: usize = 10_000;

impl MemoryRateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    fn hit_now(&self, key: &str, quota: Quota, now: Instant) -> Decision {
        let mut windows = match self.windows.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(3600));
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= quota.window {
            *entry = (now, 0);
        }
        if entry.1 >= quota.limit {
            return Decision::Limited {
                retry_after: quota.window.saturating_sub(now.duration_since(entry.0)),
            };
        }
        entry.1 += 1;
        Decision::Allowed
    }
}

impl RateLimiter for MemoryRateLimiter {
    fn hit<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Decision> {
        let decision = self.hit_now(key, quota, Instant::now());
        Box::pin(async move { decision })
    }
}

/// Counters in Redis (`INCR` + `PEXPIRE` on the first hit of a window), shared by replicas.
/// When Redis cannot be reached the limiter lets requests through and logs it: an outage of
/// the limiter must not become an outage of log-in.
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
}

impl RateLimiter for RedisRateLimiter {
    fn hit<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Decision> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let key = format!("{}:{}", self.prefix, key);
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
                Ok((count, ttl_ms)) if count > i64::from(quota.limit) => Decision::Limited {
                    retry_after: Duration::from_millis(u64::try_from(ttl_ms.max(1)).unwrap_or(1)),
                },
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
        None => std::sync::Arc::new(MemoryRateLimiter::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_allows_limit_then_refuses_then_resets() {
        let limiter = MemoryRateLimiter::new();
        let quota = Quota {
            limit: 3,
            window: Duration::from_secs(10),
        };
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.hit_now("k", quota, t0), Decision::Allowed);
        }
        let refused = limiter.hit_now("k", quota, t0 + Duration::from_secs(4));
        assert_eq!(refused.retry_after_secs(), Some(6));
        assert_eq!(limiter.hit_now("other", quota, t0), Decision::Allowed);
        assert_eq!(
            limiter.hit_now("k", quota, t0 + Duration::from_secs(10)),
            Decision::Allowed
        );
    }
}
