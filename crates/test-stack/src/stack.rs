//! The whole stack: auth-service, chat-service behind a [`Gate`], and one or more relays, with
//! sockets and the relays' internal API.

use std::net::TcpListener;
use std::ops::Deref;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::Value;
use test_support::{CHAT_KEY, Engine};
use tokio::task::JoinHandle;
use uuid::Uuid;
use wire::protocol::Ready;
use wire::{Delivery, Publish, ServerFrame, Target};
use ws_relay::startup::Stopper;
use ws_relay::{Application, Relay, Settings};

use crate::{ChatStack, GENERAL, Gate, ORIGIN, REDIS_URL, User, Ws};

/// A running relay.
pub struct RelayNode {
    pub http: String,
    pub ws: String,
    pub relay: Relay,
    pub stopper: Stopper,
    pub server: JoinHandle<std::io::Result<()>>,
}

/// auth-service, chat-service (reached by the relays through [`Stack::gate`]) and a relay.
/// Dereferences to its [`ChatStack`].
pub struct Stack {
    chat_stack: ChatStack,
    pub gate: Gate,
    pub relay: RelayNode,
    pub relay_settings: Settings,
}

impl Deref for Stack {
    type Target = ChatStack;

    fn deref(&self) -> &ChatStack {
        &self.chat_stack
    }
}

type Tweak<S> = Box<dyn FnOnce(&mut S)>;

/// What a test may change before the stack starts.
pub struct Options {
    pub engine: Engine,
    pub access_ttl: Duration,
    pub redis_prefix: Option<String>,
    pub relay: Tweak<Settings>,
    pub chat: Tweak<chat_service::config::Settings>,
    pub auth: Tweak<auth_service::config::Settings>,
}

impl Options {
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            access_ttl: Duration::from_secs(900),
            redis_prefix: None,
            relay: Box::new(|_| {}),
            chat: Box::new(|_| {}),
            auth: Box::new(|_| {}),
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

    pub fn auth(
        mut self,
        tweak: impl FnOnce(&mut auth_service::config::Settings) + 'static,
    ) -> Self {
        self.auth = Box::new(tweak);
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

/// A publish that delivers one frame to one target.
pub fn deliver(target: Target, payload: ServerFrame) -> Publish {
    Publish {
        deliveries: vec![Delivery { target, payload }],
        control: Vec::new(),
    }
}

/// A relay's test settings for this chat-service and auth-service.
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

pub async fn spawn_stack(engine: Engine) -> Stack {
    spawn_stack_with(Options::new(engine)).await
}

pub async fn spawn_stack_with(options: Options) -> Stack {
    service_kit::telemetry::init();
    // Bound first: auth-service and chat-service publish to it.
    let relay_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay_http = format!("http://{}", relay_listener.local_addr().unwrap());
    let chat_stack = ChatStack::spawn(
        options.engine,
        &relay_http,
        |a| {
            a.access_ttl = options.access_ttl;
            a.relay_url = Some(relay_http.clone());
            (options.auth)(a)
        },
        |c| {
            c.send_limit = 100_000;
            (options.chat)(c)
        },
    )
    .await;
    let chat_port = chat_stack.chat.rsplit(':').next().unwrap().parse().unwrap();
    let gate = Gate::start(chat_port).await;

    let mut settings = relay_settings(&gate.url, &chat_stack.auth);
    if let Some(prefix) = &options.redis_prefix {
        settings.redis_url = Some(REDIS_URL.into());
        settings.redis_prefix = prefix.clone();
    }
    (options.relay)(&mut settings);
    let relay = start_relay(settings.clone(), relay_listener).await;
    Stack {
        chat_stack,
        gate,
        relay,
        relay_settings: settings,
    }
}

impl Stack {
    /// Another relay for the same chat-service (and the same Redis channel, if any).
    pub async fn second_relay(&self) -> RelayNode {
        let mut settings = self.relay_settings.clone();
        settings.relay_id = format!("test-relay-b-{}", &Uuid::new_v4().simple().to_string()[..6]);
        start_relay(settings, TcpListener::bind("127.0.0.1:0").unwrap()).await
    }

    /// Opens a socket with a fresh ticket on `node` and reads its `ready`.
    pub async fn connect_to(&self, node: &RelayNode, user: &User) -> (Ws, Ready) {
        let ticket = self.ticket(user).await;
        let mut ws = Ws::connect(&format!("{}?ticket={ticket}", node.ws), Some(ORIGIN))
            .await
            .unwrap_or_else(|status| panic!("connect refused with {status}"));
        let ready = ws.recv_ready().await;
        // The access token's expiry, in Unix seconds: within its lifetime from now.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let expires_at = ready.expires_at;
        assert!(
            expires_at > now && expires_at <= now + 24 * 3600,
            "{ready:?}"
        );
        (ws, ready)
    }

    pub async fn connect(&self, user: &User) -> Ws {
        self.connect_to(&self.relay, user).await.0
    }

    /// A call to the relay's internal API, as chat-service makes it.
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
        let typing = ServerFrame::Typing {
            room_id: i as i64,
            user_id: Uuid::nil(),
            username: filler.to_owned(),
        };
        self.publish(&self.relay, &deliver(Target::Room(GENERAL), typing))
            .await;
    }

    /// `POST /internal/publish` on `node`, checked to be accepted.
    pub async fn publish(&self, node: &RelayNode, body: &Publish) {
        let body = serde_json::to_value(body).unwrap();
        let res = self
            .internal(node, reqwest::Method::POST, "/internal/publish", Some(body))
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
}
