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

/// The binary on free ports with `DATA_DIR` under `root` and these variables (nothing else
/// from this process's environment but `PATH`).
fn launch(root: &std::path::Path, vars: &[(&str, &str)]) -> (Server, u16, u16) {
    let (port, ops) = (free_port(), free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_cloudchat"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .env("OPS_PORT", ops.to_string())
        .env("DATA_DIR", root.join("data"))
        .env("WEB_DIR", root.join("no-web-app"))
        .env("RUST_LOG", "warn")
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("starting the cloudchat binary");
    (Server(child), port, ops)
}

/// Waits for `/readyz` on the ops port.
async fn wait_ready(ops: u16) {
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(res) = http
            .get(format!("http://127.0.0.1:{ops}/readyz"))
            .send()
            .await
            && res.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the quick start never became ready");
}

/// The standard error of a start that must fail (and does, within 20 s).
fn refused(root: &std::path::Path, vars: &[(&str, &str)]) -> String {
    use std::io::Read;
    let (mut server, ..) = launch(root, vars);
    for _ in 0..200 {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(!status.success(), "exited successfully");
            let mut stderr = String::new();
            server
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return stderr;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("started when it should have refused");
}

async fn register(base: &str, name: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/auth/register"))
        .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "password123"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_services_settings_come_from_the_environment() {
    let root = TempDir::new("cloudchat-env");
    let (_server, port, ops) = launch(
        &root.0,
        &[
            // auth-service's: the quick start used to ignore these.
            ("BCRYPT_COST", "4"),
            ("AUTH_RATE_LIMIT_PER_IP_PER_MIN", "3"),
            ("ACCESS_TOKEN_TTL_SECS", "120"),
            // chat-service's.
            ("CHAT_MAX_ROOMS_OWNED", "1"),
        ],
    );
    wait_ready(ops).await;
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut answers = Vec::new();
    let mut token = String::new();
    for name in ["ann", "ben", "cat", "dan"] {
        let res = register(&base, name).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_keeps_its_key_and_refuses_what_is_missing() {
    let root = TempDir::new("cloudchat-prod");
    // PUBLIC_URL is required: links in mails and the allowed origin come from it.
    let stderr = refused(&root.0, &[("APP_ENV", "production")]);
    assert!(stderr.contains("PUBLIC_URL"), "{stderr}");
    // A placeholder signing key is refused, naming its variable.
    let stderr = refused(
        &root.0,
        &[
            ("APP_ENV", "production"),
            ("PUBLIC_URL", "https://chat.example.org"),
            ("JWT_PRIVATE_KEY", "change-me"),
        ],
    );
    assert!(stderr.contains("JWT_PRIVATE_KEY"), "{stderr}");
    // A development-only switch is refused too.
    let stderr = refused(
        &root.0,
        &[
            ("APP_ENV", "production"),
            ("PUBLIC_URL", "https://chat.example.org"),
            ("DEV_RETURN_RESET_LINK", "true"),
        ],
    );
    assert!(stderr.contains("DEV_RETURN_RESET_LINK"), "{stderr}");

    // Without JWT_PRIVATE_KEY it creates its key in DATA_DIR, owner-only, and keeps it: a
    // token issued before a restart still works after it.
    let production = [
        ("APP_ENV", "production"),
        ("PUBLIC_URL", "https://chat.example.org"),
    ];
    let (server, port, ops) = launch(&root.0, &production);
    wait_ready(ops).await;
    let base = format!("http://127.0.0.1:{port}");
    let res = register(&base, "erin").await;
    assert_eq!(res.status(), 201);
    let token = res.json::<Value>().await.unwrap()["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = root.0.join("data").join(auth_service::startup::KEY_FILE);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", key.display());
    }
    drop(server);
    let (_server, port, ops) = launch(&root.0, &production);
    wait_ready(ops).await;
    let res = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
