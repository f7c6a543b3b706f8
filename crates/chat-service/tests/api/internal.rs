use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use wire::protocol::{MarkRead, Typing};
use wire::{
    ActionBatch, ActionBatchResponse, ChatAction, ConnectRequest, ConnectResponse, Delivery,
    DisconnectRequest, ErrorCode, Identity, RoomsRequest, RoomsResponse, ServerFrame, Target,
};

use crate::helpers::{
    AUTH_KEY, CHAT_KEY, GENERAL, ack, assert_problem, event, identity, messages_page, ok,
    page_seqs, problem, send_message, spawn_app, spawn_app_with, sync_after,
};

fn connect_body(ticket: Option<&str>, token: Option<&str>) -> ConnectRequest {
    ConnectRequest {
        connection_id: "c0ffee".to_owned(),
        ticket: ticket.map(str::to_owned),
        token: token.map(str::to_owned),
        relay_id: "relay-a".to_owned(),
        source_ip: Some("203.0.113.5".to_owned()),
        user_agent: Some("test".to_owned()),
    }
}

async fn internal_endpoints_need_the_key(engine: Engine) {
    let app = spawn_app(engine).await;
    for path in [
        "/internal/ws/connect",
        "/internal/ws/actions/sendMessage",
        "/internal/ws/disconnect",
        "/internal/ws/rooms",
    ] {
        // Raw JSON: any body; the key is checked before it is read.
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
        // Only a relay's key opens these: chat-service's own key (which relays accept) is no
        // key here; auth-service's is (for its user events), but not for these.
        for (key, status, code) in [
            (CHAT_KEY, StatusCode::UNAUTHORIZED, "invalid_internal_key"),
            (AUTH_KEY, StatusCode::FORBIDDEN, "forbidden_internal_caller"),
        ] {
            let res = app
                .client
                .post(app.url(path))
                .header("x-internal-api-key", key)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_problem(res, status, code).await;
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
    let body: ConnectResponse = res.json().await.unwrap();
    let session = body.identity.session_id;
    assert!(
        session.is_some(),
        "the ticket remembers its session: {body:?}"
    );
    assert_eq!(
        body.identity,
        Identity {
            user_id: alice.id,
            username: "alice".to_owned(),
            session_id: session,
        }
    );
    assert_eq!(body.rooms, [GENERAL, room]);
    assert!(body.expires_at > 0);
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
    let body: ConnectResponse = res.json().await.unwrap();
    assert_eq!(body.identity.session_id, session, "the token's session");
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
    let send = ChatAction::SendMessage(send_message(room, "over the socket", Some("ws-1")));
    let answer = app.action_ok(&alice, send.clone()).await;
    let (client_msg_id, message) = ack(&answer);
    assert_eq!(client_msg_id, Some("ws-1"));
    assert_eq!(message.seq, 1);
    assert_eq!(message.content, "over the socket");
    let delivery = Delivery {
        target: Target::Room(room),
        payload: ServerFrame::Message {
            message: message.clone(),
        },
    };
    assert_eq!(answer.outbound, [delivery]);
    // A retry is acked with the same message and not delivered again.
    let again = app.action_ok(&alice, send).await;
    assert_eq!(ack(&again).1, message);
    assert!(again.outbound.is_empty());
    // A non-member is refused; so is bad input.
    let intrude = send_message(room, "let me in", None);
    let res = app.action(&bob, ChatAction::SendMessage(intrude)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;
    let empty = send_message(room, "", None);
    let res = app.action(&alice, ChatAction::SendMessage(empty)).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    // Raw JSON: bodies of the wrong shape, which no type can hold.
    let res = app
        .action_raw(&alice, "sendMessage", json!({"content": "where?"}))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    let res = app
        .action_raw(
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
    let answer = app
        .action_ok(&alice, ChatAction::Sync(sync_after(room, 2)))
        .await;
    let page = messages_page(&answer);
    assert_eq!(page.room_id, room);
    assert_eq!(page_seqs(page), [3, 4, 5]);
    assert!(!page.has_more);
    let res = app
        .action(&bob, ChatAction::Sync(sync_after(room, 0)))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;

    let typing = || ChatAction::Typing(Typing { room_id: room });
    let answer = app.action_ok(&alice, typing()).await;
    assert!(answer.reply.is_none());
    let delivery = Delivery {
        target: Target::Room(room),
        payload: ServerFrame::Typing {
            room_id: room,
            user_id: alice.id,
            username: "alice".to_owned(),
        },
    };
    assert_eq!(answer.outbound[0], delivery);
    let res = app.action(&bob, typing()).await;
    assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;

    app.send_ok(&bob, GENERAL, "hello").await;
    assert_eq!(app.rooms(&alice).await[0]["unreadCount"], 1);
    let read = MarkRead {
        room_id: GENERAL,
        seq: 1,
    };
    let res = app.action(&alice, ChatAction::MarkRead(read)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.rooms(&alice).await[0]["unreadCount"], 0);

    // Raw JSON: an action no `ChatAction` names.
    let res = app.action_raw(&alice, "dance", json!({})).await;
    assert_problem(res, StatusCode::NOT_FOUND, "unknown_action").await;
    let gone = DisconnectRequest {
        connection_id: "c0ffee".to_owned(),
        identity: identity(&alice),
    };
    let res = app.internal("/internal/ws/disconnect", &gone).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

async fn a_batch_answers_each_action_in_order(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "batched").await;
    let sends: Vec<_> = (0..20)
        .map(|i| {
            let cid = format!("cid-{i}");
            let send = send_message(room, &format!("b{i}"), Some(&cid));
            event(&alice, &format!("c{i}"), ChatAction::SendMessage(send))
        })
        .collect();
    let mut events = sends.clone();
    // Refusals stay with their own event and do not fail the others.
    let intrude = send_message(room, "let me in", None);
    events.push(event(&bob, "c-bob", ChatAction::SendMessage(intrude)));
    let empty = send_message(room, "", None);
    events.push(event(&alice, "c-bad", ChatAction::SendMessage(empty)));
    let sync = ChatAction::Sync(sync_after(GENERAL, 0));
    events.push(event(&alice, "c-sync", sync));
    // Raw JSON for the batch: one event (the 23rd) names an action no `ChatAction` has.
    let mut batch = serde_json::to_value(ActionBatch { events }).unwrap();
    let dance =
        json!({"action": "dance", "connectionId": "c-x", "identity": identity(&alice), "body": {}});
    batch["events"].as_array_mut().unwrap().insert(22, dance);
    let res = app.internal("/internal/ws/actions", &batch).await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: ActionBatchResponse = res.json().await.unwrap();
    let results = &answer.results;
    assert_eq!(results.len(), 24);
    let mut seqs: Vec<i64> = results[..20]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let ok = ok(r);
            let (client_msg_id, message) = ack(ok);
            assert_eq!(client_msg_id, Some(format!("cid-{i}").as_str()));
            assert_eq!(message.content, format!("b{i}"));
            assert_eq!(ok.outbound[0].target, Target::Room(room));
            message.seq
        })
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    let refused = problem(&results[20]);
    assert_eq!(
        (refused.status, refused.code),
        (404, ErrorCode::RoomNotFound)
    );
    let invalid = problem(&results[21]);
    assert_eq!(
        (invalid.status, invalid.code),
        (400, ErrorCode::ValidationFailed)
    );
    assert_eq!(problem(&results[22]).code, ErrorCode::UnknownAction);
    assert!(matches!(
        ok(&results[23]).reply,
        Some(ServerFrame::Messages(_))
    ));
    // Stored exactly once each: a retried batch acks the originals and delivers nothing.
    let again: ActionBatchResponse = app.batch(sends).await.json().await.unwrap();
    for (first, retry) in results[..20].iter().zip(&again.results) {
        assert_eq!(ack(ok(retry)).1, ack(ok(first)).1);
        assert!(ok(retry).outbound.is_empty());
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
        .json(&ActionBatch { events: Vec::new() })
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
    let res = app.batch(Vec::new()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<ActionBatchResponse>().await.unwrap(),
        ActionBatchResponse::default()
    );
    // Raw JSON: a batch of the wrong shape.
    let res = app
        .internal("/internal/ws/actions", &json!({"events": "no"}))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_body").await;
    let many: Vec<_> = (0..1025)
        .map(|i| {
            let typing = ChatAction::Typing(Typing { room_id: GENERAL });
            event(&alice, &format!("c{i}"), typing)
        })
        .collect();
    let res = app.batch(many).await;
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
    let ask = |user_ids: Vec<uuid::Uuid>| RoomsRequest { user_ids };
    let rooms = |pairs: Vec<(uuid::Uuid, Vec<i64>)>| RoomsResponse {
        rooms: HashMap::from_iter(pairs),
    };
    let res = app
        .internal(
            "/internal/ws/rooms",
            &ask(vec![alice.id, bob.id, stranger, bob.id]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: RoomsResponse = res.json().await.unwrap();
    assert_eq!(
        body,
        rooms(vec![
            (alice.id, vec![GENERAL, first, second]),
            (bob.id, vec![GENERAL, first]),
            (stranger, vec![GENERAL]),
        ])
    );

    // A removal shows at once: this is what repairs a lost `unsubscribe`.
    let res = app
        .delete(&alice, &format!("/rooms/{first}/members/{}", bob.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.internal("/internal/ws/rooms", &ask(vec![bob.id])).await;
    assert_eq!(
        res.json::<RoomsResponse>().await.unwrap(),
        rooms(vec![(bob.id, vec![GENERAL])])
    );
    let res = app.internal("/internal/ws/rooms", &ask(vec![])).await;
    assert_eq!(
        res.json::<RoomsResponse>().await.unwrap(),
        rooms(Vec::new())
    );

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
