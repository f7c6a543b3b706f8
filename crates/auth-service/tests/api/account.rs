//! Deleting one's account, through the whole stack (auth-service, chat-service, a relay): a
//! person with a full life deletes their account, and afterwards neither database holds their
//! name or e-mail address in any text column of any table; the other person still reads their
//! direct room; their sessions and sockets end; the event is retried until chat-service takes
//! it, and applying it twice changes nothing.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::AnyPool;
use test_stack::{AUTH_KEY, PASSWORD, Stack, User, WAIT, spawn_stack_with};
use test_support::{Engine, assert_problem, both_engines};
use wire::DELETED_USER_NAME;

use crate::helpers::{ChatReceiver, spawn_app_with};
use crate::mfa::Totp;

const NAME: &str = "zelda_q7";
const EMAIL: &str = "zelda.q7@example.test";

/// A browser push subscription's keys (a valid P-256 point and 16 bytes).
const P256DH: &str =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

async fn stack(engine: Engine) -> Stack {
    let options = test_stack::Options::new(engine)
        .chat(|c| {
            c.revocation_poll = Duration::from_millis(200);
            c.files.sweep_interval = Duration::from_millis(200);
        })
        .auth(|a| a.user_events_poll = Duration::from_millis(200));
    crate::sso::capture_logs();
    spawn_stack_with(options).await
}

async fn delete_me(stack: &Stack, user: &User, body: &Value) -> Response {
    stack
        .auth_call(Method::DELETE, "/users/me", Some(&user.token), Some(body))
        .await
}

async fn ok(res: Response, status: StatusCode) -> Value {
    let path = res.url().path().to_owned();
    assert_eq!(
        res.status(),
        status,
        "{path}: {}",
        res.text().await.unwrap()
    );
    if status == StatusCode::NO_CONTENT {
        return Value::Null;
    }
    res.json().await.unwrap()
}

/// Every (table, column) of the database whose text holds `needle` (case-insensitive), with
/// the number of rows; `skip` leaves one message out (someone else's text naming the person
/// stays, as in the search index of that text).
async fn scan(pool: &AnyPool, engine: Engine, needle: &str, skip: i64) -> Vec<String> {
    let columns: Vec<(String, String)> = match engine {
        Engine::Sqlite => sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                   AND m.name NOT LIKE 'messages_fts_%' AND m.name NOT LIKE '_sqlx%'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        Engine::Postgres => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    assert!(columns.len() > 20, "{columns:?}");
    let mut hits = Vec::new();
    for (table, column) in columns {
        let text = match engine {
            Engine::Sqlite => format!("lower(CAST(\"{column}\" AS TEXT))"),
            Engine::Postgres => format!("lower(\"{column}\"::text)"),
        };
        let except = match (table.as_str(), engine) {
            ("messages", _) => format!(" AND id <> {skip}"),
            ("messages_fts", Engine::Sqlite) => format!(" AND rowid <> {skip}"),
            _ => String::new(),
        };
        let sql =
            format!("SELECT COUNT(*) FROM \"{table}\" WHERE {text} LIKE '%' || $1 || '%'{except}");
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(needle.to_lowercase())
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{table}.{column}: {e}"));
        if count > 0 {
            hits.push(format!("{table}.{column}: {count}"));
        }
    }
    hits
}

/// Both databases, for the name and the e-mail address.
async fn traces(stack: &Stack, engine: Engine, skip: i64) -> Vec<String> {
    let mut hits = Vec::new();
    for needle in [NAME, EMAIL] {
        for (db, pool) in [
            ("auth", &stack.auth_state.db.pool),
            ("chat", &stack.chat_state.db.pool),
        ] {
            for hit in scan(pool, engine, needle, skip).await {
                hits.push(format!("{db} {needle} {hit}"));
            }
        }
    }
    hits
}

/// Waits until chat-service has forgotten the person (no trace left), or fails with what is.
async fn wait_until_forgotten(stack: &Stack, engine: Engine, skip: i64) {
    let mut left = Vec::new();
    for _ in 0..100 {
        left = traces(stack, engine, skip).await;
        if left.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("traces left: {left:#?}");
}

async fn send(stack: &Stack, user: &User, room: i64, body: Value) -> Value {
    let path = format!("/rooms/{room}/messages");
    ok(stack.post(user, &path, &body).await, StatusCode::CREATED).await
}

async fn upload(stack: &Stack, user: &User, name: &str) -> String {
    let res = stack
        .client
        .post(stack.url(&format!("/uploads?filename={name}")))
        .bearer_auth(&user.token)
        .header("content-type", "text/plain")
        .body(b"the plan".to_vec())
        .send()
        .await
        .unwrap();
    ok(res, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn open_dm(stack: &Stack, from: &User, to: &User) -> i64 {
    let res = stack
        .post(from, "/dms", &json!({"username": to.name}))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// The person, registered with a distinctive name and address, and a second session.
async fn zelda(stack: &Stack) -> (User, User) {
    let res = stack.register(NAME, EMAIL, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first = stack.login_ok(EMAIL, PASSWORD).await;
    let second = stack.login_ok(EMAIL, PASSWORD).await;
    (first, second)
}

async fn a_deleted_account_leaves_no_name_behind(engine: Engine) {
    let stack = stack(engine).await;
    let admin = stack.signup("root").await;
    crate::sockets::grant_admin(&stack, &admin).await;
    let bob = stack.signup("bob").await;
    let carol = stack.signup("carol").await;
    let (zelda, phone) = zelda(&stack).await;

    // A room of hers with bob in it, and one of carol's she is in.
    let club = stack.create_room(&zelda, "q7-club").await;
    stack.add_member_ok(&zelda, club, &bob).await;
    let carols = stack.create_room(&carol, "carols").await;
    stack.add_member_ok(&carol, carols, &zelda).await;
    // Messages: one with an attachment, a reply, reactions, a mention of her by bob.
    let hello = send(&stack, &zelda, club, json!({"content": "hello club"})).await;
    let file = upload(&stack, &zelda, "plan.txt").await;
    send(
        &stack,
        &zelda,
        club,
        json!({"content": "the plan", "attachmentIds": [file]}),
    )
    .await;
    let answer = send(&stack, &bob, club, json!({"content": "nice"})).await;
    send(
        &stack,
        &zelda,
        club,
        json!({"content": "thanks", "replyToId": answer["id"]}),
    )
    .await;
    let mention = send(
        &stack,
        &bob,
        club,
        json!({"content": format!("@{NAME} look")}),
    )
    .await;
    assert_eq!(mention["mentions"], json!([zelda.id]));
    let path = format!("/messages/{}/reactions", answer["id"]);
    ok(
        stack.post(&zelda, &path, &json!({"emoji": "👍"})).await,
        StatusCode::OK,
    )
    .await;
    let path = format!("/rooms/{club}/read");
    let seq = mention["seq"].as_i64().unwrap();
    let res = stack.post(&zelda, &path, &json!({"seq": seq})).await;
    assert!(res.status().is_success(), "{}", res.status());
    // A direct room with bob.
    let dm = open_dm(&stack, &zelda, &bob).await;
    send(&stack, &zelda, dm, json!({"content": "hi bob"})).await;
    send(&stack, &bob, dm, json!({"content": "hi there"})).await;
    // Notes, a push subscription, notification settings.
    let notes = open_dm(&stack, &zelda, &zelda).await;
    send(&stack, &zelda, notes, json!({"content": "my notes"})).await;
    let sub = json!({"endpoint": "https://push.example.com/send/q7", "expirationTime": null,
                     "keys": {"p256dh": P256DH, "auth": AUTH}});
    ok(
        stack.post(&zelda, "/push/subscriptions", &sub).await,
        StatusCode::CREATED,
    )
    .await;
    let settings = json!({"level": "all", "mutedUntil": null, "emailDigest": true});
    let res = stack.put(&zelda, "/notification-settings", &settings).await;
    assert!(res.status().is_success(), "{}", res.status());
    // Moderation: carol mutes her; reports by her and against her; an admin makes her
    // moderator (auth-service's audit log).
    let path = format!("/rooms/{carols}/mutes/{}", zelda.id);
    let res = stack
        .put(&carol, &path, &json!({"durationSeconds": 600}))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let carols_news = send(&stack, &carol, carols, json!({"content": "news"})).await;
    let path = format!("/messages/{}/reports", carols_news["id"]);
    ok(
        stack.post(&zelda, &path, &json!({"reason": "spam"})).await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!("/messages/{}/reports", hello["id"]);
    ok(
        stack.post(&bob, &path, &json!({"reason": "rude"})).await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!("/admin/users/{}/role", zelda.id);
    let res = stack
        .auth_call(
            Method::PUT,
            &path,
            Some(&admin.token),
            Some(&json!({"role": "moderator"})),
        )
        .await;
    ok(res, StatusCode::OK).await;
    // She blocks carol; she is online.
    let res = stack
        .put(&zelda, &format!("/blocks/{}", carol.id), &json!({}))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let mut socket = stack.connect(&zelda).await;
    let (secret, recovery) = stack.enable_totp(&zelda).await;
    assert!(
        !traces(&stack, engine, mention["id"].as_i64().unwrap())
            .await
            .is_empty()
    );

    // The password, then the second factor.
    let res = delete_me(&stack, &zelda, &json!({"password": "not it"})).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let res = delete_me(&stack, &zelda, &json!({"password": PASSWORD})).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "mfa_code_required").await;
    let wrong = stack.wrong_code(&secret);
    let body = json!({"password": PASSWORD, "code": wrong});
    let res = delete_me(&stack, &zelda, &body).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_mfa_code").await;
    let body = json!({"password": PASSWORD, "code": recovery[0]});
    ok(
        delete_me(&stack, &zelda, &body).await,
        StatusCode::NO_CONTENT,
    )
    .await;

    // Her socket closes as for a revoked session; her tokens and password stop working.
    let (close, _, _) = socket.closed(WAIT).await;
    assert_eq!(close, Some(4003));
    for session in [&zelda, &phone] {
        let res = delete_me(&stack, session, &body).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let res = stack.refresh(&session.refresh).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = stack.login(EMAIL, PASSWORD).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let mut refused = false;
    for _ in 0..50 {
        if stack.get(&zelda, "/rooms").await.status() == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        refused,
        "chat-service still takes a deleted account's token"
    );

    // No table of either service holds her name or address, but for bob's text naming her.
    let skip = mention["id"].as_i64().unwrap();
    wait_until_forgotten(&stack, engine, skip).await;

    // Bob still reads their direct room, her messages under the neutral name.
    let history = stack.history(&bob, dm, "").await;
    let authors: Vec<(&str, &str)> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["username"].as_str().unwrap(),
                m["content"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        authors,
        [(DELETED_USER_NAME, "hi bob"), ("bob", "hi there")]
    );
    let rooms = stack.rooms(&bob).await;
    let direct = rooms.iter().find(|r| r["id"] == dm).unwrap();
    assert_eq!(direct["peer"]["username"], DELETED_USER_NAME);
    // Bob inherits her room; she is no member anywhere.
    let club_view = rooms.iter().find(|r| r["id"] == club).unwrap();
    assert_eq!(club_view["ownerUserId"], json!(bob.id));
    let members = ok(
        stack.get(&bob, &format!("/rooms/{club}/members")).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        !members.to_string().contains(&zelda.id.to_string()),
        "{members}"
    );
    let history = stack.history(&bob, club, "").await;
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 5);
    for m in messages.iter().filter(|m| m["userId"] == json!(zelda.id)) {
        assert_eq!(m["username"], DELETED_USER_NAME);
        assert_eq!(m["deleted"], false);
    }
    assert!(messages.iter().all(|m| m["reactions"] == json!([])));
    // Her notes went with her.
    let chat = &stack.chat_state.db.pool;
    let notes_left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE id = $1")
        .bind(notes)
        .fetch_one(chat)
        .await
        .unwrap();
    assert_eq!(notes_left, 0);

    // The event again: nothing changes.
    let again = json!({"events": [{"id": 1_000_000, "userId": zelda.id, "kind": "deleted",
                                   "deleteMessages": false}]});
    let res = stack
        .client
        .post(stack.url("/internal/user-events"))
        .header("x-internal-api-key", AUTH_KEY)
        .json(&again)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(stack.history(&bob, club, "").await, history);
    assert!(traces(&stack, engine, skip).await.is_empty());

    // The name is free again.
    let res = stack.register(NAME, EMAIL, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

async fn deleting_the_messages_too_removes_their_files(engine: Engine) {
    let stack = stack(engine).await;
    let bob = stack.signup("bob").await;
    let (zelda, _) = zelda(&stack).await;
    let dm = open_dm(&stack, &zelda, &bob).await;
    let file = upload(&stack, &zelda, "plan.txt").await;
    send(
        &stack,
        &zelda,
        dm,
        json!({"content": "the plan", "attachmentIds": [file]}),
    )
    .await;
    send(&stack, &zelda, dm, json!({"content": "burn after reading"})).await;
    send(&stack, &bob, dm, json!({"content": "ok"})).await;
    upload(&stack, &zelda, "draft.txt").await;
    let storage = &stack.chat_state.storage;
    assert_eq!(storage.keys("uploads").await.unwrap().len(), 2);

    let body = json!({"password": PASSWORD, "deleteMessages": true});
    ok(
        delete_me(&stack, &zelda, &body).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    wait_until_forgotten(&stack, engine, 0).await;
    let history = stack.history(&bob, dm, "").await;
    let shown: Vec<(bool, &str, &str)> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["deleted"].as_bool().unwrap(),
                m["username"].as_str().unwrap(),
                m["content"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (true, DELETED_USER_NAME, ""),
            (true, DELETED_USER_NAME, ""),
            (false, "bob", "ok")
        ]
    );
    // The sweeper (every 200 ms here) removes the objects of both her files, sent and unsent.
    let res = stack
        .client
        .get(stack.url(&format!("/files/{file}")))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "file_not_found").await;
    let mut left = Vec::new();
    for _ in 0..50 {
        left = storage.keys("uploads").await.unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, Vec::<String>::new());
}

async fn the_only_admin_cannot_delete_their_account(engine: Engine) {
    let stack = stack(engine).await;
    let admin = stack.signup("root").await;
    crate::sockets::grant_admin(&stack, &admin).await;
    let body = json!({"password": PASSWORD});
    let res = delete_me(&stack, &admin, &body).await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "last_admin").await;
    assert!(problem["detail"].as_str().unwrap().contains("only admin"));
    // Another admin, and it can go.
    let bob = stack.signup("bob").await;
    crate::sockets::grant_admin(&stack, &bob).await;
    ok(
        delete_me(&stack, &admin, &body).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    let res = delete_me(&stack, &bob, &body).await;
    assert_problem(res, StatusCode::CONFLICT, "last_admin").await;
}

/// chat-service down at the time: the event waits in the outbox and goes once it answers.
async fn the_event_waits_until_chat_service_takes_it(engine: Engine) {
    let receiver = ChatReceiver::start(2).await;
    let url = receiver.url();
    let app = spawn_app_with(engine, move |s| {
        s.chat_url = Some(url);
        s.user_events_poll = Duration::from_millis(100);
    })
    .await;
    let bob = app.signup("bob").await;
    let res = app
        .auth_call(
            Method::DELETE,
            "/users/me",
            Some(&bob.token),
            Some(&json!({"password": PASSWORD, "deleteMessages": true})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let events = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert!(receiver.refused() >= 2, "refused {}", receiver.refused());
    assert_eq!(
        events,
        [
            json!({"id": events[0]["id"], "userId": bob.id, "kind": "deleted", "deleteMessages": true})
        ]
    );
    // The outbox keeps no name or address either.
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM user_events")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert!(payloads.iter().all(|p| !p.contains("bob")), "{payloads:?}");
}

both_engines!(
    a_deleted_account_leaves_no_name_behind,
    deleting_the_messages_too_removes_their_files,
    the_only_admin_cannot_delete_their_account,
    the_event_waits_until_chat_service_takes_it,
);
