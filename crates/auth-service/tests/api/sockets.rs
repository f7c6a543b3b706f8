//! A suspended user's open sockets close at once, through a real relay (the whole stack, as
//! ws-relay's log-out-everywhere test does), and their access tokens stop working elsewhere.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use test_stack::{Stack, User, WAIT, frame_id, spawn_stack_with};
use test_support::{Engine, both_engines};
use wire::{ClientAction, Reply, ServerFrame};

/// The command line's grant, on the stack's auth database.
pub(crate) async fn grant_admin(stack: &Stack, user: &User) {
    let words = ["grant".to_owned(), user.email.clone()];
    let command = auth_service::admin_cli::AdminCommand::parse(&words).unwrap();
    auth_service::admin_cli::execute(&stack.auth_state.db.pool, &command)
        .await
        .unwrap();
}

async fn a_suspended_users_open_sockets_close(engine: Engine) {
    let mut options = test_stack::Options::new(engine);
    options = options.chat(|c| c.revocation_poll = Duration::from_millis(200));
    // The stack would install the service's log subscriber for the whole binary; the single
    // sign-on tests read what is logged, so theirs goes first whichever test runs first.
    crate::sso::capture_logs();
    let stack = spawn_stack_with(options).await;
    let admin = stack.signup("root").await;
    grant_admin(&stack, &admin).await;
    let bob = stack.signup("bob").await;
    let carol = stack.signup("carol").await;
    let mut b1 = stack.connect(&bob).await;
    let mut b2 = stack.connect(&stack.login_again(&bob).await).await;
    let mut c = stack.connect(&carol).await;

    let path = format!("/admin/users/{}/suspension", bob.id);
    let res = stack
        .auth_call(
            Method::PUT,
            &path,
            Some(&admin.token),
            Some(&json!({"reason": "abuse"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for ws in [&mut b1, &mut b2] {
        let (code, _, _) = ws.closed(WAIT).await;
        assert_eq!(code, Some(4003));
    }
    // Others are untouched.
    c.act("p", ClientAction::Ping).await;
    assert_eq!(
        c.recv_frame().await,
        Reply {
            frame: ServerFrame::Pong,
            id: frame_id("p"),
        }
    );
    // chat-service refuses bob's access token once it has read the revocations.
    let mut refused = false;
    for _ in 0..50 {
        let res = stack
            .client
            .get(stack.url("/rooms"))
            .bearer_auth(&bob.token)
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "chat-service still takes a suspended user's token");
}

both_engines!(a_suspended_users_open_sockets_close);
