//! Read receipts: a marker that moves forward is a `readMarker` frame to the room (in
//! `general`, to the reader's own sockets), at most one a user and room every interval, and
//! `GET /rooms/{id}/read-markers` lists the members' markers.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use wire::protocol::MarkRead;
use wire::{ChatAction, ServerFrame, Target};

use crate::helpers::{GENERAL, TestApp, User, spawn_app_with};

async fn read(app: &TestApp, user: &User, room: i64, seq: i64) {
    let res = app
        .post(user, &format!("/rooms/{room}/read"), &json!({ "seq": seq }))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

async fn markers(app: &TestApp, user: &User, room: i64) -> Vec<(String, i64)> {
    let res = app.get(user, &format!("/rooms/{room}/read-markers")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Vec<Value> = res.json().await.unwrap();
    let mut list: Vec<(String, i64)> = body
        .iter()
        .map(|m| {
            (
                m["username"].as_str().unwrap().to_owned(),
                m["seq"].as_i64().unwrap(),
            )
        })
        .collect();
    list.sort();
    list
}

/// The `readMarker` frames published so far: (target, user, seq).
fn receipts(published: &[wire::Publish]) -> Vec<(Target, uuid::Uuid, i64)> {
    published
        .iter()
        .flat_map(|p| &p.deliveries)
        .filter_map(|d| match &d.payload {
            ServerFrame::ReadMarker { user_id, seq, .. } => {
                Some((d.target.clone(), *user_id, *seq))
            }
            _ => None,
        })
        .collect()
}

async fn a_marker_that_moves_is_a_receipt_to_the_room(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.limits.read_receipt_interval = Duration::from_millis(600);
    })
    .await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let room = app.create_room(&alice, "receipts").await;
    app.add_member_ok(&alice, room, &bob).await;
    for text in ["one", "two", "three"] {
        app.send_ok(&alice, room, text).await;
    }
    // Adding bob (1) and three messages (3) were published before.
    app.published(4).await;

    read(&app, &bob, room, 2).await;
    // Backwards, and the same again: nothing moves, nothing is told.
    read(&app, &bob, room, 1).await;
    read(&app, &bob, room, 2).await;
    // Forward again within the interval: stored, not told.
    read(&app, &bob, room, 3).await;
    assert_eq!(markers(&app, &alice, room).await, [("bob".to_owned(), 3)]);
    let published = app.published(5).await;
    assert_eq!(receipts(&published), [(Target::Room(room), bob.id, 2)]);
    // Past a marker at the room's end: capped, so no move.
    read(&app, &bob, room, 99).await;

    // Over the socket, the receipt is the action's outbound; after the interval, it is told.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mark = MarkRead {
        room_id: room,
        seq: 3,
    };
    let answer = app.action_ok(&alice, ChatAction::MarkRead(mark)).await;
    match &answer.outbound[..] {
        [d] => assert!(
            matches!(d.payload, ServerFrame::ReadMarker { user_id, seq: 3, .. } if user_id == alice.id)
                && d.target == Target::Room(room)
        ),
        other => panic!("one receipt expected: {other:?}"),
    }
    assert_eq!(
        markers(&app, &bob, room).await,
        [("alice".to_owned(), 3), ("bob".to_owned(), 3)]
    );

    // general: only the reader's own sockets hear it, and it has no marker list.
    app.send_ok(&alice, GENERAL, "hello all").await;
    let answer = app
        .action_ok(
            &bob,
            ChatAction::MarkRead(MarkRead {
                room_id: GENERAL,
                seq: 1,
            }),
        )
        .await;
    assert_eq!(answer.outbound.len(), 1);
    assert_eq!(answer.outbound[0].target, Target::User(bob.id));
    let res = app
        .get(&bob, &format!("/rooms/{GENERAL}/read-markers"))
        .await;
    test_support::assert_problem(res, StatusCode::FORBIDDEN, "general_room").await;
    // A room one is not in does not exist.
    let res = app
        .get(&carol, &format!("/rooms/{room}/read-markers"))
        .await;
    test_support::assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;
}

both_engines!(a_marker_that_moves_is_a_receipt_to_the_room);
