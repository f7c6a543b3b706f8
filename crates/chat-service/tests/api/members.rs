use reqwest::StatusCode;
use serde_json::Value;
use test_support::{Engine, both_engines};
use wire::{Control, ServerFrame, Target};

use crate::helpers::{assert_problem, spawn_app};

async fn the_owner_adds_members_by_username(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("Bob").await;
    let carol = app.signup("carol").await;
    let room = app.create_room(&alice, "team").await;
    let res = app.add_member(&alice, room, "bob").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let member: Value = res.json().await.unwrap();
    assert_eq!(member["userId"], bob.id.to_string());
    assert_eq!(member["username"], "Bob");
    assert_eq!(member["isOwner"], false);
    assert!(member["joinedAt"].is_string());
    // Bob now sees the room; the relay is told to subscribe his sockets and announce it.
    assert_eq!(
        app.get(&bob, &format!("/rooms/{room}")).await.status(),
        StatusCode::OK
    );
    let published = app.published(2).await;
    let subscribe = Control::Subscribe {
        user_id: bob.id,
        room_id: room,
    };
    let added = published
        .iter()
        .find(|p| p.control.first() == Some(&subscribe))
        .unwrap();
    assert_eq!(added.control[0], subscribe);
    assert_eq!(added.deliveries[0].target, Target::Room(room));
    assert!(matches!(
        added.deliveries[0].payload,
        ServerFrame::MemberAdded { .. }
    ));

    assert_problem(
        app.add_member(&alice, room, "BOB").await,
        StatusCode::CONFLICT,
        "already_member",
    )
    .await;
    assert_problem(
        app.add_member(&alice, room, "nobody").await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    )
    .await;
    assert_problem(
        app.add_member(&alice, room, "").await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.add_member(&alice, room, "../../x?y").await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    )
    .await;
    assert_problem(
        app.add_member(&bob, room, "carol").await,
        StatusCode::FORBIDDEN,
        "not_room_owner",
    )
    .await;
    assert_problem(
        app.add_member(&carol, room, "carol").await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;

    let list: Vec<Value> = app
        .get(&bob, &format!("/rooms/{room}/members"))
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "Bob"]);
    assert_eq!(list[0]["isOwner"], true);
    let rooms = app.rooms(&alice).await;
    assert_eq!(rooms[1]["memberCount"], 2);
}

async fn removed_members_lose_access(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let room = app.create_room(&alice, "team").await;
    app.add_member(&alice, room, "bob").await;
    app.add_member(&alice, room, "carol").await;
    // A member may not remove another member.
    let res = app
        .delete(&bob, &format!("/rooms/{room}/members/{}", carol.id))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "not_room_owner").await;
    let res = app
        .delete(&alice, &format!("/rooms/{room}/members/{}", bob.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.send(&bob, room, "still here?").await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
    assert_problem(
        app.get(&bob, &format!("/rooms/{room}/messages")).await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
    let res = app
        .delete(&alice, &format!("/rooms/{room}/members/{}", bob.id))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "member_not_found").await;
    let published = app.published(4).await;
    let removal = published
        .iter()
        .find(|p| matches!(p.control.first(), Some(Control::Unsubscribe { .. })))
        .unwrap();
    assert!(
        matches!(removal.control[0], Control::Unsubscribe { user_id, .. } if user_id == bob.id),
        "{removal:?}"
    );
    let targets: Vec<&Target> = removal.deliveries.iter().map(|d| &d.target).collect();
    assert_eq!(targets[0], &Target::Room(room));
    assert_eq!(targets[1], &Target::User(bob.id));
    // Carol leaves on her own.
    let res = app
        .delete(&carol, &format!("/rooms/{room}/members/{}", carol.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.rooms(&carol).await.len(), 1);
}

async fn an_owner_who_leaves_hands_over_and_the_last_one_out_deletes(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "relay race").await;
    app.add_member(&alice, room, "bob").await;
    let res = app
        .delete(&alice, &format!("/rooms/{room}/members/{}", alice.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let view: Value = app
        .get(&bob, &format!("/rooms/{room}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["ownerUserId"], bob.id.to_string());
    assert_eq!(view["ownerUsername"], "bob");
    assert_eq!(view["memberCount"], 1);
    // Bob, now owner, may add people back.
    assert_eq!(
        app.add_member(&bob, room, "alice").await.status(),
        StatusCode::CREATED
    );
    app.delete(&bob, &format!("/rooms/{room}/members/{}", alice.id))
        .await;
    let res = app
        .delete(&bob, &format!("/rooms/{room}/members/{}", bob.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get(&bob, &format!("/rooms/{room}")).await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
    // The name is free again.
    app.create_room(&alice, "relay race").await;
}

both_engines!(
    the_owner_adds_members_by_username,
    removed_members_lose_access,
    an_owner_who_leaves_hands_over_and_the_last_one_out_deletes,
);
