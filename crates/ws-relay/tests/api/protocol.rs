//! The relay's own protection and protocol rules, over the real stack (SQLite): refusals
//! before the upgrade, frame limits, routing errors, rate limits, slow consumers, chat-service
//! failures, heartbeats and shutdown.

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use serde_json::json;
use test_support::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use wire::protocol::Sync;
use wire::{ClientAction, ClientFrame, ErrorCode, FrameId, Reply, ServerFrame, Target};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reused_and_cross_origin_connects_are_refused_before_the_upgrade() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;
    let ws = &stack.relay.ws;

    assert_eq!(
        Ws::connect(&format!("{ws}?ticket=not-a-ticket"), Some(ORIGIN))
            .await
            .err(),
        Some(reqwest::StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        Ws::connect(ws, Some(ORIGIN)).await.err(),
        Some(reqwest::StatusCode::UNAUTHORIZED)
    );

    // A wrong Origin is refused before chat-service is asked: the ticket still works after.
    let ticket = stack.ticket(&alice).await;
    let url = format!("{ws}?ticket={ticket}");
    assert_eq!(
        Ws::connect(&url, Some("https://evil.example")).await.err(),
        Some(reqwest::StatusCode::FORBIDDEN)
    );
    assert_eq!(
        Ws::connect(&url, Some("http://localhost:8080.evil.example"))
            .await
            .err(),
        Some(reqwest::StatusCode::FORBIDDEN)
    );
    let mut first = Ws::connect(&url, Some(ORIGIN)).await.unwrap();
    first.recv_ready().await;
    // Single use.
    assert_eq!(
        Ws::connect(&url, Some(ORIGIN)).await.err(),
        Some(reqwest::StatusCode::UNAUTHORIZED)
    );

    // Non-browser clients: the bearer subprotocol, answered with cloudchat.v1 only.
    let mut bearer = Ws::connect_with(
        ws,
        None,
        Some(&format!("cloudchat.v1, bearer.{}", alice.token)),
    )
    .await
    .unwrap();
    assert_eq!(bearer.protocol.as_deref(), Some("cloudchat.v1"));
    let ready = bearer.recv_ready().await;
    assert_eq!(ready.user_id, alice.id);
    assert_eq!(
        Ws::connect_with(ws, None, Some("cloudchat.v1, bearer.bad.token.here"))
            .await
            .err(),
        Some(reqwest::StatusCode::UNAUTHORIZED)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_limits_close_with_the_rfc_codes() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;

    // Exactly 64 KiB is accepted (and answered as an invalid frame: it is not JSON).
    let mut ws = stack.connect(&alice).await;
    ws.send_message(Message::text("x".repeat(64 * 1024))).await;
    assert_eq!(ws.recv_error().await.0.code, ErrorCode::InvalidFrame);

    // 65 KiB: 1009.
    ws.send_message(Message::text("x".repeat(65 * 1024))).await;
    assert_eq!(ws.closed(WAIT).await.0, Some(1009));

    // 65 KiB in fragments: 1009 too.
    let mut ws = stack.connect(&alice).await;
    let chunk = vec![b'y'; 33 * 1024];
    ws.send_message(Message::Frame(Frame::message(
        chunk.clone(),
        OpCode::Data(Data::Text),
        false,
    )))
    .await;
    ws.send_message(Message::Frame(Frame::message(
        chunk,
        OpCode::Data(Data::Continue),
        true,
    )))
    .await;
    assert_eq!(ws.closed(WAIT).await.0, Some(1009));

    // Invalid UTF-8: 1007.
    let mut ws = stack.connect(&alice).await;
    ws.send_message(Message::Frame(Frame::message(
        vec![b'{', 0xff, 0xfe, b'}'],
        OpCode::Data(Data::Text),
        true,
    )))
    .await;
    assert_eq!(ws.closed(WAIT).await.0, Some(1007));

    // Binary frames are not part of the protocol: 1003.
    let mut ws = stack.connect(&alice).await;
    ws.send_message(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(ws.closed(WAIT).await.0, Some(1003));

    // A header announcing a huge frame is refused at once, without waiting for the payload.
    let mut ws = stack.connect(&alice).await;
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 32).to_be_bytes());
    header.extend_from_slice(&[0, 0, 0, 0]);
    let stream = ws.inner.get_mut();
    let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = stream else {
        panic!("plain TCP expected");
    };
    tcp.write_all(&header).await.unwrap();
    tcp.write_all(&[b'z'; 1024]).await.unwrap();
    assert_eq!(ws.closed(WAIT).await.0, Some(1009));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_invalid_frames_get_error_frames() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;
    let mut ws = stack.connect(&alice).await;

    // Raw JSON: an action no client type can name.
    ws.send(json!({"action": "deleteEverything", "id": "u1"}))
        .await;
    let (err, id) = ws.recv_error().await;
    assert_eq!(err.code, ErrorCode::UnknownAction);
    assert!(!err.temporary);
    assert_eq!(id, frame_id("u1"));

    for bad in [
        "not json",
        "[1]",
        r#"{"noAction": true}"#,
        r#"{"action": 3}"#,
    ] {
        ws.send_message(Message::text(bad)).await;
        let (err, _) = ws.recv_error().await;
        assert_eq!(err.code, ErrorCode::InvalidFrame, "{bad}");
    }

    // chat-service's own refusals come back as non-temporary errors with its code.
    let blank = send_message(GENERAL, "   ", Some(&client_msg_id()));
    ws.act("v", ClientAction::SendMessage(blank)).await;
    let (err, id) = ws.recv_error().await;
    assert!(!err.temporary);
    assert_eq!(id, frame_id("v"));
    assert_ne!(err.code, ErrorCode::Unknown, "{err:?}");

    ws.act(42, ClientAction::Ping).await;
    let pong = Reply {
        frame: ServerFrame::Pong,
        id: frame_id(42),
    };
    assert_eq!(ws.recv_frame().await, pong);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flooding_is_rate_limited_then_closed() {
    let stack = spawn_stack_with(Options::new(Engine::Sqlite).relay(|s| {
        s.limits.actions_per_sec = 5;
        s.limits.action_burst = 10;
    }))
    .await;
    let alice = stack.signup("alice").await;
    let mut ws = stack.connect(&alice).await;

    for i in 0..15 {
        ws.inner.feed(ping(i)).await.unwrap();
    }
    ws.inner.flush().await.unwrap();
    let mut pongs = 0;
    let mut limited = 0;
    for _ in 0..15 {
        match ws.recv_frame().await {
            Reply {
                frame: ServerFrame::Pong,
                ..
            } => pongs += 1,
            Reply {
                frame: ServerFrame::Error(err),
                id,
            } => {
                assert_eq!(err.code, ErrorCode::RateLimited);
                assert!(err.temporary);
                assert!(matches!(id, Some(FrameId::Number(_))), "{id:?}");
                limited += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!((10..=11).contains(&pongs), "{pongs} pongs");
    assert_eq!(pongs + limited, 15);

    // Keeping it up is sustained abuse: 1008.
    let mut closed = None;
    for i in 0..200 {
        if ws.inner.send(ping(i)).await.is_err() {
            break;
        }
        if let Ok(Some(Ok(Message::Close(frame)))) = tokio::time::timeout(
            Duration::from_millis(1),
            futures_util::StreamExt::next(&mut ws.inner),
        )
        .await
        {
            closed = frame.map(|f| u16::from(f.code));
            break;
        }
    }
    let code = match closed {
        Some(code) => Some(code),
        None => ws.closed(WAIT).await.0,
    };
    assert_eq!(code, Some(1008));
}

/// A `ping` with `id` as a raw message, for the socket's own sink (feed, then flush).
fn ping(id: i64) -> Message {
    let frame = ClientFrame {
        id: frame_id(id),
        action: ClientAction::Ping,
    };
    Message::text(serde_json::to_string(&frame).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_and_others_are_not_held_up() {
    let stack = spawn_stack_with(Options::new(Engine::Sqlite).relay(|s| {
        s.limits.outbound_queue = 16;
    }))
    .await;
    let (mut slow, slow_id, mut fast) = slow_and_fast(&stack).await;

    // Up to 2000 frames of 32 KiB (64 MiB) to the room; the slow client reads nothing.
    let total = 2000;
    let filler = "f".repeat(32 * 1024);
    let (sent_tx, mut sent_rx) = tokio::sync::watch::channel(0usize);
    let reader = tokio::spawn(async move {
        let mut n = 0;
        loop {
            let target = *sent_rx.borrow_and_update();
            if n == target && sent_rx.has_changed().is_err() {
                return (fast, n);
            }
            match fast.try_recv_frame(Duration::from_millis(200)).await {
                Some(reply) => {
                    assert!(
                        matches!(reply.frame, ServerFrame::Typing { .. }),
                        "{reply:?}"
                    );
                    n += 1;
                }
                None if sent_rx.has_changed().is_err() && n == *sent_rx.borrow() => {
                    return (fast, n);
                }
                None => {}
            }
        }
    });
    let path = format!("/internal/connections/{slow_id}");
    let mut sent = 0;
    while sent < total {
        stack.publish_bulk(sent, &filler).await;
        sent += 1;
        sent_tx.send_replace(sent);
        if sent % 25 == 0
            && stack
                .internal(&stack.relay, reqwest::Method::GET, &path, None)
                .await
                .status()
                == reqwest::StatusCode::GONE
        {
            break;
        }
    }
    assert!(sent < total, "the slow consumer was never closed");
    assert!(metric(&stack.relay, "ws_relay_slow_consumer_closes_total").await >= 1.0);
    assert!(metric(&stack.relay, "ws_relay_queue_drops_total").await >= 1.0);

    // It reads again at last: what was buffered for it, then 1013.
    let (code, reason, texts) = slow.closed(Duration::from_secs(15)).await;
    assert_eq!(code, Some(1013));
    assert_eq!(reason, "slow consumer");
    assert!(
        texts < sent,
        "{texts} of {sent} frames were buffered for it"
    );

    // Meanwhile the fast client got every frame, in time.
    drop(sent_tx);
    let (_fast, received) = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the fast client kept up")
        .unwrap();
    assert_eq!(received, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_service_down_or_hung_gives_temporary_errors_within_the_timeout() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;
    let mut ws = stack.connect(&alice).await;
    let send = || ClientAction::SendMessage(send_message(GENERAL, "hello", Some(&client_msg_id())));

    stack.gate.refuse();
    let started = Instant::now();
    ws.act("down", send()).await;
    let (err, id) = ws.recv_error().await;
    assert_eq!(err.code, ErrorCode::ChatUnavailable);
    assert!(err.temporary);
    assert_eq!(id, frame_id("down"));
    assert!(started.elapsed() < Duration::from_secs(3));
    // New connections are refused with 503 meanwhile.
    let ticket_user = stack.signup("bob").await;
    let ticket = stack.ticket(&ticket_user).await;
    assert_eq!(
        Ws::connect(&format!("{}?ticket={ticket}", stack.relay.ws), Some(ORIGIN))
            .await
            .err(),
        Some(reqwest::StatusCode::SERVICE_UNAVAILABLE)
    );

    // Hung: the answer comes at the 2 s timeout, and pings are answered meanwhile.
    stack.gate.hang();
    let started = Instant::now();
    ws.act("hung", send()).await;
    ws.act("p", ClientAction::Ping).await;
    assert_eq!(ws.recv_frame().await.frame, ServerFrame::Pong);
    let (err, id) = ws.recv_error().await;
    assert_eq!(err.code, ErrorCode::ChatUnavailable);
    assert!(err.temporary);
    assert_eq!(id, frame_id("hung"));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );

    stack.gate.open();
    ws.act("back", send()).await;
    let ack = ws.recv_ack().await;
    assert_eq!(ack.id, frame_id("back"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_sent_with_the_upgrade_are_queued_not_dropped() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;
    let ticket = stack.ticket(&alice).await;
    let port = stack.relay.http.rsplit(':').next().unwrap().to_owned();
    let mut tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    // The upgrade and two frames in one write: they reach the relay while `$connect` is
    // still being asked of chat-service.
    let mut bytes = format!(
        "GET /ws?ticket={ticket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nOrigin: {ORIGIN}\r\n\r\n"
    )
    .into_bytes();
    for id in ["early-1", "early-2"] {
        let ping = ClientFrame {
            id: frame_id(id),
            action: ClientAction::Ping,
        };
        let payload = serde_json::to_vec(&ping).unwrap();
        bytes.push(0x81);
        bytes.push(0x80 | u8::try_from(payload.len()).unwrap());
        bytes.extend_from_slice(&[0, 0, 0, 0]); // a zero mask leaves the payload as is
        bytes.extend_from_slice(&payload);
    }
    tcp.write_all(&bytes).await.unwrap();

    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut buf = [0u8; 4096];
    while tokio::time::Instant::now() < deadline {
        let Ok(Ok(n)) = tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await else {
            break;
        };
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&received).contains("early-2") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    let ready = text.find("\"ready\"").expect("ready");
    let first = text.find("early-1").expect("first pong");
    let second = text.find("early-2").expect("second pong");
    assert!(ready < first && first < second, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_pinged_then_closed() {
    let stack = spawn_stack_with(Options::new(Engine::Sqlite).relay(|s| {
        s.limits.ping_interval = Duration::from_secs(1);
        s.limits.idle_timeout = Duration::from_secs(2);
    }))
    .await;
    let alice = stack.signup("alice").await;
    let mut alive = stack.connect(&alice).await;
    let mut silent = stack.connect(&alice).await;

    // `alive` reads (tungstenite answers pings by itself); `silent` does not read at all.
    let keep = tokio::spawn(async move {
        alive.silent(Duration::from_millis(4500)).await;
        alive
    });
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let (code, reason, _) = silent.closed(WAIT).await;
    assert_eq!(code, Some(4008));
    assert_eq!(reason, "idle timeout");
    let mut alive = keep.await.unwrap();
    alive.act(None, ClientAction::Ping).await;
    assert_eq!(alive.recv_frame().await.frame, ServerFrame::Pong);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_with_1012_and_a_retry_hint() {
    let mut stack = spawn_stack(Engine::Sqlite).await;
    let alice = stack.signup("alice").await;
    let mut a = stack.connect(&alice).await;
    let mut b = stack.connect(&alice).await;

    stack.relay.stopper.stop();
    for ws in [&mut a, &mut b] {
        let (code, reason, _) = ws.closed(WAIT).await;
        assert_eq!(code, Some(1012));
        let ms: u64 = reason
            .strip_prefix("service restart; retry in ")
            .and_then(|r| r.strip_suffix(" ms"))
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("no retry hint in {reason:?}"));
        assert!((1000..10_000).contains(&ms));
    }
    let res = reqwest::get(format!("{}/readyz", stack.relay.http)).await;
    if let Ok(res) = res {
        assert_ne!(res.status(), reqwest::StatusCode::OK);
    }
    let started = Instant::now();
    // After a close handshake the client's socket ends: the relay closed the TCP connection.
    for ws in [&mut a, &mut b] {
        let end = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut ws.inner)).await;
        assert!(matches!(end, Ok(None | Some(Err(_)))), "{end:?}");
    }
    eprintln!("sockets ended after {:?}", started.elapsed());
    let server = &mut stack.relay.server;
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the relay stops after draining")
        .unwrap()
        .unwrap();
    eprintln!("relay stopped after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_credentials_are_refused_without_asking_chat_service() {
    let stack = spawn_stack(Engine::Sqlite).await;
    let ws = &stack.relay.ws;
    // chat-service "stopped": any call to it would answer 503, so a 401 was decided here.
    stack.gate.refuse();

    let well_formed = "A".repeat(43);
    for ticket in [
        "not-a-ticket".to_owned(),
        "A".repeat(42),
        "A".repeat(44),
        format!("{}=", "A".repeat(42)),
        format!("{}%2B", "A".repeat(40)),
        "x".repeat(5000),
    ] {
        let res = upgrade_request(&format!("{ws}?ticket={ticket}"), None).await;
        test_support::assert_problem(res, reqwest::StatusCode::UNAUTHORIZED, "invalid_ticket")
            .await;
    }
    for token in [
        "x",
        "a.b",
        "a..c",
        "a.b.c.d",
        "a.b.c=",
        &format!("a.b.{}", "c".repeat(5000)),
    ] {
        let res = upgrade_request(ws, Some(&format!("cloudchat.v1, bearer.{token}"))).await;
        test_support::assert_problem(res, reqwest::StatusCode::UNAUTHORIZED, "invalid_ticket")
            .await;
    }
    // Well-formed ones do reach chat-service (here: stopped, so 503).
    let res = upgrade_request(&format!("{ws}?ticket={well_formed}"), None).await;
    test_support::assert_problem(
        res,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "chat_unavailable",
    )
    .await;
    let res = upgrade_request(ws, Some("cloudchat.v1, bearer.aaa.bbb.ccc")).await;
    assert_eq!(res.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_flood_from_one_address_is_answered_429() {
    let stack =
        spawn_stack_with(Options::new(Engine::Sqlite).relay(|s| s.limits.connects_per_minute = 5))
            .await;
    let alice = stack.signup("alice").await;
    let ws = &stack.relay.ws;
    // Garbage counts too: the limit is the first check.
    for _ in 0..4 {
        let res = upgrade_request(&format!("{ws}?ticket=garbage"), None).await;
        assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);
    }
    let (_ok, _) = stack.connect_to(&stack.relay, &alice).await;
    let ticket = stack.ticket(&alice).await;
    let res = upgrade_request(&format!("{ws}?ticket={ticket}"), None).await;
    let retry_after: u64 = res
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    test_support::assert_problem(res, reqwest::StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(
        metric(
            &stack.relay,
            "ws_relay_connect_refusals_total{reason=\"rate_limited\"}"
        )
        .await
            >= 1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_large_frames_is_closed_on_its_byte_budget() {
    const BUDGET: usize = 256 * 1024;
    let stack = spawn_stack_with(Options::new(Engine::Sqlite).relay(|s| {
        s.limits.outbound_queue = 100_000;
        s.limits.outbound_max_bytes = BUDGET;
    }))
    .await;
    let (mut slow, slow_id, mut fast) = slow_and_fast(&stack).await;

    // Frames of 60 KiB to the room until the slow client is closed; it reads nothing, but the
    // fast one reads each as it comes.
    let filler = "f".repeat(60 * 1024);
    let path = format!("/internal/connections/{slow_id}");
    let mut sent = 0;
    let mut most_held = 0;
    loop {
        stack.publish_bulk(sent, &filler).await;
        sent += 1;
        // The typing frame's room, not the frame: its 60 KiB filler would flood the output.
        let typing_room = match fast.recv_frame().await.frame {
            ServerFrame::Typing { room_id, .. } => Some(room_id),
            _ => None,
        };
        assert_eq!(typing_room, Some(sent as i64 - 1));
        let res = stack
            .internal(&stack.relay, reqwest::Method::GET, &path, None)
            .await;
        if res.status() == reqwest::StatusCode::GONE {
            break;
        }
        let info: serde_json::Value = res.json().await.unwrap();
        let held = info["queuedBytes"].as_u64().unwrap() as usize;
        // The budget, plus the frame being written when the last one was refused.
        assert!(held <= BUDGET + 61 * 1024, "{held} bytes held");
        most_held = most_held.max(held);
        assert!(sent < 3000, "the slow consumer was never closed");
    }
    assert!(
        most_held > BUDGET / 2,
        "the budget was never approached: {most_held}"
    );
    assert!(
        metric(
            &stack.relay,
            "ws_relay_slow_consumer_closes_total{budget=\"bytes\"}"
        )
        .await
            >= 1.0
    );
    // It reads at last: what the kernel held for it, then 1013.
    let (code, reason, texts) = slow.closed(Duration::from_secs(15)).await;
    assert_eq!((code, reason.as_str()), (Some(1013), "slow consumer"));
    assert!(texts < sent, "{texts} of {sent}");
}

/// Two clients in `general`: one that will not read (and its connection id), one that will.
async fn slow_and_fast(stack: &Stack) -> (Ws, String, Ws) {
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let (slow, ready) = stack.connect_to(&stack.relay, &alice).await;
    let slow_id = ready.connection_id;
    let fast = stack.connect(&bob).await;
    (slow, slow_id, fast)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_socket_echoes_every_kind_of_frame_and_the_close() {
    let stack =
        spawn_stack_with(Options::new(Engine::Sqlite).relay(|s| s.enable_echo = true)).await;
    let url = stack.relay.ws.replacen("/ws", "/ws-echo", 1);
    let mut ws = Ws::connect(&url, None).await.unwrap();
    let big = "b".repeat(60 * 1024);
    ws.send_message(Message::text(big.clone())).await;
    ws.send_message(Message::binary(vec![1, 2, 3])).await;
    ws.send_message(Message::Ping(vec![7u8; 5].into())).await;
    let mut got = Vec::new();
    while got.len() < 3 {
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut ws.inner))
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Message::Text(t) => got.push(format!("text {}", t.len())),
            Message::Binary(b) => got.push(format!("binary {:?}", &b[..])),
            Message::Pong(p) => got.push(format!("pong {:?}", &p[..])),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        got,
        [
            format!("text {}", big.len()),
            "binary [1, 2, 3]".to_owned(),
            "pong [7, 7, 7, 7, 7]".to_owned()
        ]
    );
    ws.send_message(Message::Close(Some(
        tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: 4321.into(),
            reason: "bye".into(),
        },
    )))
    .await;
    assert_eq!(ws.closed(WAIT).await.0, Some(4321));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_reply_cap_fails_its_batch_with_a_temporary_error() {
    let stack = spawn_stack_with(Options::new(Engine::Sqlite).relay(|s| {
        s.dispatch.max_reply_bytes = 64 * 1024;
        s.dispatch.sync_reply_bytes = 64 * 1024;
    }))
    .await;
    let alice = stack.signup("alice").await;
    let room = stack.create_room(&alice, "big").await;
    for _ in 0..20 {
        stack.send_ok(&alice, room, &"m".repeat(4000)).await;
    }
    let mut ws = stack.connect(&alice).await;
    ws.act("s", ClientAction::Sync(sync_after(room, 0))).await;
    let error = ws.recv_until(|f| matches!(f, ServerFrame::Error(_))).await;
    let ServerFrame::Error(err) = &error.frame else {
        unreachable!()
    };
    assert_eq!(
        (err.code, err.temporary, &error.id),
        (ErrorCode::ChatUnavailable, true, &frame_id("s"))
    );
    // A smaller page still comes, and the connection is unharmed.
    let smaller = Sync {
        limit: Some(5),
        ..sync_after(room, 0)
    };
    ws.act("t", ClientAction::Sync(smaller)).await;
    let reply = ws
        .recv_until(|f| matches!(f, ServerFrame::Messages(_)))
        .await;
    let ServerFrame::Messages(page) = reply.frame else {
        unreachable!()
    };
    assert_eq!(page.messages.len(), 5);
    assert!(metric(&stack.relay, "ws_relay_chat_replies_too_large_total").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tcp_connection_of_a_client_that_never_reads_is_dropped_after_the_idle_timeout() {
    let stack = spawn_stack_with(Options::new(Engine::Sqlite).relay(|s| {
        s.limits.ping_interval = Duration::from_secs(1);
        s.limits.idle_timeout = Duration::from_secs(3);
        s.limits.outbound_max_bytes = 64 * 1024;
    }))
    .await;
    let alice = stack.signup("alice").await;
    let ticket = stack.ticket(&alice).await;

    // A raw client with a tiny receive window that reads the handshake and nothing else.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let addr = stack
        .relay
        .http
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let mut tcp = socket.connect(addr).await.unwrap();
    tcp.write_all(
        format!(
            "GET /ws?ticket={ticket} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));

    // Large frames until the relay gives up on it (1013)...
    let filler = "f".repeat(60 * 1024);
    for i in 0.. {
        let typing = ServerFrame::Typing {
            room_id: i,
            user_id: alice.id,
            username: filler.clone(),
        };
        stack
            .publish(&stack.relay, &deliver(Target::User(alice.id), typing))
            .await;
        if stack.relay.relay.connection_count() == 0 {
            break;
        }
        assert!(i < 2000, "never closed");
    }
    // ...and, its window still shut, the kernel drops the connection after the idle timeout:
    // what is left to read is what sat in our small buffer, then a reset, not the megabytes
    // the relay had queued for it followed by a clean close.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let _ = tcp.write_all(b"\x81\x80\0\0\0\0").await;
    let mut read = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => read += n,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection is still open");
    assert!(read < 256 * 1024, "{read} bytes were still sent to it");
}
