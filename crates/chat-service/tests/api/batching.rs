use chat_service::domain::{ClientMsgId, MessageContent};
use chat_service::store::messages::{InsertError, NewMessage, insert_batch};
use test_support::{Engine, both_engines};

use crate::helpers::{GENERAL, seqs, spawn_app};

fn new(room: i64, user: &crate::helpers::User, text: &str, cid: Option<&str>) -> NewMessage {
    NewMessage {
        room_id: room,
        user_id: user.id,
        username: user.name.clone(),
        content: MessageContent::parse(text).unwrap(),
        client_msg_id: cid.map(|c| ClientMsgId::parse(c).unwrap()),
        reply_to_id: None,
        mentions: Default::default(),
        attachments: Vec::new(),
        now: store_kit::now_ms(),
    }
}

async fn one_transaction_keeps_order_idempotency_and_rooms_apart(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let room = app.create_room(&alice, "batched").await;
    app.send_ok(&alice, room, "before").await; // seq 1 in `room`
    let stored_before = app
        .post(
            &alice,
            &format!("/rooms/{GENERAL}/messages"),
            &serde_json::json!({"content": "old", "clientMsgId": "old-1"}),
        )
        .await;
    assert_eq!(stored_before.status(), 201);

    let batch = vec![
        new(room, &alice, "r1", Some("b-1")),
        new(GENERAL, &alice, "g1", None),
        new(room, &alice, "r2", Some("b-2")),
        new(room, &alice, "r1 again", Some("b-1")), // a copy inside the batch
        new(GENERAL, &alice, "old again", Some("old-1")), // a copy of a stored send
        new(987_654, &alice, "nowhere", None),
        new(GENERAL, &alice, "g2", Some("b-3")),
    ];
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    let answers = insert_batch(&mut conn, app.state.db.engine, &batch)
        .await
        .unwrap();
    let ok = |i: usize| answers[i].as_ref().unwrap();
    assert_eq!((ok(0).message.seq, ok(0).duplicate), (2, false));
    assert_eq!((ok(2).message.seq, ok(2).duplicate), (3, false));
    assert_eq!(
        (ok(1).message.seq, ok(6).message.seq),
        (2, 3),
        "general continues after seq 1"
    );
    assert!(ok(3).duplicate);
    assert_eq!(ok(3).message.id, ok(0).message.id);
    assert_eq!(ok(3).message.content, "r1");
    assert!(ok(4).duplicate);
    assert_eq!(ok(4).message.content, "old");
    assert!(matches!(answers[5], Err(InsertError::RoomGone)));

    assert_eq!(seqs(&app.history(&alice, room, "").await), [1, 2, 3]);
    assert_eq!(seqs(&app.history(&alice, GENERAL, "").await), [1, 2, 3]);
    let page = app.history(&alice, room, "").await;
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["before", "r1", "r2"]);
    assert_eq!(app.rooms(&alice).await[1]["lastSeq"], 3);
}

async fn a_batch_of_retries_stores_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    let first = insert_batch(
        &mut conn,
        app.state.db.engine,
        &[new(GENERAL, &alice, "x", Some("r-1"))],
    )
    .await
    .unwrap();
    let again = insert_batch(
        &mut conn,
        app.state.db.engine,
        &[
            new(GENERAL, &alice, "x", Some("r-1")),
            new(GENERAL, &alice, "x", Some("r-1")),
        ],
    )
    .await
    .unwrap();
    let id = first[0].as_ref().unwrap().message.id;
    for answer in &again {
        let stored = answer.as_ref().unwrap();
        assert!(stored.duplicate);
        assert_eq!(stored.message.id, id);
    }
    assert_eq!(seqs(&app.history(&alice, GENERAL, "").await), [1]);
}

both_engines!(
    one_transaction_keeps_order_idempotency_and_rooms_apart,
    a_batch_of_retries_stores_nothing
);
