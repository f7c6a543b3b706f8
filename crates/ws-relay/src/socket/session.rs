//! One client connection after the upgrade: three tasks around one [`Connection`].
//!
//! - the **reader** (this task) reads and validates frames, applies the rate limit, answers
//!   `ping` and protocol pings, watches for silence and token expiry, and hands actions to
//! - the **action worker**, which runs them one at a time, in order (forwarding to
//!   chat-service, or `refreshToken` and `watchPresence`), so a slow chat-service never
//!   stops the reader;
//! - the **writer** ([`super::writer`]): the response body that drains the connection's
//!   outbox into the socket as fast as the client reads.
//!
//! Whoever decides to close (reader, worker, hub, shutdown) goes through the connection's
//! [`Closer`](super::writer::Closer); the reader then tears everything down, forwards
//! `$disconnect`, and counts the close by code.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_ws::MessageStream;
use tokio::sync::{mpsc, oneshot, watch};
use wire::{ClientAction, ClientFrame, ErrorCode, FrameId, Identity};

use super::ratelimit::TokenBucket;
use super::reader::{FrameReader, Incoming};
use super::writer::{self, CloseCommand, Outbound};
use crate::dispatch::{self, Queued};
use crate::protocol::{self, close};
use crate::relay::Relay;
use crate::socket::connection::Connection;

/// An action waiting for the worker.
enum Job {
    /// For chat-service, as the dispatcher will send it.
    Chat(Queued),
    /// `refreshToken`, answered here.
    Refresh {
        token: Option<String>,
        id: Option<FrameId>,
    },
    /// `watchPresence`, answered here.
    Watch {
        users: Vec<uuid::Uuid>,
        id: Option<FrameId>,
    },
}

/// Everything attachment prepared ([`super::attach`]).
pub(crate) struct SessionParts {
    pub conn: Arc<Connection>,
    pub stream: MessageStream,
    pub close: watch::Receiver<Option<CloseCommand>>,
    /// Resolves once the close frame is out or the socket is gone (see [`writer::attach`]).
    pub written: oneshot::Receiver<()>,
    pub expires_at: i64,
}

pub(crate) async fn run(relay: Relay, parts: SessionParts) {
    let SessionParts {
        conn,
        stream,
        close,
        written,
        expires_at,
    } = parts;
    let limits = relay.settings().limits.clone();
    let (expiry_tx, expiry_rx) = watch::channel(expires_at);
    // Boxed jobs: the channel's first block of slots is allocated with it, for every
    // connection, idle or not.
    let (jobs_tx, jobs_rx) = mpsc::channel::<Box<Job>>(limits.action_burst as usize);
    let worker = actix_web::rt::spawn(action_worker(
        relay.clone(),
        conn.clone(),
        jobs_rx,
        expiry_tx,
    ));

    let reader = FrameReader::new(stream, limits.max_frame_bytes);
    read_loop(&relay, &conn, reader, close, expiry_rx, jobs_tx).await;

    // Teardown: out of the tables first so nothing more is queued, then let the writer send
    // the close frame, then tell chat-service.
    relay.hub().remove(&conn.id);
    relay.presence().closed(conn.user_id);
    worker.abort();
    // Nobody chose a code: the client went away without a close frame (1006 in reports).
    let went_away = conn.closer.close(CloseCommand {
        code: None,
        reason: String::new(),
        flush: false,
    });
    let code = match conn.closer.command().and_then(|c| c.code) {
        _ if went_away => "1006".to_owned(),
        Some(code) => code.to_string(),
        // The client closed without a status code.
        None => "1005".to_owned(),
    };
    metrics::counter!("ws_relay_closes_total", "code" => code.clone()).increment(1);
    metrics::counter!("ws_relay_disconnects_total").increment(1);
    let _ = tokio::time::timeout(writer::CLOSE_WRITE_TIMEOUT, written).await;
    tracing::info!(connection_id = %conn.id, user_id = %conn.user_id, close_code = %code, "connection closed");
    let request = wire::DisconnectRequest {
        connection_id: conn.id.to_string(),
        identity: conn.identity(),
    };
    relay
        .chat()
        .disconnect(&request, &uuid::Uuid::new_v4().to_string())
        .await;
}

async fn read_loop(
    relay: &Relay,
    conn: &Arc<Connection>,
    mut reader: FrameReader,
    mut close: watch::Receiver<Option<CloseCommand>>,
    mut expiry: watch::Receiver<i64>,
    jobs: mpsc::Sender<Box<Job>>,
) {
    let limits = &relay.settings().limits;
    let forward_timeout = relay.chat().timeout();
    let mut bucket = TokenBucket::new(limits.actions_per_sec, limits.action_burst);
    // Refused frames draw on their own bucket; emptying it is "sustained abuse" (1008).
    let mut strikes = TokenBucket::new(limits.actions_per_sec, limits.action_burst);
    let mut heartbeat = tokio::time::interval_at(
        tokio::time::Instant::now() + limits.ping_interval,
        limits.ping_interval,
    );
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut expiry_sleep = Box::pin(tokio::time::sleep_until(deadline_of(
        *expiry.borrow_and_update(),
    )));

    loop {
        if close.borrow_and_update().is_some() {
            return;
        }
        tokio::select! {
            biased;
            _ = close.changed() => return,
            event = reader.next() => {
                match event {
                    Incoming::Text(text) => {
                        conn.touch();
                        if !bucket.take() {
                            let id = ClientFrame::parse(&text).map_or_else(|e| e.id, |f| f.id);
                            metrics::counter!("ws_relay_frames_in_total", "action" => "rate_limited").increment(1);
                            if !strikes.take() {
                                tracing::warn!(connection_id = %conn.id, "sustained flooding; closing with 1008");
                                conn.closer.close(CloseCommand::new(close::POLICY, "rate limit exceeded"));
                                return;
                            }
                            conn.send_text(protocol::error_frame(
                                ErrorCode::RateLimited,
                                "too many actions; slow down",
                                id.as_ref(),
                            ));
                            continue;
                        }
                        handle_text(conn, &text, &jobs, forward_timeout);
                    }
                    Incoming::Binary(_) => {
                        conn.closer.close(CloseCommand::new(close::UNSUPPORTED, "binary frames are not supported"));
                        return;
                    }
                    Incoming::Ping(bytes) => {
                        conn.touch();
                        conn.send(Outbound::Pong(bytes));
                    }
                    Incoming::Pong => conn.touch(),
                    Incoming::Close(reason) => {
                        // Answer the client's close with its own code (RFC 6455 5.5.1).
                        let command = match reason {
                            Some(r) => CloseCommand {
                                code: Some(u16::from(r.code)),
                                reason: String::new(),
                                flush: false,
                            },
                            None => CloseCommand { code: None, reason: String::new(), flush: false },
                        };
                        conn.closer.close(command);
                        return;
                    }
                    Incoming::Violation(code, reason) => {
                        tracing::info!(connection_id = %conn.id, code = u16::from(code), reason, "protocol violation");
                        conn.closer.close(CloseCommand::new(u16::from(code), reason));
                        return;
                    }
                    Incoming::Ended => return,
                }
            }
            _ = heartbeat.tick() => {
                if conn.idle_for() >= limits.idle_timeout {
                    tracing::info!(connection_id = %conn.id, "no frame or pong for the idle timeout; closing");
                    conn.closer.close(CloseCommand::new(close::IDLE, "idle timeout"));
                    return;
                }
                conn.send(Outbound::Ping(actix_web::web::Bytes::new()));
            }
            _ = &mut expiry_sleep => {
                let expires_at = *expiry.borrow_and_update();
                if unix_now() >= expires_at {
                    tracing::info!(connection_id = %conn.id, "access token expired without refreshToken; closing with 4001");
                    conn.closer.close(CloseCommand::new(close::TOKEN_EXPIRED, "token expired"));
                    return;
                }
                expiry_sleep.as_mut().reset(deadline_of(expires_at));
            }
            changed = expiry.changed() => {
                if changed.is_ok() {
                    let expires_at = *expiry.borrow_and_update();
                    expiry_sleep.as_mut().reset(deadline_of(expires_at));
                }
            }
        }
    }
}

fn handle_text(
    conn: &Arc<Connection>,
    text: &str,
    jobs: &mpsc::Sender<Box<Job>>,
    forward_timeout: Duration,
) {
    let frame = match ClientFrame::parse(text) {
        Ok(frame) => frame,
        Err(err) => {
            let label = match err.code {
                ErrorCode::UnknownAction => "unknown",
                _ => "invalid",
            };
            metrics::counter!("ws_relay_frames_in_total", "action" => label).increment(1);
            conn.send_text(protocol::error_frame(
                err.code,
                &err.message,
                err.id.as_ref(),
            ));
            return;
        }
    };
    metrics::counter!("ws_relay_frames_in_total", "action" => frame.action.name()).increment(1);
    let job = match frame.action.into_chat() {
        Ok(action) => Job::Chat(Queued {
            action,
            id: frame.id,
            size: text.len(),
            deadline: Instant::now() + forward_timeout,
        }),
        Err(ClientAction::RefreshToken(refresh)) => Job::Refresh {
            token: refresh.token,
            id: frame.id,
        },
        Err(ClientAction::WatchPresence(watch)) => Job::Watch {
            users: watch.user_ids,
            id: frame.id,
        },
        Err(_) => {
            // `ping`: answered at once, in order with nothing (it changes nothing).
            conn.send_text(protocol::reply(wire::ServerFrame::Pong, frame.id.as_ref()));
            return;
        }
    };
    if let Err(err) = jobs.try_send(Box::new(job)) {
        let job = match err {
            mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job) => job,
        };
        let id = match *job {
            Job::Chat(queued) => queued.id,
            Job::Refresh { id, .. } | Job::Watch { id, .. } => id,
        };
        conn.send_text(protocol::error_frame(
            ErrorCode::Busy,
            "too many actions in progress on this connection; retry shortly",
            id.as_ref(),
        ));
    }
}

/// Most `sendMessage`s of one connection forwarded together (pipelined sends).
const GROUP_MAX: usize = 16;

async fn action_worker(
    relay: Relay,
    conn: Arc<Connection>,
    mut jobs: mpsc::Receiver<Box<Job>>,
    expiry: watch::Sender<i64>,
) {
    let mut next: Option<Job> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => *job,
                None => return,
            },
        };
        match job {
            Job::Refresh { token, id } => {
                // Boxed: verifying may fetch the JWKS, a large future that would otherwise
                // size this task for every idle connection.
                let refreshed = Box::pin(refresh_token(
                    &relay,
                    &conn,
                    token.as_deref(),
                    &expiry,
                    id.as_ref(),
                ))
                .await;
                match refreshed {
                    Ok(frame) => {
                        conn.send_text(frame);
                    }
                    Err(frame) => {
                        // The error goes out before the close.
                        conn.send_text(frame);
                        conn.closer.close(
                            CloseCommand::new(close::LOGGED_OUT, "session revoked").flushing(),
                        );
                        return;
                    }
                }
            }
            Job::Watch { users, id } => {
                relay.presence().watch(&conn, users, id.as_ref()).await;
            }
            Job::Chat(queued) => {
                // Sends already waiting behind this one go along with it, in order; any other
                // action waits for the group to be answered.
                let sends = queued.is_send();
                let mut group = vec![queued];
                if sends {
                    while group.len() < GROUP_MAX {
                        match jobs.try_recv().map(|job| *job) {
                            Ok(Job::Chat(queued)) if queued.is_send() => group.push(queued),
                            Ok(other) => {
                                next = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                }
                forward(&relay, &conn, group).await;
            }
        }
    }
}

async fn forward(relay: &Relay, conn: &Arc<Connection>, group: Vec<Queued>) {
    if group.iter().any(Queued::is_late) {
        for queued in &group {
            conn.send_text(protocol::error_frame(
                ErrorCode::ChatUnavailable,
                "the chat service is slow to answer; retry shortly",
                queued.id.as_ref(),
            ));
        }
        return;
    }
    let ids: Vec<Option<FrameId>> = group.iter().map(|q| q.id.clone()).collect();
    let outcome = relay.dispatcher().actions(conn, group).await;
    if let Err(err) = outcome {
        for id in &ids {
            conn.send_text(dispatch::error_frame(&err, id.as_ref()));
        }
    }
}

/// The answer to `refreshToken`: `Err` (with its error frame) when the token's session is
/// revoked or is not the connection's — the connection then ends with 4003.
async fn refresh_token(
    relay: &Relay,
    conn: &Arc<Connection>,
    token: Option<&str>,
    expiry: &watch::Sender<i64>,
    id: Option<&FrameId>,
) -> Result<bytestring::ByteString, bytestring::ByteString> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(protocol::error_frame(
            ErrorCode::InvalidToken,
            "`token` is required",
            id,
        ));
    };
    let verified = relay.verifier().verify(token).await;
    if let Ok(claims) = &verified
        && claims.sub == conn.user_id
        && (claims.sid != conn.session_id || relay.revoked().refuses(claims.sid))
    {
        tracing::info!(connection_id = %conn.id, "refreshToken for a revoked or different session; closing with 4003");
        return Err(protocol::error_frame(
            ErrorCode::SessionRevoked,
            "this session was logged out or revoked; log in again",
            id,
        ));
    }
    Ok(match verified {
        Ok(claims) if claims.sub == conn.user_id => {
            conn.set_identity(Identity {
                user_id: claims.sub,
                username: claims.username,
                session_id: claims.sid,
            });
            let _ = expiry.send(claims.exp);
            // A live connection's rooms are read again now and then; a refresh is one of those
            // times (see `membership`).
            relay.recheck_rooms_of(conn.user_id);
            protocol::reply(
                wire::ServerFrame::TokenRefreshed {
                    expires_at: claims.exp,
                },
                id,
            )
        }
        Ok(_) => protocol::error_frame(
            ErrorCode::InvalidToken,
            "the token belongs to another user",
            id,
        ),
        Err(tokens::VerifyError::KeysUnavailable) => protocol::error_frame(
            ErrorCode::AuthUnavailable,
            "the signing keys cannot be fetched right now; retry shortly",
            id,
        ),
        Err(err) => protocol::error_frame(ErrorCode::InvalidToken, &err.to_string(), id),
    })
}

fn unix_now() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
}

/// The Tokio instant of a Unix time in seconds (now, when it is already past).
fn deadline_of(expires_at: i64) -> tokio::time::Instant {
    let secs = u64::try_from(expires_at.saturating_sub(unix_now())).unwrap_or(0);
    // A year caps absurd values so the addition cannot overflow.
    tokio::time::Instant::now() + Duration::from_secs(secs.min(365 * 24 * 3600))
}
