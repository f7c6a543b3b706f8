//! `cloudchat backup` under write load and `cloudchat restore` (deploy/README.md, "Backup
//! and restore of the single binary"): the copy is consistent, complete up to the backup
//! point, and a quick start on the restored DATA_DIR serves the same users and history.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cloudchat::backup::{self, DataDirLock};
use common::{get_as, start, start_in};
use serde_json::{Value, json};
use sqlx::Connection;
use test_support::TempDir;

/// Registers (`register`) or logs in (`login`) `name@example.com`: the access token.
async fn session(http: &reqwest::Client, base: &str, how: &str, name: &str) -> String {
    let res = http
        .post(format!("{base}/auth/{how}"))
        .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "password123"}))
        .send()
        .await
        .unwrap();
    let expected = if how == "register" { 201 } else { 200 };
    assert_eq!(res.status(), expected, "{how} {name}");
    res.json::<Value>().await.unwrap()["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn post(http: &reqwest::Client, url: &str, token: &str, body: Value) -> reqwest::Response {
    http.post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn connect(path: &std::path::Path) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .read_only(true),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_write_load_then_restore_and_serve() {
    let app = start(|_| {}).await;
    // What `cloudchat serve` holds while it runs.
    let _serving = DataDirLock::acquire(&app.data).unwrap();
    let http = reqwest::Client::new();
    let base = app.base.clone();
    let alice = session(&http, &base, "register", "alice").await;
    let bob = session(&http, &base, "register", "bob").await;
    let res = post(
        &http,
        &format!("{base}/rooms"),
        &alice,
        json!({"name": "ops"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let room = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = post(
        &http,
        &format!("{base}/rooms/{room}/members"),
        &alice,
        json!({"username": "bob"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    for i in 0..5 {
        let res = post(
            &http,
            &format!("{base}/rooms/{room}/messages"),
            &alice,
            json!({"content": format!("before {i}")}),
        )
        .await;
        assert_eq!(res.status(), 201);
    }
    // A file, through the front door's streaming route, attached to a message of the room.
    let picture: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let res = http
        .post(format!("{base}/uploads?filename=plan.bin"))
        .bearer_auth(&alice)
        .header("content-type", "application/octet-stream")
        .body(picture.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let upload = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = post(
        &http,
        &format!("{base}/rooms/{room}/messages"),
        &alice,
        json!({"content": "", "attachmentIds": [upload]}),
    )
    .await;
    assert_eq!(res.status(), 201);

    // Write load: two writers, one per user and room, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for (token, room) in [(alice.clone(), room), (bob.clone(), 1)] {
        let (http, base, stop, acked) = (http.clone(), base.clone(), stop.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let url = format!("{base}/rooms/{room}/messages");
                let res = post(&http, &url, &token, json!({"content": format!("load {n}")})).await;
                assert_eq!(res.status(), 201, "a write during the backup");
                acked.fetch_add(1, Ordering::SeqCst);
                n += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = TempDir::new("cloudchat-backup");
    let dir = out.0.join("b1");
    let acked_before = acked.load(Ordering::SeqCst);
    let files = backup::backup(&app.data, &dir).await.unwrap();
    let acked_after = acked.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(
        files,
        ["chat.db", "auth.db", "jwt-signing-key.pem", "files"]
    );
    // Writes before and after the backup (during it too, unless it was quicker than one
    // write): the writers were never blocked for long.
    assert!(
        acked_before > 0 && acked.load(Ordering::SeqCst) > acked_after,
        "the writers kept writing around the backup ({acked_before}, {acked_after})"
    );

    // The copy: owner-only, intact, the users, and every message acknowledged before the
    // backup began, with gap-free seqs in every room.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for f in &files {
            let want = if f == "files" { 0o700 } else { 0o600 };
            assert_eq!(mode(&dir.join(f)), want, "{f}");
        }
    }
    assert_eq!(
        std::fs::read(dir.join("jwt-signing-key.pem")).unwrap(),
        std::fs::read(app.data.join("jwt-signing-key.pem")).unwrap()
    );
    for db in backup::DATABASES {
        backup::check(&dir.join(db)).await.unwrap();
    }
    let mut chat = connect(&dir.join("chat.db")).await;
    let (copied,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM messages WHERE content LIKE 'load %'")
            .fetch_one(&mut chat)
            .await
            .unwrap();
    let copied = usize::try_from(copied).unwrap();
    assert!(
        copied >= acked_before && copied <= acked_after + 2,
        "{copied} load messages in the copy; {acked_before} acknowledged before, {acked_after} after"
    );
    eprintln!(
        "{copied} load messages in the copy; {acked_before} acknowledged when the backup began, {acked_after} when it ended"
    );
    let rooms: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT room_id, COUNT(*), MAX(seq) FROM messages GROUP BY room_id")
            .fetch_all(&mut chat)
            .await
            .unwrap();
    assert_eq!(rooms.len(), 2, "{rooms:?}");
    for (room_id, count, max) in &rooms {
        let seqs: Vec<i64> =
            sqlx::query_scalar("SELECT seq FROM messages WHERE room_id = ? ORDER BY seq")
                .bind(room_id)
                .fetch_all(&mut chat)
                .await
                .unwrap();
        assert_eq!(seqs, (1..=*max).collect::<Vec<_>>(), "room {room_id}");
        assert_eq!(count, max, "room {room_id}");
    }
    let members: Vec<String> = sqlx::query_scalar("SELECT DISTINCT user_id FROM room_members")
        .fetch_all(&mut chat)
        .await
        .unwrap();
    let ops_count = rooms.iter().find(|r| r.0 == room).unwrap().1;
    let mut auth = connect(&dir.join("auth.db")).await;
    let users: Vec<(String, String)> =
        sqlx::query_as("SELECT id, username FROM users ORDER BY username")
            .fetch_all(&mut auth)
            .await
            .unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.1.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    for m in &members {
        assert!(
            users.iter().any(|u| &u.0 == m),
            "member {m} is a user in auth.db"
        );
    }

    // Refusals: a non-empty backup directory; a restore under the running server.
    let err = backup::backup(&app.data, &dir).await.unwrap_err();
    assert!(format!("{err:#}").contains("not empty"), "{err:#}");
    let err = backup::restore(&app.data, &dir, true).await.unwrap_err();
    assert!(format!("{err:#}").contains("is in use"), "{err:#}");

    // Restore into a new DATA_DIR: once; a second time only with --force.
    let root = TempDir::new("cloudchat-restored");
    let data = root.0.join("data");
    let restored = backup::restore(&data, &dir, false).await.unwrap();
    assert_eq!(restored, files);
    let err = backup::restore(&data, &dir, false).await.unwrap_err();
    assert!(format!("{err:#}").contains("--force"), "{err:#}");
    backup::restore(&data, &dir, true).await.unwrap();

    // A quick start on it: the same key (a token issued before still works), the users log
    // in, and the room's history is the copy's.
    let again = start_in(data, |_| {}).await;
    // A token signed before the backup.
    get_as(&http, &format!("{}/rooms", again.base), &alice).await;
    let token = session(&http, &again.base, "login", "bob").await;
    let mut seqs = Vec::new();
    let mut before = String::new();
    loop {
        let url = format!("{}/rooms/{room}/messages?limit=100{before}", again.base);
        let page = get_as(&http, &url, &token).await;
        let messages = page["messages"].as_array().unwrap();
        seqs.extend(messages.iter().map(|m| m["seq"].as_i64().unwrap()));
        if page["hasMore"] != true || messages.is_empty() {
            break;
        }
        let oldest = seqs.iter().min().unwrap();
        before = format!("&beforeSeq={oldest}");
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=ops_count).collect::<Vec<_>>());
    // The file came back with the data, and streams out through the front door.
    let res = http
        .get(format!("{}/files/{upload}", again.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-length"], "300000");
    assert_eq!(
        res.headers()["content-security-policy"],
        "default-src 'none'; sandbox",
        "the download's own policy, not the app's"
    );
    assert_eq!(res.bytes().await.unwrap().to_vec(), picture);
}
