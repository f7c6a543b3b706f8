//! A revoked session ends at once: logout, session revoke and refresh-token reuse tell the relay
//! to close that session's sockets, refuse its access tokens here, and list it for the
//! services that verify tokens locally.

use reqwest::StatusCode;
use serde_json::Value;
use test_support::{Engine, both_engines};

use crate::helpers::{CHAT_KEY, FakeRelay, PASSWORD, TestApp, assert_problem, spawn_app_with};

/// The sessions named in `disconnectSession` items the relay received.
async fn disconnected(relay: &FakeRelay, n: usize) -> Vec<String> {
    relay
        .wait_for(n)
        .await
        .iter()
        .flat_map(|(_, body)| body["control"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["disconnectSession"].as_str().map(str::to_owned))
        .collect()
}

async fn revoked_list(app: &TestApp, since: i64) -> Value {
    let res = app
        .client
        .get(app.url(&format!("/internal/sessions/revoked?since={since}")))
        .header("x-internal-api-key", CHAT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn logout_revoke_and_reuse_end_only_that_session(engine: Engine) {
    let relay = FakeRelay::start().await;
    let relay_url = relay.url.clone();
    let app = spawn_app_with(engine, move |s| s.relay_url = Some(relay_url)).await;
    let web = app.signup("alice").await;
    let phone = app.login_ok("alice@example.com", PASSWORD).await;
    let tablet = app.login_ok("alice@example.com", PASSWORD).await;
    let laptop = app.login_ok("alice@example.com", PASSWORD).await;

    // Log-out of one session.
    assert_eq!(
        app.logout(&phone.refresh).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(disconnected(&relay, 1).await, [phone.sid()]);
    app.assert_revoked(&phone.token).await;
    assert_eq!(app.me(&web.token).await.status(), StatusCode::OK);

    // Revoking a session from another one.
    let res = app.delete_session(&web.token, &tablet.sid()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(disconnected(&relay, 2).await, [phone.sid(), tablet.sid()]);
    let res = app.get("/auth/sessions", &tablet.token).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "session_revoked").await;

    // Reuse of a spent refresh token revokes its session.
    let rotated = app.refresh_ok(&laptop.refresh).await;
    assert_eq!(app.me(&rotated.token).await.status(), StatusCode::OK);
    assert_problem(
        app.refresh(&laptop.refresh).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;
    assert_eq!(
        disconnected(&relay, 3).await,
        [phone.sid(), tablet.sid(), laptop.sid()]
    );
    app.assert_revoked(&rotated.token).await;

    // The session that was not touched goes on.
    assert_eq!(app.me(&web.token).await.status(), StatusCode::OK);
    app.refresh_ok(&web.refresh).await;
}

async fn revoked_sessions_are_listed_for_the_other_services(engine: Engine) {
    let app = spawn_app_with(engine, |_| {}).await;
    let web = app.signup("alice").await;
    let phone = app.login_ok("alice@example.com", PASSWORD).await;
    let res = app
        .client
        .get(app.url("/internal/sessions/revoked?since=0"))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
    let empty = revoked_list(&app, 0).await;
    assert_eq!(empty["sessions"], serde_json::json!([]));
    let before = empty["now"].as_i64().unwrap();

    assert_eq!(
        app.logout(&phone.refresh).await.status(),
        StatusCode::NO_CONTENT
    );
    let list = revoked_list(&app, before).await;
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{list}");
    assert_eq!(sessions[0]["sessionId"], phone.sid().as_str());
    assert!(sessions[0]["revokedAt"].as_i64().unwrap() >= before);
    // Asking from the answer's `now` on gives nothing new.
    let now = list["now"].as_i64().unwrap();
    assert_eq!(
        revoked_list(&app, now + 1).await["sessions"],
        serde_json::json!([])
    );
    // Log-out everywhere lists the remaining session too.
    app.logout_all(&web).await;
    let ids: Vec<Value> = revoked_list(&app, 0).await["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sessionId"].clone())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&Value::from(web.sid())));
    app.assert_revoked(&web.token).await;
}

both_engines!(
    logout_revoke_and_reuse_end_only_that_session,
    revoked_sessions_are_listed_for_the_other_services,
);
