use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{
    AUTH_KEY, CHAT_KEY, GENERAL, assert_problem, event, spawn_app, spawn_app_with,
};

fn connect_body(ticket: Option<&str>, token: Option<&str>) -> Value {
    json!({
        "connectionId": "c0ffee", "ticket": ticket, "token": token,
        "relayId": "relay-a", "sourceIp": "203.0.113.5", "userAgent": "test"
    })
}

async fn internal_endpoints_need_the_key(engine: Engine) {
    let app = spawn_app(engine).await;
    for path in [
        "/internal/ws/connect",
        "/internal/ws/actions/sendMessage",
        "/internal/ws/disconnect",
        "/internal/ws/rooms",
    ] {
        let res = app
            .client
            .post(app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
        let res = app
            .client
            .post(app.url(path))
            .header("x-internal-api-key", "nope")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
        // Only a relay's key opens these: chat-service's own key (which relays accept) and
        // auth-service's are not keys here.
        for key in [CHAT_KEY, AUTH_KEY] {
            let res = app
                .client
                .post(app.url(path))
                .header("x-internal-api-key", key)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
        }
    }
}

async fn a_ticket_connects_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let room = app.create_room(&alice, "mine").await;
    let ticket = app.ticket(&alice).await;
    let res = app
        .internal("/internal/ws/connect", &connect_body(Some(&ticket), None))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let session = body["identity"]["sessionId"].clone();
    assert!(
        session.is_string(),
        "the ticket remembers its session: {body}"
    );
    assert_eq!(
        body["identity"],
        json!({"userId": alice.id, "username": "alice", "sessionId": session})
    );
    assert_eq!(body["rooms"], json!([GENERAL, room]));
    assert!(body["expiresAt"].as_i64().unwrap() > 0);
    let res = app
        .internal("/internal/ws/connect", &connect_body(Some(&ticket), None))
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_ticket").await;
    let res = app
        .internal("/internal/ws/connect", &connect_body(Some("made-up"), None))
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_ticket").await;
    let res = app
        .internal("/internal/ws/connect", &connect_body(None, None))
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_ticket").await;
    // No ticket is stored in the clear.
    let stored: Vec<(String,)> = sqlx::query_as("SELECT ticket_hash FROM ws_tickets")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert!(stored.iter().all(|(h,)| h != &ticket));
    // A bearer token works too (non-browser clients); a bad one does not.
    let res = app
        .internal(
            "/internal/ws/connect",
            &connect_body(None, Some(&alice.token)),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["identity"]["sessionId"], session,
        "the token's session"
    );
    let res = app
        .internal("/internal/ws/connect", &connect_body(None, Some("a.b.c")))
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_ticket").await;
}

async fn a_ticket_expires(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.ticket_ttl = std::time::Duration::from_secs(1)).await;
    let alice = app.signup("alice").await;
    let res = app.post(&alice, "/ws-tickets", &json!({})).await;
    let ticket = res.json::<Value>().await.unwrap()["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let res = app
        .internal("/internal/ws/connect", &connect_body(Some(&ticket), None))
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_ticket").await;
}

async fn send_message_acks_the_sender_and_targets_the_room(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "ws").await;
    let body = json!({"roomId": room, "content": "over the socket", "clientMsgId": "ws-1"});
    let res = app.action(&alice, "sendMessage", body.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["reply"]["type"], "ack");
    assert_eq!(answer["reply"]["clientMsgId"], "ws-1");
    assert_eq!(answer["reply"]["message"]["seq"], 1);
    assert_eq!(answer["reply"]["message"]["content"], "over the socket");
    assert_eq!(answer["outbound"].as_array().unwrap().len(), 1);
    assert_eq!(answer["outbound"][0]["target"], json!({"room": room}));
    assert_eq!(answer["outbound"][0]["payload"]["type"], "message");
    assert_eq!(
        answer["outbound"][0]["payload"]["message"],
        answer["reply"]["message"]
    );
    // A retry is acked with the same message and not delivered again.
    let again: Value = app
        .action(&alice, "sendMessage", body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["reply"]["message"], answer["reply"]["message"]);
    assert!(again["outbound"].as_array().unwrap().is_empty());
    // A non-member is refused; so is bad input.
    let res = app
        .action(
            &bob,
            "sendMessage",
            json!({"roomId": room, "content": "let me in"}),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;
    let res = app
        .action(
            &alice,
            "sendMessage",
            json!({"roomId": room, "content": ""}),
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    let res = app
        .action(&alice, "sendMessage", json!({"content": "where?"}))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    let res = app
        .action(
            &alice,
            "sendMessage",
            json!({"roomId": "one", "content": "x"}),
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
}

async fn sync_typing_mark_read_and_unknown_actions(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "sync").await;
    for i in 1..=5 {
        app.send_ok(&alice, room, &format!("s{i}")).await;
    }
    let answer: Value = app
        .action(&alice, "sync", json!({"roomId": room, "afterSeq": 2}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["reply"]["type"], "messages");
    assert_eq!(answer["reply"]["roomId"], room);
    let seqs: Vec<i64> = answer["reply"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [3, 4, 5]);
    assert_eq!(answer["reply"]["hasMore"], false);
    let res = app
        .action(&bob, "sync", json!({"roomId": room, "afterSeq": 0}))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;

    let answer: Value = app
        .action(&alice, "typing", json!({"roomId": room}))
        .await
        .json()
        .await
        .unwrap();
    assert!(answer.get("reply").is_none());
    assert_eq!(
        answer["outbound"][0],
        json!({"target": {"room": room}, "payload": {"type": "typing", "roomId": room, "userId": alice.id, "username": "alice"}})
    );
    let res = app.action(&bob, "typing", json!({"roomId": room})).await;
    assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;

    app.send_ok(&bob, GENERAL, "hello").await;
    assert_eq!(app.rooms(&alice).await[0]["unreadCount"], 1);
    let res = app
        .action(&alice, "markRead", json!({"roomId": GENERAL, "seq": 1}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.rooms(&alice).await[0]["unreadCount"], 0);

    let res = app.action(&alice, "dance", json!({})).await;
    assert_problem(res, StatusCode::NOT_FOUND, "unknown_action").await;
    let res = app
        .internal("/internal/ws/disconnect", &json!({"connectionId": "c0ffee", "identity": {"userId": alice.id, "username": "alice"}}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

async fn a_batch_answers_each_action_in_order(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "batched").await;
    let mut events: Vec<Value> = (0..20)
        .map(|i| {
            event(
                &alice,
                &format!("c{i}"),
                "sendMessage",
                json!({"roomId": room, "content": format!("b{i}"), "clientMsgId": format!("cid-{i}")}),
            )
        })
        .collect();
    // Refusals stay with their own event and do not fail the others.
    events.push(event(
        &bob,
        "c-bob",
        "sendMessage",
        json!({"roomId": room, "content": "let me in"}),
    ));
    events.push(event(
        &alice,
        "c-bad",
        "sendMessage",
        json!({"roomId": room, "content": ""}),
    ));
    events.push(event(&alice, "c-x", "dance", json!({})));
    events.push(event(
        &alice,
        "c-sync",
        "sync",
        json!({"roomId": GENERAL, "afterSeq": 0}),
    ));
    let res = app
        .internal("/internal/ws/actions", &json!({ "events": events }))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 24);
    let mut seqs: Vec<i64> = results[..20]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let ok = &r["ok"];
            assert_eq!(ok["reply"]["type"], "ack");
            assert_eq!(ok["reply"]["clientMsgId"], format!("cid-{i}"));
            assert_eq!(ok["reply"]["message"]["content"], format!("b{i}"));
            assert_eq!(ok["outbound"][0]["target"], json!({"room": room}));
            ok["reply"]["message"]["seq"].as_i64().unwrap()
        })
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    assert_eq!(results[20]["error"]["status"], 404);
    assert_eq!(results[20]["error"]["code"], "room_not_found");
    assert_eq!(results[21]["error"]["status"], 400);
    assert_eq!(results[21]["error"]["code"], "validation_failed");
    assert_eq!(results[22]["error"]["code"], "unknown_action");
    assert_eq!(results[23]["ok"]["reply"]["type"], "messages");
    // Stored exactly once each: a retried batch acks the originals and delivers nothing.
    let again: Value = app
        .internal("/internal/ws/actions", &json!({ "events": events[..20] }))
        .await
        .json()
        .await
        .unwrap();
    for (first, retry) in results[..20]
        .iter()
        .zip(again["results"].as_array().unwrap())
    {
        assert_eq!(
            retry["ok"]["reply"]["message"],
            first["ok"]["reply"]["message"]
        );
        assert_eq!(retry["ok"]["outbound"], json!([]));
    }
    let page = app.history(&alice, room, "?limit=200").await;
    assert_eq!(crate::helpers::seqs(&page), (1..=20).collect::<Vec<_>>());
}

async fn a_batch_is_checked_as_a_whole(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let res = app
        .client
        .post(app.url("/internal/ws/actions"))
        .json(&json!({"events": []}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
    let res = app
        .internal("/internal/ws/actions", &json!({"events": []}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"results": []}));
    let res = app
        .internal("/internal/ws/actions", &json!({"events": "no"}))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_body").await;
    let many: Vec<Value> = (0..1025)
        .map(|i| {
            event(
                &alice,
                &format!("c{i}"),
                "typing",
                json!({"roomId": GENERAL}),
            )
        })
        .collect();
    let res = app
        .internal("/internal/ws/actions", &json!({"events": many}))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
}

async fn rooms_lists_every_users_rooms_now(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let first = app.create_room(&alice, "first").await;
    let second = app.create_room(&alice, "second").await;
    assert_eq!(
        app.add_member(&alice, first, "bob").await.status(),
        StatusCode::CREATED
    );
    let stranger = uuid::Uuid::new_v4();
    let ask = |users: Vec<uuid::Uuid>| json!({"userIds": users});
    let res = app
        .internal(
            "/internal/ws/rooms",
            &ask(vec![alice.id, bob.id, stranger, bob.id]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"rooms": {
            alice.id.to_string(): [GENERAL, first, second],
            bob.id.to_string(): [GENERAL, first],
            stranger.to_string(): [GENERAL],
        }})
    );

    // A removal shows at once: this is what repairs a lost `unsubscribe`.
    let res = app
        .delete(&alice, &format!("/rooms/{first}/members/{}", bob.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.internal("/internal/ws/rooms", &ask(vec![bob.id])).await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"rooms": {bob.id.to_string(): [GENERAL]}})
    );
    let res = app.internal("/internal/ws/rooms", &ask(vec![])).await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"rooms": {}}));

    let too_many: Vec<uuid::Uuid> = (0..=wire::ROOMS_REQUEST_MAX_USERS)
        .map(|_| uuid::Uuid::new_v4())
        .collect();
    let res = app.internal("/internal/ws/rooms", &ask(too_many)).await;
    let problem = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(problem.to_string().contains("userIds"), "{problem}");
}

both_engines!(
    rooms_lists_every_users_rooms_now,
    a_batch_answers_each_action_in_order,
    a_batch_is_checked_as_a_whole,
    internal_endpoints_need_the_key,
    a_ticket_connects_once,
    a_ticket_expires,
    send_message_acks_the_sender_and_targets_the_room,
    sync_typing_mark_read_and_unknown_actions,
);
