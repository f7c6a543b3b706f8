//! End to end over real auth-service, chat-service and relay, on SQLite and on PostgreSQL:
//! delivery, acks, sync after a reconnect, idempotent retries, membership changes and
//! logout-all.

use std::time::Duration;

use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::*;

const QUIET: Duration = Duration::from_millis(400);

async fn private_room_reaches_members_once_and_general_reaches_all(engine: Engine) {
    let stack = spawn_stack(engine).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let carol = stack.signup("carol").await;
    let room = stack.create_room(&alice, "secret").await;
    stack.add_member_ok(&alice, room, &bob).await;

    let (mut a, ready) = stack.connect_to(&stack.relay, &alice).await;
    assert_eq!(ready["userId"], alice.id.to_string());
    assert!(ready["connectionId"].as_str().is_some());
    let rooms: Vec<i64> = serde_json::from_value(ready["rooms"].clone()).unwrap();
    assert!(rooms.contains(&GENERAL) && rooms.contains(&room), "{ready}");
    let mut b = stack.connect(&bob).await;
    let mut c = stack.connect(&carol).await;

    let cid = client_msg_id();
    a.send(json!({"action": "sendMessage", "id": "7", "roomId": room, "content": "hi bob", "clientMsgId": cid}))
        .await;
    let ack = a.recv_type("ack").await;
    assert_eq!(ack["id"], "7");
    assert_eq!(ack["clientMsgId"], cid.as_str());
    assert_eq!(ack["message"]["content"], "hi bob");
    assert_eq!(ack["message"]["roomId"], room);
    let seq = ack["message"]["seq"].as_i64().unwrap();

    for ws in [&mut a, &mut b] {
        let m = ws.recv_type("message").await;
        assert_eq!(m["message"]["content"], "hi bob");
        assert_eq!(m["message"]["seq"], seq);
        // Exactly once.
        ws.silent(QUIET).await;
    }
    c.silent(QUIET).await;

    c.send(json!({"action": "sendMessage", "roomId": GENERAL, "content": "hello all", "clientMsgId": client_msg_id()}))
        .await;
    assert_eq!(c.recv_type("ack").await["message"]["content"], "hello all");
    for ws in [&mut a, &mut b, &mut c] {
        let m = ws.recv_type("message").await;
        assert_eq!(m["message"]["content"], "hello all");
        assert_eq!(m["message"]["roomId"], GENERAL);
        ws.silent(QUIET).await;
    }

    // The non-member cannot post into the private room either.
    c.send(json!({"action": "sendMessage", "id": 1, "roomId": room, "content": "let me in", "clientMsgId": client_msg_id()}))
        .await;
    let err = c.recv().await;
    assert_eq!(err["type"], "error");
    assert_eq!(err["temporary"], false);
    assert_eq!(err["id"], 1);
    a.silent(QUIET).await;
}

async fn sync_after_reconnect_returns_exactly_what_was_missed(engine: Engine) {
    let stack = spawn_stack(engine).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let room = stack.create_room(&alice, "team").await;
    stack.add_member_ok(&alice, room, &bob).await;

    let mut b = stack.connect(&bob).await;
    let mut a = stack.connect(&alice).await;
    a.send(json!({"action": "sendMessage", "roomId": room, "content": "before", "clientMsgId": client_msg_id()}))
        .await;
    a.recv_type("ack").await;
    a.recv_type("message").await;
    let last_seen = b.recv_type("message").await["message"]["seq"]
        .as_i64()
        .unwrap();
    drop(b);

    // While Bob is away: two over the socket, one over REST.
    for text in ["missed 1", "missed 2"] {
        a.send(json!({"action": "sendMessage", "roomId": room, "content": text, "clientMsgId": client_msg_id()}))
            .await;
        a.recv_type("ack").await;
        a.recv_type("message").await;
    }
    stack.send_ok(&alice, room, "missed 3").await;

    let mut b = stack.connect(&bob).await;
    b.send(json!({"action": "sync", "id": "s1", "roomId": room, "afterSeq": last_seen}))
        .await;
    let page = b.recv_type("messages").await;
    assert_eq!(page["id"], "s1");
    assert_eq!(page["roomId"], room);
    let contents: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["missed 1", "missed 2", "missed 3"]);
    assert_eq!(page["hasMore"], false);
}

async fn a_retried_send_is_stored_and_delivered_once(engine: Engine) {
    let stack = spawn_stack(engine).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let room = stack.create_room(&alice, "retry").await;
    stack.add_member_ok(&alice, room, &bob).await;
    let mut a = stack.connect(&alice).await;
    let mut b = stack.connect(&bob).await;

    let cid = client_msg_id();
    let frame =
        json!({"action": "sendMessage", "roomId": room, "content": "once", "clientMsgId": cid});
    a.send(frame.clone()).await;
    let first = a.recv_type("ack").await;
    a.recv_type("message").await;
    // The client did not see the ack (say) and retries on a new connection.
    drop(a);
    let mut a = stack.connect(&alice).await;
    a.send(frame).await;
    let second = a.recv_type("ack").await;
    assert_eq!(first["message"]["id"], second["message"]["id"]);
    assert_eq!(first["message"]["seq"], second["message"]["seq"]);
    a.silent(QUIET).await;

    assert_eq!(b.recv_type("message").await["message"]["content"], "once");
    b.silent(QUIET).await;
    b.send(json!({"action": "sync", "roomId": room, "afterSeq": 0}))
        .await;
    assert_eq!(
        b.recv_type("messages").await["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn pipelined_sends_keep_their_order(engine: Engine) {
    let stack = spawn_stack(engine).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let room = stack.create_room(&alice, "pipelined").await;
    stack.add_member_ok(&alice, room, &bob).await;
    let mut a = stack.connect(&alice).await;
    let mut b = stack.connect(&bob).await;
    // Thirty sends without waiting for any ack, then a sync behind them.
    for i in 0..30 {
        a.send(json!({"action": "sendMessage", "id": i, "roomId": room, "content": format!("m{i}"), "clientMsgId": client_msg_id()}))
            .await;
    }
    a.send(json!({"action": "sync", "id": "s", "roomId": room, "afterSeq": 0}))
        .await;
    let mut acks = Vec::new();
    let mut synced = None;
    while synced.is_none() {
        let frame = a.recv().await;
        match frame["type"].as_str() {
            Some("ack") => acks.push((
                frame["id"].as_i64().unwrap(),
                frame["message"]["seq"].as_i64().unwrap(),
                frame["message"]["content"].clone(),
            )),
            Some("messages") => synced = Some(frame),
            _ => {}
        }
    }
    // Every send acked before the sync answered, each with the seq of its place in line.
    let expected: Vec<(i64, i64, Value)> = (0..30)
        .map(|i| (i, i + 1, json!(format!("m{i}"))))
        .collect();
    assert_eq!(acks, expected);
    assert_eq!(synced.unwrap()["messages"].as_array().unwrap().len(), 30);
    for i in 0..30 {
        let message = b.recv_type("message").await;
        assert_eq!(message["message"]["content"], format!("m{i}"));
    }
}

async fn membership_changes_apply_without_reconnecting(engine: Engine) {
    let stack = spawn_stack(engine).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let room = stack.create_room(&alice, "club").await;
    let mut a = stack.connect(&alice).await;
    let mut b = stack.connect(&bob).await;

    stack.add_member_ok(&alice, room, &bob).await;
    let added = b.recv_type("memberAdded").await;
    assert_eq!(added["roomId"], room);
    a.recv_type("memberAdded").await;
    stack.send_ok(&alice, room, "welcome").await;
    assert_eq!(
        b.recv_type("message").await["message"]["content"],
        "welcome"
    );
    a.recv_type("message").await;

    stack.remove_member(&alice, room, &bob).await;
    let removed = b.recv_type("memberRemoved").await;
    assert_eq!(removed["userId"], bob.id.to_string());
    // Once, through the user target, not twice.
    b.silent(QUIET).await;
    a.recv_type("memberRemoved").await;
    stack.send_ok(&alice, room, "bob is gone").await;
    assert_eq!(
        a.recv_type("message").await["message"]["content"],
        "bob is gone"
    );
    b.silent(QUIET).await;
}

async fn logout_all_closes_the_users_sockets(engine: Engine) {
    let stack = spawn_stack(engine).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let mut a1 = stack.connect(&alice).await;
    let mut a2 = stack.connect(&alice).await;
    let mut b = stack.connect(&bob).await;
    stack.logout_all(&alice).await;
    for ws in [&mut a1, &mut a2] {
        let (code, reason, _) = ws.closed(WAIT).await;
        assert_eq!(code, Some(4003));
        assert_eq!(reason, "logged out");
    }
    b.send(json!({"action": "ping", "id": "p"})).await;
    assert_eq!(b.recv().await, json!({"type": "pong", "id": "p"}));
    eventually("alice's connections are gone", || async {
        stack.relay.relay.connection_count() == 1
    })
    .await;
}

async fn refresh_token_keeps_the_connection_past_expiry(engine: Engine) {
    let mut options = Options::new(engine);
    options.access_ttl = Duration::from_secs(3);
    let stack = spawn_stack_with(options).await;
    let alice = stack.login_again(&stack.signup("alice").await).await;
    let bob = stack.signup("bob").await;
    let mut a = stack.connect(&alice).await;
    let mut b = stack.connect(&bob).await;

    // Alice refreshes her session (with a token that outlives Bob's by at least a second); Bob
    // does not.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = stack.refresh_ok(&alice.refresh).await.token;
    a.send(json!({"action": "refreshToken", "id": "r", "token": fresh}))
        .await;
    let refreshed = a.recv().await;
    assert_eq!(refreshed["type"], "tokenRefreshed", "{refreshed}");
    assert_eq!(refreshed["id"], "r");
    // Someone else's token is refused.
    let bobs = stack.login_again(&bob).await.token;
    a.send(json!({"action": "refreshToken", "token": bobs}))
        .await;
    assert_eq!(a.recv().await["code"], "invalid_token");
    a.send(json!({"action": "refreshToken", "token": "garbage"}))
        .await;
    assert_eq!(a.recv().await["code"], "invalid_token");

    let (code, reason, _) = b.closed(Duration::from_secs(8)).await;
    assert_eq!(code, Some(4001));
    assert_eq!(reason, "token expired");

    // Alice's first token has expired by now; her refreshed one keeps her connected.
    a.send(json!({"action": "ping"})).await;
    assert_eq!(a.recv().await["type"], "pong");
}

both_engines!(
    private_room_reaches_members_once_and_general_reaches_all,
    sync_after_reconnect_returns_exactly_what_was_missed,
    a_retried_send_is_stored_and_delivered_once,
    pipelined_sends_keep_their_order,
    membership_changes_apply_without_reconnecting,
    logout_all_closes_the_users_sockets,
    refresh_token_keeps_the_connection_past_expiry,
);
