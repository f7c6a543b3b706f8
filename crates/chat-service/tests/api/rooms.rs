use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use wire::{Control, ServerFrame, Target};

use crate::helpers::{GENERAL, assert_problem, spawn_app};

async fn a_new_user_sees_general_first(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let rooms = app.rooms(&alice).await;
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0]["id"], GENERAL);
    assert_eq!(rooms[0]["name"], "general");
    assert_eq!(rooms[0]["isGeneral"], true);
    let room = app.create_room(&alice, "zeta").await;
    let rooms = app.rooms(&alice).await;
    let ids: Vec<i64> = rooms.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [GENERAL, room]);
}

async fn create_room_answers_201_and_names_are_unique(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let res = app
        .post(&alice, "/rooms", &json!({"name": "  Team Rocket "}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let room: Value = res.json().await.unwrap();
    assert_eq!(room["name"], "Team Rocket");
    assert_eq!(room["ownerUserId"], alice.id.to_string());
    assert_eq!(room["ownerUsername"], "alice");
    assert_eq!(room["isGeneral"], false);
    assert_eq!(room["memberCount"], 1);
    assert_eq!(room["lastSeq"], 0);
    assert_eq!(room["unreadCount"], 0);
    assert!(room["createdAt"].as_str().unwrap().ends_with('Z'));
    let published = app.published(1).await;
    let subscribed = match published[0].control[0] {
        Control::Subscribe { room_id, .. } => Some(room_id),
        _ => None,
    };
    assert_eq!(subscribed, room["id"].as_i64());

    for name in ["team rocket", "GENERAL"] {
        let res = app.post(&alice, "/rooms", &json!({"name": name})).await;
        assert_problem(res, StatusCode::CONFLICT, "room_name_taken").await;
    }
    for bad in [
        json!({"name": "x"}),
        json!({"name": "a".repeat(65)}),
        json!({}),
    ] {
        let res = app.post(&alice, "/rooms", &bad).await;
        let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "name");
    }
    let res = app.post(&alice, "/rooms", &json!({"name": 42})).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_body").await;
    let res = app
        .client
        .post(app.url("/rooms"))
        .json(&json!({"name": "nope"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "missing_token").await;
}

async fn private_rooms_are_invisible_to_non_members(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "secret").await;
    let res = app.get(&alice, &format!("/rooms/{room}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    for path in [
        format!("/rooms/{room}"),
        format!("/rooms/{room}/members"),
        format!("/rooms/{room}/messages"),
    ] {
        let res = app.get(&bob, &path).await;
        assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;
    }
    // Exactly like a room that does not exist.
    assert_problem(
        app.get(&bob, "/rooms/999999").await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
    assert_eq!(
        app.get(&bob, "/rooms/abc").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_problem(
        app.send(&bob, room, "hi").await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
    assert_problem(
        app.delete(&bob, &format!("/rooms/{room}")).await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
    assert_eq!(app.rooms(&bob).await.len(), 1);
}

async fn only_the_owner_deletes_a_room_and_never_general(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "doomed").await;
    assert_eq!(
        app.add_member(&alice, room, "bob").await.status(),
        StatusCode::CREATED
    );
    app.send_ok(&bob, room, "hello").await;
    let res = app.delete(&bob, &format!("/rooms/{room}")).await;
    assert_problem(res, StatusCode::FORBIDDEN, "not_room_owner").await;
    let res = app.delete(&alice, &format!("/rooms/{GENERAL}")).await;
    assert_problem(res, StatusCode::FORBIDDEN, "general_room").await;

    let res = app.delete(&alice, &format!("/rooms/{room}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for user in [&alice, &bob] {
        assert_problem(
            app.get(user, &format!("/rooms/{room}")).await,
            StatusCode::NOT_FOUND,
            "room_not_found",
        )
        .await;
        assert_eq!(app.rooms(user).await.len(), 1);
    }
    let messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(messages, 0);
    // Both members hear of it on their own sockets, and leave the room's fan-out.
    let published = app.published(4).await;
    let room_deleted = |frame: &ServerFrame| matches!(frame, ServerFrame::RoomDeleted { .. });
    let last = published
        .iter()
        .find(|p| {
            p.deliveries
                .first()
                .is_some_and(|d| room_deleted(&d.payload))
        })
        .unwrap();
    let targets: Vec<&Target> = last.deliveries.iter().map(|d| &d.target).collect();
    assert_eq!(targets.len(), 2);
    assert!(targets.iter().all(|t| matches!(t, Target::User(_))));
    assert!(last.deliveries.iter().all(|d| room_deleted(&d.payload)));
    assert_eq!(last.control.len(), 2);
    assert!(matches!(last.control[0], Control::Unsubscribe { .. }));
}

async fn general_is_open_to_everyone(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    app.send_ok(&alice, GENERAL, "hi all").await;
    let page = app.history(&bob, GENERAL, "").await;
    assert_eq!(page["messages"][0]["content"], "hi all");
    let res = app.get(&bob, &format!("/rooms/{GENERAL}/members")).await;
    assert_problem(res, StatusCode::FORBIDDEN, "general_room").await;
    let rooms = app.rooms(&bob).await;
    assert_eq!(rooms[0]["lastSeq"], 1);
    assert_eq!(rooms[0]["unreadCount"], 1);
    // Read markers move forward only.
    let res = app
        .post(&bob, &format!("/rooms/{GENERAL}/read"), &json!({"seq": 1}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.rooms(&bob).await[0]["unreadCount"], 0);
    app.post(&bob, &format!("/rooms/{GENERAL}/read"), &json!({"seq": 0}))
        .await;
    assert_eq!(app.rooms(&bob).await[0]["unreadCount"], 0);
    let res = app
        .post(&bob, &format!("/rooms/{GENERAL}/read"), &json!({"seq": -1}))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    // Own messages are never unread.
    assert_eq!(app.rooms(&alice).await[0]["unreadCount"], 0);
}

async fn operational_endpoints_answer(engine: Engine) {
    let app = spawn_app(engine).await;
    let ready: Value = test_support::get_json(&app.client, &app.url("/readyz")).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["checks"]["signing_keys"], "ok");
    let alice = app.signup("alice").await;
    app.send_ok(&alice, GENERAL, "counted").await;
    let metrics = test_support::get_text(&app.client, &app.url("/metrics")).await;
    assert!(metrics.contains("chat_messages_created_total"));
    assert!(metrics.contains(r#"route="/rooms/{id}/messages""#));
    let spec: Value = test_support::get_json(&app.client, &app.url("/openapi.json")).await;
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/rooms/{id}/members/{userId}"]["delete"].is_object());
}

async fn tokens_still_verify_while_auth_service_is_down(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    let room = app.create_room(&alice, "resilient").await;
    app.auth_server.stop(true).await;
    // The signing keys are cached: reading and writing go on.
    assert_eq!(app.rooms(&alice).await.len(), 2);
    app.send_ok(&alice, room, "auth is down, chat is not").await;
    // Only what needs auth-service itself says so, as a 503 to retry.
    let res = app.add_member(&alice, room, "bob").await;
    assert_problem(res, StatusCode::SERVICE_UNAVAILABLE, "auth_unavailable").await;
}

both_engines!(
    tokens_still_verify_while_auth_service_is_down,
    a_new_user_sees_general_first,
    create_room_answers_201_and_names_are_unique,
    private_rooms_are_invisible_to_non_members,
    only_the_owner_deletes_a_room_and_never_general,
    general_is_open_to_everyone,
    operational_endpoints_answer,
);
