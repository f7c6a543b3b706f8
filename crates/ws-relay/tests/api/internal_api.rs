//! The relay's internal API: `POST /internal/publish` and @connections, behind the key;
//! and the operational endpoints.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Engine;
use wire::{ClientAction, Control, Delivery, Publish, Reply, ServerFrame, Target};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_api_reads_posts_and_closes() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;
    let (mut ws, ready) = stack.connect_to(&stack.relay, &alice).await;
    let id = ready.connection_id;
    let path = format!("/internal/connections/{id}");

    let res = stack.internal(&stack.relay, Method::GET, &path, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["connectionId"], id.as_str());
    assert_eq!(info["identity"]["userId"], alice.id.to_string());
    assert_eq!(info["identity"]["username"], "alice");
    assert_eq!(info["rooms"], json!([GENERAL]));
    assert!(info["connectedAt"].as_str().unwrap().ends_with('Z'));

    // Raw JSON: @connections passes any payload through as it is, not only protocol frames.
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
        // Raw JSON: any payload; the connection is gone before it matters.
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
            // Raw JSON: any body; the key is checked before it is read.
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
    // A malformed publish (raw JSON on purpose) is a 400 problem, not a 500.
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
    let call = |method: Method, path: &str, key: &str, body: Option<&Publish>| {
        let mut req = client
            .request(method, format!("{}{path}", stack.relay.http))
            .header("x-internal-api-key", key);
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send()
    };
    let message = deliver(
        Target::User(alice.id),
        ServerFrame::RoomDeleted { room_id: 1 },
    );
    let subscribe = controls(vec![Control::Subscribe {
        user_id: alice.id,
        room_id: 7,
    }]);
    // A relay's own key opens nothing on a relay.
    let res = call(Method::POST, "/internal/publish", RELAY_KEY, Some(&message))
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
    // auth-service may not speak in rooms, change memberships or use @connections.
    for body in [&message, &subscribe] {
        let res = call(Method::POST, "/internal/publish", AUTH_KEY, Some(body))
            .await
            .unwrap();
        assert_problem(res, StatusCode::FORBIDDEN, "forbidden_internal_caller").await;
    }
    let res = call(Method::GET, "/internal/connections/x", AUTH_KEY, None)
        .await
        .unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden_internal_caller").await;
    // ... but it may end a user's sockets.
    let disconnect = controls(vec![Control::DisconnectUser(alice.id)]);
    let res = call(
        Method::POST,
        "/internal/publish",
        AUTH_KEY,
        Some(&disconnect),
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
    let a_id = ready.connection_id;
    let mut b = stack.connect(&bob).await;

    let room_deleted = |target: Target, room_id: i64| Delivery {
        target,
        payload: ServerFrame::RoomDeleted { room_id },
    };
    let publish = Publish {
        deliveries: vec![
            room_deleted(Target::User(bob.id), 1),
            room_deleted(Target::Connection(a_id), 2),
            room_deleted(Target::Room(999), 3),
        ],
        control: vec![Control::Subscribe {
            user_id: alice.id,
            room_id: 999,
        }],
    };
    stack.publish(&stack.relay, &publish).await;
    let expected = Reply {
        frame: ServerFrame::RoomDeleted { room_id: 1 },
        id: None,
    };
    assert_eq!(b.recv_frame().await, expected);
    let mut got = vec![deleted_room(&mut a).await, deleted_room(&mut a).await];
    got.sort_unstable();
    assert_eq!(got, [2, 3]);
    b.silent(std::time::Duration::from_millis(300)).await;

    let publish = Publish {
        deliveries: vec![room_deleted(Target::Room(999), 4)],
        control: vec![Control::Unsubscribe {
            user_id: alice.id,
            room_id: 999,
        }],
    };
    stack.publish(&stack.relay, &publish).await;
    a.silent(std::time::Duration::from_millis(300)).await;
}

/// The room of the next frame, which must be `roomDeleted`.
async fn deleted_room(ws: &mut Ws) -> i64 {
    match ws.recv_frame().await.frame {
        ServerFrame::RoomDeleted { room_id } => room_id,
        other => panic!("expected roomDeleted, got {other:?}"),
    }
}

/// A publish of control items only.
fn controls(control: Vec<Control>) -> Publish {
    Publish {
        deliveries: Vec::new(),
        control,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;
    let mut ws = stack.connect(&alice).await;
    ws.act(None, ClientAction::Ping).await;
    ws.recv_frame().await;

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
    let body = |filler: &str| {
        let typing = ServerFrame::Typing {
            room_id: 1,
            user_id: alice.id,
            username: filler.to_owned(),
        };
        deliver(Target::User(alice.id), typing)
    };
    let too_big = serde_json::to_value(body(&"f".repeat(8000))).unwrap();
    let res = stack
        .internal(
            &stack.relay,
            Method::POST,
            "/internal/publish",
            Some(too_big),
        )
        .await;
    test_support::assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
    ws.silent(std::time::Duration::from_millis(200)).await;
    stack.publish(&stack.relay, &body("small")).await;
    let frame = ws.recv_frame().await.frame;
    assert!(
        matches!(&frame, ServerFrame::Typing { username, .. } if username == "small"),
        "{frame:?}"
    );
}
