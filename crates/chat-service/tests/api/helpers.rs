//! auth-service and chat-service (a [`test_stack::ChatStack`]) with a [`FakeRelay`] in the
//! relay's place, and the calls a relay makes to chat-service, in the contract's types.

use std::ops::Deref;

use actix_web::web;
use chat_service::config::Settings;
use chat_service::startup::AppState;
use reqwest::{Response, StatusCode};
use serde::Serialize;
use serde_json::Value;
use test_stack::ChatStack;
pub(crate) use test_stack::{
    AUTH_KEY, CHAT_KEY, FakeRelay, GENERAL, RELAY_KEY, User, assert_problem, send_message,
    sync_after,
};
use test_support::Engine;
use wire::protocol::{MessageView, Page};
use wire::{
    ActionBatch, ActionProblem, ActionRequest, ActionResponse, ActionResult, ChatAction, Identity,
    Publish, ServerFrame, SingleActionRequest,
};

/// The running services; dereferences to its [`ChatStack`] (users, rooms, messages, tickets).
pub(crate) struct TestApp {
    stack: ChatStack,
    pub relay: FakeRelay,
    pub state: web::Data<AppState>,
}

impl Deref for TestApp {
    type Target = ChatStack;

    fn deref(&self) -> &ChatStack {
        &self.stack
    }
}

pub(crate) async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |_| {}).await
}

pub(crate) async fn spawn_app_with(engine: Engine, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_relay(engine, FakeRelay::start().await, tweak).await
}

/// With this stand-in for the relay (for example one that refuses the first publishes).
pub(crate) async fn spawn_app_with_relay(
    engine: Engine,
    relay: FakeRelay,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let stack = ChatStack::spawn(engine, &relay.url, |_| {}, tweak).await;
    TestApp {
        state: stack.chat_state.clone(),
        stack,
        relay,
    }
}

impl TestApp {
    pub(crate) async fn internal(&self, path: &str, body: &impl Serialize) -> Response {
        self.internal_at(&self.chat, path, body).await
    }

    /// An internal call to the replica at `base`, as a relay makes it.
    pub(crate) async fn internal_at(
        &self,
        base: &str,
        path: &str,
        body: &impl Serialize,
    ) -> Response {
        self.client
            .post(format!("{base}{path}"))
            .header("x-internal-api-key", RELAY_KEY)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Runs a WebSocket action as the relay would (`POST /internal/ws/actions/{action}`).
    pub(crate) async fn action(&self, user: &User, action: ChatAction) -> Response {
        let (name, body) = single(&action);
        self.action_raw(user, name, body).await
    }

    /// [`TestApp::action`] with the action's name and body as they are: for bodies of the
    /// wrong shape and actions no [`ChatAction`] names.
    pub(crate) async fn action_raw(&self, user: &User, action: &str, body: Value) -> Response {
        let request = SingleActionRequest {
            connection_id: "conn-1".to_owned(),
            identity: identity(user),
            body,
        };
        self.internal(&format!("/internal/ws/actions/{action}"), &request)
            .await
    }

    /// [`TestApp::action`]'s answer, checked to be a 200.
    pub(crate) async fn action_ok(&self, user: &User, action: ChatAction) -> ActionResponse {
        let res = self.action(user, action).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// A relay's batch, `POST /internal/ws/actions`.
    pub(crate) async fn batch(&self, events: Vec<ActionRequest>) -> Response {
        self.internal("/internal/ws/actions", &ActionBatch { events })
            .await
    }

    /// Waits for the relay stand-in to have received `n` publishes, and returns them.
    pub(crate) async fn published(&self, n: usize) -> Vec<Publish> {
        self.relay
            .wait_for(n)
            .await
            .into_iter()
            .map(|(key, body)| {
                assert_eq!(key.as_deref(), Some(CHAT_KEY));
                serde_json::from_value(body.clone())
                    .unwrap_or_else(|e| panic!("not a publish ({e}): {body}"))
            })
            .collect()
    }
}

/// An action's name and body, as the single-action endpoint takes them apart.
fn single(action: &ChatAction) -> (&'static str, Value) {
    let mut tagged = serde_json::to_value(action).unwrap();
    (action.name(), tagged["body"].take())
}

/// Who `user`'s connections are, as chat-service told the relay.
pub(crate) fn identity(user: &User) -> Identity {
    Identity {
        user_id: user.id,
        username: user.name.clone(),
        session_id: None,
    }
}

/// One event of a relay's batch (`POST /internal/ws/actions`).
pub(crate) fn event(user: &User, connection: &str, action: ChatAction) -> ActionRequest {
    ActionRequest {
        connection_id: connection.to_owned(),
        identity: identity(user),
        action,
    }
}

/// What a batched action answered, which must be a success.
pub(crate) fn ok(result: &ActionResult) -> &ActionResponse {
    match result {
        ActionResult::Ok(answer) => answer,
        ActionResult::Error(problem) => panic!("expected an answer, got {problem:?}"),
    }
}

/// What a batched action answered, which must be a problem.
pub(crate) fn problem(result: &ActionResult) -> &ActionProblem {
    match result {
        ActionResult::Error(problem) => problem,
        ActionResult::Ok(answer) => panic!("expected a problem, got {answer:?}"),
    }
}

/// The `clientMsgId` and the message an answer acks; the answer's reply must be an `ack`.
pub(crate) fn ack(answer: &ActionResponse) -> (Option<&str>, &MessageView) {
    match &answer.reply {
        Some(ServerFrame::Ack {
            client_msg_id,
            message,
        }) => (client_msg_id.as_deref(), message),
        other => panic!("expected an ack, got {other:?}"),
    }
}

/// The page an answer carries; the answer's reply must be `messages` (a `sync` by seq).
pub(crate) fn messages_page(answer: &ActionResponse) -> &Page {
    match &answer.reply {
        Some(ServerFrame::Messages(page)) => page,
        other => panic!("expected messages, got {other:?}"),
    }
}

/// The seqs of a page's messages, in order.
pub(crate) fn page_seqs(page: &Page) -> Vec<i64> {
    page.messages.iter().map(|m| m.seq).collect()
}

pub(crate) fn seqs(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}

/// A group room "team" of alice (its owner), bob and carol.
pub(crate) async fn team(stack: &ChatStack) -> (User, User, User, i64) {
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let carol = stack.signup("carol").await;
    let room = stack.create_room(&alice, "team").await;
    stack.add_member_ok(&alice, room, &bob).await;
    stack.add_member_ok(&alice, room, &carol).await;
    (alice, bob, carol, room)
}

/// auth-service's user event for `user` at `version` (posted as auth-service does, with its
/// key): their instance role and suspension.
pub(crate) async fn moderation_event(
    stack: &ChatStack,
    user: &User,
    version: i64,
    state: Value,
) -> Response {
    let mut event = serde_json::json!({
        "id": version, "userId": user.id, "kind": "moderation", "role": "user",
        "suspended": false, "suspendedUntil": null, "hideMessages": false, "version": version
    });
    for (key, value) in state.as_object().unwrap() {
        event[key] = value.clone();
    }
    stack
        .client
        .post(stack.url("/internal/user-events"))
        .header("x-internal-api-key", AUTH_KEY)
        .json(&serde_json::json!({ "events": [event] }))
        .send()
        .await
        .unwrap()
}

/// Makes `user` an instance `role` (`moderator` or `admin`) as auth-service would tell
/// chat-service.
pub(crate) async fn make_staff(stack: &ChatStack, user: &User, role: &str) {
    let res = moderation_event(stack, user, 1, serde_json::json!({ "role": role })).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

/// chat-service's own audit log, newest first.
pub(crate) async fn chat_audit(stack: &ChatStack) -> Vec<wire::moderation::AuditEntry> {
    chat_service::store::audit::page(
        &stack.chat_state.db.pool,
        &chat_service::store::audit::Filter::default(),
        None,
        1000,
    )
    .await
    .unwrap()
}

/// The actions of an audit log, oldest first.
pub(crate) fn actions(entries: &[wire::moderation::AuditEntry]) -> Vec<&str> {
    entries.iter().rev().map(|e| e.action.as_str()).collect()
}

/// The next frame of type `kind` on a socket, whatever comes before it.
pub(crate) async fn frame_of(ws: &mut test_stack::Ws, kind: &str) -> Value {
    loop {
        let frame = ws.recv().await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

/// Waits up to two seconds for the relay stand-in to have been handed a frame that `wanted`
/// accepts (publishes go out in the background).
pub(crate) async fn delivered(app: &TestApp, wanted: impl Fn(&ServerFrame) -> bool) {
    for _ in 0..40 {
        let published = app.published(0).await;
        if published
            .iter()
            .flat_map(|p| &p.deliveries)
            .any(|d| wanted(&d.payload))
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no such frame was published: {:?}", app.published(0).await);
}

/// A GET of `path` as `user`, checked to be a 200: its JSON body.
pub(crate) async fn get_ok(stack: &ChatStack, user: &User, path: &str) -> Value {
    let res = stack.get(user, path).await;
    assert_eq!(res.status(), StatusCode::OK, "GET {path}");
    res.json().await.unwrap()
}

/// `by` mutes `target` in `room` for `seconds`.
pub(crate) async fn mute(
    stack: &ChatStack,
    by: &User,
    room: i64,
    target: uuid::Uuid,
    seconds: i64,
) -> Response {
    let path = format!("/rooms/{room}/mutes/{target}");
    stack
        .put(
            by,
            &path,
            &serde_json::json!({ "durationSeconds": seconds }),
        )
        .await
}
