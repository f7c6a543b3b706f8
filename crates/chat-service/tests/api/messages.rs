use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use wire::{ServerFrame, Target};

use crate::helpers::{GENERAL, assert_problem, seqs, spawn_app, spawn_app_with};

async fn a_posted_message_is_stored_and_fanned_out(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let xss = "<img src=x onerror=alert(1)>";
    let res = app
        .post(
            &alice,
            &format!("/rooms/{GENERAL}/messages"),
            &json!({"content": xss, "clientMsgId": "c-1"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let message: Value = res.json().await.unwrap();
    assert_eq!(message["roomId"], GENERAL);
    assert_eq!(message["seq"], 1);
    assert_eq!(message["userId"], alice.id.to_string());
    assert_eq!(message["username"], "alice");
    assert_eq!(message["type"], "text");
    assert_eq!(message["content"], xss, "stored exactly as sent");
    assert_eq!(message["clientMsgId"], "c-1");
    assert_eq!(message["deleted"], false);
    assert!(message["editedAt"].is_null());
    assert!(message["id"].as_i64().unwrap() > 0);
    let published = app.published(1).await;
    let delivery = &published[0].deliveries[0];
    assert_eq!(delivery.target, Target::Room(GENERAL));
    let ServerFrame::Message { message: pushed } = &delivery.payload else {
        panic!("expected a message, got {delivery:?}");
    };
    // The frame's message is the REST answer's, to the field.
    assert_eq!(serde_json::to_value(pushed).unwrap(), message);
}

async fn content_rules(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    for bad in ["", "   \n ", &"x".repeat(4001)] {
        let res = app.send(&alice, GENERAL, bad).await;
        let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "content");
    }
    assert_eq!(
        app.send(&alice, GENERAL, &"é".repeat(4000)).await.status(),
        StatusCode::CREATED
    );
    let res = app
        .post(
            &alice,
            &format!("/rooms/{GENERAL}/messages"),
            &json!({"content": "x", "clientMsgId": "bad id!"}),
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    let res = app
        .post(
            &alice,
            &format!("/rooms/{GENERAL}/messages"),
            &json!({"content": ["x"]}),
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_body").await;
    let res = app
        .client
        .post(app.url("/rooms/1/messages"))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body("{\"content\":")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_body").await;
    assert_problem(
        app.send(&alice, 424242, "hi").await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
    // Nothing refused was stored.
    assert_eq!(seqs(&app.history(&alice, GENERAL, "").await), [1]);
}

async fn a_retried_send_returns_the_original(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let body = json!({"content": "once", "clientMsgId": "retry-me"});
    let path = format!("/rooms/{GENERAL}/messages");
    let first = app.post(&alice, &path, &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = app.post(&alice, &path, &body).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    // Concurrent copies too.
    let racing = json!({"content": "raced", "clientMsgId": "race-1"});
    let answers =
        futures_util::future::join_all((0..8).map(|_| app.post(&alice, &path, &racing))).await;
    let mut ids = Vec::new();
    for res in answers {
        assert!(res.status() == StatusCode::CREATED || res.status() == StatusCode::OK);
        ids.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one message for eight copies");
    assert_eq!(seqs(&app.history(&alice, GENERAL, "").await), [1, 2]);
    // The same clientMsgId from another user is another message.
    let bob = app.signup("bob").await;
    assert_eq!(
        app.post(&bob, &path, &body).await.status(),
        StatusCode::CREATED
    );
    // Published once per stored message.
    let published = app.published(3).await;
    assert_eq!(published.len(), 3);
}

async fn history_cursors(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let room = app.create_room(&alice, "history").await;
    for i in 1..=12 {
        app.send_ok(&alice, room, &format!("m{i}")).await;
    }
    let latest = app.history(&alice, room, "?limit=5").await;
    assert_eq!(seqs(&latest), [8, 9, 10, 11, 12]);
    assert_eq!(latest["hasMore"], true);
    let older = app.history(&alice, room, "?beforeSeq=8&limit=5").await;
    assert_eq!(seqs(&older), [3, 4, 5, 6, 7]);
    assert_eq!(older["hasMore"], true);
    let oldest = app.history(&alice, room, "?beforeSeq=3&limit=5").await;
    assert_eq!(seqs(&oldest), [1, 2]);
    assert_eq!(oldest["hasMore"], false);
    let edge = app.history(&alice, room, "?beforeSeq=6&limit=5").await;
    assert_eq!(seqs(&edge), [1, 2, 3, 4, 5]);
    assert_eq!(edge["hasMore"], false);

    let after = app.history(&alice, room, "?afterSeq=9").await;
    assert_eq!(seqs(&after), [10, 11, 12]);
    assert_eq!(after["hasMore"], false);
    let after = app.history(&alice, room, "?afterSeq=4&limit=8").await;
    assert_eq!(seqs(&after), [5, 6, 7, 8, 9, 10, 11, 12]);
    assert_eq!(after["hasMore"], false);
    let after = app.history(&alice, room, "?afterSeq=4&limit=7").await;
    assert_eq!(after["hasMore"], true);
    assert!(seqs(&app.history(&alice, room, "?afterSeq=12").await).is_empty());
    let between = app.history(&alice, room, "?afterSeq=3&beforeSeq=7").await;
    assert_eq!(seqs(&between), [4, 5, 6]);
    assert_eq!(between["messages"][0]["content"], "m4");

    for bad in ["?afterSeq=-1", "?beforeSeq=-5", "?limit=0", "?limit=-3"] {
        let res = app
            .get(&alice, &format!("/rooms/{room}/messages{bad}"))
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
    for bad in [
        "?limit=abc",
        "?afterSeq=1.5",
        "?limit=99999999999999999999999",
    ] {
        let res = app
            .get(&alice, &format!("/rooms/{room}/messages{bad}"))
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
}

async fn limits_above_200_are_capped(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.send_limit = 10_000).await;
    let alice = app.signup("alice").await;
    let room = app.create_room(&alice, "busy").await;
    for i in 0..205 {
        app.send_ok(&alice, room, &format!("n{i}")).await;
    }
    let page = app.history(&alice, room, "?limit=1000000").await;
    assert_eq!(seqs(&page).len(), 200);
    assert_eq!(seqs(&page)[0], 6);
    assert_eq!(page["hasMore"], true);
}

async fn edit_and_delete_rules(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let room = app.create_room(&alice, "rules").await;
    app.add_member(&alice, room, "bob").await;
    app.add_member(&alice, room, "carol").await;
    let by_bob = app.send_ok(&bob, room, "typo").await;
    let id = by_bob["id"].as_i64().unwrap();

    let res = app
        .patch(
            &carol,
            &format!("/messages/{id}"),
            &json!({"content": "hijack"}),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "not_message_author").await;
    let res = app
        .patch(&bob, &format!("/messages/{id}"), &json!({"content": ""}))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    let res = app
        .patch(
            &bob,
            &format!("/messages/{id}"),
            &json!({"content": "fixed"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["content"], "fixed");
    assert_eq!(edited["seq"], by_bob["seq"]);
    assert!(edited["editedAt"].is_string());

    // Neither another member nor a stranger may delete it; the author and the owner may.
    assert_problem(
        app.delete(&carol, &format!("/messages/{id}")).await,
        StatusCode::FORBIDDEN,
        "not_message_author",
    )
    .await;
    let stranger = app.signup("dave").await;
    assert_problem(
        app.delete(&stranger, &format!("/messages/{id}")).await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    )
    .await;
    assert_eq!(
        app.delete(&alice, &format!("/messages/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&bob, &format!("/messages/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    let page = app.history(&carol, room, "").await;
    assert_eq!(page["messages"][0]["deleted"], true);
    assert_eq!(page["messages"][0]["content"], "");
    assert_eq!(
        page["messages"][0]["seq"], 1,
        "the seq stays, so sync stays complete"
    );
    let res = app
        .patch(
            &bob,
            &format!("/messages/{id}"),
            &json!({"content": "undead"}),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "message_not_found").await;
    assert_problem(
        app.delete(&bob, "/messages/987654").await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    )
    .await;

    let published = app.published(6).await;
    let payloads: Vec<&ServerFrame> = published
        .iter()
        .flat_map(|p| &p.deliveries)
        .map(|d| &d.payload)
        .collect();
    assert!(
        payloads
            .iter()
            .any(|p| matches!(p, ServerFrame::MessageEdited { .. }))
    );
    let deletes = payloads
        .iter()
        .filter(|p| matches!(p, ServerFrame::MessageDeleted { .. }));
    assert_eq!(deletes.count(), 1);
}

async fn sends_allow_bursts_then_limit(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.send_limit = 50;
        s.send_window = std::time::Duration::from_secs(60);
    })
    .await;
    let alice = app.signup("alice").await;
    for i in 0..50 {
        app.send_ok(&alice, GENERAL, &format!("burst {i}")).await;
    }
    let res = app.send(&alice, GENERAL, "one too many").await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let bob = app.signup("bob").await;
    app.send_ok(&bob, GENERAL, "others are not affected").await;
    let metrics = test_support::get_text(&app.client, &app.url("/metrics")).await;
    assert!(
        metrics.contains(r#"chat_sends_rejected_total{reason="rate_limited"}"#),
        "{metrics}"
    );
}

both_engines!(
    a_posted_message_is_stored_and_fanned_out,
    content_rules,
    a_retried_send_returns_the_original,
    history_cursors,
    limits_above_200_are_capped,
    edit_and_delete_rules,
    sends_allow_bursts_then_limit,
);
