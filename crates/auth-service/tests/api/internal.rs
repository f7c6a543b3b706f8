use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{AUTH_KEY, CHAT_KEY, RELAY_KEY, assert_problem, spawn_app};

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

both_engines!(internal_lookups_need_the_key);
