//! Suspensions: log-in and refresh refused (after the password), every session ended and the
//! relay told, the end of a suspension, lifting it, and the same operation called by
//! chat-service.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{
    AUTH_KEY, CHAT_KEY, FakeRelay, PASSWORD, RELAY_KEY, assert_problem, spawn_app, spawn_app_with,
};

async fn a_suspension_refuses_login_and_refresh_and_ends_every_session(engine: Engine) {
    let relay = FakeRelay::start().await;
    let relay_url = relay.url.clone();
    let app = spawn_app_with(engine, move |s| s.relay_url = Some(relay_url)).await;
    let admin = app.signup("root").await;
    app.grant(&admin, "admin").await;
    let bob = app.signup("bob").await;
    let phone = app.login_again(&bob).await;

    let until = store_kit::rfc3339(store_kit::now_ms() + 3_600_000);
    let res = app
        .suspend(
            &admin.token,
            &bob,
            &json!({"reason": "spam in #general", "until": until, "hideMessages": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "suspended");
    let suspension = &body["suspension"];
    assert_eq!(
        suspension,
        &json!({"reason": "spam in #general", "since": suspension["since"], "until": until,
                "hideMessages": true, "by": admin.id})
    );

    // Every session is revoked and the relay is told to close the sockets.
    let published = relay.wait_for(1).await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0.as_deref(), Some(AUTH_KEY));
    assert_eq!(
        published[0].1["control"],
        json!([{"disconnectUser": bob.id}])
    );
    for session in [&bob, &phone] {
        app.assert_revoked(&session.token).await;
    }

    // Log-in: the right password is told why, a wrong one learns nothing.
    let res = app.login(&bob.email, PASSWORD).await;
    let problem = assert_problem(res, StatusCode::FORBIDDEN, "account_suspended").await;
    assert_eq!(problem["suspendedUntil"], until.as_str());
    assert_eq!(problem["reason"], "spam in #general");
    let res = app.login(&bob.email, "not the password").await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    // Refresh, with any of the account's refresh tokens.
    for session in [&bob, &phone] {
        let res = app.refresh(&session.refresh).await;
        let problem = assert_problem(res, StatusCode::FORBIDDEN, "account_suspended").await;
        assert_eq!(problem["reason"], "spam in #general");
    }

    // The audit row and the event.
    let entries = app
        .audit(&format!("targetUserId={}&action=suspension.create", bob.id))
        .await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["reason"], "spam in #general");
    assert_eq!(
        entries[0]["details"],
        json!({"until": until, "hideMessages": true})
    );
    assert_eq!(entries[0]["actor"]["id"], admin.id.to_string());
    let events = app.pending_events().await;
    let (user_id, event) = events.last().unwrap();
    assert_eq!(user_id, &bob.id.to_string());
    let until_ms = store_kit::parse_rfc3339(&until).unwrap();
    assert_eq!(
        event,
        &json!({"kind": "moderation", "role": "user", "suspended": true,
                "suspendedUntil": until_ms, "hideMessages": true, "version": 1})
    );

    // Suspending again replaces the suspension: until lifted, messages shown.
    let res = app
        .suspend(&admin.token, &bob, &json!({"reason": "still spamming"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["suspension"]["until"], Value::Null);
    assert_eq!(body["suspension"]["hideMessages"], false);
    let res = app.login(&bob.email, PASSWORD).await;
    let problem = assert_problem(res, StatusCode::FORBIDDEN, "account_suspended").await;
    assert_eq!(problem["suspendedUntil"], Value::Null);
    assert_eq!(problem["reason"], "still spamming");

    // Lifting: log-in works again; lifting again changes nothing and is not audited.
    let res = app.lift(&admin.token, &bob).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "active");
    assert_eq!(body["suspension"], Value::Null);
    let back = app.login_ok(&bob.email, PASSWORD).await;
    assert_eq!(app.me(&back.token).await.status(), StatusCode::OK);
    let res = app.lift(&admin.token, &bob).await;
    assert_eq!(res.status(), StatusCode::OK);
    let actions: Vec<Value> = app
        .audit(&format!("targetUserId={}", bob.id))
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(
        actions,
        [
            json!("suspension.lift"),
            json!("suspension.create"),
            json!("suspension.create")
        ]
    );
    let (_, last) = app.pending_events().await.pop().unwrap();
    assert_eq!(last["suspended"], false);
    assert_eq!(last["version"], 3);
}

async fn a_suspension_that_has_ended_no_longer_refuses(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.signup("root").await;
    app.grant(&admin, "admin").await;
    let bob = app.signup("bob").await;
    let res = app
        .suspend(&admin.token, &bob, &json!({"reason": "cool down"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let stats = internal_stats(&app).await;
    assert_eq!(stats["suspendedUsers"], 1);

    // The end passes (set in the past, as time would).
    sqlx::query("UPDATE users SET suspended_until = $1 WHERE id = $2")
        .bind(store_kit::now_ms() - 1)
        .bind(bob.id.to_string())
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let back = app.login_ok(&bob.email, PASSWORD).await;
    app.refresh_ok(&back.refresh).await;
    let view: Value = app
        .get(&format!("/admin/users/{}", bob.id), &admin.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "active");
    assert_eq!(view["suspension"], Value::Null);
    let page = app.admin_users_ok(&admin.token, "status=suspended").await;
    assert_eq!(page["users"], json!([]));
    assert_eq!(internal_stats(&app).await["suspendedUsers"], 0);
    // Nothing to lift.
    let res = app.lift(&admin.token, &bob).await;
    assert_eq!(res.status(), StatusCode::OK);
    let lifts = app.audit("action=suspension.lift").await;
    assert!(lifts.is_empty());
}

async fn internal_stats(app: &crate::helpers::TestApp) -> Value {
    let res = app
        .internal(Method::GET, "/internal/stats", CHAT_KEY, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn chat_service_suspends_for_an_admin_it_names(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.signup("root").await;
    app.grant(&admin, "admin").await;
    let moderator = app.signup("mod").await;
    app.grant(&moderator, "moderator").await;
    let bob = app.signup("bob").await;
    let path = format!("/internal/users/{}/suspension", bob.id);
    let body = |actor: &crate::helpers::User| {
        json!({"actorId": actor.id, "actorName": actor.name, "ip": "203.0.113.9",
               "reason": "reported spam", "hideMessages": true})
    };

    // Only chat-service's key; the actor must be an admin in auth-service's own records.
    let res = app
        .internal(Method::PUT, &path, RELAY_KEY, Some(&body(&admin)))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden_internal_caller").await;
    let res = app
        .internal(Method::PUT, &path, "wrong", Some(&body(&admin)))
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
    let res = app
        .internal(Method::PUT, &path, CHAT_KEY, Some(&body(&moderator)))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "admin_required").await;
    // The same rules as the public call.
    let own = format!("/internal/users/{}/suspension", admin.id);
    let res = app
        .internal(Method::PUT, &own, CHAT_KEY, Some(&body(&admin)))
        .await;
    assert_problem(res, StatusCode::CONFLICT, "cannot_target_self").await;
    let mut bad = body(&admin);
    bad["reason"] = json!("");
    let res = app.internal(Method::PUT, &path, CHAT_KEY, Some(&bad)).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;

    let res = app
        .internal(Method::PUT, &path, CHAT_KEY, Some(&body(&admin)))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["status"], "suspended");
    assert_eq!(view["suspension"]["hideMessages"], true);
    assert_eq!(view["suspension"]["by"], admin.id.to_string());
    app.assert_revoked(&bob.token).await;
    let entries = app.audit("action=suspension.create").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["actor"], json!({"id": admin.id, "name": "root"}));
    assert_eq!(entries[0]["ip"], "203.0.113.9");
    assert_eq!(entries[0]["reason"], "reported spam");
}

both_engines!(
    a_suspension_refuses_login_and_refresh_and_ends_every_session,
    a_suspension_that_has_ended_no_longer_refuses,
    chat_service_suspends_for_an_admin_it_names,
);
