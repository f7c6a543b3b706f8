//! The one-process quick start, driven through its single public port as a browser would:
//! the web app's files, the API paths of nginx, a WebSocket with a ticket, and the internal
//! endpoints refused without the key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use test_support::{TempDir, get_json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn next_json(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Value {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_port_serves_the_app_the_api_and_the_socket() {
    let data = TempDir::new("cloudchat-quickstart");
    let web = TempDir::new("cloudchat-web");
    std::fs::write(
        web.0.join("index.html"),
        "<!doctype html><title>Cloud Chat</title>app",
    )
    .unwrap();
    let config = cloudchat::QuickStart {
        bind_addr: "127.0.0.1:0".into(),
        data_dir: data.0.clone(),
        web_dir: web.0.clone(),
        bcrypt_cost: 4,
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let running = cloudchat::start_with_listener(config, listener)
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", running.port);
    tokio::spawn(running.run_until_stopped());
    let http = reqwest::Client::new();

    // The web app, with its client-side routes falling back to index.html.
    for path in ["/", "/chat/5", "/my-rooms"] {
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.text().await.unwrap().contains("app"));
    }
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
    let rooms: Value = http
        .get(format!("{base}/rooms"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rooms[0]["name"], "general");
    let jwks = get_json(&http, &format!("{base}/.well-known/jwks.json")).await;
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    // Internal endpoints are not open on the public port.
    for path in ["/internal/publish", "/internal/ws/connect"] {
        let res = http
            .post(format!("{base}{path}"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            res.status() == 401 || res.status() == 404,
            "{path}: {}",
            res.status()
        );
    }
    let ready = get_json(&http, &format!("{base}/readyz")).await;
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
        base.rsplit(':').next().unwrap(),
        ticket["ticket"].as_str().unwrap()
    );
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "origin",
        base.replace("127.0.0.1", "localhost").parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let ready = next_json(&mut ws).await;
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["rooms"], json!([1]));
    ws.send(Message::text(json!({"action": "sendMessage", "id": "1", "roomId": 1, "content": "hello", "clientMsgId": "q-1"}).to_string()))
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(next_json(&mut ws).await);
    }
    let ack = seen.iter().find(|f| f["type"] == "ack").expect("an ack");
    assert_eq!(ack["id"], "1");
    assert_eq!(ack["message"]["seq"], 1);
    let delivered = seen
        .iter()
        .find(|f| f["type"] == "message")
        .expect("the message");
    assert_eq!(delivered["message"]["content"], "hello");

    // A message posted over REST reaches the socket through chat-service → relay publish.
    let res = http
        .post(format!("{base}/rooms/1/messages"))
        .bearer_auth(&token)
        .json(&json!({"content": "via REST"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let pushed = next_json(&mut ws).await;
    assert_eq!(pushed["type"], "message");
    assert_eq!(pushed["message"]["content"], "via REST");
    assert_eq!(pushed["message"]["seq"], 2);
}
