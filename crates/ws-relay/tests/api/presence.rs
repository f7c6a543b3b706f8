//! Presence (docs/protocol.md, "Presence"): `watchPresence` answered with `presenceList` and
//! followed by `presence` frames, the grace before going offline, watch lists, several relays
//! over Redis (also one that dies), and `GET /presence` through chat-service. The Redis tests
//! fail, never skip, when Redis is missing.

use std::time::Duration;

use reqwest::StatusCode;
use test_support::Engine;
use uuid::Uuid;
use wire::protocol::{PresenceView, WatchPresence};
use wire::{ClientAction, ErrorCode, ServerFrame};

use crate::helpers::*;

/// Long enough that nothing in a test waits for it by accident.
const LONG: Duration = Duration::from_secs(600);

fn watch(users: &[Uuid]) -> ClientAction {
    ClientAction::WatchPresence(WatchPresence {
        user_ids: users.to_vec(),
    })
}

/// Sends `watchPresence` with `id` and reads its `presenceList`, checked to echo the `id`.
async fn watch_ok(ws: &mut Ws, id: &str, users: &[Uuid]) -> Vec<PresenceView> {
    ws.act(id, watch(users)).await;
    let reply = ws.recv_frame().await;
    assert_eq!(reply.id, frame_id(id), "{reply:?}");
    match reply.frame {
        ServerFrame::PresenceList { users } => users,
        other => panic!("expected presenceList, got {other:?}"),
    }
}

/// The next frame, which must be `presence`.
async fn recv_presence(ws: &mut Ws) -> PresenceView {
    match ws.recv_frame().await.frame {
        ServerFrame::Presence(view) => view,
        other => panic!("expected presence, got {other:?}"),
    }
}

fn online(user: &User) -> PresenceView {
    PresenceView {
        user_id: user.id,
        online: true,
        last_seen_at: None,
    }
}

fn never_seen(user_id: Uuid) -> PresenceView {
    PresenceView {
        user_id,
        online: false,
        last_seen_at: None,
    }
}

/// Checks an offline change of `user` with a `lastSeenAt`, and returns it.
fn assert_offline(view: &PresenceView, user: &User) -> String {
    assert_eq!((view.user_id, view.online), (user.id, false), "{view:?}");
    let at = view.last_seen_at.clone().expect("lastSeenAt once offline");
    time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{at} is not RFC 3339: {e}"));
    at
}

fn grace(grace: Duration) -> Options {
    Options::new(Engine::Sqlite).relay(move |s| s.presence.grace = grace)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_gets_the_snapshot_then_each_change() {
    let stack = spawn_stack_with(grace(Duration::from_millis(300))).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let stranger = Uuid::new_v4();
    let mut a = stack.connect(&alice).await;

    // In the order asked; a user never seen is offline with no lastSeenAt.
    let list = watch_ok(&mut a, "w1", &[bob.id, stranger]).await;
    assert_eq!(list, vec![never_seen(bob.id), never_seen(stranger)]);

    let b = stack.connect(&bob).await;
    assert_eq!(recv_presence(&mut a).await, online(&bob));
    // Connections are announced in order: Alice, who connected first, is online too.
    let list = watch_ok(&mut a, "w1", &[alice.id, bob.id]).await;
    assert_eq!(list, vec![online(&alice), online(&bob)]);
    // A second socket of Bob's is no change.
    let b2 = stack.connect(&bob).await;
    drop(b);
    a.silent(Duration::from_millis(800)).await;
    drop(b2);
    let at = assert_offline(&recv_presence(&mut a).await, &bob);
    // The snapshot now says when.
    let list = watch_ok(&mut a, "w2", &[bob.id]).await;
    assert_eq!(list[0].last_seen_at.as_deref(), Some(at.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_within_the_grace_is_no_change() {
    let stack = spawn_stack_with(grace(Duration::from_secs(2))).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let mut a = stack.connect(&alice).await;
    watch_ok(&mut a, "w", &[bob.id]).await;
    let b = stack.connect(&bob).await;
    assert_eq!(recv_presence(&mut a).await, online(&bob));

    // Bob's socket drops and he is back a moment later: Alice hears nothing, then or after
    // the grace.
    drop(b);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = stack.connect(&bob).await;
    a.silent(Duration::from_secs(3)).await;
    assert_eq!(watch_ok(&mut a, "w2", &[bob.id]).await, vec![online(&bob)]);

    // Gone for good: offline once the grace has passed, with when.
    drop(b);
    assert_offline(&recv_presence(&mut a).await, &bob);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_list_is_replaced_deduplicated_and_limited() {
    let stack =
        spawn_stack_with(Options::new(Engine::Sqlite).relay(|s| s.presence.max_watched = 2)).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let carol = stack.signup("carol").await;
    let mut a = stack.connect(&alice).await;

    watch_ok(&mut a, "1", &[bob.id]).await;
    // Replaced: Bob is no longer watched, Carol is (named three times, counted once).
    let list = watch_ok(&mut a, "2", &[carol.id, carol.id, carol.id]).await;
    assert_eq!(list, vec![never_seen(carol.id)]);
    let _b = stack.connect(&bob).await;
    let _c = stack.connect(&carol).await;
    assert_eq!(recv_presence(&mut a).await, online(&carol));

    // Past the limit: refused with the frame's id, and the list stays as it was.
    let too_many = [bob.id, Uuid::new_v4(), Uuid::new_v4()];
    a.act("3", watch(&too_many)).await;
    let (error, id) = a.recv_error().await;
    assert_eq!(
        (error.code, error.temporary),
        (ErrorCode::ValidationFailed, false)
    );
    assert_eq!(id, frame_id("3"));
    // Not UUIDs: refused as any malformed action.
    a.send(serde_json::json!({"action": "watchPresence", "id": "4", "userIds": ["bob"]}))
        .await;
    let (error, id) = a.recv_error().await;
    assert_eq!(
        (error.code, id),
        (ErrorCode::ValidationFailed, frame_id("4"))
    );
    assert_eq!(
        watch_ok(&mut a, "5", &[carol.id]).await,
        vec![online(&carol)]
    );

    // `[]` stops.
    assert_eq!(watch_ok(&mut a, "6", &[]).await, vec![]);
    let _c2 = stack.connect(&carol).await;
    a.silent(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_on_one_relay_sees_users_of_another() {
    let (stack, b_node) = two_relays(grace(Duration::from_millis(300))).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let (mut a, _) = stack.connect_to(&b_node, &alice).await;
    assert_eq!(
        watch_ok(&mut a, "w", &[bob.id]).await,
        vec![never_seen(bob.id)]
    );

    let (b, _) = stack.connect_to(&stack.relay, &bob).await;
    assert_eq!(recv_presence(&mut a).await, online(&bob));
    // Bob moves to Alice's relay: online on both for a moment, never offline.
    let (b2, _) = stack.connect_to(&b_node, &bob).await;
    drop(b);
    a.silent(Duration::from_millis(800)).await;
    // Either relay answers for both.
    for node in [&stack.relay, &b_node] {
        let (mut w, _) = stack.connect_to(node, &alice).await;
        assert_eq!(watch_ok(&mut w, "x", &[bob.id]).await, vec![online(&bob)]);
    }
    drop(b2);
    assert_offline(&recv_presence(&mut a).await, &bob);
}

/// A relay started on a runtime of its own, which the test can drop: its tasks (heartbeat,
/// grace timers) end at once, without any clean-up, as when its process is killed.
fn doomed_relay(settings: ws_relay::Settings) -> (RelayNode, std::sync::mpsc::Sender<()>) {
    let (node_tx, node_rx) = std::sync::mpsc::channel();
    let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let node = runtime.block_on(start_relay(settings, listener));
        node_tx.send(node).unwrap();
        let _ = kill_rx.recv();
        runtime.shutdown_background();
    });
    (node_rx.recv().unwrap(), kill_tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_of_a_relay_that_died_go_offline_after_its_expiry() {
    // A grace far longer than the test: only the survivor's sweep can take Bob offline.
    let (stack, survivor) = two_relays(Options::new(Engine::Sqlite).relay(|s| {
        s.presence.grace = LONG;
        s.presence.heartbeat = Duration::from_millis(200);
        s.presence.expiry = Duration::from_secs(1);
    }))
    .await;
    let mut settings = stack.relay_settings.clone();
    settings.relay_id = "doomed".into();
    let (doomed, kill) = doomed_relay(settings);
    wait_ready(&doomed).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let (mut a, _) = stack.connect_to(&survivor, &alice).await;
    watch_ok(&mut a, "w", &[bob.id]).await;
    let (_b, _) = stack.connect_to(&doomed, &bob).await;
    assert_eq!(recv_presence(&mut a).await, online(&bob));

    kill.send(()).unwrap();
    let change = a
        .try_recv_frame(Duration::from_secs(10))
        .await
        .expect("Bob offline once the dead relay's record expired");
    match change.frame {
        ServerFrame::Presence(view) => {
            assert_offline(&view, &bob);
        }
        other => panic!("expected presence, got {other:?}"),
    }
    let (mut w, _) = stack.connect_to(&stack.relay, &alice).await;
    assert!(!watch_ok(&mut w, "x", &[bob.id]).await[0].online);
}

/// `GET /presence` as chat-service answers it, from the relay it publishes to.
async fn get_presence(stack: &Stack, user: &User, ids: &[String]) -> reqwest::Response {
    stack
        .get(user, &format!("/presence?userIds={}", ids.join(",")))
        .await
}

async fn presence_of(stack: &Stack, user: &User, ids: &[Uuid]) -> Vec<PresenceView> {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let res = get_presence(stack, user, &ids).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_presence_answers_in_the_order_asked() {
    let stack = spawn_stack_with(grace(Duration::from_millis(200))).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let stranger = Uuid::new_v4();
    let mut a = stack.connect(&alice).await;
    watch_ok(&mut a, "w", &[bob.id]).await;
    let b = stack.connect(&bob).await;
    // Announced in order: once Bob is, so is Alice.
    assert_eq!(recv_presence(&mut a).await, online(&bob));
    assert_eq!(
        presence_of(&stack, &alice, &[stranger, bob.id, alice.id]).await,
        vec![never_seen(stranger), online(&bob), online(&alice)]
    );
    drop(b);
    let at = assert_offline(&recv_presence(&mut a).await, &bob);
    let answer = presence_of(&stack, &alice, &[bob.id]).await;
    assert_eq!(answer[0].last_seen_at.as_deref(), Some(at.as_str()));
    assert_eq!(presence_of(&stack, &alice, &[]).await, vec![]);

    for bad in [
        vec!["bob".to_owned()],
        vec![Uuid::new_v4().to_string(); 201],
    ] {
        let res = get_presence(&stack, &alice, &bad).await;
        assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
    let anonymous = stack
        .client
        .get(stack.url(&format!("/presence?userIds={}", bob.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Every answer is in the OpenAPI document.
    let spec = test_support::get_json(&stack.client, &stack.url("/openapi.json")).await;
    let responses = &spec["paths"]["/presence"]["get"]["responses"];
    for status in ["200", "400", "401", "503"] {
        assert!(responses[status].is_object(), "{status}: {responses}");
    }
    assert!(spec["components"]["schemas"]["PresenceView"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_presence_reads_every_relay_over_redis() {
    let (stack, b_node) = two_relays(Options::new(Engine::Sqlite)).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    // chat-service asks relay A; Bob is on relay B.
    let _b = stack.connect_to(&b_node, &bob).await;
    eventually("relay A sees Bob online", || async {
        presence_of(&stack, &alice, &[bob.id]).await == vec![online(&bob)]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_presence_without_a_relay_is_unavailable() {
    let stack = spawn_stack_with(Options::new(Engine::Sqlite).chat_publishes_nowhere()).await;
    let alice = stack.signup("alice").await;
    let res = get_presence(&stack, &alice, &[alice.id.to_string()]).await;
    assert_problem(res, StatusCode::SERVICE_UNAVAILABLE, "relay_unavailable").await;
}

/// `GET /internal/stats` of a relay, as chat-service asks it: (connections, onlineUsers).
async fn relay_stats(stack: &Stack, node: &RelayNode) -> (u64, u64) {
    let res = stack
        .internal(node, reqwest::Method::GET, "/internal/stats", None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    (
        body["connections"].as_u64().unwrap(),
        body["onlineUsers"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_sockets_and_users_of_a_lone_relay() {
    let stack = spawn_stack_with(grace(Duration::from_millis(100))).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    assert_eq!(relay_stats(&stack, &stack.relay).await, (0, 0));
    let _a1 = stack.connect(&alice).await;
    let _a2 = stack.connect(&alice).await;
    let b = stack.connect(&bob).await;
    eventually("three sockets, two users", || async {
        relay_stats(&stack, &stack.relay).await == (3, 2)
    })
    .await;
    drop(b);
    eventually("Bob's socket gone and his grace over", || async {
        relay_stats(&stack, &stack.relay).await == (2, 1)
    })
    .await;
    // Only chat-service's key reads it.
    let res = reqwest::Client::new()
        .get(format!("{}/internal/stats", stack.relay.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_add_up_every_relay_over_redis() {
    let options =
        Options::new(Engine::Sqlite).relay(|s| s.presence.heartbeat = Duration::from_millis(200));
    let (stack, b_node) = two_relays(options).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let _a = stack.connect_to(&stack.relay, &alice).await;
    let _a2 = stack.connect_to(&b_node, &alice).await;
    let _b = stack.connect_to(&b_node, &bob).await;
    // Either relay answers for both: Alice on two relays counts once.
    for node in [&stack.relay, &b_node] {
        eventually("three sockets on two relays, two users", || async {
            relay_stats(&stack, node).await == (3, 2)
        })
        .await;
    }
}
