use reqwest::StatusCode;
use serde_json::Value;
use test_support::{Engine, both_engines};

use crate::helpers::{PASSWORD, assert_problem, spawn_app};

async fn login_answers_tokens_for_the_right_password(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let session = app.login_ok("ALICE@example.com", PASSWORD).await;
    assert_eq!(session.id, alice.id);
    assert_ne!(session.refresh, alice.refresh);
    let me: Value = app.me(&session.token).await.json().await.unwrap();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
}

async fn wrong_password_and_unknown_email_look_the_same(engine: Engine) {
    let app = spawn_app(engine).await;
    app.signup("alice").await;
    let wrong = app.login("alice@example.com", "wrong password!").await;
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let wrong_body = wrong.text().await.unwrap();
    let unknown_body = unknown.text().await.unwrap();
    assert_eq!(wrong_body, unknown_body);
    assert!(wrong_body.contains("invalid_credentials"));
    // A too-long password is just wrong, never truncated into a match.
    let res = app
        .login(
            "alice@example.com",
            &format!("{PASSWORD}{}", "x".repeat(80)),
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

both_engines!(
    login_answers_tokens_for_the_right_password,
    wrong_password_and_unknown_email_look_the_same
);
