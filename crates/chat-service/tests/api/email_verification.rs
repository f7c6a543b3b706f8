//! `REQUIRE_EMAIL_VERIFICATION` as chat-service applies it: an access token carrying
//! `unverified` (auth-service's decision) may read but not post, react, upload, create rooms
//! or open a socket; after the link and a refresh it may. The link comes by real mail
//! (`test_support::SmtpSink`).

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_stack::{
    GENERAL, Options, Stack, User, assert_problem, send_message, spawn_stack_with, upgrade_request,
};
use test_support::{Engine, SmtpSink, both_engines, mail_link};
use wire::ClientAction;

const LINK: &str = "http://localhost:8080/verify-email?token=";

async fn spawn(engine: Engine, sink: &SmtpSink, required: bool) -> Stack {
    let smtp = sink.url();
    spawn_stack_with(Options::new(engine).auth(move |a| {
        a.smtp_url = Some(smtp);
        a.require_email_verification = required;
    }))
    .await
}

/// Opens the user's verification link (the last mailed) and refreshes the session: the
/// user with a token that no longer carries `unverified`.
async fn verify_and_refresh(stack: &Stack, sink: &SmtpSink, user: &User) -> User {
    let mails = sink.wait_for(&user.email, 1).await;
    let link = mail_link(mails.last().unwrap(), LINK).unwrap();
    let res = stack
        .auth_post("/auth/verify-email", &json!({"token": &link[LINK.len()..]}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    stack.refresh_ok(&user.refresh).await
}

/// Every write the policy covers, answered 403 `email_unverified`.
async fn assert_writes_refused(stack: &Stack, user: &User, message_id: i64) {
    let writes = [
        (
            format!("/rooms/{GENERAL}/messages"),
            json!({"content": "hello"}),
        ),
        ("/ws-tickets".to_owned(), json!({})),
        ("/rooms".to_owned(), json!({"name": "mine"})),
        ("/dms".to_owned(), json!({"username": "bob"})),
        (
            format!("/messages/{message_id}/reactions"),
            json!({"emoji": "👍"}),
        ),
    ];
    for (path, body) in writes {
        let res = stack.post(user, &path, &body).await;
        let problem = assert_problem(res, StatusCode::FORBIDDEN, "email_unverified").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("verify your e-mail"),
            "{path}: {problem}"
        );
    }
    let res = stack
        .client
        .post(stack.url("/uploads?filename=a.txt"))
        .bearer_auth(&user.token)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "email_unverified").await;
    // Nor a socket with the token itself (the bearer subprotocol skips the ticket).
    let protocols = format!("cloudchat.v1, bearer.{}", user.token);
    let res = upgrade_request(&stack.relay.ws, Some(&protocols)).await;
    assert_problem(res, StatusCode::FORBIDDEN, "email_unverified").await;
}

async fn an_unverified_account_reads_but_does_not_write_until_verified(engine: Engine) {
    let sink = SmtpSink::start();
    let stack = spawn(engine, &sink, true).await;
    let bob = stack.signup("bob").await;
    let bob = verify_and_refresh(&stack, &sink, &bob).await;
    let hello = stack.send_ok(&bob, GENERAL, "welcome").await;
    let alice = stack.signup("alice").await;

    assert_writes_refused(&stack, &alice, hello["id"].as_i64().unwrap()).await;
    // Reads stay allowed.
    let history = stack.history(&alice, GENERAL, "").await;
    assert_eq!(history["messages"][0]["content"], "welcome", "{history}");
    assert!(!stack.rooms(&alice).await.is_empty());

    // After the link and a refresh: posts and the socket work.
    let alice = verify_and_refresh(&stack, &sink, &alice).await;
    stack.send_ok(&alice, GENERAL, "thanks").await;
    let mut ws = stack.connect(&alice).await;
    ws.act(
        1,
        ClientAction::SendMessage(send_message(GENERAL, "over the socket", None)),
    )
    .await;
    assert_eq!(ws.recv_ack().await.message.content, "over the socket");
}

async fn without_the_requirement_an_unverified_account_writes(engine: Engine) {
    let sink = SmtpSink::start();
    let stack = spawn(engine, &sink, false).await;
    let alice = stack.signup("alice").await;
    let me: Value = stack
        .auth_call(reqwest::Method::GET, "/users/me", Some(&alice.token), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["emailVerified"], false);
    stack.send_ok(&alice, GENERAL, "hello").await;
    stack.create_room(&alice, "mine").await;
    let mut ws = stack.connect(&alice).await;
    ws.act(
        1,
        ClientAction::SendMessage(send_message(GENERAL, "over the socket", None)),
    )
    .await;
    assert_eq!(ws.recv_ack().await.message.content, "over the socket");
}

both_engines!(
    an_unverified_account_reads_but_does_not_write_until_verified,
    without_the_requirement_an_unverified_account_writes,
);
