//! The `cloudchat` binary reads each service's settings from the environment, under the names
//! the separate services use (`.env.example`): started as a user would, with a few of them set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use test_support::TempDir;

/// The running binary, stopped on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_services_settings_come_from_the_environment() {
    let root = TempDir::new("cloudchat-env");
    let (port, ops) = (free_port(), free_port());
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_cloudchat"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORT", port.to_string())
            .env("OPS_PORT", ops.to_string())
            .env("DATA_DIR", root.0.join("data"))
            .env("WEB_DIR", root.0.join("no-web-app"))
            .env("RUST_LOG", "warn")
            // auth-service's: the quick start used to ignore these.
            .env("BCRYPT_COST", "4")
            .env("AUTH_RATE_LIMIT_PER_IP_PER_MIN", "3")
            .env("ACCESS_TOKEN_TTL_SECS", "120")
            // chat-service's.
            .env("CHAT_MAX_ROOMS_OWNED", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the cloudchat binary"),
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(res) = http
            .get(format!("http://127.0.0.1:{ops}/readyz"))
            .send()
            .await
            && res.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the quick start never became ready");

    let mut answers = Vec::new();
    let mut token = String::new();
    for name in ["ann", "ben", "cat", "dan"] {
        let res = http
            .post(format!("{base}/auth/register"))
            .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "password123"}))
            .send()
            .await
            .unwrap();
        answers.push(res.status().as_u16());
        if res.status() == 201 {
            let body: Value = res.json().await.unwrap();
            token = body["accessToken"].as_str().unwrap().to_owned();
        }
    }
    // AUTH_RATE_LIMIT_PER_IP_PER_MIN=3: the fourth registration from this address waits.
    assert_eq!(answers, [201, 201, 201, 429]);
    // ACCESS_TOKEN_TTL_SECS=120.
    let claims = claims(&token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    // CHAT_MAX_ROOMS_OWNED=1.
    let create = |name: &'static str| {
        http.post(format!("{base}/rooms"))
            .bearer_auth(&token)
            .json(&json!({ "name": name }))
            .send()
    };
    assert_eq!(create("first").await.unwrap().status(), 201);
    let res = create("second").await.unwrap();
    assert_eq!(res.status(), 403);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "too_many_rooms_owned");
}
