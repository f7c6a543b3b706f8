use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{
    FakeRelay, PASSWORD, SentMail, assert_problem, spawn_app, spawn_app_with_mailer,
};

async fn me_can_be_read_and_changed(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    let res = app
        .client
        .patch(app.url("/users/me"))
        .bearer_auth(&alice.token)
        .json(&json!({"username": "alicia", "email": "Alicia@Example.com", "currentPassword": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["username"], "alicia");
    assert_eq!(body["email"], "alicia@example.com");
    assert_eq!(body["id"], alice.id.to_string());
    for (patch, code) in [
        (json!({"username": "BOB"}), "username_taken"),
        (
            json!({"email": "bob@example.com", "currentPassword": PASSWORD}),
            "email_taken",
        ),
    ] {
        let res = app
            .client
            .patch(app.url("/users/me"))
            .bearer_auth(&alice.token)
            .json(&patch)
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::CONFLICT, code).await;
    }
    let res = app
        .client
        .patch(app.url("/users/me"))
        .bearer_auth(&alice.token)
        .json(&json!({"username": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    let res = app
        .client
        .patch(app.url("/users/me"))
        .bearer_auth(&alice.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    app.login_ok("alicia@example.com", PASSWORD).await;
}

async fn changing_the_email_needs_the_password_and_ends_the_other_sessions(engine: Engine) {
    let relay = FakeRelay::start().await;
    let relay_url = relay.url.clone();
    let mail = SentMail::default();
    let app = spawn_app_with_mailer(
        engine,
        move |s| {
            s.relay_url = Some(relay_url);
            s.rate_limits.account_changes_per_hour = 4;
        },
        Some(mail.clone()),
    )
    .await;
    let alice = app.signup("alice").await;
    let phone = app.login_ok("alice@example.com", PASSWORD).await;
    app.signup("bob").await;

    let res = app
        .patch_me(&alice.token, &json!({"email": "new@example.org"}))
        .await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "currentPassword", "{body}");
    // Wrong password: 403, also for an address that is taken (no oracle without the password).
    for email in ["new@example.org", "bob@example.com"] {
        let res = app.change_email(&alice.token, email, "guess").await;
        assert_problem(res, StatusCode::FORBIDDEN, "wrong_current_password").await;
    }
    let res = app
        .change_email(&alice.token, "bob@example.com", PASSWORD)
        .await;
    assert_problem(res, StatusCode::CONFLICT, "email_taken").await;

    let res = app
        .change_email(&alice.token, "John@Example.org", PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap()["email"],
        "john@example.org"
    );
    // The old address is told, with the new one masked.
    let sent = mail.wait_for(1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "alice@example.com");
    assert!(sent[0].body.contains("jo***@ex***.org"), "{}", sent[0].body);
    assert!(!sent[0].body.contains("john@example.org"));
    // The other session ends; this one goes on.
    let published = relay.wait_for(1).await;
    assert_eq!(
        published[0].1["control"],
        json!([{"disconnectSession": phone.sid()}])
    );
    app.assert_revoked(&phone.token).await;
    assert_problem(
        app.refresh(&phone.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    assert_eq!(app.me(&alice.token).await.status(), StatusCode::OK);
    app.refresh_ok(&alice.refresh).await;
    // Four changes an hour (each attempt counts): the fifth is refused.
    let res = app
        .change_email(&alice.token, "x@example.org", PASSWORD)
        .await;
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // A username change needs no password and is not counted.
    let res = app
        .patch_me(&alice.token, &json!({"username": "alicia"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn change_password_needs_the_current_one_and_revokes_other_sessions(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let phone = app.login_ok("alice@example.com", PASSWORD).await;
    let change = |current: &str, new: &str| {
        app.client
            .post(app.url("/users/me/password"))
            .bearer_auth(&alice.token)
            .json(&json!({"currentPassword": current, "newPassword": new}))
            .send()
    };
    let res = change("wrong password", "another password").await.unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "wrong_current_password").await;
    let res = change(PASSWORD, "short").await.unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    let res = change(PASSWORD, "another password").await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.refresh(&phone.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    app.refresh_ok(&alice.refresh).await;
    app.login_ok("alice@example.com", "another password").await;
}

async fn public_profiles_and_prefix_search(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    for name in ["albert", "Alfred", "bob", "al_x", "alyx"] {
        app.signup(name).await;
    }
    let found: Vec<Value> = app
        .get("/users?prefix=AL", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = found
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["al_x", "albert", "Alfred", "alice", "alyx"]);
    assert!(
        found.iter().all(|u| u.as_object().unwrap().len() == 2),
        "only id and username are public"
    );
    // '_' is literal, not a wildcard.
    let found: Vec<Value> = app
        .get("/users?prefix=al_", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    for i in 0..25 {
        app.signup(&format!("zed{i:02}")).await;
    }
    let found: Vec<Value> = app
        .get("/users?prefix=zed", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found.len(), 20);
    assert_problem(
        app.get("/users?prefix=", &alice.token).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;

    let profile: Value = app
        .get(&format!("/users/{}", alice.id), &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile, json!({"id": alice.id, "username": "alice"}));
    let res = app
        .get(&format!("/users/{}", uuid::Uuid::new_v4()), &alice.token)
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app
        .client
        .get(app.url("/users?prefix=al"))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "missing_token").await;
}

async fn jwks_publishes_the_signing_key(engine: Engine) {
    let app = spawn_app(engine).await;
    let jwks: Value = test_support::get_json(&app.client, &app.url("/.well-known/jwks.json")).await;
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["kid"], app.state.issuer.key().kid());
    // A verifier built from the published document accepts the service's tokens.
    let alice = app.signup("alice").await;
    let doc: tokens::Jwks = serde_json::from_value(jwks).unwrap();
    let verifier = tokens::Verifier::with_keys("cloudchat-auth", "cloudchat", &doc);
    let claims = verifier.verify(&alice.token).await.unwrap();
    assert_eq!(claims.sub, alice.id);
    assert_eq!(claims.username, "alice");
    assert!(claims.sid.is_some());
    let spec: Value = test_support::get_json(&app.client, &app.url("/openapi.json")).await;
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/auth/login"]["post"].is_object());
}

both_engines!(
    changing_the_email_needs_the_password_and_ends_the_other_sessions,
    me_can_be_read_and_changed,
    change_password_needs_the_current_one_and_revokes_other_sessions,
    public_profiles_and_prefix_search,
    jwks_publishes_the_signing_key,
);
