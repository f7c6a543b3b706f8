use reqwest::StatusCode;
use serde_json::Value;
use test_support::{Engine, both_engines};

use crate::helpers::{AUTH_KEY, FakeRelay, PASSWORD, assert_problem, spawn_app, spawn_app_with};

async fn sessions_lists_each_login_and_marks_the_current_one(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let res = app
        .client
        .post(app.url("/auth/login"))
        .header("user-agent", "PhoneApp/1.0")
        .json(&serde_json::json!({"email": "alice@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Rotation keeps one session per family.
    let alice = app.refresh_ok(&alice.refresh).await;
    let list: Vec<Value> = app
        .get("/auth/sessions", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(list.iter().any(|s| s["device"] == "PhoneApp/1.0"));
    for s in &list {
        for field in ["id", "createdAt", "lastUsedAt", "expiresAt"] {
            assert!(s[field].is_string(), "{field} missing in {s}");
        }
    }
}

async fn revoking_a_session_kills_its_refresh_token(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let phone = app.login_ok("alice@example.com", PASSWORD).await;
    let bob = app.signup("bob").await;
    let list: Vec<Value> = app
        .get("/auth/sessions", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    let phone_id = list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Bob cannot revoke Alice's session.
    let res = app
        .client
        .delete(app.url(&format!("/auth/sessions/{phone_id}")))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app
        .client
        .delete(app.url(&format!("/auth/sessions/{phone_id}")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.refresh(&phone.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    app.refresh_ok(&alice.refresh).await;
    let res = app
        .client
        .delete(app.url("/auth/sessions/not-a-uuid"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

async fn logout_all_revokes_every_session_and_tells_the_relay(engine: Engine) {
    let relay = FakeRelay::start().await;
    let relay_url = relay.url.clone();
    let app = spawn_app_with(engine, move |s| s.relay_url = Some(relay_url)).await;
    let alice = app.signup("alice").await;
    let phone = app.login_ok("alice@example.com", PASSWORD).await;
    let bob = app.signup("bob").await;
    app.logout_all(&alice).await;
    for token in [&alice.refresh, &phone.refresh] {
        assert_problem(
            app.refresh(token).await,
            StatusCode::UNAUTHORIZED,
            "invalid_refresh_token",
        )
        .await;
    }
    app.refresh_ok(&bob.refresh).await;
    let published = relay.wait_for(1).await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0.as_deref(), Some(AUTH_KEY));
    assert_eq!(
        published[0].1["control"][0]["disconnectUser"],
        alice.id.to_string()
    );

    let res = app
        .client
        .post(app.url("/auth/logout-all"))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "missing_token").await;
}

both_engines!(
    sessions_lists_each_login_and_marks_the_current_one,
    revoking_a_session_kills_its_refresh_token,
    logout_all_revokes_every_session_and_tells_the_relay,
);
