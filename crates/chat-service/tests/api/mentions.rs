//! Mentions: `@username` and `@room` resolved at send and edit time, the per-room unread
//! mention count, `GET /mentions`, and the limits.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use wire::protocol::SendMessage;
use wire::{ChatAction, ServerFrame};

use crate::helpers::{GENERAL, TestApp, User, ack, event, ok, spawn_app, spawn_app_with, team};

fn ids(users: &[&User]) -> Value {
    json!(users.iter().map(|u| u.id.to_string()).collect::<Vec<_>>())
}

async fn mention_count(app: &TestApp, user: &User, room: i64) -> i64 {
    let res = app.get(user, &format!("/rooms/{room}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["mentionCount"]
        .as_i64()
        .unwrap()
}

/// The contents of a page of messages.
fn contents(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

/// The contents of the user's mentions, newest first.
async fn mentions_of(app: &TestApp, user: &User) -> Vec<String> {
    let res = app.get(user, "/mentions").await;
    assert_eq!(res.status(), StatusCode::OK);
    contents(&res.json().await.unwrap())
}

async fn names_resolve_to_members(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, bob, carol, room) = team(&app).await;
    app.signup("dave").await;

    let text = "hi @Bob and @carol. @dave is not here, @alice is me, mail x@bob.com";
    let sent = app.send_ok(&alice, room, text).await;
    assert_eq!(sent["mentions"], ids(&[&bob, &carol, &alice]));
    assert_eq!(sent["mentionsRoom"], false);
    let plain = app.send_ok(&alice, room, "no one").await;
    assert_eq!(plain["mentions"], json!([]));

    // The room counts unread mentions for those named, never for the author.
    assert_eq!(mention_count(&app, &bob, room).await, 1);
    assert_eq!(mention_count(&app, &carol, room).await, 1);
    assert_eq!(mention_count(&app, &alice, room).await, 0);
    assert_eq!(mentions_of(&app, &bob).await, [text]);
    assert!(mentions_of(&app, &alice).await.is_empty());
    // Reading past it clears the count, not the list.
    let seq = sent["seq"].as_i64().unwrap();
    app.post(&bob, &format!("/rooms/{room}/read"), &json!({"seq": seq}))
        .await;
    assert_eq!(mention_count(&app, &bob, room).await, 0);
    assert_eq!(mentions_of(&app, &bob).await, [text]);

    // Over the socket, alone and in a relay's batch: the same resolution.
    let send = |content: &str, cid: &str| SendMessage {
        room_id: room,
        content: content.to_owned(),
        client_msg_id: Some(cid.to_owned()),
        reply_to_id: None,
        attachment_ids: Vec::new(),
    };
    let answer = app
        .action_ok(&bob, ChatAction::SendMessage(send("@carol look", "m-1")))
        .await;
    assert_eq!(ack(&answer).1.mentions, [carol.id]);
    let res = app
        .batch(vec![
            event(
                &alice,
                "c-1",
                ChatAction::SendMessage(send("@bob one", "m-2")),
            ),
            event(
                &carol,
                "c-2",
                ChatAction::SendMessage(send("@bob two", "m-3")),
            ),
            event(&carol, "c-2", ChatAction::SendMessage(send("three", "m-4"))),
        ])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let batch: wire::ActionBatchResponse = res.json().await.unwrap();
    let acked: Vec<Vec<uuid::Uuid>> = batch
        .results
        .iter()
        .map(|r| ack(ok(r)).1.mentions.clone())
        .collect();
    assert_eq!(acked, [vec![bob.id], vec![bob.id], vec![]]);
    assert_eq!(mention_count(&app, &bob, room).await, 2);
    assert_eq!(mention_count(&app, &carol, room).await, 2);
    assert_eq!(
        mentions_of(&app, &bob).await,
        ["@bob two", "@bob one", text]
    );
    // The room's delivery (the first REST send: the 4th publish) carries them too.
    let published = app.published(4).await;
    let named = [bob.id, carol.id, alice.id];
    let delivered = published.iter().flat_map(|p| &p.deliveries).any(
        |d| matches!(&d.payload, ServerFrame::Message { message } if message.mentions == named),
    );
    assert!(delivered, "{published:?}");
}

async fn room_mentions_are_for_owners_of_group_rooms(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, bob, carol, room) = team(&app).await;
    let sent = app.send_ok(&alice, room, "@room standup in 5").await;
    assert_eq!(sent["mentionsRoom"], true);
    assert_eq!(sent["mentions"], json!([]));
    assert_eq!(mention_count(&app, &bob, room).await, 1);
    assert_eq!(mention_count(&app, &carol, room).await, 1);
    assert_eq!(mention_count(&app, &alice, room).await, 0);

    for (user, room) in [(&bob, room), (&alice, GENERAL)] {
        let res = app.send(user, room, "@room hello").await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "room_mention_forbidden");
    }
    // Plain text in a direct room.
    let res = app.post(&bob, "/dms", &json!({"username": "carol"})).await;
    let dm = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let sent = app.send_ok(&bob, dm, "@room @carol").await;
    assert_eq!(sent["mentionsRoom"], false);
    assert_eq!(sent["mentions"], ids(&[&carol]));
    assert_eq!(mention_count(&app, &carol, dm).await, 1);
}

async fn general_resolves_users_met_before(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let before = app.send_ok(&alice, GENERAL, "@bob are you here?").await;
    assert_eq!(before["mentions"], json!([]));
    // Bob opens a socket (gets a ticket): now chat-service knows his name.
    let res = app.post(&bob, "/ws-tickets", &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let after = app.send_ok(&alice, GENERAL, "@bob now?").await;
    assert_eq!(after["mentions"], ids(&[&bob]));
    assert_eq!(mention_count(&app, &bob, GENERAL).await, 1);
}

async fn edits_and_deletes_change_who_is_mentioned(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, bob, carol, room) = team(&app).await;
    let sent = app.send_ok(&alice, room, "@bob please").await;
    let id = sent["id"].as_i64().unwrap();
    let res = app
        .patch(
            &alice,
            &format!("/messages/{id}"),
            &json!({"content": "@carol please"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["mentions"], ids(&[&carol]));
    assert_eq!(mention_count(&app, &bob, room).await, 0);
    assert!(mentions_of(&app, &bob).await.is_empty());
    assert_eq!(mentions_of(&app, &carol).await, ["@carol please"]);
    // The change feed replays the new mentions.
    let res = app
        .get(&bob, &format!("/rooms/{room}/changes?sinceRev=0"))
        .await;
    let changes: Value = res.json().await.unwrap();
    let last = changes["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["mentions"], ids(&[&carol]));

    let res = app.delete(&alice, &format!("/messages/{id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(mention_count(&app, &carol, room).await, 0);
    assert!(mentions_of(&app, &carol).await.is_empty());

    // Someone removed from the room no longer lists its mentions.
    app.send_ok(&alice, room, "@carol bye").await;
    assert_eq!(mentions_of(&app, &carol).await, ["@carol bye"]);
    app.delete(&alice, &format!("/rooms/{room}/members/{}", carol.id))
        .await;
    assert!(mentions_of(&app, &carol).await.is_empty());
}

async fn mentions_page_newest_first(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, bob, _, room) = team(&app).await;
    for i in 1..=5 {
        app.send_ok(&alice, room, &format!("@bob {i}")).await;
    }
    let res = app.get(&bob, "/mentions?limit=2").await;
    let first: Value = res.json().await.unwrap();
    assert_eq!(contents(&first), ["@bob 5", "@bob 4"]);
    assert_eq!(first["hasMore"], true);
    assert_eq!(first["messages"][0]["roomId"], room);
    let before = first["messages"][1]["id"].as_i64().unwrap();
    let res = app
        .get(&bob, &format!("/mentions?limit=3&before={before}"))
        .await;
    let rest: Value = res.json().await.unwrap();
    assert_eq!(contents(&rest), ["@bob 3", "@bob 2", "@bob 1"]);
    assert_eq!(rest["hasMore"], false);
    for (query, code) in [
        ("limit=0", "validation_failed"),
        ("limit=101", "validation_failed"),
        ("before=0", "validation_failed"),
        ("limit=x", "invalid_query"),
    ] {
        let res = app.get(&bob, &format!("/mentions?{query}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], code, "{query}");
    }
}

async fn limits_are_answered(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.limits.max_mentions_per_message = 1;
        s.limits.room_mention_max_members = 2;
    })
    .await;
    let (alice, _, _, room) = team(&app).await;
    for text in ["@bob @carol", "@room"] {
        let res = app.send(&alice, room, text).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "too_many_mentions");
        assert!(problem["detail"].as_str().unwrap().contains("at most"));
    }
    // Names of nobody do not count.
    app.send_ok(&alice, room, "@bob @nobody @zed").await;
}

both_engines!(
    names_resolve_to_members,
    room_mentions_are_for_owners_of_group_rooms,
    general_resolves_users_met_before,
    edits_and_deletes_change_who_is_mentioned,
    mentions_page_newest_first,
    limits_are_answered,
);
