//! Writing to one client. The writer task owns the actix-ws `Session` and is fed by a
//! bounded queue of pre-serialised frames; fan-out uses `try_send` on that queue, so a client
//! that does not read never blocks anyone else — its queue fills and it is closed.
//! Closing goes through a separate [`Closer`] so that a close is never stuck behind a full
//! queue.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_ws::{CloseCode, CloseReason, Session};
use bytestring::ByteString;
use tokio::sync::{mpsc, watch};

/// One frame for the client.
#[derive(Debug, Clone)]
pub enum Outbound {
    Text(ByteString),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
}

/// Why and how a connection is being closed.
#[derive(Debug, Clone)]
pub struct CloseCommand {
    /// `None` answers a client's close that carried no code.
    pub code: Option<u16>,
    pub reason: String,
    /// Write the frames already queued before the close frame (orderly closes); `false` when
    /// the client is not reading anyway or broke the protocol.
    pub flush: bool,
}

impl CloseCommand {
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code: Some(code),
            reason: reason.into(),
            flush: false,
        }
    }

    pub fn flushing(mut self) -> Self {
        self.flush = true;
        self
    }

    fn close_reason(&self) -> Option<CloseReason> {
        self.code.map(|code| CloseReason {
            code: CloseCode::from(code),
            description: (!self.reason.is_empty()).then(|| self.reason.clone()),
        })
    }
}

/// Asks a connection to close; the first request wins.
#[derive(Clone)]
pub struct Closer(Arc<watch::Sender<Option<CloseCommand>>>);

impl Closer {
    pub fn new() -> (Self, watch::Receiver<Option<CloseCommand>>) {
        let (tx, rx) = watch::channel(None);
        (Self(Arc::new(tx)), rx)
    }

    /// `true` when this call started the close.
    pub fn close(&self, command: CloseCommand) -> bool {
        self.0.send_if_modified(|current| {
            if current.is_some() {
                false
            } else {
                *current = Some(command);
                true
            }
        })
    }

    pub fn command(&self) -> Option<CloseCommand> {
        self.0.borrow().clone()
    }
}

/// How long a close may take to reach a client (flushing included) before we give up on it.
pub const CLOSE_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Writes queued frames until the connection is closed (by a [`Closer`], by the queue's
/// senders all going away, or by the client's socket failing). Counts frames written.
pub async fn run(
    mut session: Session,
    mut queue: mpsc::Receiver<Outbound>,
    mut close: watch::Receiver<Option<CloseCommand>>,
) {
    loop {
        if close.borrow_and_update().is_some() {
            break;
        }
        tokio::select! {
            biased;
            _ = close.changed() => break,
            item = queue.recv() => {
                let Some(item) = item else { break };
                tokio::select! {
                    biased;
                    // A write blocked on a client that does not read is abandoned on close.
                    _ = close.changed() => break,
                    sent = write(&mut session, item) => {
                        if !sent {
                            return;
                        }
                    }
                }
            }
        }
    }
    let command = close.borrow().clone();
    let finish = async {
        if let Some(command) = &command {
            if command.flush {
                while let Ok(item) = queue.try_recv() {
                    if !write(&mut session, item).await {
                        return;
                    }
                }
            }
            let _ = session.close(command.close_reason()).await;
        } else {
            let _ = session.close(None).await;
        }
    };
    let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, finish).await;
}

async fn write(session: &mut Session, item: Outbound) -> bool {
    let is_data = matches!(item, Outbound::Text(_) | Outbound::Binary(_));
    let result = match item {
        Outbound::Text(text) => session.text(text).await,
        Outbound::Binary(bytes) => session.binary(bytes).await,
        Outbound::Ping(bytes) => session.ping(&bytes).await,
        Outbound::Pong(bytes) => session.pong(&bytes).await,
    };
    if result.is_ok() && is_data {
        metrics::counter!("ws_relay_frames_out_total").increment(1);
    }
    result.is_ok()
}
