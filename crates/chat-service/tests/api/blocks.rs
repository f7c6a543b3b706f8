//! Blocks and hidden messages: a blocked pair has no direct messages either way, a blocker
//! reads their blocked users' messages as `hidden: "blocked"`, and a user suspended with their
//! messages hidden is read as `hidden: "suspended"` by everyone but staff.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use uuid::Uuid;
use wire::ChatAction;
use wire::protocol::Sync;

use crate::helpers::{
    GENERAL, assert_problem, get_ok, make_staff, messages_page, moderation_event, send_message,
    spawn_app, spawn_app_with, team,
};

fn id(message: &Value) -> i64 {
    message["id"].as_i64().unwrap()
}

/// The message `id` of a page of messages.
fn find(page: &Value, id: i64) -> Value {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no message {id} in {page}"))
        .clone()
}

async fn a_blocked_pair_has_no_direct_messages(engine: Engine) {
    let app = spawn_app_with(engine, |c| c.limits.max_blocks = 2).await;
    let (alice, bob, carol, _room) = team(&app).await;
    let dm: Value = app
        .post(&bob, "/dms", &json!({"userId": carol.id}))
        .await
        .json()
        .await
        .unwrap();
    let dm = id(&dm);
    app.send_ok(&carol, dm, "hi bob").await;

    let res = app
        .put(&bob, &format!("/blocks/{}", carol.id), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let block: Value = res.json().await.unwrap();
    assert_eq!(block["userId"], carol.id.to_string());
    assert_eq!(block["username"], "carol");
    let since = block["createdAt"].as_str().unwrap().to_owned();
    // Blocking again changes nothing.
    let again: Value = app
        .put(&bob, &format!("/blocks/{}", carol.id), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, block);
    let list = get_ok(&app, &bob, "/blocks").await;
    assert_eq!(
        list,
        json!({"users": [{"userId": carol.id, "username": "carol", "createdAt": since}]})
    );
    assert_problem(
        app.put(&bob, &format!("/blocks/{}", bob.id), &json!({}))
            .await,
        StatusCode::CONFLICT,
        "cannot_target_self",
    )
    .await;
    assert_problem(
        app.put(&bob, &format!("/blocks/{}", Uuid::new_v4()), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    )
    .await;

    // Neither opens a direct room with the other, nor sends into theirs.
    assert_problem(
        app.post(&carol, "/dms", &json!({"userId": bob.id})).await,
        StatusCode::FORBIDDEN,
        "blocked",
    )
    .await;
    assert_problem(
        app.post(&bob, "/dms", &json!({"username": "carol"})).await,
        StatusCode::FORBIDDEN,
        "blocked",
    )
    .await;
    for sender in [&carol, &bob] {
        assert_problem(
            app.send(sender, dm, "hello?").await,
            StatusCode::FORBIDDEN,
            "blocked",
        )
        .await;
    }
    let res = app
        .action(
            &carol,
            ChatAction::SendMessage(send_message(dm, "hi", None)),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "blocked").await;
    // Others are not concerned.
    let res = app.post(&alice, "/dms", &json!({"userId": carol.id})).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // CHAT_MAX_BLOCKS (2 here).
    let dave = app.signup("dave").await;
    let res = app
        .put(&bob, &format!("/blocks/{}", alice.id), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        app.put(&bob, &format!("/blocks/{}", dave.id), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "too_many_blocks",
    )
    .await;

    // Unblocked: talking again.
    for user in [&carol, &alice] {
        let res = app.delete(&bob, &format!("/blocks/{}", user.id)).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let res = app.delete(&bob, &format!("/blocks/{}", carol.id)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let list = get_ok(&app, &bob, "/blocks").await;
    assert_eq!(list, json!({"users": []}));
    app.send_ok(&carol, dm, "friends again").await;
    let res = app.post(&carol, "/dms", &json!({"userId": bob.id})).await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn a_blocker_reads_blocked_messages_as_hidden(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, bob, carol, room) = team(&app).await;
    let said = id(&app.send_ok(&carol, room, "carol speaks to @bob").await);
    let reply: Value = app
        .post(
            &alice,
            &format!("/rooms/{room}/messages"),
            &json!({"content": "alice answers", "replyToId": said}),
        )
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .put(&bob, &format!("/blocks/{}", carol.id), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // History: the row stays (no gap in seqs), without its text, mentions or files.
    let page = app.history(&bob, room, "").await;
    let hidden = find(&page, said);
    assert_eq!(hidden["hidden"], "blocked");
    assert_eq!(hidden["content"], "");
    assert_eq!(hidden["mentions"], json!([]));
    assert_eq!(hidden["attachments"], json!([]));
    assert_eq!(hidden["deleted"], false);
    let answer = find(&page, id(&reply));
    assert!(answer.get("hidden").is_none(), "{answer}");
    assert_eq!(answer["content"], "alice answers");
    // The quote of a hidden message loses its text too.
    assert_eq!(answer["replyTo"]["id"], said);
    assert_eq!(answer["replyTo"]["excerpt"], "");
    // Around, the change feed, and a socket's sync alike.
    let around = app
        .history(&bob, room, &format!("?aroundSeq={}", hidden["seq"]))
        .await;
    assert_eq!(find(&around, said)["hidden"], "blocked");
    let changes = get_ok(&app, &bob, &format!("/rooms/{room}/changes?sinceRev=0")).await;
    assert_eq!(find(&changes, said)["hidden"], "blocked");
    let synced = app
        .action_ok(
            &bob,
            ChatAction::Sync(Sync {
                room_id: room,
                after_seq: Some(0),
                ..Sync::default()
            }),
        )
        .await;
    let page = messages_page(&synced);
    let seen = page.messages.iter().find(|m| m.id == said).unwrap();
    assert_eq!(seen.hidden.as_deref(), Some("blocked"));
    assert_eq!(seen.content, "");
    // Search and mentions leave them out.
    let found = get_ok(&app, &bob, "/search?q=speaks").await;
    assert_eq!(found["hits"], json!([]));
    let mentions = get_ok(&app, &bob, "/mentions").await;
    assert_eq!(mentions["messages"], json!([]));
    // Nobody else is concerned.
    let page = app.history(&alice, room, "").await;
    let shown = find(&page, said);
    assert!(shown.get("hidden").is_none(), "{shown}");
    assert_eq!(shown["content"], "carol speaks to @bob");
    let found = get_ok(&app, &alice, "/search?q=speaks").await;
    assert_eq!(found["hits"].as_array().unwrap().len(), 1);

    // Unblocked: shown again.
    app.delete(&bob, &format!("/blocks/{}", carol.id)).await;
    let page = app.history(&bob, room, "").await;
    assert_eq!(find(&page, said)["content"], "carol speaks to @bob");
    let mentions = get_ok(&app, &bob, "/mentions").await;
    assert_eq!(mentions["messages"].as_array().unwrap().len(), 1);
}

async fn a_suspension_that_hides_hides_from_all_but_staff(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, _bob, carol, room) = team(&app).await;
    let dave = app.signup("dave").await;
    make_staff(&app, &dave, "moderator").await;
    let in_room = id(&app.send_ok(&carol, room, "before the storm").await);
    let in_general = id(&app.send_ok(&carol, GENERAL, "general words").await);

    let res = moderation_event(
        &app,
        &carol,
        1,
        json!({"suspended": true, "hideMessages": true}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let page = app.history(&alice, room, "").await;
    assert_eq!(find(&page, in_room)["hidden"], "suspended");
    assert_eq!(find(&page, in_room)["content"], "");
    let page = app.history(&alice, GENERAL, "").await;
    assert_eq!(find(&page, in_general)["hidden"], "suspended");
    let found = get_ok(&app, &alice, "/search?q=words").await;
    assert_eq!(found["hits"], json!([]));
    // Staff see them.
    let page = app.history(&dave, GENERAL, "").await;
    let shown = find(&page, in_general);
    assert!(shown.get("hidden").is_none(), "{shown}");
    assert_eq!(shown["content"], "general words");
    let found = get_ok(&app, &dave, "/search?q=words").await;
    assert_eq!(found["hits"].as_array().unwrap().len(), 1);

    // A suspension that does not hide, or one that ended, hides nothing.
    let res = moderation_event(&app, &carol, 2, json!({"suspended": true})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let page = app.history(&alice, room, "").await;
    assert!(find(&page, in_room).get("hidden").is_none());
    let ended = store_kit::now_ms() - 1000;
    let res = moderation_event(
        &app,
        &carol,
        3,
        json!({"suspended": true, "hideMessages": true, "suspendedUntil": ended}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let page = app.history(&alice, GENERAL, "").await;
    assert_eq!(find(&page, in_general)["content"], "general words");
}

both_engines!(
    a_blocked_pair_has_no_direct_messages,
    a_blocker_reads_blocked_messages_as_hidden,
    a_suspension_that_hides_hides_from_all_but_staff,
);
