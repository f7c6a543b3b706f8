//! The whole stack on port 0: real auth-service and chat-service (on SQLite or PostgreSQL),
//! one or more relays, and WebSocket clients. chat-service sits behind a [`Gate`], a TCP
//! proxy the tests can cut or stall to play "chat-service stopped" and "chat-service slow".

use std::net::TcpListener;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, TempDir, TestDatabase};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;
use ws_relay::startup::Stopper;
use ws_relay::{Application, Relay, Settings};

pub use test_support::{AUTH_KEY, CHAT_KEY, RELAY_KEY, assert_problem};
pub const ORIGIN: &str = "http://localhost:8080";
pub const GENERAL: i64 = 1;
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Receiving waits at most this long for an expected frame.
pub const WAIT: Duration = Duration::from_secs(5);

pub struct RelayNode {
    pub http: String,
    pub ws: String,
    pub relay: Relay,
    pub stopper: Stopper,
    pub server: JoinHandle<std::io::Result<()>>,
}

pub struct Stack {
    pub auth: String,
    pub chat: String,
    pub gate: Gate,
    pub relay: RelayNode,
    pub client: reqwest::Client,
    pub relay_settings: Settings,
    _dbs: (TestDatabase, TestDatabase),
    _data: TempDir,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub token: String,
}

/// What a test may change before the stack starts.
pub struct Options {
    pub engine: Engine,
    pub access_ttl: Duration,
    pub redis_prefix: Option<String>,
    pub relay: Box<dyn FnOnce(&mut Settings)>,
    pub chat: Box<dyn FnOnce(&mut chat_service::config::Settings)>,
}

impl Options {
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            access_ttl: Duration::from_secs(900),
            redis_prefix: None,
            relay: Box::new(|_| {}),
            chat: Box::new(|_| {}),
        }
    }

    pub fn relay(mut self, tweak: impl FnOnce(&mut Settings) + 'static) -> Self {
        self.relay = Box::new(tweak);
        self
    }

    pub fn chat(
        mut self,
        tweak: impl FnOnce(&mut chat_service::config::Settings) + 'static,
    ) -> Self {
        self.chat = Box::new(tweak);
        self
    }

    /// chat-service publishes to a relay that is not there: every control item and delivery
    /// that starts in a REST call is lost (what the rooms re-check must repair).
    pub fn chat_publishes_nowhere(self) -> Self {
        let nowhere = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", listener.local_addr().unwrap())
        };
        self.chat(move |c| c.relay_url = Some(nowhere))
    }
}

pub async fn spawn_stack(engine: Engine) -> Stack {
    spawn_stack_with(Options::new(engine)).await
}

pub fn relay_settings(chat_url: &str, auth_url: &str) -> Settings {
    let mut s = Settings::development(chat_url, auth_url);
    s.bind_addr = "127.0.0.1:0".into();
    s.internal_keys = test_support::internal_keys();
    s.allowed_origins = vec![ORIGIN.into()];
    s.relay_id = format!("test-relay-{}", &Uuid::new_v4().simple().to_string()[..6]);
    s.shutdown_drain = Duration::from_secs(5);
    s.chat_timeout = Duration::from_secs(2);
    // Every test connects from 127.0.0.1; the one about the connect limit lowers it.
    s.limits.connects_per_minute = 100_000;
    s
}

pub async fn spawn_stack_with(options: Options) -> Stack {
    service_kit::telemetry::init();
    let relay_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay_http = format!("http://{}", relay_listener.local_addr().unwrap());

    let auth_db = TestDatabase::create(options.engine).await;
    let data = TempDir::new("cloudchat-relay-test");
    let mut auth_settings = auth_service::config::Settings::development(&auth_db.url, &data.0);
    auth_settings.internal_keys = test_support::internal_keys();
    auth_settings.bcrypt_cost = 4;
    auth_settings.rate_limits.per_ip_per_min = 100_000;
    auth_settings.access_ttl = options.access_ttl;
    auth_settings.relay_url = Some(relay_http.clone());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let auth_app = auth_service::startup::Application::build_with_listener(auth_settings, listener)
        .await
        .expect("building auth-service");
    let auth = format!("http://127.0.0.1:{}", auth_app.port());
    tokio::spawn(auth_app.run_until_stopped());

    let chat_db = TestDatabase::create(options.engine).await;
    let mut chat_settings = chat_service::config::Settings::development(&chat_db.url, &auth);
    chat_settings.internal_keys = test_support::internal_keys();
    chat_settings.relay_url = Some(relay_http.clone());
    chat_settings.send_limit = 100_000;
    (options.chat)(&mut chat_settings);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let chat_app = chat_service::startup::Application::build_with_listener(chat_settings, listener)
        .await
        .expect("building chat-service");
    let chat = format!("http://127.0.0.1:{}", chat_app.port());
    let gate = Gate::start(chat_app.port()).await;
    tokio::spawn(chat_app.run_until_stopped());

    let mut settings = relay_settings(&gate.url, &auth);
    if let Some(prefix) = &options.redis_prefix {
        settings.redis_url = Some(REDIS_URL.into());
        settings.redis_prefix = prefix.clone();
    }
    (options.relay)(&mut settings);
    let relay = start_relay(settings.clone(), relay_listener).await;
    Stack {
        auth,
        chat,
        gate,
        relay,
        client: reqwest::Client::new(),
        relay_settings: settings,
        _dbs: (auth_db, chat_db),
        _data: data,
    }
}

pub async fn start_relay(settings: Settings, listener: TcpListener) -> RelayNode {
    let app = Application::build_with_listener(settings, listener)
        .await
        .expect("building ws-relay");
    let port = app.port();
    let relay = app.relay();
    let stopper = app.stopper();
    let server = tokio::spawn(app.run_until_stopped());
    RelayNode {
        http: format!("http://127.0.0.1:{port}"),
        ws: format!("ws://127.0.0.1:{port}/ws"),
        relay,
        stopper,
        server,
    }
}

impl Stack {
    /// Another relay for the same chat-service (and the same Redis channel, if any).
    pub async fn second_relay(&self) -> RelayNode {
        let mut settings = self.relay_settings.clone();
        settings.relay_id = format!("test-relay-b-{}", &Uuid::new_v4().simple().to_string()[..6]);
        start_relay(settings, TcpListener::bind("127.0.0.1:0").unwrap()).await
    }

    pub async fn signup(&self, name: &str) -> User {
        let email = format!("{name}@example.com");
        let res = self
            .client
            .post(format!("{}/auth/register", self.auth))
            .json(&json!({"username": name, "email": email, "password": "password123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "register {name}");
        let body: Value = res.json().await.unwrap();
        User {
            id: body["user"]["id"].as_str().unwrap().parse().unwrap(),
            name: name.to_owned(),
            email,
            token: body["accessToken"].as_str().unwrap().to_owned(),
        }
    }

    /// A fresh access token for the user.
    pub async fn login(&self, user: &User) -> String {
        let res = self
            .client
            .post(format!("{}/auth/login", self.auth))
            .json(&json!({"email": user.email, "password": "password123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()["accessToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// POSTs `body` to auth-service, expects 200, returns the answer.
    async fn auth_ok(&self, path: &str, body: &Value) -> Value {
        let res = self
            .client
            .post(format!("{}{path}", self.auth))
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        res.json().await.unwrap()
    }

    /// Another log-in of `user`: the user with that session's access token, and the session's
    /// refresh token.
    pub async fn login_session(&self, user: &User) -> (User, String) {
        let body = self
            .auth_ok(
                "/auth/login",
                &json!({"email": user.email, "password": "password123"}),
            )
            .await;
        let session = User {
            token: body["accessToken"].as_str().unwrap().to_owned(),
            ..user.clone()
        };
        (session, body["refreshToken"].as_str().unwrap().to_owned())
    }

    /// `POST /auth/refresh`: the session's next access and refresh tokens.
    pub async fn refresh(&self, refresh_token: &str) -> (String, String) {
        let body = self
            .auth_ok("/auth/refresh", &json!({"refreshToken": refresh_token}))
            .await;
        let token = |k: &str| body[k].as_str().unwrap().to_owned();
        (token("accessToken"), token("refreshToken"))
    }

    pub async fn chat_post(&self, user: &User, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.chat))
            .bearer_auth(&user.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn ticket(&self, user: &User) -> String {
        let res = self.chat_post(user, "/ws-tickets", &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["ticket"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn create_room(&self, owner: &User, name: &str) -> i64 {
        let res = self
            .chat_post(owner, "/rooms", &json!({"name": name}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    }

    pub async fn add_member(&self, owner: &User, room: i64, member: &User) {
        let res = self
            .chat_post(
                owner,
                &format!("/rooms/{room}/members"),
                &json!({"username": member.name}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    pub async fn remove_member(&self, owner: &User, room: i64, member: &User) {
        let res = self
            .client
            .delete(format!("{}/rooms/{room}/members/{}", self.chat, member.id))
            .bearer_auth(&owner.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    pub async fn send_rest(&self, user: &User, room: i64, content: &str) -> Value {
        let res = self
            .chat_post(
                user,
                &format!("/rooms/{room}/messages"),
                &json!({"content": content}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    pub async fn logout_all(&self, user: &User) {
        let res = self
            .client
            .post(format!("{}/auth/logout-all", self.auth))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    /// Opens a socket with a fresh ticket on `node` and reads its `ready`.
    pub async fn connect_to(&self, node: &RelayNode, user: &User) -> (Ws, Value) {
        let ticket = self.ticket(user).await;
        let mut ws = Ws::connect(&format!("{}?ticket={ticket}", node.ws), Some(ORIGIN))
            .await
            .unwrap_or_else(|status| panic!("connect refused with {status}"));
        let ready = ws.recv().await;
        assert_eq!(ready["type"], "ready", "{ready}");
        // The access token's expiry, in Unix seconds: within its lifetime from now.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let expires_at = ready["expiresAt"].as_i64().expect("ready.expiresAt");
        assert!(expires_at > now && expires_at <= now + 24 * 3600, "{ready}");
        (ws, ready)
    }

    pub async fn connect(&self, user: &User) -> Ws {
        self.connect_to(&self.relay, user).await.0
    }

    pub async fn internal(
        &self,
        node: &RelayNode,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", node.http))
            .header("x-internal-api-key", CHAT_KEY);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    /// Publishes a `typing` frame to `general` that carries `i` as its room and `filler` as
    /// its username (a real frame: the relay takes only those).
    pub async fn publish_bulk(&self, i: usize, filler: &str) {
        self.publish(
            &self.relay,
            json!({"deliveries": [{"target": {"room": GENERAL}, "payload": {"type": "typing", "roomId": i, "userId": uuid::Uuid::nil(), "username": filler}}]}),
        )
        .await;
    }

    pub async fn publish(&self, node: &RelayNode, body: Value) {
        let res = self
            .internal(node, reqwest::Method::POST, "/internal/publish", Some(body))
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
}

/// A WebSocket upgrade request sent with plain HTTP, to read a refusal's problem+json.
pub async fn upgrade_request(url: &str, protocols: Option<&str>) -> reqwest::Response {
    let url = url.replacen("ws://", "http://", 1);
    let mut req = reqwest::Client::new()
        .get(url)
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    if let Some(p) = protocols {
        req = req.header("sec-websocket-protocol", p);
    }
    req.send().await.unwrap()
}

/// A private redis-server on its own port, killed on drop (Redis "cut off").
pub struct RedisServer {
    child: std::process::Child,
    pub port: u16,
}

impl RedisServer {
    pub fn start(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed for the Redis outage tests");
        Self { child, port }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port below Linux's ephemeral range (32768+): while a private Redis is down, no
/// outgoing connection or `bind(0)` elsewhere can take its port.
pub fn free_port() -> u16 {
    loop {
        let port = 20_000 + (Uuid::new_v4().as_u128() % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A fresh Redis channel prefix.
pub fn prefix() -> String {
    format!("cctest-{}", Uuid::new_v4().simple())
}

/// `GET /readyz` of a relay.
pub async fn ready(node: &RelayNode) -> (StatusCode, Value) {
    let res = reqwest::get(format!("{}/readyz", node.http)).await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or_default())
}

pub async fn wait_ready(node: &RelayNode) {
    // Generous: after an outage the subscriber retries with a backoff of up to 5 s.
    eventually_within(
        "the relay is subscribed to Redis (is Redis running?)",
        Duration::from_secs(20),
        || async { ready(node).await.0 == StatusCode::OK },
    )
    .await;
}

/// The rooms a connection is subscribed to, from the relay's @connections API.
pub async fn rooms_of(stack: &Stack, node: &RelayNode, connection_id: &str) -> Vec<i64> {
    let res = stack
        .internal(
            node,
            reqwest::Method::GET,
            &format!("/internal/connections/{connection_id}"),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let info: Value = res.json().await.unwrap();
    serde_json::from_value(info["rooms"].clone()).unwrap()
}

/// A WebSocket client.
pub struct Ws {
    pub inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The subprotocol the server answered with.
    pub protocol: Option<String>,
}

pub type Refusal = StatusCode;

impl Ws {
    pub async fn connect(url: &str, origin: Option<&str>) -> Result<Ws, Refusal> {
        Self::connect_with(url, origin, None).await
    }

    /// `protocols`: the `Sec-WebSocket-Protocol` header, if any.
    pub async fn connect_with(
        url: &str,
        origin: Option<&str>,
        protocols: Option<&str>,
    ) -> Result<Ws, Refusal> {
        let mut request = url.into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(origin).unwrap());
        }
        if let Some(p) = protocols {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_str(p).unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((inner, response)) => Ok(Ws {
                inner,
                protocol: response
                    .headers()
                    .get("sec-websocket-protocol")
                    .map(|v| v.to_str().unwrap().to_owned()),
            }),
            Err(tungstenite::Error::Http(response)) => {
                Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
            }
            Err(other) => panic!("WebSocket connect failed: {other}"),
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.inner
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    pub async fn send_message(&mut self, message: Message) {
        self.inner.send(message).await.unwrap();
    }

    /// The next JSON frame (pings and pongs skipped); panics on a close or after [`WAIT`].
    pub async fn recv(&mut self) -> Value {
        self.try_recv(WAIT).await.expect("expected a frame")
    }

    /// The next JSON frame within `wait`, or `None`.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.inner.next()).await;
            match next {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(&text).unwrap());
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => {}
                Ok(other) => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next frame of type `kind`, skipping typing and presence noise.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
            assert!(
                matches!(frame["type"].as_str(), Some("typing" | "presence")),
                "expected {kind}, got {frame}"
            );
        }
    }

    /// Asserts that no text frame arrives for `wait`.
    pub async fn silent(&mut self, wait: Duration) {
        if let Some(frame) = self.try_recv(wait).await {
            panic!("expected silence, got {frame}");
        }
    }

    /// Reads until the server's close frame; returns its code and reason (text frames before
    /// it are counted).
    pub async fn closed(&mut self, wait: Duration) -> (Option<u16>, String, usize) {
        let deadline = tokio::time::Instant::now() + wait;
        let mut texts = 0;
        loop {
            match tokio::time::timeout_at(deadline, self.inner.next()).await {
                Err(_) => panic!("no close within {wait:?}"),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return match frame {
                        Some(f) => (Some(u16::from(f.code)), f.reason.to_string(), texts),
                        None => (None, String::new(), texts),
                    };
                }
                Ok(Some(Ok(Message::Text(_)))) => texts += 1,
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("socket error before the close frame: {e}"),
                Ok(None) => panic!("socket ended without a close frame"),
            }
        }
    }
}

/// A TCP proxy in front of chat-service.
pub struct Gate {
    pub url: String,
    mode: Arc<AtomicU8>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

const OPEN: u8 = 0;
const REFUSE: u8 = 1;
const HANG: u8 = 2;

impl Gate {
    pub async fn start(target_port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(AtomicU8::new(OPEN));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (m, c) = (mode.clone(), conns.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                match m.load(Ordering::SeqCst) {
                    REFUSE => drop(inbound),
                    HANG => {
                        let task = tokio::spawn(async move {
                            let mut sink = tokio::io::sink();
                            let _ = tokio::io::copy(&mut inbound, &mut sink).await;
                        });
                        c.lock().unwrap().push(task);
                    }
                    _ => {
                        let task = tokio::spawn(async move {
                            if let Ok(mut outbound) =
                                TcpStream::connect(("127.0.0.1", target_port)).await
                            {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                            }
                        });
                        c.lock().unwrap().push(task);
                    }
                }
            }
        });
        Self { url, mode, conns }
    }

    fn cut_existing(&self) {
        for task in self.conns.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// chat-service "stopped": connections are closed at once.
    pub fn refuse(&self) {
        self.mode.store(REFUSE, Ordering::SeqCst);
        self.cut_existing();
    }

    /// chat-service "hung": connections are accepted and never answered.
    pub fn hang(&self) {
        self.mode.store(HANG, Ordering::SeqCst);
        self.cut_existing();
    }

    pub fn open(&self) {
        self.mode.store(OPEN, Ordering::SeqCst);
    }
}

/// The value of a Prometheus counter or gauge line that starts with `prefix`, summed.
pub async fn metric(node: &RelayNode, prefix: &str) -> f64 {
    let text = reqwest::get(format!("{}/metrics", node.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits until `check` holds, up to [`WAIT`].
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_within(what, WAIT, check).await
}

/// Waits until `check` holds, up to `wait`.
pub async fn eventually_within<F, Fut>(what: &str, wait: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + wait;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub fn client_msg_id() -> String {
    Uuid::new_v4().to_string()
}
