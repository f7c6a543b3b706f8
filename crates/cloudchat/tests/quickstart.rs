//! The one-process quick start, driven through its public port as a browser (or an
//! attacker) would: the web app's files, the API paths of nginx, a WebSocket with a ticket;
//! the front door's refusals, headers and limits; the loopback ops port; and owner-only data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{get_as, start};
use serde_json::{Value, json};
use test_stack::{Ws, frame_id, send_message};
use test_support::get_json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wire::{ClientAction, Reply, ServerFrame};

/// One raw HTTP/1.1 exchange (reqwest would normalise `..` and `%2e` away): the status,
/// the lower-cased headers and the body.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn send_raw(port: u16, bytes: &[u8]) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

async fn read_raw(mut stream: tokio::net::TcpStream) -> Raw {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .expect("the server answers and closes within 10 s")
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Raw {
        status,
        headers,
        body: body.to_owned(),
    }
}

async fn raw_get(port: u16, target: &str) -> Raw {
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    read_raw(send_raw(port, request.as_bytes()).await).await
}

/// nginx's security headers (nginx/snippets/security-headers.conf) with their values, the
/// CSP's connect-src at its default `'self'`; the headers whose value is an nginx variable
/// (HSTS on HTTPS only, the request id) are left out.
fn nginx_security_headers() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../nginx/snippets/security-headers.conf"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("add_header "))
        .filter_map(|rest| {
            let (name, value) = rest.split_once(' ')?;
            let value = value.trim().strip_suffix("always;")?.trim();
            let value = value.strip_prefix('"')?.strip_suffix('"')?;
            (!value.starts_with('$')).then(|| {
                (
                    name.to_ascii_lowercase(),
                    value.replace("$cloudchat_csp_connect_src", "'self'"),
                )
            })
        })
        .collect()
}

fn assert_security_headers(headers: &reqwest::header::HeaderMap, what: &str) {
    for (name, value) in cloudchat::front::SECURITY_HEADERS {
        assert_eq!(
            headers.get(*name).map(|v| v.to_str().unwrap()),
            Some(*value),
            "{name} on {what}"
        );
        assert_eq!(
            headers.get_all(*name).iter().count(),
            1,
            "one {name} on {what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_port_serves_the_app_the_api_and_the_socket() {
    let app = start(|_| {}).await;
    let base = app.base.clone();
    let http = reqwest::Client::new();

    // The web app, with its client-side routes falling back to index.html.
    for path in ["/", "/chat/5", "/my-rooms"] {
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.text().await.unwrap().contains("app"));
    }
    // The service worker: at the root (its scope is the whole app), revalidated every load.
    let res = http.get(format!("{base}/sw.js")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert!(res.text().await.unwrap().contains("push"));
    // The API, as nginx routes it.
    let res = http
        .post(format!("{base}/auth/register"))
        .json(
            &json!({"username": "alice", "email": "alice@example.com", "password": "password123"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert!(
        res.headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Path=/auth")
    );
    let token = res.json::<Value>().await.unwrap()["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let rooms = get_as(&http, &format!("{base}/rooms"), &token).await;
    assert_eq!(rooms[0]["name"], "general");
    // The data export streams through (auth-service, then chat-service behind it).
    let res = http
        .post(format!("{base}/users/me/export"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/jsonl; charset=utf-8"
    );
    let export = res.text().await.unwrap();
    let lines: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "export");
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "room" && l["name"] == "general")
    );
    assert_eq!(lines.last().unwrap()["type"], "end");
    let jwks = get_json(&http, &format!("{base}/.well-known/jwks.json")).await;
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    let ready = get_json(&http, &format!("{}/readyz", app.ops)).await;
    assert_eq!(ready["status"], "ready", "{ready}");

    // A WebSocket with a ticket, and a message that comes back to the sender's room.
    let ticket: Value = http
        .post(format!("{base}/ws-tickets"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!(
        "ws://127.0.0.1:{}/ws?ticket={}",
        app.port,
        ticket["ticket"].as_str().unwrap()
    );
    let origin = base.replace("127.0.0.1", "localhost");
    let mut ws = Ws::connect(&url, Some(&origin)).await.unwrap();
    let ready = ws.recv_ready().await;
    assert_eq!(ready.rooms, [1]);
    assert!(ready.expires_at > 0, "{ready:?}");
    let hello = send_message(1, "hello", Some("q-1"));
    ws.act("1", ClientAction::SendMessage(hello)).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(ws.recv_frame().await);
    }
    let ack = seen
        .iter()
        .find_map(|f| match &f.frame {
            ServerFrame::Ack { message, .. } => Some((&f.id, message)),
            _ => None,
        })
        .expect("an ack");
    assert_eq!(ack.0, &frame_id("1"));
    assert_eq!(ack.1.seq, 1);
    let delivered = seen
        .iter()
        .find_map(|f| match &f.frame {
            ServerFrame::Message { message } => Some(message),
            _ => None,
        })
        .expect("the message");
    assert_eq!(delivered.content, "hello");

    // A message posted over REST reaches the socket through chat-service → relay publish.
    let res = http
        .post(format!("{base}/rooms/1/messages"))
        .bearer_auth(&token)
        .json(&json!({"content": "via REST"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    match ws.recv_frame().await {
        Reply {
            frame: ServerFrame::Message { message },
            ..
        } => {
            assert_eq!(message.content, "via REST");
            assert_eq!(message.seq, 2);
        }
        other => panic!("expected the message, got {other:?}"),
    }

    // Presence, through the front door: the user's socket is open, so they are online.
    let me = ready.user_id;
    let presence = get_as(&http, &format!("{base}/presence?userIds={me}"), &token).await;
    assert_eq!(
        presence,
        json!([{"userId": me, "online": true, "lastSeenAt": null}])
    );

    // A digest's unsubscribe link reaches chat-service (its own page), never the web app.
    let link = format!("{base}/notifications/unsubscribe?user={me}&sig=forged");
    let res = http.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("This link is not valid"));
    let res = http.post(&link).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let problem: serde_json::Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_unsubscribe_link");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_and_encoded_dots_are_refused_before_routing() {
    let app = start(|_| {}).await;
    for target in [
        "/rooms/../internal/ws/connect",
        "/rooms/%2e%2e/internal/ws/connect",
        "/rooms/%2E%2E/internal/ws/connect",
        "/auth/..%2f..%2finternal",
        "/rooms/./1",
        "/rooms/1/..",
        "/rooms/%2e%2e%5cinternal",
        "//internal/publish",
        "/index.html/..",
    ] {
        let res = raw_get(app.port, target).await;
        assert_eq!(res.status, 400, "{target}: {}", res.body);
        assert_eq!(
            res.header("content-type"),
            Some("application/problem+json"),
            "{target}"
        );
        assert_eq!(res.json()["code"], "bad_path", "{target}");
        assert_eq!(
            res.header("x-content-type-options"),
            Some("nosniff"),
            "{target}"
        );
    }
    // A raw backslash never gets through either (refused by the HTTP parser or by us).
    assert_eq!(raw_get(app.port, "/rooms/..\\internal").await.status, 400);
    // An ordinary path still routes.
    let res = raw_get(app.port, "/rooms").await;
    assert_eq!(res.status, 401, "{}", res.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_and_operational_paths_live_on_the_loopback_ops_port_only() {
    let app = start(|_| {}).await;
    let http = reqwest::Client::new();
    for (method, path) in [
        (reqwest::Method::POST, "/internal/publish"),
        (reqwest::Method::GET, "/internal/connections/x"),
        (reqwest::Method::POST, "/internal/ws/connect"),
        (reqwest::Method::GET, "/internal/users/by-username/alice"),
        (reqwest::Method::GET, "/internalstuff"),
        (reqwest::Method::GET, "/metrics"),
        (reqwest::Method::GET, "/readyz"),
        (reqwest::Method::GET, "/healthz"),
    ] {
        let res = http
            .request(method.clone(), format!("{}{path}", app.base))
            .header("x-internal-api-key", "anything")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_security_headers(res.headers(), path);
        test_support::assert_problem(res, reqwest::StatusCode::NOT_FOUND, "not_found").await;
    }
    // The ops port answers them, on loopback.
    let health = get_json(&http, &format!("{}/healthz", app.ops)).await;
    assert_eq!(health["status"], "ok");
    let ready = get_json(&http, &format!("{}/readyz", app.ops)).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    let metrics = test_support::get_text(&http, &format!("{}/metrics", app.ops)).await;
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    // The relay's internal API is there, behind the keys.
    let res = http
        .post(format!("{}/internal/publish", app.ops))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    test_support::assert_problem(
        res,
        reqwest::StatusCode::UNAUTHORIZED,
        "invalid_internal_key",
    )
    .await;
    // `cloudchat healthcheck` probes the ops address.
    let ops_addr = app.ops.trim_start_matches("http://");
    assert_eq!(
        service_kit::healthcheck::run(ops_addr),
        std::process::ExitCode::SUCCESS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_nginx_security_headers() {
    // The quick start's list is nginx's list.
    let mut ours: Vec<(String, String)> = cloudchat::front::SECURITY_HEADERS
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    let mut nginx = nginx_security_headers();
    ours.sort();
    nginx.sort();
    assert_eq!(ours, nginx);

    let app = start(|_| {}).await;
    let http = reqwest::Client::new();
    for path in [
        "/",
        "/login",
        "/rooms",
        "/.well-known/jwks.json",
        "/nope/at/all",
    ] {
        let res = http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_security_headers(res.headers(), path);
    }
    let res = http
        .post(format!("{}/auth/login", app.base))
        .json(&json!({"email": "x@example.com", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_security_headers(res.headers(), "POST /auth/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_size_and_time_are_bounded() {
    let app = start(|q| {
        q.limits.header_timeout = Duration::from_secs(1);
        q.limits.body_timeout = Duration::from_secs(1);
        q.limits.max_body_bytes = 4096;
    })
    .await;
    let http = reqwest::Client::new();

    // A body over the limit: refused by its declared length, and when it is streamed.
    let res = http
        .post(format!("{}/auth/register", app.base))
        .header("content-type", "application/json")
        .body(vec![b' '; 5000])
        .send()
        .await
        .unwrap();
    test_support::assert_problem(
        res,
        reqwest::StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    )
    .await;
    let chunk = format!("{:x}\r\n{}\r\n", 3000, " ".repeat(3000));
    let chunked = format!(
        "POST /rooms HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}{chunk}0\r\n\r\n"
    );
    let res = read_raw(send_raw(app.port, chunked.as_bytes()).await).await;
    assert_eq!(res.status, 413, "{}", res.body);
    assert_eq!(res.json()["code"], "body_too_large");

    // A request line or headers past nginx's sizes.
    let long = format!("{}/rooms?q={}", app.base, "a".repeat(9000));
    let res = http.get(long).send().await.unwrap();
    test_support::assert_problem(res, reqwest::StatusCode::URI_TOO_LONG, "uri_too_long").await;
    let mut req = http.get(format!("{}/rooms", app.base));
    for i in 0..5 {
        req = req.header(format!("x-filler-{i}"), "b".repeat(8000));
    }
    let res = req.send().await.unwrap();
    test_support::assert_problem(
        res,
        reqwest::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    )
    .await;

    // A client that never finishes its request head is cut off (408, then closed).
    let stalled = send_raw(
        app.port,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1\r\n",
    )
    .await;
    let res = read_raw(stalled).await;
    assert_eq!(res.status, 408);

    // A client that never finishes its body gets a problem+json 408.
    let stalled = send_raw(
        app.port,
        b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"email\":",
    )
    .await;
    let res = read_raw(stalled).await;
    assert_eq!(res.status, 408, "{}", res.body);
    assert_eq!(res.json()["code"], "request_timeout");

    // And ordinary requests still pass.
    let res = http
        .post(format!("{}/auth/register", app.base))
        .json(&json!({"username": "bob", "email": "bob@example.com", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = start(|_| {}).await;
    // A write, so that both databases have their WAL files.
    let res = reqwest::Client::new()
        .post(format!("{}/auth/register", app.base))
        .json(
            &json!({"username": "carol", "email": "carol@example.com", "password": "password123"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let mode = |name: &str| {
        std::fs::metadata(app.data.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "the data directory");
    for file in [
        "auth.db",
        "auth.db-wal",
        "auth.db-shm",
        "chat.db",
        "chat.db-wal",
        "chat.db-shm",
        "jwt-signing-key.pem",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
}
