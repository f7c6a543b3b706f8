//! Replies: `replyToId` on sends (REST and socket), the quote as the original is now, the
//! refusals, and history around a seq.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use wire::ChatAction;
use wire::protocol::SendMessage;

use crate::helpers::{ack, spawn_app};

async fn a_reply_quotes_the_original_as_it_is_now(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "replies").await;
    app.add_member_ok(&alice, room, &bob).await;
    let long = "x".repeat(300);
    let original = app.send_ok(&alice, room, &long).await;
    let original_id = original["id"].as_i64().unwrap();
    assert_eq!(original["replyTo"], Value::Null);

    // Over REST.
    let res = app
        .post(
            &bob,
            &format!("/rooms/{room}/messages"),
            &json!({"content": "agreed", "replyToId": original_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let reply: Value = res.json().await.unwrap();
    assert_eq!(reply["replyTo"]["id"], original_id);
    assert_eq!(reply["replyTo"]["seq"], original["seq"]);
    assert_eq!(reply["replyTo"]["userId"], alice.id.to_string());
    assert_eq!(reply["replyTo"]["username"], "alice");
    assert_eq!(reply["replyTo"]["excerpt"], "x".repeat(120));

    // Over the socket, in the ack and in the room's frame.
    let send = SendMessage {
        room_id: room,
        content: "me too".to_owned(),
        client_msg_id: Some("r-1".to_owned()),
        reply_to_id: Some(original_id),
        attachment_ids: Vec::new(),
    };
    let answer = app.action_ok(&alice, ChatAction::SendMessage(send)).await;
    let (_, acked) = ack(&answer);
    let quoted = acked.reply_to.as_ref().expect("a quote");
    assert_eq!(quoted.id, original_id);

    // The quote follows the original: an edit shows, a delete empties it.
    app.patch(
        &alice,
        &format!("/messages/{original_id}"),
        &json!({"content": "lunch at one"}),
    )
    .await;
    let page = app.history(&bob, room, "").await;
    let quotes: Vec<&Value> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["replyTo"].is_null())
        .map(|m| &m["replyTo"])
        .collect();
    assert_eq!(quotes.len(), 2);
    assert!(quotes.iter().all(|q| q["excerpt"] == "lunch at one"));
    app.delete(&alice, &format!("/messages/{original_id}"))
        .await;
    let page = app.history(&bob, room, "").await;
    assert_eq!(page["messages"][1]["replyTo"]["excerpt"], "");
    assert_eq!(page["messages"][1]["replyTo"]["id"], original_id);
    // The change feed carries replies with their quote too.
    let feed: Value = app
        .get(&bob, &format!("/rooms/{room}/changes?sinceRev=0"))
        .await
        .json()
        .await
        .unwrap();
    let replies = feed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["replyTo"].is_null())
        .count();
    assert_eq!(replies, 2);
}

async fn a_reply_must_answer_a_live_message_of_its_room(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let room = app.create_room(&alice, "here").await;
    let other = app.create_room(&alice, "there").await;
    let elsewhere = app.send_ok(&alice, other, "elsewhere").await["id"]
        .as_i64()
        .unwrap();
    let gone = app.send_ok(&alice, room, "gone").await["id"]
        .as_i64()
        .unwrap();
    app.delete(&alice, &format!("/messages/{gone}")).await;
    for reply_to in [elsewhere, gone, 987_654] {
        let res = app
            .post(
                &alice,
                &format!("/rooms/{room}/messages"),
                &json!({"content": "hmm", "replyToId": reply_to}),
            )
            .await;
        let body =
            test_support::assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "replyToId");
    }
    // A non-member learns nothing about the room's messages: the room is not found first.
    let bob = app.signup("bob").await;
    let res = app
        .post(
            &bob,
            &format!("/rooms/{room}/messages"),
            &json!({"content": "hmm", "replyToId": 987_654}),
        )
        .await;
    test_support::assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;
}

async fn history_around_a_seq(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let room = app.create_room(&alice, "around").await;
    for i in 1..=30 {
        app.send_ok(&alice, room, &format!("m{i}")).await;
    }
    let page = app.history(&alice, room, "?aroundSeq=10&limit=6").await;
    assert_eq!(crate::helpers::seqs(&page), [8, 9, 10, 11, 12, 13]);
    assert_eq!(page["hasMoreBefore"], true);
    assert_eq!(page["hasMoreAfter"], true);
    assert_eq!(page["hasMore"], true);
    let start = app.history(&alice, room, "?aroundSeq=1&limit=6").await;
    assert_eq!(crate::helpers::seqs(&start), [1, 2, 3, 4, 5, 6]);
    assert_eq!(start["hasMoreBefore"], false);
    let end = app.history(&alice, room, "?aroundSeq=30&limit=6").await;
    assert_eq!(crate::helpers::seqs(&end), [28, 29, 30]);
    assert_eq!(end["hasMoreAfter"], false);
    // The plain forms say nothing of the two directions.
    let plain = app.history(&alice, room, "?limit=5").await;
    assert!(plain.get("hasMoreBefore").is_none());
    for query in [
        "?aroundSeq=3&afterSeq=1",
        "?aroundSeq=-1",
        "?aroundSeq=3&limit=0",
    ] {
        let res = app
            .get(&alice, &format!("/rooms/{room}/messages{query}"))
            .await;
        test_support::assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
}

both_engines!(
    a_reply_quotes_the_original_as_it_is_now,
    a_reply_must_answer_a_live_message_of_its_room,
    history_around_a_seq,
);
