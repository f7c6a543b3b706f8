use std::net::TcpListener;

use actix_web::web;
use chat_service::config::Settings;
use chat_service::startup::{AppState, Application};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
pub use test_support::{AUTH_KEY, CHAT_KEY, FakeRelay, RELAY_KEY, assert_problem};
use test_support::{Engine, TempDir, TestDatabase};
use uuid::Uuid;

pub const GENERAL: i64 = 1;

pub struct TestApp {
    pub chat: String,
    pub auth: String,
    pub client: reqwest::Client,
    pub relay: FakeRelay,
    pub state: web::Data<AppState>,
    pub auth_server: actix_web::dev::ServerHandle,
    chat_settings: Settings,
    _dbs: (TestDatabase, TestDatabase),
    _data: TempDir,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub token: String,
}

pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |_| {}).await
}

pub async fn spawn_app_with(engine: Engine, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_relay(engine, FakeRelay::start().await, tweak).await
}

/// With this stand-in for the relay (for example one that refuses the first publishes).
pub async fn spawn_app_with_relay(
    engine: Engine,
    relay: FakeRelay,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let auth_db = TestDatabase::create(engine).await;
    let data = TempDir::new("cloudchat-chat-test");
    let mut auth_settings = auth_service::config::Settings::development(&auth_db.url, &data.0);
    auth_settings.internal_keys = test_support::internal_keys();
    auth_settings.bcrypt_cost = 4;
    auth_settings.rate_limits.per_ip_per_min = 100_000;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let auth_app = auth_service::startup::Application::build_with_listener(auth_settings, listener)
        .await
        .expect("building auth-service");
    let auth = format!("http://127.0.0.1:{}", auth_app.port());
    let auth_server = auth_app.server_handle();
    tokio::spawn(auth_app.run_until_stopped());

    let chat_db = TestDatabase::create(engine).await;
    let mut settings = Settings::development(&chat_db.url, &auth);
    settings.internal_keys = test_support::internal_keys();
    settings.relay_url = Some(relay.url.clone());
    tweak(&mut settings);
    let (chat, state) = start_chat(settings.clone()).await;
    TestApp {
        chat,
        auth,
        client: reqwest::Client::new(),
        relay,
        state,
        auth_server,
        chat_settings: settings,
        _dbs: (auth_db, chat_db),
        _data: data,
    }
}

async fn start_chat(settings: Settings) -> (String, web::Data<AppState>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::build_with_listener(settings, listener)
        .await
        .expect("building chat-service");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    (address, state)
}

impl TestApp {
    /// A second chat-service replica on the same database.
    pub async fn second_replica(&self) -> String {
        start_chat(self.chat_settings.clone()).await.0
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.chat, path)
    }

    pub async fn signup(&self, name: &str) -> User {
        let res = self
            .client
            .post(format!("{}/auth/register", self.auth))
            .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "password123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        User {
            id: body["user"]["id"].as_str().unwrap().parse().unwrap(),
            name: name.to_owned(),
            token: body["accessToken"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn get(&self, user: &User, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, user: &User, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&user.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, user: &User, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, user: &User, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(&user.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a room and returns its id.
    pub async fn create_room(&self, owner: &User, name: &str) -> i64 {
        let res = self.post(owner, "/rooms", &json!({"name": name})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    }

    pub async fn add_member(&self, owner: &User, room: i64, username: &str) -> Response {
        self.post(
            owner,
            &format!("/rooms/{room}/members"),
            &json!({"username": username}),
        )
        .await
    }

    pub async fn send(&self, user: &User, room: i64, content: &str) -> Response {
        self.post(
            user,
            &format!("/rooms/{room}/messages"),
            &json!({"content": content}),
        )
        .await
    }

    /// Sends and returns the stored message.
    pub async fn send_ok(&self, user: &User, room: i64, content: &str) -> Value {
        let res = self.send(user, room, content).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    pub async fn history(&self, user: &User, room: i64, query: &str) -> Value {
        let res = self
            .get(user, &format!("/rooms/{room}/messages{query}"))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn rooms(&self, user: &User) -> Vec<Value> {
        let res = self.get(user, "/rooms").await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn internal(&self, path: &str, body: &Value) -> Response {
        self.internal_at(&self.chat, path, body).await
    }

    /// An internal call to the replica at `base`.
    pub async fn internal_at(&self, base: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(format!("{base}{path}"))
            .header("x-internal-api-key", RELAY_KEY)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn ticket(&self, user: &User) -> String {
        let res = self.post(user, "/ws-tickets", &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["expiresIn"], 30);
        body["ticket"].as_str().unwrap().to_owned()
    }

    /// Runs a WebSocket action as the relay would.
    pub async fn action(&self, user: &User, action: &str, body: Value) -> Response {
        let request = json!({
            "connectionId": "conn-1",
            "identity": {"userId": user.id, "username": user.name},
            "body": body,
        });
        self.internal(&format!("/internal/ws/actions/{action}"), &request)
            .await
    }

    /// Waits for the relay stand-in to have received `n` publishes, and returns them.
    pub async fn published(&self, n: usize) -> Vec<Value> {
        self.relay
            .wait_for(n)
            .await
            .into_iter()
            .map(|(key, body)| {
                assert_eq!(key.as_deref(), Some(CHAT_KEY));
                body
            })
            .collect()
    }
}

/// One event of a relay's batch (`POST /internal/ws/actions`).
pub fn event(user: &User, connection: &str, action: &str, body: Value) -> Value {
    json!({
        "action": action,
        "connectionId": connection,
        "identity": {"userId": user.id, "username": user.name},
        "body": body,
    })
}

pub fn seqs(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}
