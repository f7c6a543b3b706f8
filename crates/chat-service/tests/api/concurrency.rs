use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;
use test_support::{Engine, both_engines};

use crate::helpers::{TestApp, User, spawn_app_with};

const TASKS: usize = 8;
const PER_TASK: usize = 200;

/// Sends `PER_TASK` messages as `user` to `base`, one after the other.
async fn sender(
    client: reqwest::Client,
    base: String,
    user: User,
    room: i64,
    task: usize,
) -> Vec<i64> {
    let mut seqs = Vec::with_capacity(PER_TASK);
    for i in 0..PER_TASK {
        let res = client
            .post(format!("{base}/rooms/{room}/messages"))
            .bearer_auth(&user.token)
            .json(&serde_json::json!({"content": format!("t{task} m{i}"), "clientMsgId": format!("t{task}-m{i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        seqs.push(res.json::<Value>().await.unwrap()["seq"].as_i64().unwrap());
    }
    seqs
}

async fn check_all_seqs(app: &TestApp, bases: &[String]) {
    let owner = app.signup("owner").await;
    let room = app.create_room(&owner, "stress").await;
    let mut users = Vec::new();
    for t in 0..TASKS {
        let name = format!("sender{t}");
        let user = app.signup(&name).await;
        assert_eq!(
            app.add_member(&owner, room, &name).await.status(),
            StatusCode::CREATED
        );
        users.push(user);
    }
    let tasks = users.into_iter().enumerate().map(|(t, user)| {
        let base = bases[t % bases.len()].clone();
        tokio::spawn(sender(app.client.clone(), base, user, room, t))
    });
    let mut all = Vec::new();
    for task in futures_util::future::join_all(tasks).await {
        let seqs = task.unwrap();
        // Each sender sees its own messages in the order it sent them.
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        all.extend(seqs);
    }
    let total = (TASKS * PER_TASK) as i64;
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len() as i64, total);
    assert_eq!(unique.len() as i64, total, "no seq given twice");
    assert_eq!(unique.iter().next(), Some(&1));
    assert_eq!(unique.iter().last(), Some(&total), "no gaps");
    // The database agrees, and the room's counter too.
    let stored: Vec<(i64,)> =
        sqlx::query_as("SELECT seq FROM messages WHERE room_id = $1 ORDER BY seq")
            .bind(room)
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    let stored: Vec<i64> = stored.into_iter().map(|(s,)| s).collect();
    assert_eq!(stored, (1..=total).collect::<Vec<_>>());
    let rooms = app.rooms(&owner).await;
    assert_eq!(rooms[1]["lastSeq"], total);
}

async fn concurrent_senders_get_seqs_one_to_n(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.send_limit = 100_000).await;
    let bases = vec![app.chat.clone()];
    check_all_seqs(&app, &bases).await;
}

async fn two_replicas_share_one_sequence(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.send_limit = 100_000).await;
    let second = app.second_replica().await;
    let bases = vec![app.chat.clone(), second];
    check_all_seqs(&app, &bases).await;
}

both_engines!(
    concurrent_senders_get_seqs_one_to_n,
    two_replicas_share_one_sequence
);
