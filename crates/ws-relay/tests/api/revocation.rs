//! A revoked session ends at once: log-out, session revoke and refresh-token reuse close that
//! session's sockets with 4003 (and no other session's), a relay the push did not reach closes
//! them at its next poll, `refreshToken` cannot revive them, and the session's access token
//! stops working on chat-service within the poll bound.

use std::net::TcpListener;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use uuid::Uuid;
use wire::{ErrorCode, ServerFrame};

use crate::helpers::*;

/// The session id of `user`'s access token, as `GET /auth/sessions` marks it.
async fn session_id(stack: &Stack, user: &User) -> String {
    let list: Vec<Value> = stack
        .client
        .get(format!("{}/auth/sessions", stack.auth))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let current = list.iter().find(|s| s["current"] == true).unwrap();
    current["id"].as_str().unwrap().to_owned()
}

async fn post_auth(stack: &Stack, path: &str, body: Value) -> reqwest::Response {
    stack
        .client
        .post(format!("{}{path}", stack.auth))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn assert_logged_out(ws: &mut Ws) {
    let (code, _, _) = ws.closed(WAIT).await;
    assert_eq!(code, Some(4003));
}

/// The other session's socket is still open and still delivered to.
async fn assert_alive(stack: &Stack, ws: &mut Ws, author: &User) {
    let content = format!("still here {}", Uuid::new_v4());
    stack.send_ok(author, GENERAL, &content).await;
    assert_eq!(ws.recv_message().await.content, content);
}

/// The three ways one session is revoked while the others go on.
#[derive(Clone, Copy, Debug)]
enum Revoke {
    LogOut,
    FromAnotherSession,
    ReuseOfItsRefreshToken,
}

async fn revoke(stack: &Stack, how: Revoke, session: &User, refresh: &str, other: &User) {
    let res = match how {
        Revoke::LogOut => post_auth(stack, "/auth/logout", json!({"refreshToken": refresh})).await,
        Revoke::FromAnotherSession => {
            let id = session_id(stack, session).await;
            stack
                .client
                .delete(format!("{}/auth/sessions/{id}", stack.auth))
                .bearer_auth(&other.token)
                .send()
                .await
                .unwrap()
        }
        Revoke::ReuseOfItsRefreshToken => {
            stack.refresh_ok(refresh).await;
            post_auth(stack, "/auth/refresh", json!({"refreshToken": refresh})).await
        }
    };
    let expected = match how {
        Revoke::ReuseOfItsRefreshToken => StatusCode::UNAUTHORIZED,
        _ => StatusCode::NO_CONTENT,
    };
    assert_eq!(res.status(), expected, "{how:?}");
}

async fn logout_revoke_and_reuse_close_only_that_sessions_socket(engine: Engine) {
    let stack = spawn_stack(engine).await;
    let alice = stack.signup("alice").await;
    let mut web = stack.connect(&alice).await;
    let mut revoked = Vec::new();
    for how in [
        Revoke::LogOut,
        Revoke::FromAnotherSession,
        Revoke::ReuseOfItsRefreshToken,
    ] {
        let session = stack.login_again(&alice).await;
        let mut ws = stack.connect(&session).await;
        revoke(&stack, how, &session, &session.refresh, &alice).await;
        assert_logged_out(&mut ws).await;
        assert_alive(&stack, &mut web, &alice).await;
        revoked.push(session);
    }

    // The revoked sessions' access tokens: refused by auth-service at once, by chat-service
    // within its poll (REVOCATION_POLL_MS, 2 s).
    for session in &revoked {
        let res = stack
            .client
            .get(format!("{}/users/me", stack.auth))
            .bearer_auth(&session.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        eventually(
            "chat-service refuses the revoked session's token",
            || async {
                let res = stack
                    .client
                    .get(format!("{}/rooms", stack.chat))
                    .bearer_auth(&session.token)
                    .send()
                    .await
                    .unwrap();
                res.status() == StatusCode::UNAUTHORIZED
                    && res.json::<Value>().await.unwrap()["code"] == "session_revoked"
            },
        )
        .await;
    }
    let res = stack
        .client
        .get(format!("{}/rooms", stack.chat))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// A relay the push never reached: its own poll closes the session's sockets.
async fn a_relay_that_missed_the_push_closes_at_its_next_poll(engine: Engine) {
    let stack = spawn_stack(engine).await;
    let mut settings = stack.relay_settings.clone();
    settings.relay_id = format!("test-relay-b-{}", &Uuid::new_v4().simple().to_string()[..6]);
    settings.revocation_poll = Duration::from_millis(300);
    let b = start_relay(settings, TcpListener::bind("127.0.0.1:0").unwrap()).await;
    let alice = stack.signup("alice").await;
    let (mut web, _) = stack.connect_to(&b, &alice).await;
    let phone = stack.login_again(&alice).await;
    let (mut phone_ws, _) = stack.connect_to(&b, &phone).await;
    // A ticket bought before the log-out is worth nothing after it.
    let ticket = stack.ticket(&phone).await;

    let res = post_auth(
        &stack,
        "/auth/logout",
        json!({"refreshToken": phone.refresh}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_logged_out(&mut phone_ws).await;
    web.silent(Duration::from_millis(800)).await;
    assert_eq!(b.relay.connection_count(), 1);

    eventually("chat-service learns of the revocation", || async {
        stack
            .client
            .post(format!("{}/ws-tickets", stack.chat))
            .bearer_auth(&phone.token)
            .send()
            .await
            .unwrap()
            .status()
            == StatusCode::UNAUTHORIZED
    })
    .await;
    let refused = Ws::connect(&format!("{}?ticket={ticket}", b.ws), Some(ORIGIN)).await;
    assert_eq!(refused.err(), Some(StatusCode::UNAUTHORIZED));
}

/// `refreshToken` cannot move a connection to another session, nor keep a revoked one.
async fn refresh_token_of_a_revoked_or_other_session_closes_with_4003(engine: Engine) {
    let stack = spawn_stack(engine).await;
    let alice = stack.signup("alice").await;

    // Another session's token.
    let phone = stack.login_again(&alice).await;
    let mut phone_ws = stack.connect(&phone).await;
    let fresh_web_token = stack.login_again(&alice).await.token;
    phone_ws.act("r1", refresh_token(&fresh_web_token)).await;
    let (error, id) = phone_ws.recv_error().await;
    assert_eq!(error.code, ErrorCode::SessionRevoked);
    assert_eq!(id, frame_id("r1"));
    assert_logged_out(&mut phone_ws).await;

    // A token of the connection's own session, once the relay knows the session is revoked
    // (as its poll tells it; the close that comes with the poll is what this guards).
    let tablet = stack.login_again(&alice).await;
    let mut tablet_ws = stack.connect(&tablet).await;
    let tablet_id: Uuid = session_id(&stack, &tablet).await.parse().unwrap();
    stack.relay.relay.revoked().apply(
        wire::RevokedSessions {
            sessions: vec![wire::RevokedSession {
                session_id: tablet_id,
                revoked_at: 0,
            }],
            now: 0,
        },
        false,
    );
    tablet_ws.act("r2", refresh_token(&tablet.token)).await;
    let (error, _) = tablet_ws.recv_error().await;
    assert_eq!(error.code, ErrorCode::SessionRevoked);
    assert_logged_out(&mut tablet_ws).await;

    // The same session's token is still welcome.
    let mut web = stack.connect(&alice).await;
    web.act("r3", refresh_token(&alice.token)).await;
    let refreshed = web.recv_frame().await.frame;
    assert!(
        matches!(refreshed, ServerFrame::TokenRefreshed { .. }),
        "{refreshed:?}"
    );
}

both_engines!(
    logout_revoke_and_reuse_close_only_that_sessions_socket,
    a_relay_that_missed_the_push_closes_at_its_next_poll,
    refresh_token_of_a_revoked_or_other_session_closes_with_4003,
);
