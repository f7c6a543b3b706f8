//! A person's data export: `POST /users/me/export` on auth-service, which streams its own
//! lines and then chat-service's (`GET /internal/users/{id}/export`) as JSON Lines, ending
//! with the `end` line.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use test_stack::ChatStack;
use test_support::{Engine, both_engines};

use crate::helpers::{FakeRelay, TestApp, User, assert_problem, spawn_app, spawn_app_with};

async fn export(app: &ChatStack, user: &User) -> Response {
    app.auth_call(Method::POST, "/users/me/export", Some(&user.token), None)
        .await
}

/// The export's lines, parsed (each line must be one JSON object).
async fn export_ok(app: &ChatStack, user: &User) -> Vec<Value> {
    let res = export(app, user).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "application/jsonl; charset=utf-8"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    let disposition = res.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with(&format!("attachment; filename=\"cloudchat-{}-", user.name)),
        "{disposition}"
    );
    let text = res.text().await.unwrap();
    assert!(text.ends_with('\n'));
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

async fn upload(app: &TestApp, user: &User, name: &str, bytes: &[u8]) -> Value {
    let res = app
        .client
        .post(app.url(&format!("/uploads?filename={name}")))
        .bearer_auth(&user.token)
        .header("content-type", "text/plain")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn an_export_holds_what_the_person_gave_and_nothing_of_others(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let room = app.create_room(&alice, "plans").await;
    app.add_member_ok(&alice, room, &bob).await;

    let first = app.send_ok(&alice, room, "first of mine").await;
    let from_bob = app.send_ok(&bob, room, "bob's own words").await;
    let file = upload(&app, &alice, "notes.txt", b"twelve bytes").await;
    let with_file = app
        .post(
            &alice,
            &format!("/rooms/{room}/messages"),
            &json!({"content": "see the file", "clientMsgId": "x-1",
                    "attachmentIds": [file["id"]], "replyToId": from_bob["id"]}),
        )
        .await;
    assert_eq!(with_file.status(), StatusCode::CREATED);
    let with_file: Value = with_file.json().await.unwrap();
    let gone = app.send_ok(&alice, room, "regretted").await;
    let res = app
        .delete(&alice, &format!("/messages/{}", gone["id"]))
        .await;
    assert!(res.status().is_success());
    let res = app
        .post(
            &alice,
            &format!("/messages/{}/reactions", from_bob["id"]),
            &json!({"emoji": "👍"}),
        )
        .await;
    assert!(res.status().is_success());
    let res = app.post(&alice, "/dms", &json!({"username": "bob"})).await;
    assert!(res.status().is_success());
    let dm: Value = res.json().await.unwrap();
    let dm_id = dm["id"].as_i64().unwrap();
    app.send_ok(&alice, dm_id, "just between us").await;
    let res = app
        .put(&alice, &format!("/blocks/{}", carol.id), &json!({}))
        .await;
    assert!(res.status().is_success());
    let settings = json!({"level": "all", "mutedUntil": null, "emailDigest": false});
    let res = app.put(&alice, "/notification-settings", &settings).await;
    assert!(res.status().is_success());

    let lines = export_ok(&app, &alice).await;

    // First the export itself, last the end line counting the others.
    assert_eq!(lines[0]["type"], "export");
    assert_eq!(lines[0]["version"], 1);
    assert_eq!(lines[0]["userId"], alice.id.to_string());
    let end = lines.last().unwrap();
    assert_eq!(end["type"], "end");
    assert_eq!(end["lines"], (lines.len() - 1) as u64);
    assert_eq!(of_type(&lines, "end").len(), 1);

    let profile = of_type(&lines, "profile");
    assert_eq!(profile.len(), 1);
    assert_eq!(profile[0]["username"], "alice");
    assert_eq!(profile[0]["email"], alice.email);
    assert_eq!(profile[0]["role"], "user");
    assert_eq!(profile[0]["mfaEnabled"], false);
    assert_eq!(profile[0]["emailVerified"], false);
    let sessions = of_type(&lines, "session");
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["id"], alice.sid());
    assert_eq!(sessions[0]["ip"], "127.0.0.1");

    // Rooms with the membership of each: general, the group she owns, the direct room.
    let rooms = of_type(&lines, "room");
    let names: Vec<(&str, &str)> = rooms
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[0], ("general", "general"));
    assert!(names.contains(&("group", "plans")));
    let direct = rooms.iter().find(|r| r["kind"] == "direct").unwrap();
    assert_eq!(direct["peer"], "bob");
    let memberships = of_type(&lines, "membership");
    assert_eq!(memberships.len(), 3);
    let in_room = memberships.iter().find(|m| m["roomId"] == room).unwrap();
    assert_eq!(in_room["role"], "owner");
    assert!(in_room["joinedAt"].is_string());

    // Her live messages, in order, with the attachment's metadata; none of bob's.
    let messages = of_type(&lines, "message");
    let contents: Vec<&str> = messages
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        ["first of mine", "see the file", "just between us"]
    );
    assert_eq!(messages[0]["id"], first["id"]);
    assert_eq!(messages[0]["roomId"], room);
    assert_eq!(messages[1]["replyToId"], from_bob["id"]);
    assert_eq!(messages[1]["seq"], with_file["seq"]);
    let attachment = &messages[1]["attachments"][0];
    assert_eq!(attachment["id"], file["id"]);
    assert_eq!(attachment["name"], "notes.txt");
    assert_eq!(attachment["size"], 12);
    assert_eq!(
        attachment["url"],
        format!("/files/{}", file["id"].as_str().unwrap())
    );
    assert_eq!(messages[2]["roomId"], dm_id);

    let reactions = of_type(&lines, "reaction");
    assert_eq!(reactions.len(), 1);
    assert_eq!(reactions[0]["messageId"], from_bob["id"]);
    assert_eq!(reactions[0]["emoji"], "👍");
    let blocks = of_type(&lines, "block");
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0]["userId"], carol.id.to_string());
    assert_eq!(blocks[0]["username"], "carol");
    let notifications = of_type(&lines, "notificationSettings");
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0]["level"], "all");
    assert_eq!(notifications[0]["emailDigest"], false);

    // bob's export has his words, not hers.
    let lines = export_ok(&app, &bob).await;
    let contents: Vec<&str> = of_type(&lines, "message")
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["bob's own words"]);
    assert_eq!(of_type(&lines, "reaction").len(), 0);
}

/// More messages than one page: every one, once, in order.
async fn a_long_history_comes_whole_page_after_page(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.send_limit = 100_000).await;
    let alice = app.signup("alice").await;
    let room = app.create_room(&alice, "diary").await;
    let count = 1_100;
    for i in 0..count {
        app.send_ok(&alice, room, &format!("entry {i}")).await;
    }
    let lines = export_ok(&app, &alice).await;
    let contents: Vec<String> = of_type(&lines, "message")
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..count).map(|i| format!("entry {i}")).collect();
    assert_eq!(contents, expected);
    assert_eq!(lines.last().unwrap()["lines"], (lines.len() - 1) as u64);
}

async fn exports_are_limited_refused_without_chat_service_and_need_a_login(engine: Engine) {
    let relay = FakeRelay::start().await;
    let app = ChatStack::spawn(
        engine,
        &relay.url,
        |a| a.rate_limits.exports_per_hour = 1,
        |_| {},
    )
    .await;
    let alice = app.signup("alice").await;
    export_ok(&app, &alice).await;
    assert_problem(
        export(&app, &alice).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;

    let res = app
        .auth_call(Method::POST, "/users/me/export", None, None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // chat-service's part is for auth-service only.
    let res = app
        .client
        .get(app.url(&format!("/internal/users/{}/export", alice.id)))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // chat-service away: a clear 503 before anything is sent.
    let away = ChatStack::spawn(
        engine,
        &relay.url,
        |a| a.chat_url = Some("http://127.0.0.1:9".to_owned()),
        |_| {},
    )
    .await;
    let bob = away.signup("bob").await;
    assert_problem(
        export(&away, &bob).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "export_unavailable",
    )
    .await;
}

both_engines!(
    an_export_holds_what_the_person_gave_and_nothing_of_others,
    a_long_history_comes_whole_page_after_page,
    exports_are_limited_refused_without_chat_service_and_need_a_login,
);
