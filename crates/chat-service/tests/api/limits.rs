//! What one user can make the service hold or do: answers bounded in bytes (sync, history, a
//! relay's batch), typing fan-out throttled, caps on rooms and members, member lists in pages,
//! and control items that reach a relay even when it refuses them at first.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use wire::protocol::{Sync, Typing};
use wire::{
    ActionBatchResponse, ActionResponse, ActionResult, ChatAction, Control, ErrorCode, ServerFrame,
    SingleActionRequest,
};

use crate::helpers::{
    FakeRelay, TestApp, User, assert_problem, event, identity, messages_page, ok, page_seqs,
    send_message, seqs, spawn_app_with, spawn_app_with_relay, sync_after,
};

/// 4000 control characters: 24,000 bytes once escaped as `\u0001` (the attack).
fn heavy() -> String {
    "\u{1}".repeat(4000)
}

const REPLY_BUDGET: usize = 64 * 1024;
const BATCH_BUDGET: usize = 1024 * 1024;

async fn app_with_budgets(engine: Engine) -> TestApp {
    spawn_app_with(engine, |s| {
        s.limits.reply_max_bytes = REPLY_BUDGET;
        s.limits.batch_reply_max_bytes = BATCH_BUDGET;
    })
    .await
}

/// A room of `n` heavy messages by its owner.
async fn heavy_room(app: &TestApp, owner: &User, n: usize) -> i64 {
    let room = app.create_room(owner, "heavy").await;
    for _ in 0..n {
        app.send_ok(owner, room, &heavy()).await;
    }
    room
}

fn json_bytes(v: &impl Serialize) -> usize {
    serde_json::to_string(v).unwrap().len()
}

async fn history_and_sync_stay_within_the_reply_budget(engine: Engine) {
    let app = app_with_budgets(engine).await;
    let alice = app.signup("alice").await;
    let room = heavy_room(&app, &alice, 12).await;
    let all: Vec<i64> = (1..=12).collect();

    // Forward, over REST: pages end early with hasMore, and paging by the last seq returns
    // every message exactly once.
    let mut got: Vec<i64> = Vec::new();
    let mut after = 0;
    loop {
        let res = app
            .get(
                &alice,
                &format!("/rooms/{room}/messages?afterSeq={after}&limit=200"),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = res.text().await.unwrap();
        assert!(body.len() <= REPLY_BUDGET + 64, "{} bytes", body.len());
        let page: Value = serde_json::from_str(&body).unwrap();
        let page_seqs = seqs(&page);
        assert!(!page_seqs.is_empty());
        got.extend(&page_seqs);
        after = *page_seqs.last().unwrap();
        if page["hasMore"] == false {
            break;
        }
        assert!(
            page_seqs.len() < 12,
            "a 64 KiB page cannot hold 12 heavy messages"
        );
    }
    assert_eq!(got, all);

    // Backward from the latest: the newest messages come first, the rest page back.
    let mut got: Vec<i64> = Vec::new();
    let mut query = "?limit=200".to_owned();
    loop {
        let page = app.history(&alice, room, &query).await;
        assert!(json_bytes(&page["messages"]) <= REPLY_BUDGET);
        let page_seqs = seqs(&page);
        if got.is_empty() {
            assert_eq!(page_seqs.last(), Some(&12));
        }
        got.splice(0..0, page_seqs.iter().copied());
        if page["hasMore"] == false {
            break;
        }
        query = format!("?beforeSeq={}&limit=200", page_seqs[0]);
    }
    assert_eq!(got, all);

    // The same over the socket's sync.
    let mut got: Vec<i64> = Vec::new();
    let mut after = 0;
    loop {
        let sync = Sync {
            limit: Some(200),
            ..sync_after(room, after)
        };
        let answer = app.action_ok(&alice, ChatAction::Sync(sync)).await;
        let page = messages_page(&answer);
        assert!(json_bytes(&page.messages) <= REPLY_BUDGET);
        let page_seqs = page_seqs(page);
        got.extend(&page_seqs);
        after = *page_seqs.last().unwrap();
        if !page.has_more {
            break;
        }
    }
    assert_eq!(got, all);
    // Light messages still come 200 to a page.
    let light = app.create_room(&alice, "light").await;
    for i in 0..5 {
        app.send_ok(&alice, light, &format!("m{i}")).await;
    }
    let page = app.history(&alice, light, "?afterSeq=0").await;
    assert_eq!(seqs(&page), [1, 2, 3, 4, 5]);
    assert_eq!(page["hasMore"], false);
}

async fn a_batch_answer_stays_within_its_cap(engine: Engine) {
    let app = app_with_budgets(engine).await;
    let alice = app.signup("alice").await;
    let room = heavy_room(&app, &alice, 3).await;
    // 60 syncs of heavy messages cannot all fit in 1 MiB; the 5 sends among them must.
    let is_send = |i: usize| i.is_multiple_of(13);
    let events: Vec<_> = (0..65)
        .map(|i| {
            let action = if is_send(i) {
                let cid = format!("batch-{i}");
                ChatAction::SendMessage(send_message(room, &heavy(), Some(&cid)))
            } else {
                ChatAction::Sync(sync_after(room, 0))
            };
            event(&alice, &format!("c{i}"), action)
        })
        .collect();
    let res = app.batch(events).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(body.len() <= BATCH_BUDGET, "{} bytes", body.len());
    let answer: ActionBatchResponse = serde_json::from_str(&body).unwrap();
    let results = &answer.results;
    assert_eq!(results.len(), 65);
    let (mut answered, mut busy, mut sent) = (0, 0, 0);
    for (i, result) in results.iter().enumerate() {
        if is_send(i) {
            let ok = ok(result);
            assert!(
                matches!(ok.reply, Some(ServerFrame::Ack { .. })),
                "send {i}: {result:?}"
            );
            assert_eq!(ok.outbound.len(), 1);
            sent += 1;
        } else if let ActionResult::Error(problem) = result {
            assert_eq!((problem.status, problem.code), (503, ErrorCode::Busy));
            busy += 1;
        } else {
            assert!(!messages_page(ok(result)).messages.is_empty());
            answered += 1;
        }
    }
    assert_eq!(sent, 5);
    assert!(busy > 0 && answered > 0, "{answered} answered, {busy} busy");
    // Every send was stored once.
    let rooms = app.rooms(&alice).await;
    let heavy_room = rooms.iter().find(|r| r["id"] == room).unwrap();
    assert_eq!(heavy_room["lastSeq"], 3 + 5);
}

async fn typing_fans_out_once_per_interval(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        // Long enough that a slow machine sends each burst inside one window.
        s.limits.typing_interval = Duration::from_secs(30);
    })
    .await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "typing").await;
    assert_eq!(
        app.add_member(&alice, room, "bob").await.status(),
        StatusCode::CREATED
    );
    let fanned_out =
        |answers: &[ActionResponse]| answers.iter().filter(|a| !a.outbound.is_empty()).count();
    let typing = |room_id: i64| ChatAction::Typing(Typing { room_id });
    // 30 frames in a burst reach the room once; the others are answered without an error.
    let mut answers = Vec::new();
    for _ in 0..30 {
        answers.push(app.action_ok(&alice, typing(room)).await);
    }
    assert_eq!(fanned_out(&answers), 1);
    assert_eq!(
        answers[0].outbound[0].payload,
        ServerFrame::Typing {
            room_id: room,
            user_id: alice.id,
            username: "alice".to_owned(),
        }
    );
    // Throttled per (user, room): Bob and another room are not affected.
    let bob_typing = app.action_ok(&bob, typing(room)).await;
    assert_eq!(fanned_out(&[bob_typing]), 1);
    let elsewhere = app.action_ok(&alice, typing(crate::helpers::GENERAL)).await;
    assert_eq!(fanned_out(&[elsewhere]), 1);
    // A burst inside one relay batch too.
    let other = app.create_room(&alice, "typing-too").await;
    let events: Vec<_> = (0..30)
        .map(|_| event(&alice, "c1", typing(other)))
        .collect();
    let answer: ActionBatchResponse = app.batch(events).await.json().await.unwrap();
    let oks: Vec<ActionResponse> = answer.results.iter().map(|r| ok(r).clone()).collect();
    assert_eq!(fanned_out(&oks), 1);
}

async fn the_typing_throttle_holds_across_replicas_with_redis(engine: Engine) {
    let redis =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let app = spawn_app_with(engine, |s| {
        s.redis_url = Some(redis);
        s.limits.typing_interval = Duration::from_secs(30);
    })
    .await;
    let other = app.second_replica().await;
    let alice = app.signup("alice").await;
    let typing = Typing {
        room_id: crate::helpers::GENERAL,
    };
    let request = SingleActionRequest {
        connection_id: "c1".to_owned(),
        identity: identity(&alice),
        body: serde_json::to_value(typing).unwrap(),
    };
    let mut fanned_out = 0;
    for i in 0..10 {
        let base = if i % 2 == 0 { &app.chat } else { &other };
        let res = app
            .internal_at(base, "/internal/ws/actions/typing", &request)
            .await;
        let answer: ActionResponse = res.json().await.unwrap();
        fanned_out += answer.outbound.len();
    }
    assert_eq!(fanned_out, 1, "one fan-out across both replicas");
}

async fn room_creation_is_capped_and_rate_limited(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.limits.max_rooms_owned = 3;
        s.limits.room_creates_per_hour = 5;
    })
    .await;
    let alice = app.signup("alice").await;
    let mut rooms = Vec::new();
    for i in 0..3 {
        rooms.push(app.create_room(&alice, &format!("r{i}")).await);
    }
    let res = app.post(&alice, "/rooms", &json!({"name": "r3"})).await;
    let problem = assert_problem(res, StatusCode::FORBIDDEN, "too_many_rooms_owned").await;
    assert!(problem["detail"].as_str().unwrap().contains('3'));
    assert_eq!(app.rooms(&alice).await.len(), 4, "general and three rooms");
    // Deleting one makes room for another, until the hourly creations run out.
    let res = app.delete(&alice, &format!("/rooms/{}", rooms[0])).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.create_room(&alice, "r4").await;
    let res = app.post(&alice, "/rooms", &json!({"name": "r5"})).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 3600);
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Others are not affected.
    let bob = app.signup("bob").await;
    app.create_room(&bob, "bobs").await;
}

async fn rooms_and_members_are_capped_even_when_adds_race(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.limits.max_members_per_room = 4;
        s.limits.max_rooms_per_user = 3;
    })
    .await;
    let alice = app.signup("alice").await;
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(app.signup(&format!("user{i}")).await);
    }
    // Eight adds at once to a room that has room for three more: three get in.
    let room = app.create_room(&alice, "small").await;
    let answers =
        futures_util::future::join_all(users.iter().map(|u| app.add_member(&alice, room, &u.name)))
            .await;
    assert_eq!(created_or_refused(answers, "room_full").await, 3);
    let listed: Vec<Value> = app
        .get(&alice, &format!("/rooms/{room}/members"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 4);

    // Six owners add the same user at once; the user may be in three rooms.
    let dave = app.signup("dave").await;
    let mut owned = Vec::new();
    for i in 0..6 {
        let owner = app.signup(&format!("owner{i}")).await;
        let room = app.create_room(&owner, &format!("o{i}")).await;
        owned.push((owner, room));
    }
    let answers = futures_util::future::join_all(
        owned
            .iter()
            .map(|(owner, room)| app.add_member(owner, *room, "dave")),
    )
    .await;
    assert_eq!(created_or_refused(answers, "too_many_rooms").await, 3);
    assert_eq!(app.rooms(&dave).await.len(), 4, "general and three rooms");
    // Creating a room would make a fourth membership too.
    let res = app.post(&dave, "/rooms", &json!({"name": "daves"})).await;
    assert_problem(res, StatusCode::FORBIDDEN, "too_many_rooms").await;
}

/// How many of these adds answered 201; every other one must be a 403 with `code`.
async fn created_or_refused(answers: Vec<reqwest::Response>, code: &str) -> usize {
    let mut created = 0;
    for res in answers {
        if res.status() == StatusCode::CREATED {
            created += 1;
        } else {
            assert_problem(res, StatusCode::FORBIDDEN, code).await;
        }
    }
    created
}

async fn member_adds_are_rate_limited_per_owner(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.limits.member_adds_per_minute = 2).await;
    let alice = app.signup("alice").await;
    for name in ["bob", "carol", "dave"] {
        app.signup(name).await;
    }
    let room = app.create_room(&alice, "team").await;
    for name in ["bob", "carol"] {
        assert_eq!(
            app.add_member(&alice, room, name).await.status(),
            StatusCode::CREATED
        );
    }
    let res = app.add_member(&alice, room, "dave").await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

async fn member_lists_come_in_pages(engine: Engine) {
    let app = spawn_app_with(engine, |_| {}).await;
    let alice = app.signup("alice").await;
    let room = app.create_room(&alice, "big").await;
    let mut names = vec!["alice".to_owned()];
    for i in 0..7 {
        let user = app.signup(&format!("member{i}")).await;
        assert_eq!(
            app.add_member(&alice, room, &user.name).await.status(),
            StatusCode::CREATED
        );
        names.push(user.name);
    }
    let mut listed = Vec::new();
    let mut query = "?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let res = app
            .get(&alice, &format!("/rooms/{room}/members{query}"))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let page: Value = res.json().await.unwrap();
        pages += 1;
        for m in page["members"].as_array().unwrap() {
            listed.push(m["username"].as_str().unwrap().to_owned());
        }
        if page["hasMore"] == false {
            assert_eq!(page["nextCursor"], Value::Null);
            break;
        }
        let cursor = page["nextCursor"].as_str().unwrap();
        query = format!("?limit=3&after={cursor}");
    }
    assert_eq!(pages, 3);
    assert_eq!(listed, names, "everyone once, by join time");
    // Without paging parameters: the plain array of earlier versions.
    let plain: Vec<Value> = app
        .get(&alice, &format!("/rooms/{room}/members"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plain.len(), 8);
    assert_eq!(plain[0]["isOwner"], true);
    // The page object is described in the OpenAPI document.
    let spec: Value = test_support::get_json(&app.client, &app.url("/openapi.json")).await;
    let params = &spec["paths"]["/rooms/{id}/members"]["get"]["parameters"];
    let names: Vec<&str> = params
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "after", "limit"]);
    let page = &spec["components"]["schemas"]["MembersPage"]["properties"];
    assert!(
        page["nextCursor"].is_object() && page["hasMore"].is_object(),
        "{spec}"
    );
    for bad in ["?after=nonsense", "?limit=0", "?after=12.not-a-uuid"] {
        let res = app
            .get(&alice, &format!("/rooms/{room}/members{bad}"))
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
}

async fn an_unsubscribe_outlives_a_relay_that_refuses_it(engine: Engine) {
    let relay = FakeRelay::start_refusing(3).await;
    let app = spawn_app_with_relay(engine, relay, |_| {}).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "private").await;
    assert_eq!(
        app.add_member(&alice, room, "bob").await.status(),
        StatusCode::CREATED
    );
    let res = app
        .delete(&alice, &format!("/rooms/{room}/members/{}", bob.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The relay refused the first three tries (the room's subscribe); all three control
    // publishes still arrive, in order.
    let published = app.published(3).await;
    let controls: Vec<&Control> = published.iter().map(|p| &p.control[0]).collect();
    let subscribed = |control: &Control| match control {
        Control::Subscribe { user_id, .. } => Some(*user_id),
        _ => None,
    };
    assert_eq!(subscribed(controls[0]), Some(alice.id));
    assert_eq!(subscribed(controls[1]), Some(bob.id));
    assert_eq!(
        controls[2],
        &Control::Unsubscribe {
            user_id: bob.id,
            room_id: room
        }
    );
}

both_engines!(
    history_and_sync_stay_within_the_reply_budget,
    a_batch_answer_stays_within_its_cap,
    typing_fans_out_once_per_interval,
    the_typing_throttle_holds_across_replicas_with_redis,
    room_creation_is_capped_and_rate_limited,
    rooms_and_members_are_capped_even_when_adds_race,
    member_adds_are_rate_limited_per_owner,
    member_lists_come_in_pages,
    an_unsubscribe_outlives_a_relay_that_refuses_it,
);
