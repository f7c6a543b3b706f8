//! The relay's internal API: `POST /internal/publish` and @connections, behind the key;
//! and the operational endpoints.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Engine;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_api_reads_posts_and_closes() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;
    let (mut ws, ready) = stack.connect_to(&stack.relay, &alice).await;
    let id = ready["connectionId"].as_str().unwrap().to_owned();
    let path = format!("/internal/connections/{id}");

    let res = stack.internal(&stack.relay, Method::GET, &path, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["connectionId"], id.as_str());
    assert_eq!(info["identity"]["userId"], alice.id.to_string());
    assert_eq!(info["identity"]["username"], "alice");
    assert_eq!(info["rooms"], json!([GENERAL]));
    assert!(info["connectedAt"].as_str().unwrap().ends_with('Z'));

    let res = stack
        .internal(
            &stack.relay,
            Method::POST,
            &path,
            Some(json!({"payload": {"type": "notice", "text": "hi"}})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(ws.recv().await, json!({"type": "notice", "text": "hi"}));

    let res = stack
        .internal(&stack.relay, Method::DELETE, &path, None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(ws.closed(WAIT).await.0, Some(1000));
    eventually("the connection is gone", || async {
        stack
            .internal(&stack.relay, Method::GET, &path, None)
            .await
            .status()
            == StatusCode::GONE
    })
    .await;
    for method in [Method::POST, Method::DELETE] {
        let body = (method == Method::POST).then(|| json!({"payload": {}}));
        let res = stack.internal(&stack.relay, method, &path, body).await;
        assert_eq!(res.status(), StatusCode::GONE);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_endpoints_need_the_key() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let client = reqwest::Client::new();
    for (method, path) in [
        (Method::POST, "/internal/publish"),
        (Method::GET, "/internal/connections/x"),
        (Method::DELETE, "/internal/connections/x"),
    ] {
        for key in [None, Some("wrong-key")] {
            let mut req = client
                .request(method.clone(), format!("{}{path}", stack.relay.http))
                .json(&json!({}));
            if let Some(key) = key {
                req = req.header("x-internal-api-key", key);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }
    // A malformed publish is a 400 problem, not a 500.
    let res = stack
        .internal(
            &stack.relay,
            Method::POST,
            "/internal/publish",
            Some(json!({"deliveries": [{"target": {"planet": 3}, "payload": 1}]})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_does_only_what_its_caller_does() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;
    let (mut ws, _) = stack.connect_to(&stack.relay, &alice).await;
    let client = reqwest::Client::new();
    let call = |method: Method, path: &str, key: &str, body: Value| {
        client
            .request(method, format!("{}{path}", stack.relay.http))
            .header("x-internal-api-key", key)
            .json(&body)
            .send()
    };
    let message = json!({"deliveries": [{"target": {"user": alice.id}, "payload": {"type": "roomDeleted", "roomId": 1}}]});
    let subscribe = json!({"control": [{"subscribe": {"userId": alice.id, "roomId": 7}}]});
    // A relay's own key opens nothing on a relay.
    let res = call(
        Method::POST,
        "/internal/publish",
        RELAY_KEY,
        message.clone(),
    )
    .await
    .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
    // auth-service may not speak in rooms, change memberships or use @connections.
    for body in [message, subscribe] {
        let res = call(Method::POST, "/internal/publish", AUTH_KEY, body)
            .await
            .unwrap();
        assert_problem(res, StatusCode::FORBIDDEN, "forbidden_internal_caller").await;
    }
    let res = call(Method::GET, "/internal/connections/x", AUTH_KEY, json!({}))
        .await
        .unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden_internal_caller").await;
    // ... but it may end a user's sockets.
    let res = call(
        Method::POST,
        "/internal/publish",
        AUTH_KEY,
        json!({"control": [{"disconnectUser": alice.id}]}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(ws.closed(WAIT).await.0, Some(4003));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_targets_rooms_users_and_connections() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let (mut a, ready) = stack.connect_to(&stack.relay, &alice).await;
    let a_id = ready["connectionId"].as_str().unwrap().to_owned();
    let mut b = stack.connect(&bob).await;

    stack
        .publish(
            &stack.relay,
            json!({
                "deliveries": [
                    {"target": {"user": bob.id}, "payload": {"type": "roomDeleted", "roomId": 1}},
                    {"target": {"connection": a_id}, "payload": {"type": "roomDeleted", "roomId": 2}},
                    {"target": {"room": 999}, "payload": {"type": "roomDeleted", "roomId": 3}}
                ],
                "control": [{"subscribe": {"userId": alice.id, "roomId": 999}}]
            }),
        )
        .await;
    assert_eq!(b.recv().await, json!({"type": "roomDeleted", "roomId": 1}));
    let mut got = vec![
        a.recv().await["roomId"].clone(),
        a.recv().await["roomId"].clone(),
    ];
    got.sort_by_key(|v| v.as_i64());
    assert_eq!(got, [json!(2), json!(3)]);
    b.silent(std::time::Duration::from_millis(300)).await;

    stack
        .publish(
            &stack.relay,
            json!({
                "deliveries": [{"target": {"room": 999}, "payload": {"type": "roomDeleted", "roomId": 4}}],
                "control": [{"unsubscribe": {"userId": alice.id, "roomId": 999}}]
            }),
        )
        .await;
    a.silent(std::time::Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;
    let mut ws = stack.connect(&alice).await;
    ws.send(json!({"action": "ping"})).await;
    ws.recv().await;

    let res = reqwest::get(format!("{}/healthz", stack.relay.http))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = reqwest::get(format!("{}/readyz", stack.relay.http))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = reqwest::get(format!("{}/metrics", stack.relay.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "ws_relay_connections",
        "ws_relay_connects_total",
        "ws_relay_frames_in_total{action=\"ping\"}",
        "ws_relay_frames_out_total",
        "ws_relay_forward_duration_seconds_bucket",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_body_over_its_limit_is_refused_413() {
    let stack =
        spawn_stack_with(Options::new(Engine::Sqlite).relay(|s| s.publish_max_bytes = 4096)).await;
    let alice = stack.signup("alice").await;
    let mut ws = stack.connect(&alice).await;
    let body = |filler: &str| json!({"deliveries": [{"target": {"user": alice.id}, "payload": {"type": "typing", "roomId": 1, "userId": alice.id, "username": filler}}]});
    let res = stack
        .internal(
            &stack.relay,
            Method::POST,
            "/internal/publish",
            Some(body(&"f".repeat(8000))),
        )
        .await;
    test_support::assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
    ws.silent(std::time::Duration::from_millis(200)).await;
    stack.publish(&stack.relay, body("small")).await;
    assert_eq!(ws.recv().await["username"], "small");
}
