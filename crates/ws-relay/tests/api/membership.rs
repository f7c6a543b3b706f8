//! Membership enforced even when a control item is lost: the periodic rooms re-check, the
//! re-read on `refreshToken`, and control items kept across a Redis outage.

use std::time::Duration;

use test_support::Engine;
use wire::{ClientAction, Reply, ServerFrame};

use crate::helpers::*;

/// Sends a message on a socket and waits for its ack and its own copy.
async fn say(ws: &mut Ws, room: i64, content: &str) {
    let send = send_message(room, content, Some(&client_msg_id()));
    ws.act(None, ClientAction::SendMessage(send)).await;
    let ack = until(ws, |f| matches!(f, ServerFrame::Ack { .. })).await;
    assert!(
        matches!(&ack.frame, ServerFrame::Ack { message, .. } if message.content == content),
        "{ack:?}"
    );
    until(
        ws,
        |f| matches!(f, ServerFrame::Message { message } if message.content == content),
    )
    .await;
}

/// The next frame that `wanted` accepts; others (membership events) are skipped.
async fn until(ws: &mut Ws, wanted: impl Fn(&ServerFrame) -> bool) -> Reply {
    loop {
        let reply = ws.recv_frame().await;
        if wanted(&reply.frame) {
            return reply;
        }
    }
}

/// The `message` frames for `room` that arrive within `wait` (other frames are skipped).
async fn messages_in(ws: &mut Ws, room: i64, wait: Duration) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut got = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(reply) = ws.try_recv_frame(left).await else {
            return got;
        };
        if let ServerFrame::Message { message } = reply.frame
            && message.room_id == room
        {
            got.push(message.content);
        }
    }
}

/// One relay that never hears chat-service's control items; alice's room, with bob in it; both
/// connected.
struct Lost {
    stack: Stack,
    alice: User,
    room: i64,
    a: Ws,
    b: Ws,
    bob: User,
    bob_conn: String,
}

async fn lost_controls(recheck: Duration) -> Lost {
    let stack = spawn_stack_with(
        Options::new(Engine::Sqlite)
            .chat_publishes_nowhere()
            .relay(move |s| s.rooms_recheck = recheck),
    )
    .await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let room = stack.create_room(&alice, "club").await;
    stack.add_member_ok(&alice, room, &bob).await;
    let (a, _) = stack.connect_to(&stack.relay, &alice).await;
    let (b, ready) = stack.connect_to(&stack.relay, &bob).await;
    let bob_conn = ready.connection_id;
    Lost {
        stack,
        alice,
        room,
        a,
        b,
        bob,
        bob_conn,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_periodic_recheck_repairs_lost_subscribe_and_unsubscribe() {
    let mut l = lost_controls(Duration::from_millis(300)).await;
    let stack = &l.stack;
    let carol = stack.signup("carol").await;
    let (_c, ready) = stack.connect_to(&stack.relay, &carol).await;
    let carol_conn = ready.connection_id;
    assert_eq!(
        rooms_of(stack, &stack.relay, &l.bob_conn).await,
        vec![GENERAL, l.room]
    );

    // Neither control item reaches the relay; the re-check repairs both within a period.
    stack.remove_member(&l.alice, l.room, &l.bob).await;
    stack.add_member_ok(&l.alice, l.room, &carol).await;
    eventually("bob's subscription is removed", || async {
        rooms_of(stack, &stack.relay, &l.bob_conn).await == vec![GENERAL]
    })
    .await;
    eventually("carol's subscription is added", || async {
        rooms_of(stack, &stack.relay, &carol_conn).await == vec![GENERAL, l.room]
    })
    .await;
    say(&mut l.a, l.room, "after the removal").await;
    assert_eq!(
        messages_in(&mut l.b, l.room, Duration::from_millis(500)).await,
        Vec::<String>::new()
    );
    assert!(metric(&l.stack.relay, "ws_relay_rooms_repaired_total").await >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_re_reads_the_connections_rooms() {
    let mut l = lost_controls(Duration::from_secs(3600)).await;

    // The `unsubscribe` is lost: bob still hears the room he was removed from...
    l.stack.remove_member(&l.alice, l.room, &l.bob).await;
    say(&mut l.a, l.room, "leaked").await;
    assert_eq!(
        messages_in(&mut l.b, l.room, Duration::from_millis(500)).await,
        vec!["leaked"]
    );

    // ...until his next refreshToken (a token of the same session), which reads his rooms again.
    l.b.act("r", refresh_token(&l.bob.token)).await;
    let refreshed =
        l.b.recv_until(|f| matches!(f, ServerFrame::TokenRefreshed { .. }))
            .await;
    assert_eq!(refreshed.id, frame_id("r"));
    eventually("the refresh removed the stale subscription", || async {
        rooms_of(&l.stack, &l.stack.relay, &l.bob_conn).await == vec![GENERAL]
    })
    .await;
    say(&mut l.a, l.room, "kept").await;
    assert_eq!(
        messages_in(&mut l.b, l.room, Duration::from_millis(500)).await,
        Vec::<String>::new()
    );
}

/// Bob (on relay B) is removed through relay A while Redis is down; Redis comes back and
/// bob no longer hears the room: the periodic re-check does it even before Redis is back, and
/// relay B re-checks when it subscribes again (it knows it missed messages).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_removed_while_redis_is_down_stops_hearing_the_room() {
    let server = RedisServer::start(free_port());
    let port = server.port;
    let url = server.url();
    let stack = spawn_stack_with(Options::new(Engine::Sqlite).relay(move |s| {
        s.redis_url = Some(url);
        s.redis_prefix = prefix();
        s.rooms_recheck = Duration::from_secs(1);
    }))
    .await;
    let b_node = stack.second_relay().await;
    let mut club = club_across(&stack, &b_node).await;

    // Redis goes away; chat-service tells relay A that bob left; relay A cannot pass it on.
    drop(server);
    redis_down(&stack.relay).await;
    stack.remove_member(&club.alice, club.room, &club.bob).await;
    eventually(
        "relay B's re-check removed bob while Redis is down",
        || async { rooms_of(&stack, &b_node, &club.bob_conn).await == vec![GENERAL] },
    )
    .await;

    let _server = RedisServer::start(port);
    wait_ready(&stack.relay).await;
    wait_ready(&b_node).await;
    carol_hears_and_bob_does_not(&mut club).await;
}

/// Relay A alone loses Redis (a proxy in front of it is cut) while bob, on relay B, is removed
/// through relay A. Relay B never lost Redis and its re-check period is an hour: only relay A
/// resending the queued `unsubscribe` can stop bob hearing the room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_item_published_while_redis_is_unreachable_is_resent() {
    let channel = prefix();
    let gate = Gate::start(6379).await;
    let via_gate = gate.url.replacen("http://", "redis://", 1);
    let stack = spawn_stack_with(Options::new(Engine::Sqlite).relay({
        let channel = channel.clone();
        move |s| {
            s.redis_url = Some(via_gate);
            s.redis_prefix = channel;
            s.rooms_recheck = Duration::from_secs(3600);
        }
    }))
    .await;
    let mut settings = stack.relay_settings.clone();
    settings.redis_url = Some(REDIS_URL.into());
    settings.relay_id = "relay-b".into();
    let b_node = start_relay(
        settings,
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
    )
    .await;
    let mut club = club_across(&stack, &b_node).await;

    gate.refuse();
    redis_down(&stack.relay).await;
    stack.remove_member(&club.alice, club.room, &club.bob).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rooms_of(&stack, &b_node, &club.bob_conn).await,
        vec![GENERAL, club.room]
    );

    gate.open();
    wait_ready(&stack.relay).await;
    eventually_within(
        "the resent unsubscribe reached relay B",
        Duration::from_secs(15),
        || async { rooms_of(&stack, &b_node, &club.bob_conn).await == vec![GENERAL] },
    )
    .await;
    assert_eq!(
        b_node.relay.redis_sessions(),
        Some(1),
        "relay B lost Redis too"
    );
    carol_hears_and_bob_does_not(&mut club).await;
}

/// Once both relays are on Redis: alice's room with bob and carol in it; alice connected to
/// relay A, bob and carol to relay B, and the room heard across.
struct Club {
    alice: User,
    bob: User,
    room: i64,
    a: Ws,
    b: Ws,
    c: Ws,
    bob_conn: String,
}

async fn club_across(stack: &Stack, b_node: &RelayNode) -> Club {
    wait_ready(&stack.relay).await;
    wait_ready(b_node).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let carol = stack.signup("carol").await;
    let room = stack.create_room(&alice, "club").await;
    stack.add_member_ok(&alice, room, &bob).await;
    stack.add_member_ok(&alice, room, &carol).await;
    let (mut a, _) = stack.connect_to(&stack.relay, &alice).await;
    let (mut b, hello) = stack.connect_to(b_node, &bob).await;
    let bob_conn = hello.connection_id;
    let (c, _) = stack.connect_to(b_node, &carol).await;
    say(&mut a, room, "before").await;
    assert_eq!(
        messages_in(&mut b, room, Duration::from_millis(800)).await,
        vec!["before"]
    );
    Club {
        alice,
        bob,
        room,
        a,
        b,
        c,
        bob_conn,
    }
}

async fn redis_down(node: &RelayNode) {
    eventually("the relay sees Redis down", || async {
        ready(node).await.0 == reqwest::StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
}

/// Carol, still a member on relay B, hears the room again; bob does not.
async fn carol_hears_and_bob_does_not(club: &mut Club) {
    let Club { a, b, c, room, .. } = club;
    let room = *room;
    let mut heard = Vec::new();
    for i in 0..5 {
        say(a, room, &format!("after {i}")).await;
        heard = messages_in(c, room, Duration::from_millis(500)).await;
        if heard.iter().any(|m| m.starts_with("after")) {
            break;
        }
    }
    assert!(
        heard.iter().any(|m| m.starts_with("after")),
        "carol never heard the room again: {heard:?}"
    );
    let leaked = messages_in(b, room, Duration::from_millis(300)).await;
    assert!(
        leaked.iter().all(|m| m == "before"),
        "bob still hears the room: {leaked:?}"
    );
}
