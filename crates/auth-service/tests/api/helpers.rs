use std::net::TcpListener;
use std::time::Duration;

use actix_web::web;
use auth_service::config::{RateLimits, Settings};
use auth_service::startup::{AppState, Application};
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
        per_account_per_min: 10_000,
    };
    s
}

pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |_| {}).await
}

pub async fn spawn_app_with(engine: Engine, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDatabase::create(engine).await;
    let data = TempDir::new("cloudchat-auth-data");
    let mut settings = test_settings(&db.url, &data.0);
    tweak(&mut settings);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::build_with_listener(settings, listener)
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
