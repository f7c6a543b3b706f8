//! The Redis rate limiter against real Redis (`TEST_REDIS_URL`, default 127.0.0.1:6379):
//! replicas share one count. Fails, never skips, when Redis is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use service_kit::ratelimit::{Decision, Quota, RateLimiter, RedisRateLimiter};

async fn limiter(prefix: &str) -> RedisRateLimiter {
    let url =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let client = redis::Client::open(url.as_str()).unwrap();
    let conn = tokio::time::timeout(
        Duration::from_secs(5),
        redis::aio::ConnectionManager::new(client),
    )
    .await
    .unwrap_or_else(|_| panic!("Redis did not answer at {url}"))
    .unwrap_or_else(|e| {
        panic!("Redis is required for this test and is not reachable at {url}: {e}")
    });
    RedisRateLimiter::new(conn, prefix.to_owned())
}

#[tokio::test]
async fn replicas_share_one_budget_and_it_resets() {
    let prefix = format!("cctest-rl-{}", uuid::Uuid::new_v4().simple());
    let (a, b) = (limiter(&prefix).await, limiter(&prefix).await);
    let quota = Quota {
        limit: 3,
        window: Duration::from_millis(800),
    };
    assert_eq!(a.hit("login:1.2.3.4", quota).await, Decision::Allowed);
    assert_eq!(b.hit("login:1.2.3.4", quota).await, Decision::Allowed);
    assert_eq!(a.hit("login:1.2.3.4", quota).await, Decision::Allowed);
    let refused = b.hit("login:1.2.3.4", quota).await;
    let Decision::Limited { retry_after } = refused else {
        panic!("the fourth hit across two replicas was allowed");
    };
    assert!(retry_after <= Duration::from_millis(800));
    assert_eq!(
        a.hit("login:5.6.7.8", quota).await,
        Decision::Allowed,
        "keys are separate"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        a.hit("login:1.2.3.4", quota).await,
        Decision::Allowed,
        "the window resets"
    );
}
