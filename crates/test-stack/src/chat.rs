//! chat-service on its own database in front of an [`AuthStack`], and the REST calls users
//! make to it.

use std::net::TcpListener;
use std::ops::Deref;

use actix_web::web;
use chat_service::config::Settings;
use chat_service::startup::{AppState, Application};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use test_support::{Engine, TempDir, TestDatabase};

use crate::{AuthStack, User};

/// auth-service and chat-service, chat-service publishing to the relay URL the test gave.
/// Dereferences to its [`AuthStack`].
pub struct ChatStack {
    auth_stack: AuthStack,
    /// chat-service's base URL.
    pub chat: String,
    pub chat_state: web::Data<AppState>,
    /// The settings chat-service started with (a replica starts with the same).
    pub chat_settings: Settings,
    _db: TestDatabase,
    /// The local file storage of this chat-service (unless the test chose another).
    pub files_dir: std::sync::Arc<TempDir>,
}

impl Deref for ChatStack {
    type Target = AuthStack;

    fn deref(&self) -> &AuthStack {
        &self.auth_stack
    }
}

impl ChatStack {
    /// Starts auth-service (tweaked by `auth`; it delivers user events to this chat-service),
    /// then chat-service (tweaked by `chat`) publishing to `relay_url`.
    pub async fn spawn(
        engine: Engine,
        relay_url: &str,
        auth: impl FnOnce(&mut auth_service::config::Settings),
        chat: impl FnOnce(&mut Settings),
    ) -> Self {
        // Bound first: auth-service delivers user events (role, suspension) to chat-service.
        let chat_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let chat_url = format!("http://{}", chat_listener.local_addr().unwrap());
        let auth_stack = AuthStack::spawn(engine, |a| {
            a.chat_url = Some(chat_url);
            auth(a)
        })
        .await;
        let db = TestDatabase::create(engine).await;
        let mut settings = Settings::development(&db.url, &auth_stack.auth);
        settings.internal_keys = test_support::internal_keys();
        settings.relay_url = Some(relay_url.to_owned());
        let files_dir = std::sync::Arc::new(TempDir::new("cloudchat-files"));
        settings.files.storage = chat_service::config::StorageConfig::Local(files_dir.0.clone());
        chat(&mut settings);
        let (chat, chat_state) = start_chat(settings.clone(), chat_listener).await;
        Self {
            auth_stack,
            chat,
            chat_state,
            chat_settings: settings,
            _db: db,
            files_dir,
        }
    }

    /// A second chat-service replica on the same database: its base URL.
    pub async fn second_replica(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        start_chat(self.chat_settings.clone(), listener).await.0
    }

    /// The URL of `path` on chat-service.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.chat)
    }

    /// A call to chat-service with the user's access token, and a JSON body if any.
    async fn call(
        &self,
        method: Method,
        user: &User,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&user.token);
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, user: &User, path: &str) -> Response {
        self.call(Method::GET, user, path, None).await
    }

    pub async fn post(&self, user: &User, path: &str, body: &Value) -> Response {
        self.call(Method::POST, user, path, Some(body)).await
    }

    pub async fn delete(&self, user: &User, path: &str) -> Response {
        self.call(Method::DELETE, user, path, None).await
    }

    pub async fn put(&self, user: &User, path: &str, body: &Value) -> Response {
        self.call(Method::PUT, user, path, Some(body)).await
    }

    pub async fn patch(&self, user: &User, path: &str, body: &Value) -> Response {
        self.call(Method::PATCH, user, path, Some(body)).await
    }

    /// A WebSocket ticket, checked to live as long as chat-service's setting says.
    pub async fn ticket(&self, user: &User) -> String {
        let res = self.post(user, "/ws-tickets", &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["expiresIn"], self.chat_settings.ticket_ttl.as_secs());
        body["ticket"].as_str().unwrap().to_owned()
    }

    /// Creates a room and returns its id.
    pub async fn create_room(&self, owner: &User, name: &str) -> i64 {
        let res = self.post(owner, "/rooms", &json!({"name": name})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    }

    pub async fn add_member(&self, owner: &User, room: i64, username: &str) -> Response {
        let path = format!("/rooms/{room}/members");
        self.post(owner, &path, &json!({"username": username}))
            .await
    }

    /// Adds `member` to the room, and checks that it was added.
    pub async fn add_member_ok(&self, owner: &User, room: i64, member: &User) {
        let res = self.add_member(owner, room, &member.name).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    /// Removes `member` from the room, and checks that it was removed.
    pub async fn remove_member(&self, owner: &User, room: i64, member: &User) {
        let path = format!("/rooms/{room}/members/{}", member.id);
        let res = self.delete(owner, &path).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    pub async fn send(&self, user: &User, room: i64, content: &str) -> Response {
        let path = format!("/rooms/{room}/messages");
        self.post(user, &path, &json!({"content": content})).await
    }

    /// Sends and returns the stored message.
    pub async fn send_ok(&self, user: &User, room: i64, content: &str) -> Value {
        let res = self.send(user, room, content).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    /// A page of the room's history (`query` is the query string, with its `?`).
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
}

async fn start_chat(settings: Settings, listener: TcpListener) -> (String, web::Data<AppState>) {
    let app = Application::build_with_listener(settings, listener)
        .await
        .expect("building chat-service");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    (address, state)
}
