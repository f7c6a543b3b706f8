use reqwest::StatusCode;
use serde_json::json;
use test_support::{Engine, both_engines};

use crate::helpers::{ORIGIN, assert_problem, spawn_app, spawn_app_with};

async fn refresh_rotates_the_token(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let next = app.refresh_ok(&alice.refresh).await;
    assert_ne!(next.refresh, alice.refresh);
    assert_eq!(next.id, alice.id);
    assert_eq!(app.me(&next.token).await.status(), StatusCode::OK);
    // The successor rotates in turn.
    let third = app.refresh_ok(&next.refresh).await;
    assert_ne!(third.refresh, next.refresh);
}

async fn reusing_a_rotated_token_revokes_the_whole_family(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let other_device = app
        .login_ok("alice@example.com", crate::helpers::PASSWORD)
        .await;
    let next = app.refresh_ok(&alice.refresh).await;
    let res = app.refresh(&alice.refresh).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    // The newest token of that family is dead too...
    let res = app.refresh(&next.refresh).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    // ...but the other session is untouched.
    app.refresh_ok(&other_device.refresh).await;
}

async fn concurrent_refreshes_of_one_token_give_exactly_one_success(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let attempts = (0..8).map(|_| app.refresh(&alice.refresh));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.status())
        .collect();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "statuses: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED)
    );
}

async fn unknown_and_missing_tokens_are_401(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app.refresh("made-up-token").await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    let res = app.auth_post("/auth/refresh", &json!({})).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

async fn cookie_refresh_needs_an_allowed_origin(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let cookie = format!("refresh_token={}", alice.refresh);
    let res = app
        .client
        .post(app.url("/auth/refresh"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "origin_not_allowed").await;
    let res = app
        .client
        .post(app.url("/auth/refresh"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "origin_not_allowed").await;
    let res = app
        .client
        .post(app.url("/auth/refresh"))
        .header("cookie", &cookie)
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("set-cookie").is_some());
}

async fn a_family_does_not_outlive_its_absolute_lifetime(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.session_max_age = std::time::Duration::from_secs(2)
    })
    .await;
    let alice = app.signup("alice").await;
    let next = app.refresh_ok(&alice.refresh).await;
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let res = app.refresh(&next.refresh).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

async fn logout_revokes_that_session_only(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let phone = app
        .login_ok("alice@example.com", crate::helpers::PASSWORD)
        .await;
    let res = app
        .auth_post("/auth/logout", &json!({"refreshToken": alice.refresh}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let cleared = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cleared.contains("refresh_token=;") || cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert_problem(
        app.refresh(&alice.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    app.refresh_ok(&phone.refresh).await;
    // Logging out twice, or with nothing, is still 204.
    let res = app
        .auth_post("/auth/logout", &json!({"refreshToken": alice.refresh}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

both_engines!(
    refresh_rotates_the_token,
    reusing_a_rotated_token_revokes_the_whole_family,
    concurrent_refreshes_of_one_token_give_exactly_one_success,
    unknown_and_missing_tokens_are_401,
    cookie_refresh_needs_an_allowed_origin,
    a_family_does_not_outlive_its_absolute_lifetime,
    logout_revokes_that_session_only,
);
