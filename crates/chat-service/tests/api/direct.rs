//! Direct rooms: `POST /dms` opens the one room of a pair (or a user's notes), whoever asks
//! first; it has no name, no owner and no member changes; either person can hide it until its
//! next message.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use wire::{Control, ServerFrame, Target};

use crate::helpers::{GENERAL, TestApp, User, spawn_app, spawn_app_with};

async fn open(app: &TestApp, user: &User, body: Value) -> (StatusCode, Value) {
    let res = app.post(user, "/dms", &body).await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// The rooms in the user's list, as (id, kind, peer username).
async fn listed(app: &TestApp, user: &User) -> Vec<(i64, String, Option<String>)> {
    let res = app.get(user, "/rooms").await;
    assert_eq!(res.status(), StatusCode::OK);
    let rooms: Vec<Value> = res.json().await.unwrap();
    rooms
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["kind"].as_str().unwrap().to_owned(),
                r["peer"]["username"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

async fn one_room_per_pair_whoever_asks(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;

    let (status, room) = open(&app, &alice, json!({"username": "BOB"})).await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    let id = room["id"].as_i64().unwrap();
    assert_eq!(room["kind"], "direct");
    assert_eq!(room["name"], "");
    assert_eq!(room["ownerUserId"], Value::Null);
    assert_eq!(room["isGeneral"], false);
    assert_eq!(room["memberCount"], 2);
    assert_eq!(room["peer"]["userId"], bob.id.to_string());
    assert_eq!(room["peer"]["username"], "bob");
    // Both people's sockets start receiving it.
    let published = app.published(1).await;
    let mut subscribed: Vec<(uuid::Uuid, i64)> = published[0]
        .control
        .iter()
        .filter_map(|c| match c {
            Control::Subscribe { user_id, room_id } => Some((*user_id, *room_id)),
            _ => None,
        })
        .collect();
    subscribed.sort();
    let mut expected = vec![(alice.id, id), (bob.id, id)];
    expected.sort();
    assert_eq!(subscribed, expected);

    // The other one asks, by id: the same room, 200.
    let (status, again) = open(&app, &bob, json!({"userId": alice.id})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], id);
    assert_eq!(again["peer"]["username"], "alice");

    // Each sees it with the other as peer; a group room keeps kind "group" and no peer.
    let group = app.create_room(&alice, "team").await;
    let rooms = listed(&app, &alice).await;
    assert_eq!(
        rooms,
        [
            (GENERAL, "general".to_owned(), None),
            (id, "direct".to_owned(), Some("bob".to_owned())),
            (group, "group".to_owned(), None),
        ]
    );
    assert!(listed(&app, &bob).await.contains(&(
        id,
        "direct".to_owned(),
        Some("alice".to_owned())
    )));

    // Only the pair reads it.
    app.send_ok(&bob, id, "psst").await;
    let res = app.get(&carol, &format!("/rooms/{id}/messages")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.send(&carol, id, "let me in").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.history(&alice, id, "").await["messages"][0]["content"],
        "psst"
    );
}

async fn notes_to_self_and_refusals(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;

    let (status, notes) = open(&app, &alice, json!({"userId": alice.id})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(notes["memberCount"], 1);
    assert_eq!(notes["peer"]["userId"], alice.id.to_string());
    let (status, again) = open(&app, &alice, json!({"username": "alice"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], notes["id"]);
    app.send_ok(&alice, notes["id"].as_i64().unwrap(), "buy milk")
        .await;

    for body in [
        json!({}),
        json!({"userId": bob.id, "username": "bob"}),
        json!({"username": ""}),
    ] {
        let (status, problem) = open(&app, &alice, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["code"], "validation_failed");
    }
    for body in [
        json!({"username": "nobody"}),
        json!({"userId": uuid::Uuid::new_v4()}),
    ] {
        let (status, problem) = open(&app, &alice, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
        assert_eq!(problem["code"], "user_not_found");
    }

    // A direct room has exactly its two people, and no owner to delete it.
    let (_, dm) = open(&app, &alice, json!({"username": "bob"})).await;
    let dm = dm["id"].as_i64().unwrap();
    let refusals = [
        app.add_member(&alice, dm, "carol").await,
        app.delete(&alice, &format!("/rooms/{dm}/members/{}", bob.id))
            .await,
        app.delete(&bob, &format!("/rooms/{dm}/members/{}", bob.id))
            .await,
        app.delete(&alice, &format!("/rooms/{dm}")).await,
    ];
    for res in refusals {
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "direct_room");
    }
    let res = app.get(&bob, &format!("/rooms/{dm}/members")).await;
    let members: Vec<Value> = res.json().await.unwrap();
    assert_eq!(members.len(), 2);
    assert!(members.iter().all(|m| m["isOwner"] == false));
}

async fn hidden_until_the_next_message(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (_, dm) = open(&app, &alice, json!({"username": "bob"})).await;
    let dm = dm["id"].as_i64().unwrap();
    app.send_ok(&alice, dm, "hello").await;
    app.published(2).await;

    let res = app
        .post(&alice, &format!("/rooms/{dm}/hide"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(!listed(&app, &alice).await.iter().any(|r| r.0 == dm));
    // Still there for bob, and still readable by id for alice.
    assert!(listed(&app, &bob).await.iter().any(|r| r.0 == dm));
    let res = app.get(&alice, &format!("/rooms/{dm}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Alice's other devices are told.
    let published = app.published(3).await;
    let hidden: Vec<(Target, i64)> = published[2]
        .deliveries
        .iter()
        .filter_map(|d| match d.payload {
            ServerFrame::RoomHidden { room_id } => Some((d.target.clone(), room_id)),
            _ => None,
        })
        .collect();
    assert_eq!(hidden, [(Target::User(alice.id), dm)]);

    // Bob's next message brings it back.
    app.send_ok(&bob, dm, "still there?").await;
    let rooms = listed(&app, &alice).await;
    let back = rooms.iter().find(|r| r.0 == dm).expect("shown again");
    assert_eq!(back.2.as_deref(), Some("bob"));
    let res = app.get(&alice, "/rooms").await;
    let rooms: Vec<Value> = res.json().await.unwrap();
    let back = rooms.iter().find(|r| r["id"] == dm).unwrap();
    assert_eq!(back["unreadCount"], 1);

    // Hidden again, then opened again: shown without a message.
    app.post(&alice, &format!("/rooms/{dm}/hide"), &json!({}))
        .await;
    assert!(!listed(&app, &alice).await.iter().any(|r| r.0 == dm));
    let (status, _) = open(&app, &alice, json!({"username": "bob"})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(listed(&app, &alice).await.iter().any(|r| r.0 == dm));

    // Only direct rooms hide.
    let group = app.create_room(&alice, "team").await;
    for room in [group, GENERAL] {
        let res = app
            .post(&alice, &format!("/rooms/{room}/hide"), &json!({}))
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "not_direct_room");
    }
    let carol = app.signup("carol").await;
    let res = app
        .post(&carol, &format!("/rooms/{dm}/hide"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

async fn concurrent_opens_find_one_room(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (a, b) = tokio::join!(
        open(&app, &alice, json!({"userId": bob.id})),
        open(&app, &bob, json!({"userId": alice.id})),
    );
    assert_eq!(a.1["id"], b.1["id"], "{a:?} {b:?}");
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CREATED]);
}

async fn opening_is_rate_limited_reopening_is_not(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.limits.dm_creates_per_hour = 1).await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    app.signup("carol").await;
    let (status, _) = open(&app, &alice, json!({"username": "bob"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let res = app
        .post(&alice, "/dms", &json!({"username": "carol"}))
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    let (status, _) = open(&app, &alice, json!({"username": "bob"})).await;
    assert_eq!(status, StatusCode::OK);
}

/// Direct rooms do not count against CHAT_MAX_ROOMS_PER_USER (group memberships only).
async fn direct_rooms_do_not_fill_the_room_cap(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.limits.max_rooms_per_user = 1).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (status, _) = open(&app, &alice, json!({"username": "bob"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let room = app.create_room(&alice, "one").await;
    app.add_member_ok(&alice, room, &bob).await;
}

both_engines!(
    one_room_per_pair_whoever_asks,
    notes_to_self_and_refusals,
    hidden_until_the_next_message,
    concurrent_opens_find_one_room,
    opening_is_rate_limited_reopening_is_not,
    direct_rooms_do_not_fill_the_room_cap,
);
