//! The relay's side of the WebSocket (DESIGN.md section 5), behind the internal API key:
//! `$connect`, the routed actions, `$disconnect`. Nothing here is kept between calls: every
//! event carries the identity returned at connect.

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use service_kit::{FieldError, InternalCaller};
use wire::{
    ActionBatch, ActionBatchResponse, ActionRequest, ActionResponse, ActionResult, ConnectRequest,
    ConnectResponse, DisconnectRequest, Identity,
};

use crate::chat::{self, Caller, to_room};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::messages::Stored;
use crate::store::{rooms, tickets};
use crate::views::frames;

#[post("/internal/ws/connect")]
pub async fn connect(
    _caller: InternalCaller,
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendMessage {
    room_id: i64,
    #[serde(default)]
    content: String,
    client_msg_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sync {
    room_id: i64,
    #[serde(default)]
    after_seq: i64,
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Typing {
    room_id: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MarkRead {
    room_id: i64,
    seq: i64,
}

fn parse<T: DeserializeOwned>(body: serde_json::Value) -> ApiResult<T> {
    serde_json::from_value(body)
        .map_err(|e| ApiError::Validation(vec![FieldError::new("body", e.to_string())]))
}

#[post("/internal/ws/actions/{action}")]
pub async fn action(
    _caller: InternalCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ActionRequest>,
) -> ApiResult<HttpResponse> {
    let response = run_action(&state, &path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(response))
}

/// Most events one batch may carry (the relay sends far fewer; see `CHAT_BATCH_MAX`).
pub const MAX_BATCH_EVENTS: usize = 1024;
/// Body limit of a batch: its events are client frames of at most 64 KiB each, so a batch
/// needs more room than the 64 KiB of other requests.
pub const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// `POST /internal/ws/actions`: several actions in one request. They run concurrently, so the
/// sends among them reach the group-commit writer together and share transactions; each
/// result is what the single endpoint would have answered. Registered in
/// [`crate::routes::configure`] with its own body limit.
pub async fn actions_batch(
    _caller: InternalCaller,
    state: web::Data<AppState>,
    body: web::Json<ActionBatch>,
) -> ApiResult<HttpResponse> {
    let ActionBatch { events } = body.into_inner();
    if events.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::Validation(vec![FieldError::new(
            "events",
            format!("at most {MAX_BATCH_EVENTS} events per batch"),
        )]));
    }
    metrics::histogram!("chat_ws_action_batch_size").record(events.len() as f64);
    let state = &state;
    // Sends go together (membership read once, queued side by side so they share commits);
    // the other actions run concurrently meanwhile.
    let mut sends = Vec::new();
    let mut send_slots = Vec::new();
    let mut others = Vec::new();
    let mut results: Vec<Option<ActionResult>> = Vec::with_capacity(events.len());
    for (i, event) in events.into_iter().enumerate() {
        results.push(None);
        if event.action == "sendMessage" {
            match parse::<SendMessage>(event.request.body) {
                Ok(send) => {
                    send_slots.push(i);
                    sends.push(chat::SendRequest {
                        caller: Caller::from(&event.request.identity),
                        room_id: send.room_id,
                        content: send.content,
                        client_msg_id: send.client_msg_id,
                    });
                }
                Err(err) => results[i] = Some(failed(&err)),
            }
        } else {
            others.push((i, event));
        }
    }
    let (sent, done) = futures_util::future::join(
        chat::send_many(state, sends),
        futures_util::future::join_all(others.into_iter().map(|(i, event)| async move {
            let outcome = run_action(state, &event.action, event.request).await;
            (i, outcome.map_or_else(|e| failed(&e), ActionResult::Ok))
        })),
    )
    .await;
    for (i, outcome) in send_slots.into_iter().zip(sent) {
        results[i] =
            Some(outcome.map_or_else(|e| failed(&e), |s| ActionResult::Ok(sent_message(&s))));
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
    Ok(HttpResponse::Ok().json(ActionBatchResponse { results }))
}

fn failed(err: &ApiError) -> ActionResult {
    ActionResult::Error(serde_json::to_value(err.problem()).unwrap_or_default())
}

/// The answer to a stored send: an ack for the sender, the message for the room — unless it
/// is a retry of a stored send, which is acknowledged again but not delivered a second time.
fn sent_message(stored: &Stored) -> ActionResponse {
    let reply = frames::ack(stored.message.client_msg_id.as_deref(), &stored.message);
    let outbound = if stored.duplicate {
        Vec::new()
    } else {
        vec![to_room(
            stored.message.room_id,
            frames::message(&stored.message),
        )]
    };
    ActionResponse {
        reply: Some(reply),
        outbound,
    }
}

/// One routed action, for the single and the batch endpoint alike.
async fn run_action(
    state: &AppState,
    name: &str,
    request: ActionRequest,
) -> ApiResult<ActionResponse> {
    let ActionRequest { identity, body, .. } = request;
    let caller = Caller::from(&identity);
    let response = match name {
        "sendMessage" => {
            let send: SendMessage = parse(body)?;
            let stored = chat::send(
                state,
                &caller,
                send.room_id,
                &send.content,
                send.client_msg_id.as_deref(),
            )
            .await?;
            sent_message(&stored)
        }
        "sync" => {
            let sync: Sync = parse(body)?;
            let (page, has_more) = chat::history(
                state,
                &caller,
                sync.room_id,
                Some(sync.after_seq),
                None,
                sync.limit,
            )
            .await?;
            ActionResponse {
                reply: Some(frames::messages(sync.room_id, &page, has_more)),
                outbound: Vec::new(),
            }
        }
        "typing" => {
            let typing: Typing = parse(body)?;
            chat::visible_room(state, &caller, typing.room_id).await?;
            ActionResponse {
                reply: None,
                outbound: vec![to_room(
                    typing.room_id,
                    frames::typing(typing.room_id, caller.id, &caller.username),
                )],
            }
        }
        "markRead" => {
            let mark: MarkRead = parse(body)?;
            chat::mark_read(state, &caller, mark.room_id, mark.seq).await?;
            ActionResponse::default()
        }
        _ => return Err(ApiError::UnknownAction(name.to_owned())),
    };
    Ok(response)
}

#[post("/internal/ws/disconnect")]
pub async fn disconnect(
    _caller: InternalCaller,
    body: web::Json<DisconnectRequest>,
) -> HttpResponse {
    tracing::info!(connection_id = %body.connection_id, user_id = %body.identity.user_id, "WebSocket disconnected");
    HttpResponse::NoContent().finish()
}
