use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use test_support::{Engine, both_engines};

use crate::helpers::{FakeRelay, PASSWORD, assert_problem, spawn_app, spawn_app_with};

async fn forgot_password_answers_the_same_whether_or_not_the_account_exists(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.dev_return_reset_link = false).await;
    app.signup("alice").await;
    let known = app.forgot("alice@example.com").await;
    let unknown = app.forgot("nobody@example.com").await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    // The token was created off the request path, stored hashed.
    let mut hashes = Vec::new();
    for _ in 0..40 {
        hashes = app
            .scalar_strings("SELECT token_hash FROM password_reset_tokens")
            .await;
        if !hashes.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hashes.len(), 1);
    assert_eq!(hashes[0].len(), 64);
}

async fn reset_token_works_once_and_revokes_every_session(engine: Engine) {
    let relay = FakeRelay::start().await;
    let relay_url = relay.url.clone();
    let app = spawn_app_with(engine, move |s| s.relay_url = Some(relay_url)).await;
    let alice = app.signup("alice").await;
    let token = app.reset_token_for("alice@example.com").await;
    let stored = app
        .scalar_strings("SELECT token_hash FROM password_reset_tokens")
        .await;
    assert!(
        !stored.contains(&token),
        "the database holds the raw reset token"
    );

    let res = app.reset(&token, "a brand new password").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.reset(&token, "another new password").await;
    assert_problem(res, StatusCode::NOT_FOUND, "invalid_reset_token").await;

    assert_problem(
        app.refresh(&alice.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    assert_problem(
        app.login("alice@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    app.login_ok("alice@example.com", "a brand new password")
        .await;
    let published = relay.wait_for(1).await;
    assert_eq!(
        published[0].1["control"][0]["disconnectUser"],
        alice.id.to_string()
    );
}

async fn reset_token_expires(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.reset_ttl = Duration::from_secs(1)).await;
    app.signup("alice").await;
    let token = app.reset_token_for("alice@example.com").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let res = app.reset(&token, "a brand new password").await;
    assert_problem(res, StatusCode::NOT_FOUND, "invalid_reset_token").await;
    app.login_ok("alice@example.com", PASSWORD).await;
}

async fn reset_validates_its_inputs(engine: Engine) {
    let app = spawn_app(engine).await;
    app.signup("alice").await;
    let token = app.reset_token_for("alice@example.com").await;
    let res = app.reset(&token, "short").await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "newPassword");
    assert_problem(
        app.reset("bogus", PASSWORD).await,
        StatusCode::NOT_FOUND,
        "invalid_reset_token",
    )
    .await;
    // A refused attempt does not spend the token.
    assert_eq!(
        app.reset(&token, "a brand new password").await.status(),
        StatusCode::NO_CONTENT
    );
    let res = app.forgot("not an email").await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    let body: Value = app.forgot("nobody@example.com").await.json().await.unwrap();
    assert!(body["resetUrl"].is_null());
}

both_engines!(
    forgot_password_answers_the_same_whether_or_not_the_account_exists,
    reset_token_works_once_and_revokes_every_session,
    reset_token_expires,
    reset_validates_its_inputs,
);
