//! auth-service on its own database, and the calls that make users and sessions.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::web;
use auth_service::config::Settings;
use auth_service::mailer::Mailer;
use auth_service::startup::{AppState, Application};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use test_support::{Engine, TempDir, TestDatabase};

use crate::{ORIGIN, PASSWORD, User};

/// A running auth-service.
pub struct AuthStack {
    /// Follows no redirects, so that tests see them.
    pub client: reqwest::Client,
    /// auth-service's base URL.
    pub auth: String,
    pub auth_state: web::Data<AppState>,
    /// Stops auth-service (tests check that the others cope).
    pub auth_server: ServerHandle,
    _db: TestDatabase,
    _data: TempDir,
}

/// auth-service's test settings: short lifetimes, fast hashing, limits no test reaches unless
/// it lowers them, and the reset link in the answer.
pub fn auth_settings(database_url: &str, data_dir: &Path) -> Settings {
    let mut s = Settings::development(database_url, data_dir);
    s.bind_addr = "127.0.0.1:0".into();
    s.access_ttl = Duration::from_secs(900);
    s.refresh_ttl = Duration::from_secs(3600);
    s.session_max_age = Duration::from_secs(7200);
    s.internal_keys = test_support::internal_keys();
    s.allowed_origins = vec![ORIGIN.into()];
    // Cost 4 keeps the suites fast; production refuses anything under 10.
    s.bcrypt_cost = 4;
    s.dev_return_reset_link = true;
    // No chat-service here: user events wait in the outbox (a ChatStack points auth-service
    // at its chat-service; tests of the delivery at a receiver of their own).
    s.chat_url = None;
    // Every test connects from 127.0.0.1.
    s.rate_limits.per_ip_per_min = 100_000;
    s.rate_limits.forgot_per_hour = 10_000;
    s.rate_limits.account_changes_per_hour = 10_000;
    s.rate_limits.verification_resend_per_hour = 10_000;
    s
}

impl AuthStack {
    pub async fn spawn(engine: Engine, tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_with_mailer(engine, tweak, None).await
    }

    /// With this mailer instead of the log (tests read the mail sent).
    pub async fn spawn_with_mailer(
        engine: Engine,
        tweak: impl FnOnce(&mut Settings),
        mailer: Option<Arc<dyn Mailer>>,
    ) -> Self {
        let db = TestDatabase::create(engine).await;
        let data = TempDir::new("cloudchat-auth-data");
        let mut settings = auth_settings(&db.url, &data.0);
        tweak(&mut settings);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let app = Application::build_with_mailer(settings, listener, mailer)
            .await
            .expect("building auth-service");
        let auth = format!("http://127.0.0.1:{}", app.port());
        let auth_state = app.state();
        let auth_server = app.server_handle();
        tokio::spawn(app.run_until_stopped());
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            auth,
            auth_state,
            auth_server,
            _db: db,
            _data: data,
        }
    }

    pub fn auth_url(&self, path: &str) -> String {
        format!("{}{path}", self.auth)
    }

    /// A call to auth-service with this access token and JSON body, if any.
    pub async fn auth_call(
        &self,
        method: Method,
        path: &str,
        access: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.auth_url(path));
        if let Some(access) = access {
            req = req.bearer_auth(access);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await.unwrap()
    }

    /// POSTs `body` to auth-service without credentials.
    pub async fn auth_post(&self, path: &str, body: &Value) -> Response {
        self.auth_call(Method::POST, path, None, Some(body)).await
    }

    pub async fn register(&self, username: &str, email: &str, password: &str) -> Response {
        self.auth_post(
            "/auth/register",
            &json!({"username": username, "email": email, "password": password}),
        )
        .await
    }

    /// Registers `name` with `name@example.com` and [`PASSWORD`].
    pub async fn signup(&self, name: &str) -> User {
        let res = self
            .register(name, &format!("{name}@example.com"), PASSWORD)
            .await;
        User::from_answer(res, StatusCode::CREATED).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.auth_post(
            "/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// A new session: the user with its tokens.
    pub async fn login_ok(&self, email: &str, password: &str) -> User {
        User::from_answer(self.login(email, password).await, StatusCode::OK).await
    }

    /// Another session of a signed-up user.
    pub async fn login_again(&self, user: &User) -> User {
        self.login_ok(&user.email, PASSWORD).await
    }

    pub async fn refresh(&self, token: &str) -> Response {
        self.auth_post("/auth/refresh", &json!({"refreshToken": token}))
            .await
    }

    /// The session's next access and refresh tokens.
    pub async fn refresh_ok(&self, token: &str) -> User {
        User::from_answer(self.refresh(token).await, StatusCode::OK).await
    }

    pub async fn logout_all(&self, user: &User) {
        let path = "/auth/logout-all";
        let res = self
            .auth_call(Method::POST, path, Some(&user.token), None)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
}
