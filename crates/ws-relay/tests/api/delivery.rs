//! End to end over real auth-service, chat-service and relay, on SQLite and on PostgreSQL:
//! delivery, acks, sync after a reconnect, idempotent retries, membership changes and
//! logout-all.

use std::time::Duration;

use test_support::{Engine, both_engines};
use wire::{ClientAction, ErrorCode, Reply, ServerFrame};

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
    assert_eq!(ready.user_id, alice.id);
    assert!(!ready.connection_id.is_empty());
    let rooms = &ready.rooms;
    assert!(
        rooms.contains(&GENERAL) && rooms.contains(&room),
        "{ready:?}"
    );
    let mut b = stack.connect(&bob).await;
    let mut c = stack.connect(&carol).await;

    let cid = client_msg_id();
    let hi = send_message(room, "hi bob", Some(&cid));
    a.act("7", ClientAction::SendMessage(hi)).await;
    let ack = a.recv_ack().await;
    assert_eq!(ack.id, frame_id("7"));
    assert_eq!(ack.client_msg_id, Some(cid));
    assert_eq!(ack.message.content, "hi bob");
    assert_eq!(ack.message.room_id, room);
    let seq = ack.message.seq;

    for ws in [&mut a, &mut b] {
        let m = ws.recv_message().await;
        assert_eq!(m.content, "hi bob");
        assert_eq!(m.seq, seq);
        // Exactly once.
        ws.silent(QUIET).await;
    }
    c.silent(QUIET).await;

    let hello = send_message(GENERAL, "hello all", Some(&client_msg_id()));
    c.act(None, ClientAction::SendMessage(hello)).await;
    assert_eq!(c.recv_ack().await.message.content, "hello all");
    for ws in [&mut a, &mut b, &mut c] {
        let m = ws.recv_message().await;
        assert_eq!(m.content, "hello all");
        assert_eq!(m.room_id, GENERAL);
        ws.silent(QUIET).await;
    }

    // The non-member cannot post into the private room either.
    let intrude = send_message(room, "let me in", Some(&client_msg_id()));
    c.act(1, ClientAction::SendMessage(intrude)).await;
    let (err, id) = c.recv_error().await;
    assert!(!err.temporary);
    assert_eq!(id, frame_id(1));
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
    let before = send_message(room, "before", Some(&client_msg_id()));
    a.act(None, ClientAction::SendMessage(before)).await;
    a.recv_ack().await;
    a.recv_message().await;
    let last_seen = b.recv_message().await.seq;
    drop(b);

    // While Bob is away: two over the socket, one over REST.
    for text in ["missed 1", "missed 2"] {
        let missed = send_message(room, text, Some(&client_msg_id()));
        a.act(None, ClientAction::SendMessage(missed)).await;
        a.recv_ack().await;
        a.recv_message().await;
    }
    stack.send_ok(&alice, room, "missed 3").await;

    let mut b = stack.connect(&bob).await;
    b.act("s1", ClientAction::Sync(sync_after(room, last_seen)))
        .await;
    let reply = b
        .recv_until(|f| matches!(f, ServerFrame::Messages(_)))
        .await;
    assert_eq!(reply.id, frame_id("s1"));
    let ServerFrame::Messages(page) = reply.frame else {
        unreachable!()
    };
    assert_eq!(page.room_id, room);
    let contents: Vec<&str> = page.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, ["missed 1", "missed 2", "missed 3"]);
    assert!(!page.has_more);
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
    let frame = ClientAction::SendMessage(send_message(room, "once", Some(&cid)));
    a.act(None, frame.clone()).await;
    let first = a.recv_ack().await;
    a.recv_message().await;
    // The client did not see the ack (say) and retries on a new connection.
    drop(a);
    let mut a = stack.connect(&alice).await;
    a.act(None, frame).await;
    let second = a.recv_ack().await;
    assert_eq!(first.message.id, second.message.id);
    assert_eq!(first.message.seq, second.message.seq);
    a.silent(QUIET).await;

    assert_eq!(b.recv_message().await.content, "once");
    b.silent(QUIET).await;
    b.act(None, ClientAction::Sync(sync_after(room, 0))).await;
    let reply = b
        .recv_until(|f| matches!(f, ServerFrame::Messages(_)))
        .await;
    let ServerFrame::Messages(page) = reply.frame else {
        unreachable!()
    };
    assert_eq!(page.messages.len(), 1);
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
        let send = send_message(room, &format!("m{i}"), Some(&client_msg_id()));
        a.act(i, ClientAction::SendMessage(send)).await;
    }
    a.act("s", ClientAction::Sync(sync_after(room, 0))).await;
    let mut acks = Vec::new();
    let mut synced = None;
    while synced.is_none() {
        match a.recv_frame().await {
            Reply {
                frame: ServerFrame::Ack { message, .. },
                id,
            } => acks.push((id, message.seq, message.content)),
            Reply {
                frame: ServerFrame::Messages(page),
                ..
            } => synced = Some(page),
            _ => {}
        }
    }
    // Every send acked before the sync answered, each with the seq of its place in line.
    let expected: Vec<_> = (0..30)
        .map(|i| (frame_id(i), i + 1, format!("m{i}")))
        .collect();
    assert_eq!(acks, expected);
    assert_eq!(synced.unwrap().messages.len(), 30);
    for i in 0..30 {
        let message = b.recv_message().await;
        assert_eq!(message.content, format!("m{i}"));
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
    let added = b
        .recv_until(|f| matches!(f, ServerFrame::MemberAdded { .. }))
        .await;
    assert!(
        matches!(added.frame, ServerFrame::MemberAdded { room_id, .. } if room_id == room),
        "{added:?}"
    );
    a.recv_until(|f| matches!(f, ServerFrame::MemberAdded { .. }))
        .await;
    stack.send_ok(&alice, room, "welcome").await;
    assert_eq!(b.recv_message().await.content, "welcome");
    a.recv_message().await;

    stack.remove_member(&alice, room, &bob).await;
    let removed = b
        .recv_until(|f| matches!(f, ServerFrame::MemberRemoved { .. }))
        .await;
    assert!(
        matches!(removed.frame, ServerFrame::MemberRemoved { user_id, .. } if user_id == bob.id),
        "{removed:?}"
    );
    // Once, through the user target, not twice.
    b.silent(QUIET).await;
    a.recv_until(|f| matches!(f, ServerFrame::MemberRemoved { .. }))
        .await;
    stack.send_ok(&alice, room, "bob is gone").await;
    assert_eq!(a.recv_message().await.content, "bob is gone");
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
    b.act("p", ClientAction::Ping).await;
    let pong = Reply {
        frame: ServerFrame::Pong,
        id: frame_id("p"),
    };
    assert_eq!(b.recv_frame().await, pong);
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
    a.act("r", refresh_token(&fresh)).await;
    let refreshed = a.recv_frame().await;
    assert!(
        matches!(refreshed.frame, ServerFrame::TokenRefreshed { .. }),
        "{refreshed:?}"
    );
    assert_eq!(refreshed.id, frame_id("r"));
    // Someone else's token is refused.
    let bobs = stack.login_again(&bob).await.token;
    a.act(None, refresh_token(&bobs)).await;
    assert_eq!(a.recv_error().await.0.code, ErrorCode::InvalidToken);
    a.act(None, refresh_token("garbage")).await;
    assert_eq!(a.recv_error().await.0.code, ErrorCode::InvalidToken);

    let (code, reason, _) = b.closed(Duration::from_secs(8)).await;
    assert_eq!(code, Some(4001));
    assert_eq!(reason, "token expired");

    // Alice's first token has expired by now; her refreshed one keeps her connected.
    a.act(None, ClientAction::Ping).await;
    assert_eq!(a.recv_frame().await.frame, ServerFrame::Pong);
}

/// Files travel by reference: uploaded over HTTP, named in `sendMessage`, delivered as
/// `attachments` in the ack and the room's `message`, fetched over HTTP.
async fn a_message_with_files_reaches_the_room(engine: Engine) {
    let stack = spawn_stack(engine).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let room = stack.create_room(&alice, "photos").await;
    stack.add_member_ok(&alice, room, &bob).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let res = stack
            .client
            .post(stack.url(&format!("/uploads?filename=note-{i}.txt")))
            .bearer_auth(&alice.token)
            .header("content-type", "text/plain")
            .body(format!("note {i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        let body: serde_json::Value = res.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap());
    }
    let mut a = stack.connect(&alice).await;
    let mut b = stack.connect(&bob).await;
    let mut send = send_message(room, "", Some(&client_msg_id()));
    send.attachment_ids = ids.clone();
    a.act("f", ClientAction::SendMessage(send)).await;
    let ack = a.recv_ack().await;
    let acked: Vec<uuid::Uuid> = ack.message.attachments.iter().map(|f| f.id).collect();
    assert_eq!(acked, ids, "all ten, in order");
    let m = b.recv_message().await;
    assert_eq!(m.attachments, ack.message.attachments);
    assert_eq!(m.attachments[3].name, "note-3.txt");
    let res = stack
        .client
        .get(stack.url(&m.attachments[3].url))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), "note 3");
}

both_engines!(
    a_message_with_files_reaches_the_room,
    private_room_reaches_members_once_and_general_reaches_all,
    sync_after_reconnect_returns_exactly_what_was_missed,
    a_retried_send_is_stored_and_delivered_once,
    pipelined_sends_keep_their_order,
    membership_changes_apply_without_reconnecting,
    logout_all_closes_the_users_sockets,
    refresh_token_keeps_the_connection_past_expiry,
);
