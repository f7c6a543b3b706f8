use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{PASSWORD, assert_problem, spawn_app};

async fn register_answers_201_with_user_tokens_and_cookie(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app.register("Alice", " Alice@Example.COM ", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], 900);
    assert_eq!(body["user"]["username"], "Alice");
    assert_eq!(body["user"]["email"], "alice@example.com");
    assert!(body["user"]["createdAt"].as_str().unwrap().ends_with('Z'));
    let refresh = body["refreshToken"].as_str().unwrap();
    assert!(
        refresh.len() >= 43,
        "refresh tokens carry at least 256 bits"
    );
    assert!(cookie.starts_with(&format!("refresh_token={refresh}")));
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/auth"] {
        assert!(
            cookie.contains(attribute),
            "cookie {cookie} lacks {attribute}"
        );
    }
    // The access token works.
    let me: Value = app
        .me(body["accessToken"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], body["user"]["id"]);
}

async fn duplicate_username_or_email_is_409_saying_which(engine: Engine) {
    let app = spawn_app(engine).await;
    app.signup("alice").await;
    let res = app.register("ALICE", "other@example.com", PASSWORD).await;
    assert_problem(res, StatusCode::CONFLICT, "username_taken").await;
    let res = app.register("alice2", "Alice@example.com", PASSWORD).await;
    let body = assert_problem(res, StatusCode::CONFLICT, "email_taken").await;
    assert_eq!(body["errors"][0]["field"], "email");
}

async fn invalid_fields_are_400_listing_each_field(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app.register("x", "not-an-email", "short").await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "email", "password"]);

    let res = app.register("bad name!", "a@example.com", PASSWORD).await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "username");

    let res = app
        .auth_post("/auth/register", &json!({"email": "a@example.com"}))
        .await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
}

async fn password_length_rules(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app.register("seven", "seven@example.com", "1234567").await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "password");

    // Past bcrypt's 72 bytes is fine (SHA-256 first), and the whole password counts.
    let long = "é".repeat(100);
    let res = app.register("long", "long@example.com", &long).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let wrong = format!("{}e", "é".repeat(99));
    let res = app.login("long@example.com", &wrong).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.login("long@example.com", &long).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .register("longer", "longer@example.com", &"p".repeat(1025))
        .await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1024 characters")
    );

    let sixty_four = "p".repeat(64);
    let res = app
        .register("sixtyfour", "sf@example.com", &sixty_four)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        app.login("sf@example.com", &sixty_four).await.status(),
        StatusCode::OK
    );
}

async fn malformed_bodies_are_problems_not_500s(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app
        .client
        .post(app.url("/auth/register"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_body").await;
    let res = app
        .auth_post(
            "/auth/register",
            &json!({"username": 5, "email": [], "password": null}),
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_body").await;
    let res = app
        .client
        .post(app.url("/auth/register"))
        .body("x=1")
        .send()
        .await
        .unwrap();
    assert_problem(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let huge = json!({"username": "x".repeat(100_000), "email": "a@b.c", "password": PASSWORD});
    let res = app.auth_post("/auth/register", &huge).await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
}

both_engines!(
    register_answers_201_with_user_tokens_and_cookie,
    duplicate_username_or_email_is_409_saying_which,
    invalid_fields_are_400_listing_each_field,
    password_length_rules,
    malformed_bodies_are_problems_not_500s,
);
