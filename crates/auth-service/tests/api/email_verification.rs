//! E-mail verification: the links auth-service mails to a real SMTP server
//! (`test_support::SmtpSink`, aiosmtpd), `POST /auth/verify-email`,
//! `POST /auth/resend-verification`, and the `unverified` claim under
//! `REQUIRE_EMAIL_VERIFICATION` (chat-service's side: chat-service's tests).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use test_support::{Engine, SmtpSink, both_engines, mail_link};

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app_with};

/// Links in mail start with this (auth-service's development PUBLIC_URL).
const LINK: &str = "http://localhost:8080/verify-email?token=";

/// auth-service mailing `sink`, with its settings tweaked further.
async fn spawn(
    engine: Engine,
    sink: &SmtpSink,
    tweak: impl FnOnce(&mut auth_service::config::Settings),
) -> TestApp {
    let smtp = sink.url();
    spawn_app_with(engine, move |s| {
        s.smtp_url = Some(smtp);
        tweak(s);
    })
    .await
}

/// The token of the `n`th verification mail to `to` (waiting for it).
async fn token_from_mail(sink: &SmtpSink, to: &str, n: usize) -> String {
    let mails = sink.wait_for(to, n).await;
    let mail = &mails[n - 1];
    assert_eq!(mail["subject"], "Confirm your Cloud Chat e-mail address");
    let link = mail_link(mail, LINK).unwrap_or_else(|| panic!("no link in {mail}"));
    link[LINK.len()..].to_owned()
}

async fn verify(app: &TestApp, token: &str) -> Response {
    app.auth_post("/auth/verify-email", &json!({"token": token}))
        .await
}

async fn resend(app: &TestApp, email: &str) -> Response {
    app.auth_post("/auth/resend-verification", &json!({"email": email}))
        .await
}

async fn email_verified(app: &TestApp, access: &str) -> Value {
    let res = app.me(access).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["emailVerified"].clone()
}

/// The claims of an access token (already checked by the service that issued it).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn registration_mails_a_link_that_verifies_once(engine: Engine) {
    let sink = SmtpSink::start();
    let app = spawn(engine, &sink, |_| {}).await;
    let res = app.register("alice", "alice@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["emailVerified"], false);
    let access = body["accessToken"].as_str().unwrap().to_owned();
    // The policy is off: the token carries no claim.
    assert!(claims(&access).get("unverified").is_none());
    assert_eq!(email_verified(&app, &access).await, false);

    let token = token_from_mail(&sink, "alice@example.com", 1).await;
    let mail = &sink.mails_to("alice@example.com")[0];
    assert!(
        mail["text"].as_str().unwrap().contains("within 48 hours"),
        "{mail}"
    );
    // Only the token's hash is stored.
    let stored = app
        .scalar_strings("SELECT token_hash FROM email_verifications")
        .await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 64);
    assert_ne!(stored[0], token);

    // No log-in needed: the link may be opened in another browser.
    let res = verify(&app, &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "alice@example.com");
    assert_eq!(body["user"]["emailVerified"], true);
    assert_eq!(email_verified(&app, &access).await, true);
    // Single use.
    assert_problem(
        verify(&app, &token).await,
        StatusCode::NOT_FOUND,
        "invalid_verification_token",
    )
    .await;
    // Garbage and missing tokens: the same answer, never a 500.
    for bad in [json!({"token": "bogus"}), json!({"token": ""}), json!({})] {
        let res = app.auth_post("/auth/verify-email", &bad).await;
        assert_problem(res, StatusCode::NOT_FOUND, "invalid_verification_token").await;
    }
    let res = app
        .auth_post("/auth/verify-email", &json!({"token": 7}))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

async fn an_expired_link_is_refused(engine: Engine) {
    let sink = SmtpSink::start();
    let app = spawn(engine, &sink, |s| {
        s.email_verification_ttl = Duration::from_secs(1)
    })
    .await;
    let alice = app.signup("alice").await;
    let token = token_from_mail(&sink, "alice@example.com", 1).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_problem(
        verify(&app, &token).await,
        StatusCode::NOT_FOUND,
        "invalid_verification_token",
    )
    .await;
    assert_eq!(email_verified(&app, &alice.token).await, false);
}

async fn a_link_proves_only_the_address_it_was_sent_to(engine: Engine) {
    let sink = SmtpSink::start();
    let app = spawn(engine, &sink, |_| {}).await;
    let alice = app.signup("alice").await;
    let old = token_from_mail(&sink, "alice@example.com", 1).await;

    let res = app
        .change_email(&alice.token, "alice@example.org", PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // The new address receives a link of its own.
    let new = token_from_mail(&sink, "alice@example.org", 1).await;
    assert_problem(
        verify(&app, &old).await,
        StatusCode::NOT_FOUND,
        "invalid_verification_token",
    )
    .await;
    assert_eq!(email_verified(&app, &alice.token).await, false);
    let res = verify(&app, &new).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(email_verified(&app, &alice.token).await, true);

    // A verified account that moves is unverified again, until the next link.
    let res = app
        .change_email(&alice.token, "alice@example.net", PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["emailVerified"], false);
    let next = token_from_mail(&sink, "alice@example.net", 1).await;
    assert_eq!(verify(&app, &next).await.status(), StatusCode::OK);
    // Changing only the username keeps the verification.
    let res = app
        .patch_me(&alice.token, &json!({"username": "alice2"}))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["emailVerified"], true);
}

async fn resend_answers_the_same_and_mails_only_the_unverified(engine: Engine) {
    let sink = SmtpSink::start();
    let app = spawn(engine, &sink, |_| {}).await;
    app.signup("alice").await;
    app.signup("bob").await;
    let bob_token = token_from_mail(&sink, "bob@example.com", 1).await;
    assert_eq!(verify(&app, &bob_token).await.status(), StatusCode::OK);
    token_from_mail(&sink, "alice@example.com", 1).await;

    let mut answers = Vec::new();
    for email in ["nobody@example.com", "bob@example.com", "alice@example.com"] {
        let res = resend(&app, email).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED, "{email}");
        answers.push(res.text().await.unwrap());
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    // Alice gets a second link, and both her links work until one is used.
    let second = token_from_mail(&sink, "alice@example.com", 2).await;
    assert_eq!(verify(&app, &second).await.status(), StatusCode::OK);
    // Nothing for the verified account nor the unknown address.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.mails_to("bob@example.com").len(), 1);
    assert!(sink.mails_to("nobody@example.com").is_empty());
    // Verified now: a resend sends nothing more.
    assert_eq!(
        resend(&app, "alice@example.com").await.status(),
        StatusCode::ACCEPTED
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.mails_to("alice@example.com").len(), 2);

    let res = resend(&app, "not an address").await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
}

async fn resend_is_rate_limited(engine: Engine) {
    let sink = SmtpSink::start();
    let app = spawn(engine, &sink, |s| {
        s.rate_limits.verification_resend_per_hour = 2
    })
    .await;
    app.signup("alice").await;
    for _ in 0..2 {
        assert_eq!(
            resend(&app, "alice@example.com").await.status(),
            StatusCode::ACCEPTED
        );
    }
    let res = resend(&app, "alice@example.com").await;
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // One at registration and two asked for: no more.
    sink.wait_for("alice@example.com", 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.mails_to("alice@example.com").len(), 3);
}

async fn required_verification_marks_the_access_tokens_until_verified(engine: Engine) {
    let sink = SmtpSink::start();
    let app = spawn(engine, &sink, |s| s.require_email_verification = true).await;
    let alice = app.signup("alice").await;
    assert_eq!(claims(&alice.token)["unverified"], true);
    // Log-in and refresh mark theirs too.
    let again = app.login_again(&alice).await;
    assert_eq!(claims(&again.token)["unverified"], true);
    let token = token_from_mail(&sink, "alice@example.com", 1).await;
    assert_eq!(verify(&app, &token).await.status(), StatusCode::OK);
    // The next token is clean.
    let refreshed = app.refresh_ok(&alice.refresh).await;
    assert!(claims(&refreshed.token).get("unverified").is_none());
}

both_engines!(
    registration_mails_a_link_that_verifies_once,
    an_expired_link_is_refused,
    a_link_proves_only_the_address_it_was_sent_to,
    resend_answers_the_same_and_mails_only_the_unverified,
    resend_is_rate_limited,
    required_verification_marks_the_access_tokens_until_verified,
);
