use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{
    AUTH_KEY, CHAT_KEY, RELAY_KEY, SentMail, assert_problem, spawn_app, spawn_app_with_mailer,
};

async fn internal_lookups_need_the_key(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("Alice").await;
    let get = |path: &str, key: &str| {
        app.client
            .get(app.url(path))
            .header("x-internal-api-key", key)
            .send()
    };
    let by_id = format!("/internal/users/{}", alice.id);
    for path in [by_id.as_str(), "/internal/users/by-username/alice"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
        // A wrong key, and auth-service's own (it never calls itself, so it is no key here).
        for key in ["wrong", AUTH_KEY] {
            let res = get(path, key).await.unwrap();
            assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
        }
        // A user's access token is not the internal key.
        let res = app
            .client
            .get(app.url(path))
            .bearer_auth(&alice.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        // Only chat-service looks users up: a relay's valid key is refused.
        let res = get(path, RELAY_KEY).await.unwrap();
        assert_problem(res, StatusCode::FORBIDDEN, "forbidden_internal_caller").await;
        let res = get(path, CHAT_KEY).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body, json!({"id": alice.id, "username": "Alice"}));
    }
    let res = get("/internal/users/by-username/nobody", CHAT_KEY)
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}

async fn chat_service_mails_a_user(engine: Engine) {
    let sent = SentMail::default();
    let app = spawn_app_with_mailer(engine, |_| {}, Some(sent.clone())).await;
    let alice = app.signup("Alice").await;
    let post = |key: &'static str, body: Value| {
        app.client
            .post(app.url("/internal/mail"))
            .header("x-internal-api-key", key)
            .json(&body)
            .send()
    };
    let mail = json!({
        "userId": alice.id,
        "subject": "2 unread messages on Cloud Chat",
        "text": "While you were away…",
        "unsubscribeUrl": "https://chat.example.com/notifications/unsubscribe?user=u&sig=s",
    });
    // Only chat-service mails users.
    let res = post(RELAY_KEY, mail.clone()).await.unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden_internal_caller").await;
    let res = post("wrong", mail.clone()).await.unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;

    let res = post(CHAT_KEY, mail.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let mails = sent.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, alice.email);
    assert_eq!(mails[0].subject, "2 unread messages on Cloud Chat");
    assert_eq!(mails[0].body, "While you were away…");
    assert_eq!(
        mails[0].extra_headers(),
        vec![
            (
                "List-Unsubscribe",
                "<https://chat.example.com/notifications/unsubscribe?user=u&sig=s>".to_owned()
            ),
            (
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".to_owned()
            ),
        ]
    );

    let nobody = json!({"userId": uuid::Uuid::new_v4(), "subject": "s", "text": "t"});
    let res = post(CHAT_KEY, nobody).await.unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "user_not_found").await;
    // A subject that would end its header line, and a URL that would end its header.
    for (field, value) in [
        ("subject", json!("two\r\nBcc: someone@example.com")),
        (
            "unsubscribeUrl",
            json!("https://x/>\r\nBcc: someone@example.com"),
        ),
        ("unsubscribeUrl", json!("javascript:alert(1)")),
        ("text", json!("")),
    ] {
        let mut bad = mail.clone();
        bad[field] = value;
        let res = post(CHAT_KEY, bad).await.unwrap();
        assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
    assert_eq!(sent.wait_for(2).await.len(), 1);
}

both_engines!(internal_lookups_need_the_key, chat_service_mails_a_user);
