//! Room moderation: who moderates a room (owner, room moderators, staff; staff alone in
//! general), room roles, deleting others' messages, removing members, mutes, and the user
//! events that carry instance roles from auth-service.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_stack::{ChatStack, Options, User, send_message, spawn_stack, spawn_stack_with};
use test_support::{Engine, both_engines};
use uuid::Uuid;
use wire::{ChatAction, ClientAction, ErrorCode, ServerFrame};

use crate::helpers::{
    AUTH_KEY, CHAT_KEY, GENERAL, RELAY_KEY, actions, assert_problem, chat_audit, delivered,
    frame_of, get_ok, make_staff, moderation_event, mute, spawn_app, spawn_app_with, team,
};

fn mute_path(room: i64, user: Uuid) -> String {
    format!("/rooms/{room}/mutes/{user}")
}

/// `by` gives `target` the `role` in `room`.
async fn set_role(
    stack: &ChatStack,
    by: &User,
    room: i64,
    target: Uuid,
    role: &str,
) -> reqwest::Response {
    let path = format!("/rooms/{room}/members/{target}/role");
    stack.put(by, &path, &json!({ "role": role })).await
}

fn id(message: &Value) -> i64 {
    message["id"].as_i64().unwrap()
}

async fn members_cannot_moderate(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, bob, carol, room) = team(&app).await;
    let message = id(&app.send_ok(&carol, room, "hello").await);
    assert_problem(
        app.delete(&bob, &format!("/messages/{message}")).await,
        StatusCode::FORBIDDEN,
        "not_message_author",
    )
    .await;
    assert_problem(
        mute(&app, &bob, room, carol.id, 60).await,
        StatusCode::FORBIDDEN,
        "moderator_required",
    )
    .await;
    assert_problem(
        app.delete(&bob, &format!("/rooms/{room}/members/{}", carol.id))
            .await,
        StatusCode::FORBIDDEN,
        "not_room_owner",
    )
    .await;
    assert_problem(
        set_role(&app, &bob, room, carol.id, "moderator").await,
        StatusCode::FORBIDDEN,
        "not_room_owner",
    )
    .await;
    assert_problem(
        app.get(&bob, &format!("/rooms/{room}/mutes")).await,
        StatusCode::FORBIDDEN,
        "moderator_required",
    )
    .await;
    // The owner of a group room has no say in general.
    let said = id(&app.send_ok(&carol, GENERAL, "hi all").await);
    assert_problem(
        app.delete(&alice, &format!("/messages/{said}")).await,
        StatusCode::FORBIDDEN,
        "not_message_author",
    )
    .await;
    assert_problem(
        mute(&app, &alice, GENERAL, carol.id, 60).await,
        StatusCode::FORBIDDEN,
        "moderator_required",
    )
    .await;
    // What the views say about it.
    let room_of = |user| {
        let path = format!("/rooms/{room}");
        let app = &app;
        async move {
            let res = app.get(user, &path).await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(room_of(&bob).await["canModerate"], false);
    assert_eq!(room_of(&alice).await["canModerate"], true);
    let rooms = app.rooms(&alice).await;
    assert_eq!(rooms[0]["isGeneral"], true);
    assert_eq!(rooms[0]["canModerate"], false);
    let members: Vec<Value> = app
        .get(&bob, &format!("/rooms/{room}/members"))
        .await
        .json()
        .await
        .unwrap();
    let roles: Vec<(&str, &str)> = members
        .iter()
        .map(|m| (m["username"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [("alice", "owner"), ("bob", "member"), ("carol", "member")]
    );
    assert!(members.iter().all(|m| m["mutedUntil"].is_null()));
    // Nothing happened, so nothing was recorded.
    assert!(chat_audit(&app).await.is_empty());
}

async fn a_room_moderator_moderates_their_room_only(engine: Engine) {
    let stack = spawn_stack(engine).await;
    let (alice, bob, carol, room) = team(&stack).await;
    let dave = stack.signup("dave").await;
    let other = stack.create_room(&dave, "other").await;
    stack.add_member_ok(&dave, other, &bob).await;
    stack.add_member_ok(&dave, other, &carol).await;
    let mut carols = stack.connect(&carol).await;

    // The owner names bob a moderator: the room hears it.
    let res = set_role(&stack, &alice, room, bob.id, "moderator").await;
    assert_eq!(res.status(), StatusCode::OK);
    let member: Value = res.json().await.unwrap();
    assert_eq!(member["userId"], bob.id.to_string());
    assert_eq!(member["role"], "moderator");
    assert_eq!(member["isOwner"], false);
    let changed = frame_of(&mut carols, "memberRoleChanged").await;
    assert_eq!(
        changed,
        json!({"type": "memberRoleChanged", "roomId": room, "userId": bob.id, "role": "moderator"})
    );
    // The same role again changes nothing; the owner's own row is not a role to set.
    let again = set_role(&stack, &alice, room, bob.id, "moderator").await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_problem(
        set_role(&stack, &alice, room, alice.id, "member").await,
        StatusCode::CONFLICT,
        "cannot_target_self",
    )
    .await;
    assert_problem(
        set_role(&stack, &alice, room, dave.id, "moderator").await,
        StatusCode::NOT_FOUND,
        "member_not_found",
    )
    .await;
    assert_problem(
        set_role(&stack, &alice, room, bob.id, "owner").await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    // Only the owner names moderators.
    assert_problem(
        set_role(&stack, &bob, room, carol.id, "moderator").await,
        StatusCode::FORBIDDEN,
        "not_room_owner",
    )
    .await;

    // Bob deletes carol's message in his room: the room hears who did.
    let spam = id(&stack.send_ok(&carol, room, "spam").await);
    let res = stack
        .delete(&bob, &format!("/messages/{spam}?reason=advertising"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let deleted = frame_of(&mut carols, "messageDeleted").await;
    assert_eq!(deleted["id"], spam);
    assert_eq!(deleted["byModerator"], true);
    // Carol deleting her own says nothing of the kind.
    let own = id(&stack.send_ok(&carol, room, "oops").await);
    stack.delete(&carol, &format!("/messages/{own}")).await;
    let deleted = frame_of(&mut carols, "messageDeleted").await;
    assert_eq!(deleted["id"], own);
    assert!(deleted.get("byModerator").is_none(), "{deleted}");

    // In dave's room, bob is a member like any other.
    let there = id(&stack.send_ok(&carol, other, "elsewhere").await);
    assert_problem(
        stack.delete(&bob, &format!("/messages/{there}")).await,
        StatusCode::FORBIDDEN,
        "not_message_author",
    )
    .await;
    assert_problem(
        mute(&stack, &bob, other, carol.id, 60).await,
        StatusCode::FORBIDDEN,
        "moderator_required",
    )
    .await;
    assert_problem(
        stack
            .delete(&bob, &format!("/rooms/{other}/members/{}", carol.id))
            .await,
        StatusCode::FORBIDDEN,
        "not_room_owner",
    )
    .await;

    // A room moderator acts on neither the owner nor another moderator.
    let res = set_role(&stack, &alice, room, carol.id, "moderator").await;
    assert_eq!(res.status(), StatusCode::OK);
    for target in [&alice, &carol] {
        assert_problem(
            stack
                .delete(&bob, &format!("/rooms/{room}/members/{}", target.id))
                .await,
            StatusCode::FORBIDDEN,
            "not_room_owner",
        )
        .await;
        assert_problem(
            mute(&stack, &bob, room, target.id, 60).await,
            StatusCode::FORBIDDEN,
            "moderator_required",
        )
        .await;
    }
    let res = set_role(&stack, &alice, room, carol.id, "member").await;
    assert_eq!(res.status(), StatusCode::OK);
    // A member again: bob removes her.
    let res = stack
        .delete(&bob, &format!("/rooms/{room}/members/{}", carol.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let removed = frame_of(&mut carols, "memberRemoved").await;
    assert_eq!(removed["userId"], carol.id.to_string());

    let log = chat_audit(&stack).await;
    assert_eq!(
        actions(&log),
        [
            "member.role",
            "message.delete",
            "member.role",
            "member.role",
            "member.remove"
        ]
    );
    let delete = &log[3];
    assert_eq!(delete.actor.id, Some(bob.id));
    assert_eq!(delete.actor.name, "bob");
    assert_eq!(delete.target.as_ref().map(|t| t.id), Some(carol.id));
    assert_eq!(
        delete.target.as_ref().map(|t| t.name.as_str()),
        Some("carol")
    );
    assert_eq!(
        (delete.room_id, delete.message_id),
        (Some(room), Some(spam))
    );
    assert_eq!(delete.reason.as_deref(), Some("advertising"));
    assert_eq!(delete.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(log[4].details, Some(json!({"role": "moderator"})));
    let remove = &log[0];
    assert_eq!(remove.actor.id, Some(bob.id));
    assert_eq!(remove.target.as_ref().map(|t| t.id), Some(carol.id));
    assert_eq!(remove.room_id, Some(room));
    // Leaving is not moderation.
    let res = stack
        .delete(&dave, &format!("/rooms/{other}/members/{}", dave.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(chat_audit(&stack).await.len(), 5);
}

async fn a_muted_member_is_refused_until_the_mute_ends(engine: Engine) {
    let stack =
        spawn_stack_with(Options::new(engine).chat(|c| c.limits.min_mute_seconds = 1)).await;
    let (alice, bob, carol, room) = team(&stack).await;
    let dave = stack.signup("dave").await;
    let mut bobs = stack.connect(&bob).await;
    let path = mute_path(room, bob.id);
    for body in [
        json!({}),
        json!({"durationSeconds": 0}),
        json!({"durationSeconds": 2_592_001}),
        json!({"durationSeconds": 60, "reason": "x".repeat(501)}),
    ] {
        assert_problem(
            stack.put(&alice, &path, &body).await,
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    }
    assert_problem(
        mute(&stack, &alice, room, alice.id, 60).await,
        StatusCode::CONFLICT,
        "cannot_target_self",
    )
    .await;
    assert_problem(
        mute(&stack, &alice, room, dave.id, 60).await,
        StatusCode::NOT_FOUND,
        "member_not_found",
    )
    .await;

    let res = stack
        .put(
            &alice,
            &path,
            &json!({"durationSeconds": 2, "reason": "cool down"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mute: Value = res.json().await.unwrap();
    let until = mute["until"].as_str().unwrap().to_owned();
    assert_eq!(
        mute,
        json!({"roomId": room, "userId": bob.id, "username": "bob", "until": until,
               "reason": "cool down", "mutedBy": alice.id})
    );
    let muted = frame_of(&mut bobs, "memberMuted").await;
    assert_eq!(
        muted,
        json!({"type": "memberMuted", "roomId": room, "userId": bob.id, "until": until})
    );

    // Sends are refused, over REST and over the socket.
    let refused = assert_problem(
        stack.send(&bob, room, "let me talk").await,
        StatusCode::FORBIDDEN,
        "muted",
    )
    .await;
    assert_eq!(refused["until"], until.as_str());
    bobs.act(
        "s1",
        ClientAction::SendMessage(send_message(room, "let me talk", Some("c-1"))),
    )
    .await;
    let reply = bobs
        .recv_until(|f| matches!(f, ServerFrame::Error(_)))
        .await;
    let ServerFrame::Error(error) = reply.frame else {
        unreachable!()
    };
    assert_eq!(error.code, ErrorCode::Muted);
    assert!(!error.temporary);
    assert!(error.message.contains(&until), "{}", error.message);
    // Reading, reacting and sending elsewhere are fine.
    let alices = id(&stack.send_ok(&alice, room, "quiet please").await);
    let res = stack
        .post(
            &bob,
            &format!("/messages/{alices}/reactions"),
            &json!({"emoji": "👍"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    stack.send_ok(&bob, GENERAL, "elsewhere").await;
    let members: Vec<Value> = stack
        .get(&carol, &format!("/rooms/{room}/members"))
        .await
        .json()
        .await
        .unwrap();
    let bob_row = members.iter().find(|m| m["username"] == "bob").unwrap();
    assert_eq!(bob_row["mutedUntil"], until.as_str());
    let list = get_ok(&stack, &alice, &format!("/rooms/{room}/mutes")).await;
    assert_eq!(list["mutes"].as_array().unwrap().len(), 1);
    assert_eq!(list["mutes"][0]["userId"], bob.id.to_string());

    // Once the mute ends, sends are accepted again with nothing done.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    stack.send_ok(&bob, room, "back").await;
    let list = get_ok(&stack, &alice, &format!("/rooms/{room}/mutes")).await;
    assert_eq!(list["mutes"], json!([]));
    // Not muted: lifting is nothing (no event, no record).
    let res = stack.delete(&alice, &path).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // A mute lifted early.
    let res = stack
        .put(&alice, &path, &json!({"durationSeconds": 600}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    frame_of(&mut bobs, "memberMuted").await;
    let res = stack.delete(&alice, &path).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let unmuted = frame_of(&mut bobs, "memberUnmuted").await;
    assert_eq!(
        unmuted,
        json!({"type": "memberUnmuted", "roomId": room, "userId": bob.id})
    );
    stack.send_ok(&bob, room, "free").await;

    let log = chat_audit(&stack).await;
    assert_eq!(
        actions(&log),
        ["member.mute", "member.mute", "member.unmute"]
    );
    let first = log.last().unwrap();
    assert_eq!(first.reason.as_deref(), Some("cool down"));
    assert_eq!(first.details, Some(json!({"until": until})));
    assert_eq!(first.target.as_ref().map(|t| t.name.as_str()), Some("bob"));
}

async fn staff_moderate_general_and_group_rooms(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, bob, carol, room) = team(&app).await;
    let dave = app.signup("dave").await;
    let erin = app.signup("erin").await;
    make_staff(&app, &dave, "moderator").await;
    make_staff(&app, &erin, "admin").await;
    assert_eq!(app.rooms(&dave).await[0]["canModerate"], true);
    assert_eq!(app.rooms(&alice).await[0]["canModerate"], false);

    let spam = id(&app.send_ok(&carol, GENERAL, "buy now").await);
    let res = app
        .delete(&dave, &format!("/messages/{spam}?reason=spam"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    delivered(&app, |frame| {
        matches!(
            frame,
            ServerFrame::MessageDeleted { id, by_moderator: true, .. } if *id == spam
        )
    })
    .await;

    let res = mute(&app, &dave, GENERAL, carol.id, 60).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        app.send(&carol, GENERAL, "hello?").await,
        StatusCode::FORBIDDEN,
        "muted",
    )
    .await;
    // A mute is per room.
    app.send_ok(&carol, room, "still here").await;
    // Staff are not muted by staff; nobody unknown is muted.
    assert_problem(
        mute(&app, &dave, GENERAL, erin.id, 60).await,
        StatusCode::FORBIDDEN,
        "moderator_required",
    )
    .await;
    assert_problem(
        app.put(
            &dave,
            &mute_path(GENERAL, Uuid::new_v4()),
            &json!({"durationSeconds": 60}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    )
    .await;
    assert_problem(
        mute(&app, &alice, GENERAL, bob.id, 60).await,
        StatusCode::FORBIDDEN,
        "moderator_required",
    )
    .await;

    // Staff moderate group rooms they are not in; direct rooms stay private.
    let there = id(&app.send_ok(&bob, room, "in the team").await);
    let res = app.delete(&dave, &format!("/messages/{there}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let list = app.get(&dave, &format!("/rooms/{room}/mutes")).await;
    assert_eq!(list.status(), StatusCode::OK);
    let res = app
        .delete(&erin, &format!("/rooms/{room}/members/{}", bob.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let dm: Value = app
        .post(&alice, "/dms", &json!({"userId": carol.id}))
        .await
        .json()
        .await
        .unwrap();
    let private = id(&app.send_ok(&alice, id(&dm), "between us").await);
    assert_problem(
        app.delete(&dave, &format!("/messages/{private}")).await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    )
    .await;

    // A role taken back takes effect at once.
    let res = moderation_event(&app, &dave, 2, json!({"role": "user"})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let again = id(&app.send_ok(&bob, GENERAL, "and again").await);
    assert_problem(
        app.delete(&dave, &format!("/messages/{again}")).await,
        StatusCode::FORBIDDEN,
        "not_message_author",
    )
    .await;
    let log = chat_audit(&app).await;
    assert_eq!(
        actions(&log),
        [
            "message.delete",
            "member.mute",
            "message.delete",
            "member.remove"
        ]
    );
    assert_eq!(log[0].actor.id, Some(erin.id));
}

async fn user_events_come_from_auth_service_and_newer_wins(engine: Engine) {
    let app = spawn_app(engine).await;
    let dave = app.signup("dave").await;
    let body = json!({"events": [{"id": 1, "userId": dave.id, "kind": "moderation",
        "role": "moderator", "suspended": false, "suspendedUntil": null,
        "hideMessages": false, "version": 5}]});
    let post = |key: Option<&'static str>, body: Value| {
        let mut req = app
            .client
            .post(app.url("/internal/user-events"))
            .json(&body);
        if let Some(key) = key {
            req = req.header("x-internal-api-key", key);
        }
        req.send()
    };
    for key in [None, Some("not-a-key"), Some(CHAT_KEY)] {
        assert_problem(
            post(key, body.clone()).await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "invalid_internal_key",
        )
        .await;
    }
    assert_problem(
        post(Some(RELAY_KEY), body.clone()).await.unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden_internal_caller",
    )
    .await;
    assert_problem(
        post(Some(AUTH_KEY), json!({"events": [{"id": 1}]}))
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    let general_moderated = || async { app.rooms(&dave).await[0]["canModerate"].clone() };
    assert_eq!(general_moderated().await, false);
    let res = post(Some(AUTH_KEY), body.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(general_moderated().await, true);
    // An older event, or the same one again, changes nothing.
    for version in [3, 5] {
        let res = moderation_event(&app, &dave, version, json!({"role": "user"})).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(general_moderated().await, true);
    }
    let res = moderation_event(&app, &dave, 6, json!({"role": "user"})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(general_moderated().await, false);
}

async fn a_relay_send_of_a_muted_member_is_refused_in_a_batch(engine: Engine) {
    let app = spawn_app_with(engine, |c| c.limits.min_mute_seconds = 1).await;
    let (alice, bob, _carol, room) = team(&app).await;
    let res = mute(&app, &alice, room, bob.id, 60).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .action(
            &bob,
            ChatAction::SendMessage(send_message(room, "hi", None)),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "muted").await;
    // In a batch, only the muted sender's sends are refused.
    let res = app
        .batch(vec![
            crate::helpers::event(
                &bob,
                "b",
                ChatAction::SendMessage(send_message(room, "one", None)),
            ),
            crate::helpers::event(
                &alice,
                "a",
                ChatAction::SendMessage(send_message(room, "two", None)),
            ),
            crate::helpers::event(
                &bob,
                "b",
                ChatAction::SendMessage(send_message(GENERAL, "three", None)),
            ),
        ])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: wire::ActionBatchResponse = res.json().await.unwrap();
    assert_eq!(
        crate::helpers::problem(&answer.results[0]).code,
        ErrorCode::Muted
    );
    crate::helpers::ok(&answer.results[1]);
    crate::helpers::ok(&answer.results[2]);
}

both_engines!(
    members_cannot_moderate,
    a_room_moderator_moderates_their_room_only,
    a_muted_member_is_refused_until_the_mute_ends,
    staff_moderate_general_and_group_rooms,
    user_events_come_from_auth_service_and_newer_wins,
    a_relay_send_of_a_muted_member_is_refused_in_a_batch,
);
