//! Reports: filing one, who sees which queue, and resolving them (dismiss, delete the
//! message, mute its author, suspend its author through auth-service).

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use wire::ServerFrame;

use crate::helpers::{
    GENERAL, TestApp, User, actions, assert_problem, chat_audit, delivered, get_ok, make_staff,
    spawn_app, spawn_app_with, team,
};

fn id(value: &Value) -> i64 {
    value["id"].as_i64().unwrap()
}

async fn report(app: &TestApp, user: &User, message: i64, reason: &str) -> reqwest::Response {
    app.post(
        user,
        &format!("/messages/{message}/reports"),
        &json!({"reason": reason}),
    )
    .await
}

async fn report_ok(app: &TestApp, user: &User, message: i64) -> Value {
    let res = report(app, user, message, "rude").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn queue(app: &TestApp, user: &User, query: &str) -> Value {
    get_ok(app, user, &format!("/reports{query}")).await
}

fn ids(page: &Value) -> Vec<i64> {
    page["reports"].as_array().unwrap().iter().map(id).collect()
}

async fn resolve(app: &TestApp, user: &User, report: i64, body: Value) -> reqwest::Response {
    app.post(user, &format!("/reports/{report}/resolve"), &body)
        .await
}

async fn reports_are_filed_once_by_readers_of_others_messages(engine: Engine) {
    let app = spawn_app_with(engine, |c| c.limits.reports_per_hour = 3).await;
    let (_alice, bob, carol, room) = team(&app).await;
    let outsider = app.signup("erin").await;
    let nasty = app.send_ok(&carol, room, "nasty words").await;
    let res = report(&app, &bob, id(&nasty), "  rude  ").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let filed: Value = res.json().await.unwrap();
    let created = filed["createdAt"].as_str().unwrap();
    assert_eq!(
        filed,
        json!({
            "id": filed["id"], "status": "open", "reason": "rude", "createdAt": created,
            "reporter": {"id": bob.id, "username": "bob"},
            "message": {"id": nasty["id"], "roomId": room, "seq": nasty["seq"],
                        "author": {"id": carol.id, "username": "carol"},
                        "content": "nasty words", "deleted": false},
            "room": {"id": room, "name": "team", "kind": "group"},
            "resolution": null
        })
    );
    assert_problem(
        report(&app, &bob, id(&nasty), "again").await,
        StatusCode::CONFLICT,
        "already_reported",
    )
    .await;
    assert_problem(
        report(&app, &carol, id(&nasty), "me").await,
        StatusCode::CONFLICT,
        "cannot_target_self",
    )
    .await;
    assert_problem(
        report(&app, &outsider, id(&nasty), "cannot see it").await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    )
    .await;
    for reason in ["", "   ", &"x".repeat(1001)] {
        assert_problem(
            report(&app, &bob, id(&nasty), reason).await,
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    }
    let gone = id(&app.send_ok(&carol, room, "regret").await);
    app.delete(&carol, &format!("/messages/{gone}")).await;
    assert_problem(
        report(&app, &bob, gone, "too late").await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    )
    .await;
    // The text is kept as it was reported.
    let res = app
        .patch(
            &carol,
            &format!("/messages/{}", nasty["id"]),
            &json!({"content": "nice words"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let general = app.send_ok(&carol, GENERAL, "shouting").await;
    report_ok(&app, &bob, id(&general)).await;
    let dave = app.signup("dave").await;
    make_staff(&app, &dave, "moderator").await;
    let all = queue(&app, &dave, "").await;
    assert_eq!(all["reports"][1]["message"]["content"], "nasty words");
    // CHAT_REPORTS_PER_HOUR (3 here): bob's two reports and the duplicate count (a report
    // that reaches the table counts); what was refused before does not.
    let one = app.send_ok(&carol, GENERAL, "one").await;
    assert_problem(
        report(&app, &bob, id(&one), "more").await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    report_ok(&app, &dave, id(&one)).await;
}

async fn each_moderator_sees_the_reports_of_their_rooms(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, bob, carol, room) = team(&app).await;
    let dave = app.signup("dave").await;
    make_staff(&app, &dave, "moderator").await;
    let erin = app.signup("erin").await;
    let other = app.create_room(&erin, "other").await;
    app.add_member_ok(&erin, other, &carol).await;
    app.add_member_ok(&erin, other, &bob).await;

    let in_team = report_ok(&app, &bob, id(&app.send_ok(&carol, room, "a").await)).await;
    let in_other = report_ok(&app, &bob, id(&app.send_ok(&carol, other, "b").await)).await;
    let in_general = report_ok(&app, &bob, id(&app.send_ok(&carol, GENERAL, "c").await)).await;

    // Staff: every report, newest first, a page at a time.
    let page = queue(&app, &dave, "?limit=2").await;
    assert_eq!(ids(&page), [id(&in_general), id(&in_other)]);
    assert_eq!(page["hasMore"], true);
    let cursor = page["nextCursor"].as_str().unwrap();
    let rest = queue(&app, &dave, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&rest), [id(&in_team)]);
    assert_eq!(rest["hasMore"], false);
    assert_eq!(rest["nextCursor"], Value::Null);
    // Owners see their rooms'; named moderators theirs.
    assert_eq!(ids(&queue(&app, &alice, "").await), [id(&in_team)]);
    assert_eq!(ids(&queue(&app, &erin, "").await), [id(&in_other)]);
    let res = app
        .put(
            &erin,
            &format!("/rooms/{other}/members/{}/role", carol.id),
            &json!({"role": "moderator"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(ids(&queue(&app, &carol, "").await), [id(&in_other)]);
    // With a room: the caller must moderate it.
    assert_eq!(
        ids(&queue(&app, &dave, &format!("?roomId={room}")).await),
        [id(&in_team)]
    );
    assert_eq!(
        ids(&queue(&app, &dave, &format!("?roomId={GENERAL}")).await),
        [id(&in_general)]
    );
    for path in [
        format!("/reports?roomId={GENERAL}"),
        format!("/reports?roomId={other}"),
    ] {
        assert_problem(
            app.get(&alice, &path).await,
            StatusCode::FORBIDDEN,
            "moderator_required",
        )
        .await;
    }
    // Anyone else: no queue.
    assert_problem(
        app.get(&bob, "/reports").await,
        StatusCode::FORBIDDEN,
        "moderator_required",
    )
    .await;
    for query in ["?status=closed", "?limit=0", "?limit=101"] {
        assert_problem(
            app.get(&dave, &format!("/reports{query}")).await,
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    }
    assert_problem(
        app.get(&dave, "/reports?cursor=abc").await,
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    )
    .await;
    assert_eq!(
        ids(&queue(&app, &dave, "?status=resolved").await),
        Vec::<i64>::new()
    );
}

async fn resolutions_act_and_are_recorded(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, bob, carol, room) = team(&app).await;
    let dave = app.signup("dave").await;
    make_staff(&app, &dave, "moderator").await;

    // Dismissed, with a note; once.
    let first = report_ok(&app, &bob, id(&app.send_ok(&carol, room, "meh").await)).await;
    assert_problem(
        resolve(&app, &bob, id(&first), json!({"action": "dismiss"})).await,
        StatusCode::FORBIDDEN,
        "moderator_required",
    )
    .await;
    for body in [
        json!({"action": "ban"}),
        json!({"action": "dismiss", "note": "x".repeat(1001)}),
        json!({"action": "mute"}),
        json!({"action": "mute", "durationSeconds": 1}),
    ] {
        assert_problem(
            resolve(&app, &alice, id(&first), body).await,
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    }
    let res = resolve(
        &app,
        &alice,
        id(&first),
        json!({"action": "dismiss", "note": "banter"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["status"], "resolved");
    let at = done["resolution"]["at"].as_str().unwrap();
    assert_eq!(
        done["resolution"],
        json!({"action": "dismiss", "note": "banter",
               "by": {"id": alice.id, "username": "alice"}, "at": at})
    );
    assert_problem(
        resolve(&app, &alice, id(&first), json!({"action": "dismiss"})).await,
        StatusCode::CONFLICT,
        "report_resolved",
    )
    .await;
    assert_problem(
        resolve(&app, &alice, 999_999, json!({"action": "dismiss"})).await,
        StatusCode::NOT_FOUND,
        "report_not_found",
    )
    .await;

    // A deleted message resolves every open report of it; staff need not be members.
    let worse = app.send_ok(&carol, room, "worse").await;
    let by_bob = report_ok(&app, &bob, id(&worse)).await;
    let by_alice = report_ok(&app, &alice, id(&worse)).await;
    let res = resolve(
        &app,
        &dave,
        id(&by_bob),
        json!({"action": "delete_message", "note": "abuse"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["message"]["deleted"], true);
    assert_eq!(done["message"]["content"], "worse");
    let resolved = queue(&app, &alice, "?status=resolved").await;
    assert_eq!(ids(&resolved), [id(&by_alice), id(&by_bob), id(&first)]);
    assert_eq!(
        resolved["reports"][0]["resolution"]["action"],
        "delete_message"
    );
    let page = app.history(&alice, room, "").await;
    let row = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == worse["id"])
        .unwrap()
        .clone();
    assert_eq!(row["deleted"], true);
    let deleted = worse["id"].as_i64();
    delivered(&app, |frame| {
        matches!(
            frame,
            ServerFrame::MessageDeleted { id, by_moderator: true, .. } if Some(*id) == deleted
        )
    })
    .await;

    // A mute of the author in the report's room.
    let again = report_ok(&app, &bob, id(&app.send_ok(&carol, room, "again").await)).await;
    let res = resolve(
        &app,
        &alice,
        id(&again),
        json!({"action": "mute", "durationSeconds": 600}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        app.send(&carol, room, "can I?").await,
        StatusCode::FORBIDDEN,
        "muted",
    )
    .await;

    // The general room's reports are staff's; suspensions an admin's.
    let loud = report_ok(&app, &bob, id(&app.send_ok(&carol, GENERAL, "loud").await)).await;
    assert_problem(
        resolve(&app, &alice, id(&loud), json!({"action": "dismiss"})).await,
        StatusCode::FORBIDDEN,
        "moderator_required",
    )
    .await;
    for who in [&alice, &dave] {
        assert_problem(
            resolve(&app, who, id(&again), json!({"action": "suspend"})).await,
            StatusCode::CONFLICT,
            "report_resolved",
        )
        .await;
        assert_problem(
            resolve(&app, who, id(&loud), json!({"action": "suspend"})).await,
            StatusCode::FORBIDDEN,
            if std::ptr::eq(who, &alice) {
                "moderator_required"
            } else {
                "admin_required"
            },
        )
        .await;
    }
    // auth-service down: nothing is done, the report stays open.
    let erin = app.signup("erin").await;
    make_staff(&app, &erin, "admin").await;
    app.auth_server.stop(true).await;
    assert_problem(
        resolve(
            &app,
            &erin,
            id(&loud),
            json!({"action": "suspend", "durationSeconds": 3600}),
        )
        .await,
        StatusCode::SERVICE_UNAVAILABLE,
        "auth_unavailable",
    )
    .await;
    assert_eq!(ids(&queue(&app, &dave, "").await), [id(&loud)]);

    let log = chat_audit(&app).await;
    assert_eq!(
        actions(&log),
        [
            "report.resolve",
            "message.delete",
            "report.resolve",
            "member.mute",
            "report.resolve"
        ]
    );
    let deletion = &log[3];
    assert_eq!(deletion.actor.id, Some(dave.id));
    assert_eq!(deletion.message_id, worse["id"].as_i64());
    assert_eq!(deletion.reason.as_deref(), Some("abuse"));
    assert_eq!(
        log[2].details,
        Some(json!({"reportIds": [id(&by_bob), id(&by_alice)], "resolution": "delete_message"}))
    );
    assert_eq!(log[2].target.as_ref().map(|t| t.id), Some(carol.id));
    assert_eq!(
        log[0].details,
        Some(json!({"reportIds": [id(&again)], "resolution": "mute"}))
    );
}

both_engines!(
    reports_are_filed_once_by_readers_of_others_messages,
    each_moderator_sees_the_reports_of_their_rooms,
    resolutions_act_and_are_recorded,
);
