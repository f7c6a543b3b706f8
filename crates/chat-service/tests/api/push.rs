//! Web Push and notification preferences: pushes are received by a push-service stand-in
//! (scripts/test-peers/push_service.py, a real HTTP server) that checks the VAPID token and
//! decrypts the body with independent implementations (`cryptography`, `http_ece`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chat_service::config::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_stack::{ChatStack, Options, spawn_stack_with};
use test_support::{Engine, both_engines};

use crate::helpers::{TestApp, User, assert_problem, get_ok, spawn_app_with, team};

/// The push service stand-in, stopped when dropped.
struct PushService {
    child: Child,
    url: String,
    client: reqwest::Client,
}

impl PushService {
    fn start() -> Self {
        let python = test_support::test_peers_python();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/test-peers/push_service.py"
        );
        let mut child = Command::new(&python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the push service stand-in with {python}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the push service stand-in printed {line:?}, not its port"));
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        }
    }

    /// A new browser subscription (its endpoint and keys) that expects `vapid_key`.
    async fn new_subscription(&self, vapid_key: &str) -> Value {
        let res = self
            .client
            .post(format!("{}/new-subscription", self.url))
            .json(&json!({"vapidKey": vapid_key}))
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }

    /// The stand-in answers the next pushes to `id` with these statuses.
    async fn script(&self, id: &str, statuses: &[u16]) {
        let res = self
            .client
            .post(format!("{}/script/{id}", self.url))
            .json(&json!({"statuses": statuses}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }

    async fn received(&self, id: &str) -> Value {
        let res = self
            .client
            .get(format!("{}/received/{id}", self.url))
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }

    /// Waits up to five seconds for `n` pushes to `id`; checks that none was refused.
    async fn wait_for(&self, id: &str, n: usize) -> Vec<Value> {
        let mut got = json!({});
        for _ in 0..100 {
            got = self.received(id).await;
            if got["messages"].as_array().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(got["errors"], json!([]), "the stand-in refused pushes");
        got["messages"].as_array().unwrap().clone()
    }

    /// The pushes to `id` after waiting `wait` (to see that none comes).
    async fn after(&self, id: &str, wait: Duration) -> Vec<Value> {
        tokio::time::sleep(wait).await;
        let got = self.received(id).await;
        assert_eq!(got["errors"], json!([]), "the stand-in refused pushes");
        got["messages"].as_array().unwrap().clone()
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Settings every push test uses: the stand-in is plain http on 127.0.0.1, and a burst's
/// window is one second.
fn push_settings(s: &mut Settings) {
    s.push.allow_insecure_endpoints = true;
    s.push.collapse = Duration::from_secs(1);
}

async fn push_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, push_settings).await
}

async fn put(stack: &ChatStack, user: &User, path: &str, body: &Value) -> reqwest::Response {
    stack
        .client
        .put(stack.url(path))
        .bearer_auth(&user.token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A PUT that must answer 200: its JSON body.
async fn put_ok(stack: &ChatStack, user: &User, path: &str, body: &Value) -> Value {
    let res = put(stack, user, path, body).await;
    assert_eq!(res.status(), StatusCode::OK, "PUT {path}");
    res.json().await.unwrap()
}

async fn vapid_key(stack: &ChatStack, user: &User) -> String {
    let res = stack.get(user, "/push/vapid-public-key").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["publicKey"].as_str().unwrap().to_owned()
}

/// Subscribes `user` with a new stand-in subscription; its stand-in id.
async fn subscribe(stack: &ChatStack, service: &PushService, user: &User) -> String {
    let sub = service
        .new_subscription(&vapid_key(stack, user).await)
        .await;
    let res = stack
        .post(
            user,
            "/push/subscriptions",
            &json!({"endpoint": sub["endpoint"], "expirationTime": null,
                    "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    sub["id"].as_str().unwrap().to_owned()
}

async fn open_dm(stack: &ChatStack, from: &User, to: &User) -> i64 {
    let res = stack
        .post(from, "/dms", &json!({"username": to.name}))
        .await;
    assert!(res.status().is_success());
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// alice and bob, bob subscribed (his stand-in id), and their direct room.
async fn subscribed_pair(stack: &ChatStack, service: &PushService) -> (User, User, String, i64) {
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let sub = subscribe(stack, service, &bob).await;
    let room = open_dm(stack, &alice, &bob).await;
    (alice, bob, sub, room)
}

const QUIET: Duration = Duration::from_millis(1500);

async fn direct_message_to_an_offline_user_is_pushed(engine: Engine) {
    let app = push_app(engine).await;
    let service = PushService::start();
    let (alice, bob, sub, room) = subscribed_pair(&app, &service).await;
    let sent = app.send_ok(&alice, room, "hello bob").await;

    let pushes = service.wait_for(&sub, 1).await;
    assert_eq!(pushes.len(), 1);
    let seq = sent["seq"].as_i64().unwrap();
    assert_eq!(
        pushes[0]["payload"],
        json!({"type": "message", "roomId": room, "roomKind": "direct", "roomName": "",
               "senderUsername": "alice", "messageId": sent["id"], "seq": seq,
               "title": "alice", "body": "hello bob", "count": 1,
               "url": format!("/chat/{room}?seq={seq}"), "tag": format!("room-{room}")})
    );
    assert_eq!(
        pushes[0]["headers"],
        json!({"ttl": "3600", "topic": format!("room-{room}"), "urgency": "high"})
    );
    // The author hears nothing of their own message; the success is on record.
    let res = app.get(&bob, "/push/subscriptions").await;
    let list: Value = res.json().await.unwrap();
    assert!(list[0]["lastSuccessAt"].is_string(), "{list}");
    assert_eq!(service.after(&sub, Duration::ZERO).await.len(), 1);
}

async fn mentions_are_pushed_and_plain_messages_only_at_level_all(engine: Engine) {
    let app = push_app(engine).await;
    let service = PushService::start();
    let (alice, bob, carol, room) = team(&app).await;
    let to_bob = subscribe(&app, &service, &bob).await;
    let to_carol = subscribe(&app, &service, &carol).await;

    app.send_ok(&alice, room, "hi @bob").await;
    let pushes = service.wait_for(&to_bob, 1).await;
    assert_eq!(pushes[0]["payload"]["title"], "alice in team");
    assert_eq!(pushes[0]["payload"]["body"], "hi @bob");
    assert_eq!(pushes[0]["headers"]["urgency"], "high");
    // carol's level is the default, mentions: a message that does not name her is silent.
    assert_eq!(service.after(&to_carol, QUIET).await.len(), 0);

    let all = json!({"level": "all", "mutedUntil": null, "emailDigest": true});
    put_ok(&app, &carol, "/notification-settings", &all).await;
    app.send_ok(&alice, room, "plain news").await;
    let pushes = service.wait_for(&to_carol, 1).await;
    assert_eq!(pushes[0]["payload"]["body"], "plain news");
    assert_eq!(pushes[0]["headers"]["urgency"], "normal");
}

async fn preferences_and_mutes_silence_pushes(engine: Engine) {
    let app = push_app(engine).await;
    let service = PushService::start();
    let (alice, bob, sub, room) = subscribed_pair(&app, &service).await;
    let settings = |level: &str, muted: Value| json!({"level": level, "mutedUntil": muted, "emailDigest": true});

    // The notifier reads preferences when it gets to a message, a moment after the send:
    // each change below keeps every message silenced at every step.
    let mine = "/notification-settings";
    let in_room = &format!("/notification-settings/rooms/{room}");
    let forever = json!("2999-01-01T00:00:00Z");
    put_ok(&app, &bob, mine, &settings("none", Value::Null)).await;
    app.send_ok(&alice, room, "one").await;

    let muted_room = json!({"level": null, "mutedUntil": forever});
    put_ok(&app, &bob, in_room, &muted_room).await;
    put_ok(&app, &bob, mine, &settings("mentions", Value::Null)).await;
    app.send_ok(&alice, room, "two").await;

    put_ok(&app, &bob, mine, &settings("all", forever.clone())).await;
    let no_override = json!({"level": null, "mutedUntil": null});
    put_ok(&app, &bob, in_room, &no_override).await;
    app.send_ok(&alice, room, "three").await;
    assert_eq!(service.after(&sub, QUIET).await.len(), 0);

    // A mute that has ended is no mute.
    let ended = settings("mentions", json!("2001-01-01T00:00:00Z"));
    put_ok(&app, &bob, mine, &ended).await;
    app.send_ok(&alice, room, "four").await;
    let pushes = service.wait_for(&sub, 1).await;
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0]["payload"]["body"], "four");
}

async fn no_push_while_a_socket_is_live(engine: Engine) {
    let stack = spawn_stack_with(Options::new(engine).chat(push_settings)).await;
    let service = PushService::start();
    let (alice, bob, carol, room) = team(&stack).await;
    let to_bob = subscribe(&stack, &service, &bob).await;
    let to_carol = subscribe(&stack, &service, &carol).await;
    let _online = stack.connect(&bob).await;

    stack.send_ok(&alice, room, "hi @bob and @carol").await;
    // carol, offline, hears of it; bob, online, does not.
    let pushes = service.wait_for(&to_carol, 1).await;
    assert_eq!(pushes[0]["payload"]["body"], "hi @bob and @carol");
    assert_eq!(service.after(&to_bob, QUIET).await.len(), 0);
}

async fn a_burst_is_one_push_then_one_with_the_count(engine: Engine) {
    let app = push_app(engine).await;
    let service = PushService::start();
    let (alice, _bob, sub, room) = subscribed_pair(&app, &service).await;
    for i in 1..=5 {
        app.send_ok(&alice, room, &format!("m{i}")).await;
    }
    let pushes = service.wait_for(&sub, 2).await;
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    assert_eq!(pushes[0]["payload"]["body"], "m1");
    assert_eq!(pushes[0]["payload"]["count"], 1);
    assert_eq!(pushes[1]["payload"]["count"], 4);
    assert_eq!(
        pushes[1]["payload"]["body"],
        "4 new messages, the latest: m5"
    );
    assert_eq!(pushes[1]["headers"]["topic"], format!("room-{room}"));
    // Nothing more: the window's count went once.
    assert_eq!(service.after(&sub, QUIET).await.len(), 2);
}

async fn a_gone_subscription_is_deleted_and_a_failing_one_retried(engine: Engine) {
    let app = push_app(engine).await;
    let service = PushService::start();
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let gone = subscribe(&app, &service, &bob).await;
    service.script(&gone, &[410]).await;
    let flaky = subscribe(&app, &service, &carol).await;
    service.script(&flaky, &[500]).await;

    let to_bob = open_dm(&app, &alice, &bob).await;
    app.send_ok(&alice, to_bob, "are you there?").await;
    let mut left = Value::Null;
    for _ in 0..100 {
        left = app
            .get(&bob, "/push/subscriptions")
            .await
            .json()
            .await
            .unwrap();
        if left == json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, json!([]), "the 410 subscription is still there");

    let to_carol = open_dm(&app, &alice, &carol).await;
    app.send_ok(&alice, to_carol, "second try").await;
    let pushes = service.wait_for(&flaky, 1).await;
    assert_eq!(pushes[0]["payload"]["body"], "second try");
    assert_eq!(service.received(&flaky).await["attempts"], 2);
}

async fn redacted_pushes_never_carry_the_text(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        push_settings(s);
        s.push.redact_content = true;
    })
    .await;
    let service = PushService::start();
    let (alice, _bob, sub, room) = subscribed_pair(&app, &service).await;
    app.send_ok(&alice, room, "the secret plan").await;
    let pushes = service.wait_for(&sub, 1).await;
    assert_eq!(pushes[0]["payload"]["body"], "New message from alice");
    assert!(!pushes[0]["payload"].to_string().contains("secret"));
}

async fn subscriptions_are_checked_kept_per_endpoint_and_deleted(engine: Engine) {
    let app = push_app(engine).await;
    let service = PushService::start();
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let key = vapid_key(&app, &alice).await;
    assert_eq!(b64_len(&key), 65);
    let sub = service.new_subscription(&key).await;
    let body = |p256dh: &Value, auth: &Value| json!({"endpoint": sub["endpoint"], "expirationTime": null, "keys": {"p256dh": p256dh, "auth": auth}});

    // Bad keys: wrong lengths, or 65 bytes that are no point of the curve.
    let not_a_point = json!(format!("B{}", "A".repeat(86)));
    for bad in [
        body(&json!("AAAA"), &sub["auth"]),
        body(&not_a_point, &sub["auth"]),
        body(&sub["p256dh"], &json!("AAAA")),
        json!({"endpoint": "not a url", "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}}),
    ] {
        let res = app.post(&alice, "/push/subscriptions", &bad).await;
        assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
    // Not the PushSubscription JSON at all.
    for bad in [
        json!({"endpoint": sub["endpoint"], "expirationTime": "soon", "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}}),
        json!({"endpoint": sub["endpoint"], "keys": [sub["p256dh"], sub["auth"]]}),
        json!([sub["endpoint"], null, {"p256dh": sub["p256dh"], "auth": sub["auth"]}]),
    ] {
        let res = app.post(&alice, "/push/subscriptions", &bad).await;
        assert_problem(res, StatusCode::BAD_REQUEST, "invalid_body").await;
    }

    let good = body(&sub["p256dh"], &sub["auth"]);
    let res = app.post(&alice, "/push/subscriptions", &good).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["endpoint"], sub["endpoint"]);
    assert!(first["createdAt"].is_string());
    // The same browser again: the same subscription.
    let res = app.post(&alice, "/push/subscriptions", &good).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["id"], first["id"]);
    // Another user signs in on that browser: the subscription moves to them.
    let res = app.post(&bob, "/push/subscriptions", &good).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["id"], first["id"]);
    let mine = get_ok(&app, &alice, "/push/subscriptions").await;
    assert_eq!(mine, json!([]));
    let theirs = get_ok(&app, &bob, "/push/subscriptions").await;
    assert_eq!(theirs[0]["id"], first["id"]);
    assert_eq!(theirs[0]["lastSuccessAt"], Value::Null);

    let path = format!("/push/subscriptions/{}", first["id"].as_str().unwrap());
    let res = app.delete(&alice, &path).await;
    assert_problem(res, StatusCode::NOT_FOUND, "push_subscription_not_found").await;
    let res = app.delete(&bob, &path).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.delete(&bob, &path).await;
    assert_problem(res, StatusCode::NOT_FOUND, "push_subscription_not_found").await;
}

fn b64_len(text: &str) -> usize {
    // base64url without padding: 4 characters per 3 bytes.
    text.len() * 3 / 4
}

async fn endpoints_must_be_public_https_and_the_oldest_makes_room(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.push.max_subscriptions_per_user = 2).await;
    let service = PushService::start();
    let alice = app.signup("alice").await;
    let sub = service.new_subscription("").await;
    let body = |endpoint: &str| json!({"endpoint": endpoint, "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}});
    for refused in [
        sub["endpoint"].as_str().unwrap(),
        "https://localhost/x",
        "https://10.0.0.1/x",
    ] {
        let res = app
            .post(&alice, "/push/subscriptions", &body(refused))
            .await;
        assert_problem(
            res,
            StatusCode::UNPROCESSABLE_ENTITY,
            "push_endpoint_refused",
        )
        .await;
    }
    let mut ids = Vec::new();
    for n in 1..=3 {
        let res = app
            .post(
                &alice,
                "/push/subscriptions",
                &body(&format!("https://push.example.com/{n}")),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        ids.push(res.json::<Value>().await.unwrap()["id"].clone());
        // Distinct creation times, so "oldest" is well defined.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let list = get_ok(&app, &alice, "/push/subscriptions").await;
    let kept: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(kept, ids[1..].to_vec());
}

async fn push_can_be_turned_off(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.push.enabled = false).await;
    let alice = app.signup("alice").await;
    let res = app.get(&alice, "/push/vapid-public-key").await;
    assert_problem(res, StatusCode::SERVICE_UNAVAILABLE, "push_disabled").await;
    // Preferences still work.
    let res = app.get(&alice, "/notification-settings").await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn settings_read_write_and_room_overrides(engine: Engine) {
    let app = push_app(engine).await;
    let (alice, bob, _carol, room) = team(&app).await;
    assert_eq!(
        get_ok(&app, &bob, "/notification-settings").await,
        json!({"level": "mentions", "mutedUntil": null, "emailDigest": true, "rooms": []})
    );

    let mine = json!({"level": "all", "mutedUntil": "2030-01-02T03:04:05Z", "emailDigest": false});
    assert_eq!(
        put_ok(&app, &bob, "/notification-settings", &mine).await,
        json!({"level": "all", "mutedUntil": "2030-01-02T03:04:05Z", "emailDigest": false, "rooms": []})
    );
    for (bad, code) in [
        (json!({"level": "all", "emailDigest": true}), "invalid_body"),
        // Fields by position (serde's sequence form of a struct) are no object.
        (json!(["all", null, true]), "invalid_body"),
        (
            json!({"level": "all", "mutedUntil": "soon", "emailDigest": true}),
            "validation_failed",
        ),
        (
            json!({"level": "loud", "mutedUntil": null, "emailDigest": true}),
            "invalid_body",
        ),
        (json!({"level": "all", "mutedUntil": null}), "invalid_body"),
    ] {
        let res = put(&app, &bob, "/notification-settings", &bad).await;
        assert_problem(res, StatusCode::BAD_REQUEST, code).await;
    }

    let path = format!("/notification-settings/rooms/{room}");
    assert_eq!(
        put_ok(
            &app,
            &bob,
            &path,
            &json!({"level": "none", "mutedUntil": null})
        )
        .await,
        json!({"roomId": room, "level": "none", "mutedUntil": null})
    );
    let got = get_ok(&app, &bob, "/notification-settings").await;
    assert_eq!(
        got["rooms"],
        json!([{"roomId": room, "level": "none", "mutedUntil": null}])
    );
    // Both null: the override goes.
    let no_override = json!({"level": null, "mutedUntil": null});
    put_ok(&app, &bob, &path, &no_override).await;
    let got = get_ok(&app, &bob, "/notification-settings").await;
    assert_eq!(got["rooms"], json!([]));

    // A room the caller cannot read, or none at all: room_not_found, as elsewhere.
    let private = app.create_room(&alice, "private").await;
    for id in [private, 999_999] {
        let path = format!("/notification-settings/rooms/{id}");
        let res = put(
            &app,
            &bob,
            &path,
            &json!({"level": "all", "mutedUntil": null}),
        )
        .await;
        assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;
    }
    // An override of a room one has left is no longer listed.
    put_ok(
        &app,
        &bob,
        &path,
        &json!({"level": "all", "mutedUntil": null}),
    )
    .await;
    app.remove_member(&alice, room, &bob).await;
    let got = get_ok(&app, &bob, "/notification-settings").await;
    assert_eq!(got["rooms"], json!([]));
}

both_engines!(
    direct_message_to_an_offline_user_is_pushed,
    mentions_are_pushed_and_plain_messages_only_at_level_all,
    preferences_and_mutes_silence_pushes,
    no_push_while_a_socket_is_live,
    a_burst_is_one_push_then_one_with_the_count,
    a_gone_subscription_is_deleted_and_a_failing_one_retried,
    redacted_pushes_never_carry_the_text,
    subscriptions_are_checked_kept_per_endpoint_and_deleted,
    endpoints_must_be_public_https_and_the_oldest_makes_room,
    push_can_be_turned_off,
    settings_read_write_and_room_overrides,
);
