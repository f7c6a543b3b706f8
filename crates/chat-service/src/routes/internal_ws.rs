//! The relay's side of the WebSocket (docs/protocol.md), behind the relays' internal key:
//! `$connect`, the routed actions, `$disconnect`, and the rooms re-read that relays use to
//! re-check live subscriptions. Nothing here is kept between calls: every event carries the
//! identity returned at connect.

use actix_web::{HttpResponse, post, web};
use service_kit::{FieldError, FromRelay};
use wire::protocol;
use wire::{
    ActionBatchResponse, ActionRequest, ActionResponse, ActionResult, ChatAction, ConnectRequest,
    ConnectResponse, DisconnectRequest, EventError, Identity, MAX_BATCH_EVENTS,
    ROOMS_REQUEST_MAX_USERS, RawActionBatch, RoomsRequest, RoomsResponse, SingleActionRequest,
};

use crate::error::{ApiError, ApiResult};
use crate::ops::messages::SendRequest;
use crate::ops::{self, Caller, Outcome};
use crate::startup::AppState;
use crate::store::messages::Stored;
use crate::store::{rooms, tickets};
use crate::views::{frames, json_len};

#[post("/internal/ws/connect")]
pub(crate) async fn connect(
    _caller: FromRelay,
    state: web::Data<AppState>,
    body: web::Json<ConnectRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.into_inner();
    let (identity, expires_at) = match (&request.ticket, &request.token) {
        (Some(ticket), _) => {
            let holder = tickets::consume(&state.db.pool, ticket, store_kit::now_ms())
                .await?
                .ok_or(ApiError::InvalidTicket)?;
            (
                Identity {
                    user_id: holder.user_id,
                    username: holder.username,
                    session_id: holder.session_id,
                },
                holder.token_expires_at,
            )
        }
        (None, Some(token)) => {
            let claims = state.verifier.verify(token).await.map_err(|e| {
                tracing::info!(reason = %e, "WebSocket connect refused: bad token");
                ApiError::InvalidTicket
            })?;
            // As POST /ws-tickets refuses a ticket to such a token.
            if claims.unverified {
                return Err(ApiError::EmailUnverified);
            }
            (
                Identity {
                    user_id: claims.sub,
                    username: claims.username,
                    session_id: claims.sid,
                },
                claims.exp,
            )
        }
        (None, None) => return Err(ApiError::InvalidTicket),
    };
    // A ticket or token of a session revoked since is worth nothing.
    if state.revoked.refuses(identity.session_id) {
        tracing::info!(user_id = %identity.user_id, "WebSocket connect refused: session revoked");
        return Err(ApiError::InvalidTicket);
    }
    let rooms = rooms::ids_for_user(&state.db.pool, identity.user_id).await?;
    tracing::info!(
        connection_id = %request.connection_id,
        relay_id = %request.relay_id,
        user_id = %identity.user_id,
        rooms = rooms.len(),
        "WebSocket connected"
    );
    Ok(HttpResponse::Ok().json(ConnectResponse {
        identity,
        rooms,
        expires_at,
    }))
}

#[post("/internal/ws/actions/{action}")]
pub(crate) async fn action(
    _caller: FromRelay,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SingleActionRequest>,
) -> ApiResult<HttpResponse> {
    let SingleActionRequest {
        connection_id,
        identity,
        body,
    } = body.into_inner();
    // Read as the same event in a batch would be, for the same answers.
    let mut event = serde_json::Map::new();
    event.insert("action".to_owned(), path.into_inner().into());
    event.insert("body".to_owned(), body);
    event.insert("connectionId".to_owned(), connection_id.into());
    event.insert(
        "identity".to_owned(),
        serde_json::to_value(identity).map_err(anyhow::Error::from)?,
    );
    let request = ActionRequest::from_value(event.into()).map_err(unreadable)?;
    let budget = state.settings.limits.reply_max_bytes;
    let response = run_action(&state, request, budget).await?;
    Ok(HttpResponse::Ok().json(response))
}

fn unreadable(err: EventError) -> ApiError {
    match err {
        EventError::UnknownAction(name) => ApiError::UnknownAction(name),
        EventError::Invalid(message) => {
            ApiError::Validation(vec![FieldError::new("body", message)])
        }
    }
}

/// What an action other than `sendMessage` and `sync` is allowed of the batch answer up
/// front: a `typing` fan-out or a short error.
const SMALL_ANSWER: usize = 1024;

/// `POST /internal/ws/actions`: several actions in one request. They run concurrently, so the
/// sends among them reach the group-commit writer together and share transactions; each
/// result is what the single endpoint would have answered, except that the whole answer stays
/// within `CHAT_BATCH_REPLY_MAX_BYTES`: an action that does not fit is answered with a
/// temporary `busy` error (and not run when that is known before), which the client retries.
/// Registered in [`crate::routes::configure`] with its own body limit.
pub(crate) async fn actions_batch(
    _caller: FromRelay,
    state: web::Data<AppState>,
    body: web::Json<RawActionBatch>,
) -> ApiResult<HttpResponse> {
    let RawActionBatch { events } = body.into_inner();
    if events.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::Validation(vec![FieldError::new(
            "events",
            format!("at most {MAX_BATCH_EVENTS} events per batch"),
        )]));
    }
    metrics::histogram!("chat_ws_action_batch_size").record(events.len() as f64);
    let state = &state;
    let limits = &state.settings.limits;
    let mut budget = AnswerBudget::new(limits.batch_reply_max_bytes, events.len());
    // Sends go together (membership read once, queued side by side so they share commits);
    // the other actions run concurrently meanwhile. Sends and small actions take their share
    // of the answer first, in order; the syncs share what is left.
    let mut sends = Vec::new();
    let mut send_slots = Vec::new();
    let mut others = Vec::new();
    let mut syncs = Vec::new();
    let mut results: Vec<Option<ActionResult>> = Vec::with_capacity(events.len());
    for (i, event) in events.into_iter().enumerate() {
        results.push(None);
        let event = match ActionRequest::from_value(event) {
            Ok(event) => event,
            Err(err) => {
                results[i] = Some(failed(&unreadable(err)));
                continue;
            }
        };
        match event.action {
            ChatAction::SendMessage(send) => {
                if !budget.reserve(send_answer_bound(&send, &event.identity)) {
                    results[i] = Some(budget.busy());
                    continue;
                }
                send_slots.push(i);
                sends.push(SendRequest::from_action(
                    Caller::from(&event.identity),
                    send,
                ));
            }
            ChatAction::Sync(_) => syncs.push((i, event)),
            _ if budget.reserve(SMALL_ANSWER) => others.push((i, event, SMALL_ANSWER)),
            _ => results[i] = Some(budget.busy()),
        }
    }
    if !syncs.is_empty() {
        let share = (budget.left() / syncs.len()).min(limits.reply_max_bytes);
        if share == 0 {
            for (i, _) in syncs {
                results[i] = Some(budget.busy());
            }
        } else {
            others.extend(syncs.into_iter().map(|(i, event)| (i, event, share)));
        }
    }
    let (sent, done) = futures_util::future::join(
        ops::messages::send_many(state, sends),
        futures_util::future::join_all(others.into_iter().map(
            |(i, event, reply_budget)| async move {
                let outcome = run_action(state, event, reply_budget).await;
                (
                    i,
                    outcome.map_or_else(|e| failed(&e), |r| ActionResult::Ok(Box::new(r))),
                )
            },
        )),
    )
    .await;
    for (i, outcome) in send_slots.into_iter().zip(sent) {
        results[i] = Some(outcome.map_or_else(
            |e| failed(&e),
            |s| ActionResult::Ok(Box::new(sent_message(s))),
        ));
    }
    for (i, result) in done {
        results[i] = Some(result);
    }
    let results = results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                failed(&ApiError::Unexpected(anyhow::anyhow!(
                    "an action went unanswered"
                )))
            })
        })
        .collect();
    let results: Vec<ActionResult> = results;
    let results = AnswerBudget::new(limits.batch_reply_max_bytes, results.len()).enforce(results);
    Ok(HttpResponse::Ok().json(ActionBatchResponse { results }))
}

/// The byte budget of one batch answer. Any result may end up as a `busy` error, so room for
/// one per event is set aside at the start; what a result takes beyond that comes out of the
/// rest.
struct AnswerBudget {
    left: usize,
    busy: ActionResult,
    busy_len: usize,
}

impl AnswerBudget {
    fn new(max_bytes: usize, events: usize) -> Self {
        let busy = failed(&ApiError::Busy);
        // Each result is followed by a comma, but for the last.
        let busy_len = json_len(&busy) + 1;
        let envelope = json_len(&ActionBatchResponse::default());
        Self {
            left: max_bytes.saturating_sub(envelope + events * busy_len),
            busy,
            busy_len,
        }
    }

    fn busy(&self) -> ActionResult {
        self.busy.clone()
    }

    fn left(&self) -> usize {
        self.left
    }

    /// Takes room for a result of `bytes` (a comma included); false when it does not fit.
    fn reserve(&mut self, bytes: usize) -> bool {
        let extra = bytes.saturating_sub(self.busy_len);
        if extra > self.left {
            return false;
        }
        self.left -= extra;
        true
    }

    /// Keeps every result that fits and answers `busy` for the others. Results that carry
    /// `outbound` deliveries count first: their action already happened (a stored message is
    /// only fanned out through this answer) and their room was reserved before they ran.
    fn enforce(mut self, mut results: Vec<ActionResult>) -> Vec<ActionResult> {
        let fans_out = |r: &ActionResult| matches!(r, ActionResult::Ok(response) if !response.outbound.is_empty());
        let order: Vec<usize> = (0..results.len())
            .filter(|i| fans_out(&results[*i]))
            .chain((0..results.len()).filter(|i| !fans_out(&results[*i])))
            .collect();
        let mut dropped = 0u64;
        for i in order {
            if !self.reserve(json_len(&results[i]) + 1) {
                results[i] = self.busy();
                dropped += 1;
            }
        }
        if dropped > 0 {
            metrics::counter!("chat_ws_batch_busy_total").increment(dropped);
        }
        results
    }
}

/// At least what a fresh send's answer takes: its message twice (the sender's `ack` and the
/// room's delivery) with the few fixed fields around content, username, clientMsgId, the
/// quote of a reply, the ids of the users it mentions and the files it carries.
fn send_answer_bound(send: &protocol::SendMessage, identity: &Identity) -> usize {
    let quote = if send.reply_to_id.is_some() {
        2 * protocol::REPLY_QUOTE_MAX_BYTES
    } else {
        0
    };
    2 * (json_len(&send.content) + json_len(&identity.username))
        + 3 * json_len(&send.client_msg_id)
        + quote
        + 2 * protocol::mentions_max_bytes(&send.content)
        + 2 * protocol::attachments_max_bytes(&send.attachment_ids)
        + 1024
}

fn failed(err: &ApiError) -> ActionResult {
    ActionResult::Error(err.action_problem())
}

/// The answer to a stored send: an ack for the sender, the message for the room — unless it
/// is a retry of a stored send, which is acknowledged again but not delivered a second time.
fn sent_message(outcome: Outcome<Stored>) -> ActionResponse {
    ActionResponse {
        reply: Some(frames::ack(&outcome.value.message)),
        outbound: outcome.deliveries,
    }
}

/// One routed action, for the single and the batch endpoint alike. A `sync` answer's
/// messages stay within `reply_budget` bytes.
async fn run_action(
    state: &AppState,
    request: ActionRequest,
    reply_budget: usize,
) -> ApiResult<ActionResponse> {
    let caller = Caller::from(&request.identity);
    let response = match request.action {
        ChatAction::SendMessage(send) => {
            let send = SendRequest::from_action(caller, send);
            sent_message(ops::messages::send(state, send).await?)
        }
        ChatAction::Sync(sync) => {
            let cursor = ops::messages::sync_cursor(&sync)?;
            let page = ops::messages::read(
                state,
                &caller,
                sync.room_id,
                cursor,
                sync.limit,
                reply_budget,
            )
            .await?;
            ActionResponse {
                reply: Some(frames::page(sync.room_id, &page, sync.since_rev.is_some())),
                outbound: Vec::new(),
            }
        }
        ChatAction::Typing(typing) => ActionResponse {
            reply: None,
            outbound: ops::messages::typing(state, &caller, typing.room_id)
                .await?
                .deliveries,
        },
        ChatAction::MarkRead(mark) => ActionResponse {
            reply: None,
            outbound: ops::messages::mark_read(state, &caller, mark.room_id, mark.seq)
                .await?
                .deliveries,
        },
        ChatAction::React(r) => reacted(state, &caller, r, true).await?,
        ChatAction::Unreact(r) => reacted(state, &caller, r, false).await?,
    };
    Ok(response)
}

/// `react` / `unreact`: no answer; the room hears `reactionChanged` when something changed.
async fn reacted(
    state: &AppState,
    caller: &Caller,
    r: protocol::React,
    add: bool,
) -> ApiResult<ActionResponse> {
    let outcome =
        ops::messages::react(state, caller, r.message_id, Some(r.room_id), &r.emoji, add).await?;
    Ok(ActionResponse {
        reply: None,
        outbound: outcome.deliveries,
    })
}

#[post("/internal/ws/disconnect")]
pub(crate) async fn disconnect(
    _caller: FromRelay,
    body: web::Json<DisconnectRequest>,
) -> HttpResponse {
    tracing::info!(connection_id = %body.connection_id, user_id = %body.identity.user_id, "WebSocket disconnected");
    HttpResponse::NoContent().finish()
}

/// `POST /internal/ws/rooms`: the rooms each user may read now, so a relay can repair the
/// subscriptions of its live connections when an `unsubscribe` or `subscribe` control was
/// lost (see `docs/architecture.md`).
#[post("/internal/ws/rooms")]
pub(crate) async fn rooms_of_users(
    _caller: FromRelay,
    state: web::Data<AppState>,
    body: web::Json<RoomsRequest>,
) -> ApiResult<HttpResponse> {
    let mut users = body.into_inner().user_ids;
    if users.len() > ROOMS_REQUEST_MAX_USERS {
        return Err(ApiError::Validation(vec![FieldError::new(
            "userIds",
            format!("at most {ROOMS_REQUEST_MAX_USERS} users per request"),
        )]));
    }
    users.sort_unstable();
    users.dedup();
    let rooms = rooms::ids_for_users(&state.db.pool, &users).await?;
    Ok(HttpResponse::Ok().json(RoomsResponse { rooms }))
}
