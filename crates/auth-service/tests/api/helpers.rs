use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web;
use auth_service::config::{RateLimits, Settings};
use auth_service::mailer::{Mail, Mailer};
use auth_service::startup::{AppState, Application};
use futures_util::future::BoxFuture;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
pub use test_support::{AUTH_KEY, CHAT_KEY, FakeRelay, RELAY_KEY, assert_problem};
use test_support::{Engine, TempDir, TestDatabase};

pub const PASSWORD: &str = "correct horse battery";
pub const ORIGIN: &str = "http://localhost:8080";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: web::Data<AppState>,
    _db: TestDatabase,
    _data: TempDir,
}

pub fn test_settings(database_url: &str, data_dir: &std::path::Path) -> Settings {
    let mut s = Settings::development(database_url, data_dir);
    s.bind_addr = "127.0.0.1:0".into();
    s.access_ttl = Duration::from_secs(900);
    s.refresh_ttl = Duration::from_secs(3600);
    s.session_max_age = Duration::from_secs(7200);
    s.internal_keys = test_support::internal_keys();
    s.allowed_origins = vec![ORIGIN.into()];
    // Cost 4 keeps the suite fast; production refuses anything under 10.
    s.bcrypt_cost = 4;
    s.dev_return_reset_link = true;
    s.rate_limits = RateLimits {
        per_ip_per_min: 10_000,
        forgot_per_hour: 10_000,
        account_changes_per_hour: 10_000,
        ..s.rate_limits.clone()
    };
    s
}

pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |_| {}).await
}

pub async fn spawn_app_with(engine: Engine, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_mailer(engine, tweak, None).await
}

/// Mail the app sent, when it was spawned with [`SentMail`].
#[derive(Clone, Default)]
pub struct SentMail(pub Arc<Mutex<Vec<Mail>>>);

impl Mailer for SentMail {
    fn send(&self, mail: Mail) -> BoxFuture<'_, anyhow::Result<()>> {
        self.0.lock().unwrap().push(mail);
        Box::pin(async { Ok(()) })
    }
}

impl SentMail {
    /// Waits up to two seconds for `n` mails.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        for _ in 0..40 {
            if self.0.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.0.lock().unwrap().clone()
    }
}

pub async fn spawn_app_with_mailer(
    engine: Engine,
    tweak: impl FnOnce(&mut Settings),
    mailer: Option<SentMail>,
) -> TestApp {
    let db = TestDatabase::create(engine).await;
    let data = TempDir::new("cloudchat-auth-data");
    let mut settings = test_settings(&db.url, &data.0);
    tweak(&mut settings);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mailer = mailer.map(|m| Arc::new(m) as Arc<dyn Mailer>);
    let app = Application::build_with_mailer(settings, listener, mailer)
        .await
        .expect("building the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        state,
        _db: db,
        _data: data,
    }
}

/// What a successful register or log-in gives.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub access: String,
    pub refresh: String,
}

impl Session {
    /// The session id (`sid`) the access token carries.
    pub fn sid(&self) -> String {
        use base64::Engine as _;
        let payload = self.access.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        claims["sid"].as_str().unwrap().to_owned()
    }

    fn from_answer(body: &Value) -> Self {
        Self {
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
            access: body["accessToken"].as_str().unwrap().to_owned(),
            refresh: body["refreshToken"].as_str().unwrap().to_owned(),
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn register(&self, username: &str, email: &str, password: &str) -> Response {
        self.post_json(
            "/auth/register",
            &json!({"username": username, "email": email, "password": password}),
        )
        .await
    }

    /// Registers `name` with `name@example.com` and the default password.
    pub async fn signup(&self, name: &str) -> Session {
        let res = self
            .register(name, &format!("{name}@example.com"), PASSWORD)
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "register {name}");
        Session::from_answer(&res.json().await.unwrap())
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn login_ok(&self, email: &str, password: &str) -> Session {
        let res = self.login(email, password).await;
        assert_eq!(res.status(), StatusCode::OK);
        Session::from_answer(&res.json().await.unwrap())
    }

    pub async fn refresh(&self, token: &str) -> Response {
        self.post_json("/auth/refresh", &json!({"refreshToken": token}))
            .await
    }

    pub async fn refresh_ok(&self, token: &str) -> Session {
        let res = self.refresh(token).await;
        assert_eq!(res.status(), StatusCode::OK);
        Session::from_answer(&res.json().await.unwrap())
    }

    pub async fn get(&self, path: &str, access: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    pub async fn logout(&self, refresh: &str) -> Response {
        self.post_json("/auth/logout", &json!({"refreshToken": refresh}))
            .await
    }

    pub async fn delete_session(&self, access: &str, id: &str) -> Response {
        self.client
            .delete(self.url(&format!("/auth/sessions/{id}")))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_me(&self, access: &str, body: &Value) -> Response {
        self.client
            .patch(self.url("/users/me"))
            .bearer_auth(access)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `PATCH /users/me` with a new e-mail and the current password.
    pub async fn change_email(&self, access: &str, email: &str, password: &str) -> Response {
        self.patch_me(
            access,
            &json!({"email": email, "currentPassword": password}),
        )
        .await
    }

    /// Asserts that `access` is refused as a revoked session's token.
    pub async fn assert_revoked(&self, access: &str) {
        assert_problem(
            self.me(access).await,
            StatusCode::UNAUTHORIZED,
            "session_revoked",
        )
        .await;
    }

    pub async fn me(&self, access: &str) -> Response {
        self.get("/users/me", access).await
    }

    pub async fn forgot(&self, email: &str) -> Response {
        self.post_json("/auth/forgot-password", &json!({"email": email}))
            .await
    }

    /// The reset token from the development answer's link.
    pub async fn reset_token_for(&self, email: &str) -> String {
        let res = self.forgot(email).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let body: Value = res.json().await.unwrap();
        let link = body["resetUrl"]
            .as_str()
            .expect("resetUrl in the development answer");
        link.split("token=").nth(1).unwrap().to_owned()
    }

    pub async fn reset(&self, token: &str, new_password: &str) -> Response {
        self.post_json(
            "/auth/reset-password",
            &json!({"token": token, "newPassword": new_password}),
        )
        .await
    }

    /// Signs arbitrary claims with the service's own key.
    pub fn sign(&self, claims: &Value) -> String {
        self.state.issuer.sign(claims).unwrap()
    }

    pub async fn scalar_strings(&self, sql: &'static str) -> Vec<String> {
        let rows: Vec<(String,)> = sqlx::query_as(sql)
            .fetch_all(&self.state.db.pool)
            .await
            .unwrap();
        rows.into_iter().map(|(s,)| s).collect()
    }
}
