//! Several relays over real Redis (127.0.0.1:6379, or a private redis-server for the
//! reconnect test). These tests fail, never skip, when Redis is missing.

use std::time::Duration;

use reqwest::StatusCode;
use test_support::Engine;
use uuid::Uuid;
use wire::{ClientAction, Control, Reply, ServerFrame, Target};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_deliver_to_their_own_connections() {
    let (stack, b_node) = two_relays(Options::new(Engine::Sqlite)).await;

    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let carol = stack.signup("carol").await;
    let room = stack.create_room(&alice, "spread").await;
    let (mut a, _) = stack.connect_to(&stack.relay, &alice).await;
    let (mut b, _) = stack.connect_to(&b_node, &bob).await;
    let (mut c, _) = stack.connect_to(&b_node, &carol).await;

    // Bob is added while connected to relay B: the subscribe crosses Redis, and both sockets
    // of the room hear of it (connecting after the add would race the background publish).
    stack.add_member_ok(&alice, room, &bob).await;
    a.recv_until(member_added).await;
    b.recv_until(member_added).await;

    // A socket send on relay A reaches Bob on relay B, once.
    let across = send_message(room, "across", Some(&client_msg_id()));
    a.act(None, ClientAction::SendMessage(across)).await;
    a.recv_ack().await;
    assert_eq!(a.recv_message().await.content, "across");
    assert_eq!(b.recv_message().await.content, "across");
    b.silent(Duration::from_millis(400)).await;
    c.silent(Duration::from_millis(100)).await;

    // Control items cross too: Carol, on B, is added through chat-service (which publishes
    // to relay A) and hears the room from then on.
    stack.add_member_ok(&alice, room, &carol).await;
    c.recv_until(member_added).await;
    stack.send_ok(&bob, room, "hi carol").await;
    assert_eq!(c.recv_message().await.content, "hi carol");
    a.recv_until(member_added).await;
    assert_eq!(a.recv_message().await.content, "hi carol");

    b.recv_until(member_added).await;
    assert_eq!(b.recv_message().await.content, "hi carol");

    // The subscriber's keep-alive ping (every 5 s) must not break the subscription: after
    // a few pings both relays are still ready and still hear each other.
    tokio::time::sleep(Duration::from_secs(11)).await;
    for node in [&stack.relay, &b_node] {
        let (status, body) = ready(node).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            node.relay.redis_sessions(),
            Some(1),
            "the subscription was dropped and remade"
        );
    }
    let still = send_message(room, "still across", Some(&client_msg_id()));
    a.act(None, ClientAction::SendMessage(still)).await;
    a.recv_ack().await;
    assert_eq!(b.recv_message().await.content, "still across");
    let metrics = reqwest::get(format!("{}/metrics", b_node.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            // Exposed; its value is one gauge for every relay of this test process (other
            // tests cut their Redis), so the connection itself is checked through readiness above.
            .any(|l| l.starts_with("ws_relay_redis_connected")),
        "{metrics}"
    );
}

/// Reactions made on one relay reach the room's sockets on the other, with the revision
/// they took, in order; a socket `react` that changes nothing tells nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_cross_relays() {
    let (stack, b_node) = two_relays(Options::new(Engine::Sqlite)).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let room = stack.create_room(&alice, "reactions").await;
    stack.add_member_ok(&alice, room, &bob).await;
    let (mut a, _) = stack.connect_to(&stack.relay, &alice).await;
    let (mut b, _) = stack.connect_to(&b_node, &bob).await;
    let message = stack.send_ok(&alice, room, "react to me").await;
    let id = message["id"].as_i64().unwrap();
    a.recv_message().await;
    b.recv_message().await;

    let react = |emoji: &str| wire::protocol::React {
        room_id: room,
        message_id: id,
        emoji: emoji.to_owned(),
    };
    b.act("r1", ClientAction::React(react("👍"))).await;
    let reaction = |frame: &ServerFrame| matches!(frame, ServerFrame::ReactionChanged { .. });
    for ws in [&mut a, &mut b] {
        match ws.recv_until(reaction).await.frame {
            ServerFrame::ReactionChanged {
                message_id,
                user_id,
                added,
                count,
                rev,
                ..
            } => assert_eq!(
                (message_id, user_id, added, count, rev),
                (id, bob.id, true, 1, 2)
            ),
            other => panic!("{other:?}"),
        }
    }
    // Again: no change, nothing to anyone; then Alice's removal of what she never added too.
    b.act("r2", ClientAction::React(react("👍"))).await;
    a.act("r3", ClientAction::Unreact(react("👍"))).await;
    a.silent(Duration::from_millis(400)).await;
    b.silent(Duration::from_millis(100)).await;
    // A bad emoji is refused to its sender only, with the frame's id.
    a.act("r4", ClientAction::React(react("nope"))).await;
    let (error, frame) = a.recv_error().await;
    assert_eq!(error.code, wire::ErrorCode::ValidationFailed);
    assert_eq!(frame, frame_id("r4"));
    b.silent(Duration::from_millis(200)).await;
}

/// A direct room opened by Alice (relay A) reaches Bob's socket on relay B without a
/// reconnect; mentions resolve on sends over either relay; hiding tells the hider's sockets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_rooms_and_mentions_cross_relays() {
    let (stack, b_node) = two_relays(Options::new(Engine::Postgres)).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let (mut a, _) = stack.connect_to(&stack.relay, &alice).await;
    let (mut b, _) = stack.connect_to(&b_node, &bob).await;

    let res = stack
        .post(&alice, "/dms", &serde_json::json!({"username": "bob"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let dm = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    // No frame announces the room: Bob's socket is subscribed (through chat-service's publish
    // to relay A, then Redis) and hears its first message. Alice writes until he does.
    let mut heard = None;
    for i in 0..40 {
        let hello = send_message(dm, &format!("@bob hello {i}"), Some(&client_msg_id()));
        a.act(None, ClientAction::SendMessage(hello)).await;
        assert_eq!(ack_among_messages(&mut a).await.mentions, [bob.id]);
        if let Some(reply) = b.try_recv_frame(Duration::from_millis(250)).await
            && let ServerFrame::Message { message } = reply.frame
        {
            heard = Some(message);
            break;
        }
    }
    let heard = heard.expect("bob's socket on relay B never heard the direct room");
    assert_eq!(heard.room_id, dm);
    assert_eq!(heard.mentions, [bob.id]);

    // Bob answers from relay B, naming Alice; she hears it on relay A.
    let answer = send_message(dm, "hi @Alice", Some(&client_msg_id()));
    b.act("b1", ClientAction::SendMessage(answer)).await;
    assert_eq!(ack_among_messages(&mut b).await.mentions, [alice.id]);
    let got = loop {
        let message = a.recv_message().await;
        if message.user_id == bob.id {
            break message;
        }
    };
    assert_eq!(
        (got.content.as_str(), got.mentions.as_slice()),
        ("hi @Alice", [alice.id].as_slice())
    );

    // Bob hides it: his socket on relay B is told.
    let res = stack
        .post(&bob, &format!("/rooms/{dm}/hide"), &serde_json::json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    loop {
        match b.recv_frame().await.frame {
            ServerFrame::RoomHidden { room_id } => break assert_eq!(room_id, dm),
            ServerFrame::Message { .. } | ServerFrame::Typing { .. } => {}
            other => panic!("expected roomHidden, got {other:?}"),
        }
    }
}

/// The message of the next `ack`, skipping the `message` frames of earlier sends.
async fn ack_among_messages(ws: &mut Ws) -> wire::protocol::MessageView {
    loop {
        match ws.recv_frame().await.frame {
            ServerFrame::Ack { message, .. } => return message,
            ServerFrame::Message { .. } | ServerFrame::Typing { .. } => {}
            other => panic!("expected an ack, got {other:?}"),
        }
    }
}

fn member_added(frame: &ServerFrame) -> bool {
    matches!(frame, ServerFrame::MemberAdded { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_on_different_channels_do_not_hear_each_other() {
    let mut options = Options::new(Engine::Sqlite);
    options.redis_prefix = Some(prefix());
    let stack = spawn_stack_with(options).await;
    let mut other = stack.relay_settings.clone();
    other.redis_prefix = prefix();
    let lonely = start_relay(other, std::net::TcpListener::bind("127.0.0.1:0").unwrap()).await;
    wait_ready(&stack.relay).await;
    wait_ready(&lonely).await;
    let alice = stack.signup("alice").await;
    let (mut far, _) = stack.connect_to(&lonely, &alice).await;
    let deleted = ServerFrame::RoomDeleted { room_id: 1 };
    stack
        .publish(&stack.relay, &deliver(Target::User(alice.id), deleted))
        .await;
    far.silent(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_loses_redis_says_so_and_reconnects() {
    let port = free_port();
    let server = RedisServer::start(port);
    let url = server.url();
    let channel = prefix();
    let stack = spawn_stack_with(Options::new(Engine::Sqlite).relay({
        let (url, channel) = (url.clone(), channel.clone());
        move |s| {
            s.redis_url = Some(url);
            s.redis_prefix = channel;
        }
    }))
    .await;
    let b_node = stack.second_relay().await;
    wait_ready(&stack.relay).await;
    wait_ready(&b_node).await;

    drop(server);
    eventually("readyz reports Redis down", || async {
        let (status, body) = ready(&stack.relay).await;
        status == StatusCode::SERVICE_UNAVAILABLE && body["checks"]["redis"].is_string()
    })
    .await;

    let _server = RedisServer::start(port);
    wait_ready(&stack.relay).await;
    wait_ready(&b_node).await;

    let alice = stack.signup("alice").await;
    let (mut far, _) = stack.connect_to(&b_node, &alice).await;
    // The publisher reconnects on its first failure; allow it one lost message.
    let mut got = None;
    let deleted = ServerFrame::RoomDeleted { room_id: 2 };
    for _ in 0..3 {
        stack
            .publish(
                &stack.relay,
                &deliver(Target::User(alice.id), deleted.clone()),
            )
            .await;
        got = far.try_recv_frame(Duration::from_secs(1)).await;
        if got.is_some() {
            break;
        }
    }
    let expected = Reply {
        frame: deleted,
        id: None,
    };
    assert_eq!(got, Some(expected));
}

/// Publishes a raw message on a relay channel, as anyone who can write to Redis could.
async fn publish_raw(channel: &str, text: String) {
    let client = redis::Client::open(REDIS_URL).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("PUBLISH")
        .arg(channel)
        .arg(text)
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_not_signed_with_the_relays_key_are_dropped() {
    let channel = prefix();
    let mut options = Options::new(Engine::Sqlite);
    options.redis_prefix = Some(channel.clone());
    let stack = spawn_stack_with(options).await;
    let b_node = stack.second_relay().await;
    wait_ready(&stack.relay).await;
    wait_ready(&b_node).await;

    let alice = stack.signup("alice").await;
    let mallory = stack.signup("mallory").await;
    let secret = stack.create_room(&alice, "secret").await;
    let (mut a, _) = stack.connect_to(&stack.relay, &alice).await;
    let (mut m, ready) = stack.connect_to(&b_node, &mallory).await;
    let mallory_conn = ready.connection_id;
    let before = metric(&b_node, "ws_relay_redis_envelopes_rejected_total").await;

    // A `subscribe` into the private room, written to Redis by hand: unsigned, signed with
    // the wrong key, and signed with a tampered body. (Raw JSON around the control item: the
    // envelope between relays is the relay's own shape, not a wire type.)
    let subscribe = Control::Subscribe {
        user_id: mallory.id,
        room_id: secret,
    };
    let forged = serde_json::json!({"origin": Uuid::new_v4(), "control": [subscribe]}).to_string();
    let fanout = format!("{channel}:fanout");
    publish_raw(&fanout, forged.clone()).await;
    let wrong = ws_relay::fanout::envelope_key("not-the-internal-key");
    publish_raw(&fanout, ws_relay::fanout::seal(&wrong, &forged)).await;
    let right = ws_relay::fanout::envelope_key(test_support::RELAY_KEY);
    let tampered = ws_relay::fanout::seal(
        &right,
        &forged.replace(&mallory.id.to_string(), &alice.id.to_string()),
    );
    let tampered = format!("{}{}", &tampered[..65], forged);
    publish_raw(&fanout, tampered).await;

    eventually("the three forged envelopes are counted", || async {
        metric(&b_node, "ws_relay_redis_envelopes_rejected_total").await >= before + 3.0
    })
    .await;
    assert_eq!(
        rooms_of(&stack, &b_node, &mallory_conn).await,
        vec![GENERAL]
    );
    let private = send_message(secret, "private", Some(&client_msg_id()));
    a.act(None, ClientAction::SendMessage(private)).await;
    a.recv_ack().await;
    a.recv_message().await;
    m.silent(Duration::from_millis(500)).await;

    // The same item signed with the key every relay derives is applied: the format is right,
    // only the signature kept the forgeries out.
    publish_raw(&fanout, ws_relay::fanout::seal(&right, &forged)).await;
    eventually("a signed envelope is applied", || async {
        rooms_of(&stack, &b_node, &mallory_conn)
            .await
            .contains(&secret)
    })
    .await;
}
