//! A quick start on free ports with a one-line web app, for the integration tests.
#![allow(dead_code)] // each test crate uses its part

use std::path::PathBuf;

use test_support::TempDir;

/// A running quick start (it stops with the test's runtime).
pub(crate) struct QuickStart {
    pub base: String,
    pub port: u16,
    pub ops: String,
    pub data: PathBuf,
    _dirs: Vec<TempDir>,
}

/// A quick start on a new DATA_DIR (not created yet: the quick start creates it).
pub(crate) async fn start(tweak: impl FnOnce(&mut cloudchat::QuickStart)) -> QuickStart {
    let root = TempDir::new("cloudchat-quickstart");
    let mut app = start_in(root.0.join("data"), tweak).await;
    app._dirs.push(root);
    app
}

/// A quick start on `data`, which the caller keeps.
pub(crate) async fn start_in(
    data: PathBuf,
    tweak: impl FnOnce(&mut cloudchat::QuickStart),
) -> QuickStart {
    let web = TempDir::new("cloudchat-web");
    std::fs::write(
        web.0.join("index.html"),
        "<!doctype html><title>Cloud Chat</title>app",
    )
    .unwrap();
    std::fs::write(
        web.0.join("sw.js"),
        "self.addEventListener('push', () => {});",
    )
    .unwrap();
    let mut config = cloudchat::QuickStart::development(data.clone(), web.0.clone());
    config.bind_addr = "127.0.0.1:0".into();
    config.ops_addr = "127.0.0.1:0".into();
    config.auth.bcrypt_cost = 4;
    tweak(&mut config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let running = cloudchat::start_with_listener(config, listener)
        .await
        .unwrap();
    let (port, ops_port) = (running.port, running.ops_port);
    tokio::spawn(running.run_until_stopped());
    QuickStart {
        base: format!("http://127.0.0.1:{port}"),
        port,
        ops: format!("http://127.0.0.1:{ops_port}"),
        data,
        _dirs: vec![web],
    }
}

/// `GET url` with the access token, its JSON body.
pub(crate) async fn get_as(http: &reqwest::Client, url: &str, token: &str) -> serde_json::Value {
    let res = http.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    res.json().await.unwrap()
}

/// Registers `name` (`name@example.com`, password `password123`): the access token.
pub(crate) async fn register(http: &reqwest::Client, base: &str, name: &str) -> String {
    let res = http
        .post(format!("{base}/auth/register"))
        .json(&serde_json::json!({
            "username": name, "email": format!("{name}@example.com"), "password": "password123"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "register {name}");
    let body: serde_json::Value = res.json().await.unwrap();
    body["accessToken"].as_str().unwrap().to_owned()
}
