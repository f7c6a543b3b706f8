//! auth-service alone (a [`test_stack::AuthStack`]), with a call per endpoint these tests
//! exercise and a mailer that keeps what it sends.

use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web;
use auth_service::config::Settings;
use auth_service::mailer::{Mail, Mailer};
use auth_service::startup::AppState;
use futures_util::future::BoxFuture;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use test_stack::AuthStack;
pub(crate) use test_stack::{
    AUTH_KEY, CHAT_KEY, FakeRelay, ORIGIN, PASSWORD, RELAY_KEY, assert_problem,
};
use test_support::Engine;

/// The running auth-service; dereferences to its [`AuthStack`] (sign-up, log-in, refresh).
pub(crate) struct TestApp {
    stack: AuthStack,
    pub state: web::Data<AppState>,
}

impl Deref for TestApp {
    type Target = AuthStack;

    fn deref(&self) -> &AuthStack {
        &self.stack
    }
}

pub(crate) async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |_| {}).await
}

pub(crate) async fn spawn_app_with(engine: Engine, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_mailer(engine, tweak, None).await
}

pub(crate) async fn spawn_app_with_mailer(
    engine: Engine,
    tweak: impl FnOnce(&mut Settings),
    mailer: Option<SentMail>,
) -> TestApp {
    let mailer = mailer.map(|m| Arc::new(m) as Arc<dyn Mailer>);
    let stack = AuthStack::spawn_with_mailer(engine, tweak, mailer).await;
    TestApp {
        state: stack.auth_state.clone(),
        stack,
    }
}

/// Mail the app sent, when it was spawned with [`SentMail`].
#[derive(Clone, Default)]
pub(crate) struct SentMail(pub Arc<Mutex<Vec<Mail>>>);

impl Mailer for SentMail {
    fn send(&self, mail: Mail) -> BoxFuture<'_, anyhow::Result<()>> {
        self.0.lock().unwrap().push(mail);
        Box::pin(async { Ok(()) })
    }
}

impl SentMail {
    /// Waits up to two seconds for `n` mails.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Mail> {
        for _ in 0..40 {
            if self.0.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.0.lock().unwrap().clone()
    }
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        self.auth_url(path)
    }

    pub(crate) async fn get(&self, path: &str, access: &str) -> Response {
        self.auth_call(Method::GET, path, Some(access), None).await
    }

    pub(crate) async fn logout(&self, refresh: &str) -> Response {
        self.auth_post("/auth/logout", &json!({"refreshToken": refresh}))
            .await
    }

    pub(crate) async fn delete_session(&self, access: &str, id: &str) -> Response {
        let path = format!("/auth/sessions/{id}");
        self.auth_call(Method::DELETE, &path, Some(access), None)
            .await
    }

    pub(crate) async fn patch_me(&self, access: &str, body: &Value) -> Response {
        self.auth_call(Method::PATCH, "/users/me", Some(access), Some(body))
            .await
    }

    /// `PATCH /users/me` with a new e-mail and the current password.
    pub(crate) async fn change_email(&self, access: &str, email: &str, password: &str) -> Response {
        self.patch_me(
            access,
            &json!({"email": email, "currentPassword": password}),
        )
        .await
    }

    /// Asserts that `access` is refused as a revoked session's token.
    pub(crate) async fn assert_revoked(&self, access: &str) {
        assert_problem(
            self.me(access).await,
            StatusCode::UNAUTHORIZED,
            "session_revoked",
        )
        .await;
    }

    pub(crate) async fn me(&self, access: &str) -> Response {
        self.get("/users/me", access).await
    }

    pub(crate) async fn forgot(&self, email: &str) -> Response {
        self.auth_post("/auth/forgot-password", &json!({"email": email}))
            .await
    }

    /// The reset token from the development answer's link.
    pub(crate) async fn reset_token_for(&self, email: &str) -> String {
        let res = self.forgot(email).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let body: Value = res.json().await.unwrap();
        let link = body["resetUrl"]
            .as_str()
            .expect("resetUrl in the development answer");
        link.split("token=").nth(1).unwrap().to_owned()
    }

    pub(crate) async fn reset(&self, token: &str, new_password: &str) -> Response {
        self.auth_post(
            "/auth/reset-password",
            &json!({"token": token, "newPassword": new_password}),
        )
        .await
    }

    /// Signs arbitrary claims with the service's own key.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.state.issuer.sign(claims).unwrap()
    }

    pub(crate) async fn scalar_strings(&self, sql: &'static str) -> Vec<String> {
        let rows: Vec<(String,)> = sqlx::query_as(sql)
            .fetch_all(&self.state.db.pool)
            .await
            .unwrap();
        rows.into_iter().map(|(s,)| s).collect()
    }
}
