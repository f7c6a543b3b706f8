//! The admin pages' reads: `GET /admin/audit` (chat-service's log merged with
//! auth-service's) and `GET /admin/stats` (figures from every service, null where one does not
//! answer).
//!
//! The tests of the `needs_auth_moderation` module need auth-service's moderation endpoints
//! (`GET /internal/audit`, `GET /internal/stats`, `PUT /internal/users/{id}/suspension`),
//! which are built on another branch: they are ignored until both are merged.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{GENERAL, assert_problem, make_staff, spawn_app, team};

async fn only_staff_read_the_admin_pages(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, _bob, _carol, _room) = team(&app).await;
    for path in ["/admin/audit", "/admin/stats"] {
        assert_problem(
            app.get(&alice, path).await,
            StatusCode::FORBIDDEN,
            "staff_required",
        )
        .await;
    }
    let dave = app.signup("dave").await;
    make_staff(&app, &dave, "moderator").await;
    for (query, code) in [
        ("?actorId=alice", "validation_failed"),
        ("?targetUserId=1", "validation_failed"),
        ("?since=yesterday", "validation_failed"),
        ("?until=2025-13-01", "validation_failed"),
        ("?limit=0", "validation_failed"),
        ("?limit=101", "validation_failed"),
        (&format!("?action={}", "x".repeat(65)), "validation_failed"),
        ("?cursor=yesterday", "invalid_cursor"),
    ] {
        assert_problem(
            app.get(&dave, &format!("/admin/audit{query}")).await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }
}

async fn figures_of_a_service_that_does_not_answer_are_null(engine: Engine) {
    let app = spawn_app(engine).await;
    let (alice, bob, carol, room) = team(&app).await;
    let dave = app.signup("dave").await;
    make_staff(&app, &dave, "admin").await;
    app.post(&alice, "/dms", &json!({"userId": bob.id})).await;
    let one = app.send_ok(&alice, room, "one").await;
    let two = app.send_ok(&bob, room, "two").await;
    app.send_ok(&carol, GENERAL, "three").await;
    app.delete(&bob, &format!("/messages/{}", two["id"])).await;
    let report = app
        .post(
            &carol,
            &format!("/messages/{}/reports", one["id"]),
            &json!({"reason": "why"}),
        )
        .await;
    assert_eq!(report.status(), StatusCode::CREATED);
    // No relay answers `GET /internal/stats` here (the stand-in only takes publishes), and
    // auth-service is stopped: their parts are null, chat-service's are there.
    app.auth_server.stop(true).await;
    let res = app.get(&dave, "/admin/stats").await;
    assert_eq!(res.status(), StatusCode::OK);
    let stats: Value = res.json().await.unwrap();
    assert_eq!(
        stats,
        json!({"users": null, "suspendedUsers": null, "admins": null, "moderators": null,
               "rooms": 1, "directRooms": 1, "messages": 2, "messagesLast24h": 3,
               "openReports": 1, "onlineUsers": null, "connections": null})
    );
    // The audit log is never half a log.
    assert_problem(
        app.get(&dave, "/admin/audit").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "auth_unavailable",
    )
    .await;
}

both_engines!(
    only_staff_read_the_admin_pages,
    figures_of_a_service_that_does_not_answer_are_null,
);

/// With auth-service's moderation endpoints: the audit log and figures read from both
/// services, and a suspension decided here and made there.
mod with_auth_moderation {
    use reqwest::StatusCode;
    use serde_json::{Value, json};
    use store_kit::UuidText;
    use test_support::Engine;
    use uuid::Uuid;

    use crate::helpers::{
        GENERAL, TestApp, User, assert_problem, get_ok, make_staff, spawn_app, team,
    };

    /// Makes `user` an admin in auth-service's own table (what `auth-service admin grant`
    /// does, without its audit row and event) and tells chat-service.
    async fn admin_everywhere(app: &TestApp, user: &User) {
        sqlx::query("UPDATE users SET role = 'admin' WHERE id = $1")
            .bind(UuidText(user.id))
            .execute(&app.auth_state.db.pool)
            .await
            .unwrap();
        make_staff(app, user, "admin").await;
    }

    /// An entry of auth-service's log, written as auth-service writes them.
    async fn auth_entry(app: &TestApp, at: i64, actor: &User, action: &str, target: &User) {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor_id, actor_name, action, target_user_id,
                                    target_name, details, ip)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(UuidText(Uuid::now_v7()))
        .bind(at)
        .bind(UuidText(actor.id))
        .bind(actor.name.clone())
        .bind(action.to_owned())
        .bind(UuidText(target.id))
        .bind(target.name.clone())
        .bind(r#"{"from":"user","to":"moderator"}"#)
        .bind("127.0.0.1")
        .execute(&app.auth_state.db.pool)
        .await
        .unwrap();
    }

    async fn the_audit_log_merges_both_services_page_by_page(engine: Engine) {
        let app = spawn_app(engine).await;
        let (alice, bob, carol, room) = team(&app).await;
        let dave = app.signup("dave").await;
        make_staff(&app, &dave, "admin").await;
        let now = store_kit::now_ms();
        auth_entry(&app, now - 60_000, &dave, "role.change", &alice).await;
        auth_entry(&app, now - 30_000, &dave, "role.change", &bob).await;
        // Chat-side actions: a role, a mute, a deletion.
        app.put(
            &alice,
            &format!("/rooms/{room}/members/{}/role", bob.id),
            &json!({"role": "moderator"}),
        )
        .await;
        app.put(
            &bob,
            &format!("/rooms/{room}/mutes/{}", carol.id),
            &json!({"durationSeconds": 60}),
        )
        .await;
        let said = app.send_ok(&alice, GENERAL, "x").await;
        app.delete(&dave, &format!("/messages/{}", said["id"]))
            .await;
        auth_entry(&app, store_kit::now_ms() + 1, &dave, "role.change", &carol).await;

        // Two at a time, newest first, until the end: six entries from both logs.
        let mut seen: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = match &cursor {
                Some(c) => format!("?limit=2&cursor={c}"),
                None => "?limit=2".to_owned(),
            };
            let res = app.get(&dave, &format!("/admin/audit{query}")).await;
            assert_eq!(res.status(), StatusCode::OK);
            let page: Value = res.json().await.unwrap();
            seen.extend(page["entries"].as_array().unwrap().iter().cloned());
            if page["hasMore"] == false {
                assert_eq!(page["nextCursor"], Value::Null);
                break;
            }
            cursor = page["nextCursor"].as_str().map(str::to_owned);
        }
        let summary: Vec<(&str, &str)> = seen
            .iter()
            .map(|e| (e["source"].as_str().unwrap(), e["action"].as_str().unwrap()))
            .collect();
        assert_eq!(
            summary,
            [
                ("auth", "role.change"),
                ("chat", "message.delete"),
                ("chat", "member.mute"),
                ("chat", "member.role"),
                ("auth", "role.change"),
                ("auth", "role.change"),
            ]
        );
        // Filters reach both logs.
        let by_dave = get_ok(&app, &dave, &format!("/admin/audit?actorId={}", dave.id)).await;
        assert_eq!(by_dave["entries"].as_array().unwrap().len(), 4);
        let about_carol = get_ok(
            &app,
            &dave,
            &format!("/admin/audit?targetUserId={}", carol.id),
        )
        .await;
        assert_eq!(about_carol["entries"].as_array().unwrap().len(), 2);
        let roles = get_ok(&app, &dave, "/admin/audit?action=role.change").await;
        assert_eq!(roles["entries"].as_array().unwrap().len(), 3);
        let since = store_kit::rfc3339(now - 45_000);
        let until = store_kit::rfc3339(now - 1);
        let window = get_ok(
            &app,
            &dave,
            &format!(
                "/admin/audit?since={}&until={}",
                since.replace(':', "%3A"),
                until.replace(':', "%3A")
            ),
        )
        .await;
        assert_eq!(window["entries"].as_array().unwrap().len(), 1);
        assert_eq!(window["entries"][0]["target"]["name"], "bob");
    }

    async fn figures_come_from_every_service(engine: Engine) {
        let app = spawn_app(engine).await;
        let (_alice, _bob, _carol, _room) = team(&app).await;
        let dave = app.signup("dave").await;
        admin_everywhere(&app, &dave).await;
        let stats = get_ok(&app, &dave, "/admin/stats").await;
        assert_eq!(stats["users"], 4);
        assert_eq!(stats["admins"], 1);
        assert_eq!(stats["moderators"], 0);
        assert_eq!(stats["suspendedUsers"], 0);
    }

    async fn a_report_resolved_by_suspension_suspends_through_auth_service(engine: Engine) {
        let app = spawn_app(engine).await;
        let (alice, bob, carol, room) = team(&app).await;
        let dave = app.signup("dave").await;
        admin_everywhere(&app, &dave).await;
        let said = app.send_ok(&carol, room, "scam link").await;
        let report: Value = app
            .post(
                &bob,
                &format!("/messages/{}/reports", said["id"]),
                &json!({"reason": "scam"}),
            )
            .await
            .json()
            .await
            .unwrap();
        let res = app
            .post(
                &dave,
                &format!("/reports/{}/resolve", report["id"]),
                &json!({"action": "suspend", "durationSeconds": 3600, "hideMessages": true,
                        "note": "scams"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let done: Value = res.json().await.unwrap();
        assert_eq!(done["resolution"]["action"], "suspend");
        // Carol cannot log in any more.
        assert_problem(
            app.login(&carol.email, test_stack::PASSWORD).await,
            StatusCode::FORBIDDEN,
            "account_suspended",
        )
        .await;
        // The suspension is in auth-service's log, the resolution in chat-service's.
        let log = get_ok(
            &app,
            &dave,
            &format!("/admin/audit?targetUserId={}", carol.id),
        )
        .await;
        let actions: Vec<&str> = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"suspension.create"), "{actions:?}");
        assert!(actions.contains(&"report.resolve"), "{actions:?}");
        // An admin cannot be suspended, even from a report.
        let erin = app.signup("erin").await;
        admin_everywhere(&app, &erin).await;
        app.add_member_ok(&alice, room, &erin).await;
        let said = app.send_ok(&erin, room, "admin talk").await;
        let report: Value = app
            .post(
                &bob,
                &format!("/messages/{}/reports", said["id"]),
                &json!({"reason": "hmm"}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_problem(
            app.post(
                &dave,
                &format!("/reports/{}/resolve", report["id"]),
                &json!({"action": "suspend"}),
            )
            .await,
            StatusCode::CONFLICT,
            "target_is_admin",
        )
        .await;
    }

    test_support::both_engines!(
        the_audit_log_merges_both_services_page_by_page,
        figures_come_from_every_service,
        a_report_resolved_by_suspension_suspends_through_auth_service,
    );
}
