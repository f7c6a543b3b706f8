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

#[tokio::test]
async fn keys_are_stored_hashed_and_peek_does_not_count() {
    let prefix = format!("cctest-rl-{}", uuid::Uuid::new_v4().simple());
    let limiter = limiter(&prefix).await;
    let quota = Quota {
        limit: 2,
        window: Duration::from_secs(30),
    };
    let raw = format!("login:fail:{}@example.com", "x".repeat(5000));
    assert_eq!(limiter.peek(&raw, quota).await, Decision::Allowed);
    assert_eq!(limiter.hit(&raw, quota).await, Decision::Allowed);
    assert_eq!(limiter.peek(&raw, quota).await, Decision::Allowed);
    // Case and surrounding blanks do not make a new key.
    assert_eq!(
        limiter
            .hit(&format!("  {}", raw.to_uppercase()), quota)
            .await,
        Decision::Allowed
    );
    assert!(!limiter.peek(&raw, quota).await.is_allowed());

    let url =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let digest = keys[0].strip_prefix(&format!("{prefix}:")).unwrap();
    assert_eq!(digest.len(), 32, "16 bytes in hex: {digest}");
    let _: () = redis::cmd("DEL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
}
