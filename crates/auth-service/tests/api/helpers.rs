//! auth-service alone (a [`test_stack::AuthStack`]), with a call per endpoint these tests
//! exercise and a mailer that keeps what it sends.

use std::ops::Deref;
use std::sync::atomic::Ordering;
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
    AUTH_KEY, CHAT_KEY, FakePeer, FakeRelay, ORIGIN, PASSWORD, RELAY_KEY, User, assert_problem,
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
    /// Waits up to two seconds for `n` mails other than the e-mail verification links every
    /// sign-up sends (email_verification.rs reads those from a real SMTP server).
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Mail> {
        let others = || -> Vec<Mail> {
            let sent = self.0.lock().unwrap();
            sent.iter()
                .filter(|m| m.subject != "Confirm your Cloud Chat e-mail address")
                .cloned()
                .collect()
        };
        for _ in 0..40 {
            if others().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        others()
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

/// Moderation: the admin API, the internal API chat-service calls, and the command line.
impl TestApp {
    /// Gives `user` the role (`admin` or `moderator`; `user` revokes) with the command line's
    /// own function, on the running app's database: what it printed.
    pub(crate) async fn grant(&self, user: &User, role: &str) -> String {
        let words: Vec<String> = match role {
            "user" => vec!["revoke".into(), user.email.clone()],
            role => vec![
                "grant".into(),
                user.email.clone(),
                "--role".into(),
                role.into(),
            ],
        };
        let command = auth_service::admin_cli::AdminCommand::parse(&words).unwrap();
        auth_service::admin_cli::execute(&self.state.db.pool, &command)
            .await
            .unwrap()
    }

    /// `GET /admin/users?{query}`.
    pub(crate) async fn admin_users(&self, access: &str, query: &str) -> Response {
        self.get(&format!("/admin/users?{query}"), access).await
    }

    /// `GET /admin/users?{query}`, checked to answer 200: the page.
    pub(crate) async fn admin_users_ok(&self, access: &str, query: &str) -> Value {
        let res = self.admin_users(access, query).await;
        assert_eq!(res.status(), StatusCode::OK, "GET /admin/users?{query}");
        res.json().await.unwrap()
    }

    pub(crate) async fn put_role(&self, access: &str, user: &User, body: &Value) -> Response {
        let path = format!("/admin/users/{}/role", user.id);
        self.auth_call(Method::PUT, &path, Some(access), Some(body))
            .await
    }

    pub(crate) async fn suspend(&self, access: &str, user: &User, body: &Value) -> Response {
        let path = format!("/admin/users/{}/suspension", user.id);
        self.auth_call(Method::PUT, &path, Some(access), Some(body))
            .await
    }

    pub(crate) async fn lift(&self, access: &str, user: &User) -> Response {
        let path = format!("/admin/users/{}/suspension", user.id);
        self.auth_call(Method::DELETE, &path, Some(access), None)
            .await
    }

    /// A call to an internal endpoint with `key`.
    pub(crate) async fn internal(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("x-internal-api-key", key);
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await.unwrap()
    }

    /// `GET /internal/audit?{query}` as chat-service: the entries.
    pub(crate) async fn audit(&self, query: &str) -> Vec<Value> {
        let path = format!("/internal/audit?{query}");
        let res = self.internal(Method::GET, &path, CHAT_KEY, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let body: Value = res.json().await.unwrap();
        body["entries"].as_array().unwrap().clone()
    }

    /// The user events waiting in the outbox: (user id, payload), oldest first.
    pub(crate) async fn pending_events(&self) -> Vec<(String, Value)> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT user_id, payload FROM user_events WHERE delivered_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.state.db.pool)
        .await
        .unwrap();
        rows.into_iter()
            .map(|(user, payload)| (user, serde_json::from_str(&payload).unwrap()))
            .collect()
    }
}

/// chat-service's `POST /internal/user-events` (a [`FakePeer`]): 503 to the first `refuse`
/// batches (a chat-service restarting), 204 to the others, whose bodies it keeps.
pub(crate) struct ChatReceiver(pub FakePeer);

impl ChatReceiver {
    pub(crate) async fn start(refuse: usize) -> Self {
        Self(FakePeer::start_at("/internal/user-events", 204, refuse).await)
    }

    pub(crate) fn url(&self) -> String {
        self.0.url.clone()
    }

    /// Batches answered 503 so far.
    pub(crate) fn refused(&self) -> usize {
        self.0.refused.load(Ordering::SeqCst)
    }

    /// Every event received so far, in the order received; each batch came with
    /// auth-service's key.
    pub(crate) fn events(&self) -> Vec<Value> {
        let received = self.0.received.lock().unwrap().clone();
        received
            .into_iter()
            .flat_map(|(key, batch)| {
                assert_eq!(key.as_deref(), Some(AUTH_KEY));
                batch["events"].as_array().cloned().unwrap_or_default()
            })
            .collect()
    }

    /// Waits up to `within` for `n` events.
    pub(crate) async fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        while self.events().len() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.events()
    }
}
