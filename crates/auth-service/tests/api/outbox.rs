//! User events reach chat-service: written with each change (the command line's too), sent in
//! order with auth-service's key, retried until accepted, and kept delivered until swept.

use std::time::Duration;

use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{ChatReceiver, TestApp, spawn_app_with};

async fn app_delivering_to(engine: Engine, receiver: &ChatReceiver) -> TestApp {
    let url = receiver.url();
    spawn_app_with(engine, move |s| {
        s.chat_url = Some(url);
        s.user_events_poll = Duration::from_millis(200);
    })
    .await
}

/// (role, suspended, version) of each event about `user`.
fn states(events: &[Value], user: &test_stack::User) -> Vec<(Value, Value, Value)> {
    events
        .iter()
        .filter(|e| e["userId"] == user.id.to_string())
        .map(|e| {
            (
                e["role"].clone(),
                e["suspended"].clone(),
                e["version"].clone(),
            )
        })
        .collect()
}

async fn changes_reach_chat_service_in_order(engine: Engine) {
    let receiver = ChatReceiver::start(0).await;
    let app = app_delivering_to(engine, &receiver).await;
    let admin = app.signup("root").await;
    let bob = app.signup("bob").await;
    // The command line only writes the database: the dispatcher's poll finds its event.
    app.grant(&admin, "admin").await;
    let events = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(
        events,
        [
            json!({"id": events[0]["id"], "userId": admin.id, "kind": "moderation", "role": "admin",
                "suspended": false, "suspendedUntil": null, "hideMessages": false, "version": 1})
        ]
    );
    // A change made here wakes the dispatcher at once.
    let res = app
        .put_role(&admin.token, &bob, &json!({"role": "moderator"}))
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let res = app
        .suspend(
            &admin.token,
            &bob,
            &json!({"reason": "spam", "hideMessages": true}),
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let res = app.lift(&admin.token, &bob).await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let events = receiver.wait_for(4, Duration::from_secs(5)).await;
    assert_eq!(
        states(&events, &bob),
        [
            (json!("moderator"), json!(false), json!(1)),
            (json!("moderator"), json!(true), json!(2)),
            (json!("moderator"), json!(false), json!(3)),
        ]
    );
    let suspended = events.iter().find(|e| e["suspended"] == true).unwrap();
    assert_eq!(suspended["hideMessages"], true);
    assert_eq!(suspended["suspendedUntil"], Value::Null);
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order: {ids:?}");
    assert_eq!(receiver.refused(), 0);

    // Delivered rows are marked, not sent again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app.pending_events().await.is_empty());
    assert_eq!(receiver.events().len(), 4);
    // The sweeper deletes them after USER_EVENTS_RETENTION_SECS.
    let swept =
        auth_service::store::user_events::sweep(&app.state.db.pool, store_kit::now_ms() + 1)
            .await
            .unwrap();
    assert_eq!(swept, 4);
}

async fn a_refused_delivery_is_retried(engine: Engine) {
    // chat-service restarting: the first two tries are answered 503.
    let receiver = ChatReceiver::start(2).await;
    let app = app_delivering_to(engine, &receiver).await;
    let admin = app.signup("root").await;
    let bob = app.signup("bob").await;
    app.grant(&admin, "admin").await;
    app.grant(&bob, "moderator").await;
    // Tried at once, then 1 s later, then 2 s after that: accepted.
    let events = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(
        states(&events, &admin),
        [(json!("admin"), json!(false), json!(1))]
    );
    assert_eq!(
        states(&events, &bob),
        [(json!("moderator"), json!(false), json!(1))]
    );
    assert_eq!(receiver.refused(), 2);
    let attempts: Vec<(i64,)> = sqlx::query_as("SELECT attempts FROM user_events ORDER BY id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert!(attempts.iter().all(|(a,)| *a >= 1), "{attempts:?}");
    // The receiver answers before the dispatcher marks the batch delivered: wait for that.
    for _ in 0..50 {
        if app.pending_events().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(app.pending_events().await.is_empty());
}

async fn undelivered_events_wait_with_a_growing_backoff(engine: Engine) {
    // chat-service down for good.
    let receiver = ChatReceiver::start(usize::MAX).await;
    let app = app_delivering_to(engine, &receiver).await;
    let admin = app.signup("root").await;
    app.grant(&admin, "admin").await;
    // Tried at once, 1 s later, 2 s after that; the fourth try waits 4 s more.
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    assert!(receiver.events().is_empty());
    assert_eq!(receiver.refused(), 3);
    let (attempts, next, created): (i64, i64, i64) =
        sqlx::query_as("SELECT attempts, next_attempt_at, created_at FROM user_events")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 3);
    assert!(
        next - created >= 1_000 + 2_000 + 4_000,
        "{next} - {created}"
    );
    assert_eq!(app.pending_events().await.len(), 1, "kept for a later try");
}

both_engines!(
    changes_reach_chat_service_in_order,
    a_refused_delivery_is_retried,
    undelivered_events_wait_with_a_growing_backoff,
);
