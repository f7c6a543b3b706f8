//! `cloudchat export-to-postgres`: a populated quick start moved up to fresh PostgreSQL
//! databases, then the separate services started on them: every login works, every room's
//! history and change feed reads back the same, and new rows continue after the old ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::{Value, json};
use test_stack::{ChatStack, PASSWORD};
use test_support::{Engine, FakeRelay, TestDatabase};

/// What a user sees: their rooms (with counts and revisions) and every room's change feed.
async fn everything(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> (Vec<Value>, Vec<(i64, Vec<Value>)>, Value) {
    let rooms: Vec<Value> = get(http, &format!("{base}/rooms"), token)
        .await
        .as_array()
        .unwrap()
        .clone();
    let mut feeds = Vec::new();
    for room in &rooms {
        let id = room["id"].as_i64().unwrap();
        let page = get(
            http,
            &format!("{base}/rooms/{id}/changes?sinceRev=0&limit=200"),
            token,
        )
        .await;
        assert_eq!(page["hasMore"], false);
        feeds.push((id, page["messages"].as_array().unwrap().clone()));
    }
    // The search index is rebuilt by the target database (FTS5 → tsvector): the same hits.
    let found = get(http, &format!("{base}/search?q=message&limit=50"), token).await;
    (rooms, feeds, found["hits"].clone())
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let res = http.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    res.json().await.unwrap()
}

async fn post(http: &reqwest::Client, url: &str, token: &str, body: Value) -> Value {
    let res = http
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{url}: {}", res.status());
    res.json().await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_start_moves_up_to_postgresql() {
    let qs = common::start(|_| {}).await;
    let http = reqwest::Client::new();
    let base = qs.base.clone();
    let mut users = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let res = http
            .post(format!("{base}/auth/register"))
            .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        users.push((
            format!("{name}@example.com"),
            body["accessToken"].as_str().unwrap().to_owned(),
            body["user"]["id"].as_str().unwrap().to_owned(),
        ));
    }
    let (alice, bob, carol) = (&users[0].1, &users[1].1, &users[2].1);
    // Tickets make the names known for @mentions in general.
    for (_, token, _) in &users {
        post(&http, &format!("{base}/ws-tickets"), token, json!({})).await;
    }
    let room = post(
        &http,
        &format!("{base}/rooms"),
        alice,
        json!({"name": "team"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    post(
        &http,
        &format!("{base}/rooms/{room}/members"),
        alice,
        json!({"username": "bob"}),
    )
    .await;
    let mut ids = Vec::new();
    for i in 1..=5 {
        let m = post(
            &http,
            &format!("{base}/rooms/{room}/messages"),
            alice,
            json!({"content": format!("message {i} for @bob")}),
        )
        .await;
        ids.push(m["id"].as_i64().unwrap());
    }
    post(
        &http,
        &format!("{base}/rooms/{room}/messages"),
        bob,
        json!({"content": "got it @alice", "replyToId": ids[0]}),
    )
    .await;
    post(
        &http,
        &format!("{base}/messages/{}/reactions", ids[1]),
        bob,
        json!({"emoji": "👍"}),
    )
    .await;
    let res = http
        .patch(format!("{base}/messages/{}", ids[2]))
        .bearer_auth(alice)
        .json(&json!({"content": "edited"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = http
        .delete(format!("{base}/messages/{}", ids[3]))
        .bearer_auth(alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let dm = post(
        &http,
        &format!("{base}/dms"),
        alice,
        json!({"username": "carol"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    post(
        &http,
        &format!("{base}/rooms/{dm}/messages"),
        carol,
        json!({"content": "psst"}),
    )
    .await;
    post(
        &http,
        &format!("{base}/rooms/1/messages"),
        carol,
        json!({"content": "hello @alice"}),
    )
    .await;
    let res = http
        .post(format!("{base}/rooms/{room}/read"))
        .bearer_auth(bob)
        .json(&json!({"seq": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let mut before = Vec::new();
    for (_, token, _) in &users {
        before.push(everything(&http, &base, token).await);
    }
    assert!(
        before
            .iter()
            .any(|(_, _, hits)| !hits.as_array().unwrap().is_empty()),
        "the search compared after the move finds something before it"
    );

    let (auth_db, chat_db) = (
        TestDatabase::create(Engine::Postgres).await,
        TestDatabase::create(Engine::Postgres).await,
    );
    let copied = cloudchat::export::export_to_postgres(&qs.data, &auth_db.url, &chat_db.url)
        .await
        .unwrap();
    let count = |db: &str, table: &str| {
        copied
            .iter()
            .find(|c| c.database == db)
            .and_then(|c| c.tables.iter().find(|(t, _)| t == table))
            .map(|(_, n)| *n)
    };
    assert_eq!(count("auth", "users"), Some(3));
    assert_eq!(count("chat", "messages"), Some(8));
    assert_eq!(count("chat", "rooms"), Some(3));
    // Only into fresh databases.
    let again = cloudchat::export::export_to_postgres(&qs.data, &auth_db.url, &chat_db.url).await;
    assert!(
        format!("{:#}", again.unwrap_err()).contains("not a fresh database"),
        "a second export must be refused"
    );

    // The same through the command line, into two more fresh databases.
    let (auth_cli, chat_cli) = (
        TestDatabase::create(Engine::Postgres).await,
        TestDatabase::create(Engine::Postgres).await,
    );
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_cloudchat"))
        .args([
            "export-to-postgres",
            "--auth-db",
            &auth_cli.url,
            "--chat-db",
            &chat_cli.url,
        ])
        .env_clear()
        .env("DATA_DIR", &qs.data)
        .env("RUST_LOG", "warn")
        .status()
        .unwrap();
    assert!(status.success());
    let users_copied: i64 = {
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&auth_cli.url)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(users_copied, 3);

    // The separate services on the exported databases.
    let relay = FakeRelay::start().await;
    let (auth_url, chat_url) = (auth_db.url.clone(), chat_db.url.clone());
    let stack = ChatStack::spawn(
        Engine::Postgres,
        &relay.url,
        |a| a.database_url = auth_url,
        |c| c.database_url = chat_url,
    )
    .await;
    let mut sessions = Vec::new();
    for (i, (email, _, id)) in users.iter().enumerate() {
        let user = stack.login_ok(email, PASSWORD).await;
        assert_eq!(user.id.to_string(), *id);
        assert_eq!(
            everything(&http, &stack.chat, &user.token).await,
            before[i],
            "{email}"
        );
        sessions.push(user);
    }
    // New rows continue after the copied ones.
    let next = stack.send_ok(&sessions[0], room, "after the move").await;
    assert_eq!(next["seq"], 7);
    assert!(next["id"].as_i64().unwrap() > ids[4]);
    let newer = stack.create_room(&sessions[0], "after").await;
    assert!(newer > dm);
    stack.signup("dave").await;
}
