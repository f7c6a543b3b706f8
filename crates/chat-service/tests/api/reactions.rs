//! Reactions: idempotent adds and removes over REST and the socket, each a revision of the
//! message replayed by the change feed, `reactionChanged` to the room, and the limits.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use wire::protocol::React;
use wire::{ChatAction, ErrorCode, ServerFrame, Target};

use crate::helpers::{TestApp, User, problem, spawn_app, spawn_app_with};

async fn react(app: &TestApp, user: &User, message: i64, emoji: &str) -> reqwest::Response {
    app.post(
        user,
        &format!("/messages/{message}/reactions"),
        &json!({ "emoji": emoji }),
    )
    .await
}

async fn unreact(app: &TestApp, user: &User, message: i64, emoji: &str) -> reqwest::Response {
    let emoji: String = emoji.bytes().map(|b| format!("%{b:02X}")).collect();
    app.delete(user, &format!("/messages/{message}/reactions/{emoji}"))
        .await
}

async fn ok_json(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn reactions_are_idempotent_revisions_of_the_message(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "reacting").await;
    app.add_member_ok(&alice, room, &bob).await;
    let message = app.send_ok(&alice, room, "lunch?").await;
    let id = message["id"].as_i64().unwrap();
    assert_eq!(message["reactions"], json!([]));
    assert_eq!(message["rev"], 1);

    let reacted = ok_json(react(&app, &bob, id, "👍").await).await;
    assert_eq!(reacted["rev"], 2, "a reaction is a revision of the message");
    assert_eq!(
        reacted["reactions"],
        json!([{"emoji": "👍", "count": 1, "userIds": [bob.id]}])
    );
    // Again: nothing changes, no revision is taken.
    let again = ok_json(react(&app, &bob, id, "👍").await).await;
    assert_eq!(again["rev"], 2);
    assert_eq!(again["reactions"][0]["count"], 1);
    let both = ok_json(react(&app, &alice, id, "👍").await).await;
    assert_eq!(both["reactions"][0]["count"], 2);
    assert_eq!(both["reactions"][0]["userIds"], json!([bob.id, alice.id]));
    ok_json(react(&app, &alice, id, ":tada:").await).await;
    let removed = ok_json(unreact(&app, &bob, id, "👍").await).await;
    assert_eq!(
        removed["reactions"],
        json!([
            {"emoji": "👍", "count": 1, "userIds": [alice.id]},
            {"emoji": ":tada:", "count": 1, "userIds": [alice.id]}
        ])
    );
    assert_eq!(removed["rev"], 5);
    // Removing what is not there changes nothing.
    let none = ok_json(unreact(&app, &bob, id, "👍").await).await;
    assert_eq!(none["rev"], 5);

    // The change feed replays the message whole, with its reactions.
    let feed = ok_json(
        app.get(&bob, &format!("/rooms/{room}/changes?sinceRev=1"))
            .await,
    )
    .await;
    assert_eq!(feed["messages"].as_array().unwrap().len(), 1);
    assert_eq!(feed["messages"][0]["rev"], 5);
    assert_eq!(feed["messages"][0]["reactions"], removed["reactions"]);
    let page = app.history(&bob, room, "").await;
    assert_eq!(page["messages"][0]["reactions"], removed["reactions"]);

    // Every real change went to the room as `reactionChanged`, with its revision.
    let published = app.published(4).await;
    let changes: Vec<(i64, bool, i64)> = published
        .iter()
        .flat_map(|p| &p.deliveries)
        .filter_map(|d| match &d.payload {
            ServerFrame::ReactionChanged {
                rev, added, count, ..
            } => {
                assert_eq!(d.target, Target::Room(room));
                Some((*rev, *added, *count))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        [(2, true, 1), (3, true, 2), (4, true, 1), (5, false, 1)]
    );

    // A deleted message loses its reactions and takes none.
    assert_eq!(
        app.delete(&alice, &format!("/messages/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let page = app.history(&bob, room, "").await;
    assert_eq!(page["messages"][0]["reactions"], json!([]));
    let res = react(&app, &bob, id, "👍").await;
    test_support::assert_problem(res, StatusCode::NOT_FOUND, "message_not_found").await;
}

async fn the_socket_actions_react_and_unreact(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let carol = app.signup("carol").await;
    let room = app.create_room(&alice, "sockets").await;
    let id = app.send_ok(&alice, room, "hi").await["id"]
        .as_i64()
        .unwrap();
    let react = |emoji: &str| React {
        room_id: room,
        message_id: id,
        emoji: emoji.to_owned(),
    };
    let answer = app.action_ok(&alice, ChatAction::React(react("🎉"))).await;
    assert!(answer.reply.is_none());
    match &answer.outbound[..] {
        [delivery] => match &delivery.payload {
            ServerFrame::ReactionChanged {
                message_id,
                emoji,
                user_id,
                added,
                count,
                rev,
                ..
            } => {
                assert_eq!(
                    (*message_id, emoji.as_str(), *user_id, *added, *count, *rev),
                    (id, "🎉", alice.id, true, 1, 2)
                );
            }
            other => panic!("not a reactionChanged: {other:?}"),
        },
        other => panic!("one delivery expected: {other:?}"),
    }
    // No change: nothing to deliver.
    let again = app.action_ok(&alice, ChatAction::React(react("🎉"))).await;
    assert!(again.outbound.is_empty());
    let removed = app
        .action_ok(&alice, ChatAction::Unreact(react("🎉")))
        .await;
    assert_eq!(removed.outbound.len(), 1);
    // A room that is not the message's, or a room the caller is not in: no such message.
    let wrong_room = React {
        room_id: room + 1000,
        ..react("🎉")
    };
    let res = app.action(&alice, ChatAction::React(wrong_room)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.action(&carol, ChatAction::React(react("🎉"))).await;
    test_support::assert_problem(res, StatusCode::NOT_FOUND, "message_not_found").await;
}

async fn bad_emoji_and_limits_are_refused(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.limits.max_reactions_per_message = 3;
        s.limits.reactions_per_minute = 8;
    })
    .await;
    let alice = app.signup("alice").await;
    let room = app.create_room(&alice, "limits").await;
    let id = app.send_ok(&alice, room, "react to me").await["id"]
        .as_i64()
        .unwrap();
    for bad in ["", "a", "👍👍", ":nope:", "<script>"] {
        let res = react(&app, &alice, id, bad).await;
        let body =
            test_support::assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "emoji");
    }
    for emoji in ["👍", "❤️", "🇫🇷"] {
        ok_json(react(&app, &alice, id, emoji).await).await;
    }
    let res = react(&app, &alice, id, "🚀").await;
    let body = test_support::assert_problem(res, StatusCode::CONFLICT, "too_many_reactions").await;
    assert!(body["detail"].as_str().unwrap().contains('3'), "{body}");
    // Over the socket, the same refusal is an error that is not temporary.
    let answer = app
        .batch(vec![crate::helpers::event(
            &alice,
            "c1",
            ChatAction::React(React {
                room_id: room,
                message_id: id,
                emoji: "🚀".to_owned(),
            }),
        )])
        .await;
    let answer: wire::ActionBatchResponse = answer.json().await.unwrap();
    let refused = problem(&answer.results[0]);
    assert_eq!(refused.code, ErrorCode::TooManyReactions);
    assert!(!refused.code.temporary());
    // The per-user rate (8 a minute here) counts every request with a valid emoji: 3 adds and
    // the 2 refused 🚀 make 5, 3 removals (2 of them changing nothing) make 8; then 429.
    for emoji in ["👍", "👍", "👍"] {
        ok_json(unreact(&app, &alice, id, emoji).await).await;
    }
    let res = react(&app, &alice, id, "👍").await;
    assert!(res.headers().get("retry-after").is_some());
    test_support::assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

both_engines!(
    reactions_are_idempotent_revisions_of_the_message,
    the_socket_actions_react_and_unreact,
    bad_emoji_and_limits_are_refused,
);
