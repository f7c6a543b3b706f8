use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{AUTH_KEY, CHAT_KEY, RELAY_KEY, assert_problem, spawn_app};

async fn internal_lookups_need_the_key(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("Alice").await;
    let by_id = format!("/internal/users/{}", alice.user_id);
    for path in [by_id.as_str(), "/internal/users/by-username/alice"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
        let res = app
            .client
            .get(app.url(path))
            .header("x-internal-api-key", "wrong")
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_internal_key").await;
        // A user's access token is not the internal key.
        let res = app
            .client
            .get(app.url(path))
            .bearer_auth(&alice.access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        // Only chat-service looks users up: a relay's key, or auth-service's own, is refused.
        for key in [RELAY_KEY, AUTH_KEY] {
            let res = app
                .client
                .get(app.url(path))
                .header("x-internal-api-key", key)
                .send()
                .await
                .unwrap();
            let expected = if key == RELAY_KEY {
                (StatusCode::FORBIDDEN, "forbidden_internal_caller")
            } else {
                // auth-service does not accept its own key: it never calls itself.
                (StatusCode::UNAUTHORIZED, "invalid_internal_key")
            };
            assert_problem(res, expected.0, expected.1).await;
        }
        let res = app
            .client
            .get(app.url(path))
            .header("x-internal-api-key", CHAT_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body, json!({"id": alice.user_id, "username": "Alice"}));
    }
    let res = app
        .client
        .get(app.url("/internal/users/by-username/nobody"))
        .header("x-internal-api-key", CHAT_KEY)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}

both_engines!(internal_lookups_need_the_key);
