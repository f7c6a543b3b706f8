//! Writing to one client, with the memory it may cost bounded in frames and in bytes.
//!
//! Frames wait in the connection's [`Outbox`] (`WS_OUTBOUND_QUEUE` frames,
//! `RELAY_OUTBOUND_MAX_BYTES` bytes). The socket's sending half is [`SocketBody`], the body of
//! the `101` response, which the HTTP server polls only when the socket can take more: so
//! nothing piles up between the outbox and the kernel but the frame being written, cut into
//! small chunks. Fan-out pushes without waiting; a client that stops reading fills its outbox
//! and is closed with 1013, and its queued frames are dropped at once, not when the close
//! completes (it may never complete: the client is not reading).
//!
//! Frames are pre-serialised and shared (one `ByteString` for every recipient of a room
//! message); each outbox counts a shared frame's full length, as if it were its own.
//! Closing goes through a separate [`Closer`] so that a close is never stuck behind a full
//! outbox.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::web::Bytes;
use bytestring::ByteString;
use futures_util::task::AtomicWaker;
use tokio::sync::{Notify, oneshot, watch};

/// One frame for the client.
#[derive(Debug, Clone)]
pub(crate) enum Outbound {
    Text(ByteString),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
}

impl Outbound {
    /// What the frame costs in an outbox: its payload length.
    pub(crate) fn len(&self) -> usize {
        match self {
            Outbound::Text(text) => text.len(),
            Outbound::Binary(bytes) | Outbound::Ping(bytes) | Outbound::Pong(bytes) => bytes.len(),
        }
    }
}

/// Why an outbox did not take a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `WS_OUTBOUND_QUEUE` frames are waiting.
    Frames,
    /// The frame would take the outbox past `RELAY_OUTBOUND_MAX_BYTES`.
    Bytes,
    /// The connection is closing.
    Shut,
}

impl Refused {
    /// For logs and metrics.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Refused::Frames => "frames",
            Refused::Bytes => "bytes",
            Refused::Shut => "closing",
        }
    }
}

/// The frames waiting for one client, and the bytes they hold.
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    /// Wakes the [`SocketBody`] when a frame arrives.
    waker: AtomicWaker,
    /// Wakes [`Outbox::push_waiting`] when room is made.
    room: Notify,
    max_frames: usize,
    max_bytes: usize,
}

#[derive(Default)]
struct Queue {
    frames: VecDeque<Outbound>,
    /// Bytes of the queued frames and of the frame being written.
    bytes: usize,
    shut: bool,
}

impl Outbox {
    pub(crate) fn new(max_frames: usize, max_bytes: usize) -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::new(Queue::default()),
            waker: AtomicWaker::new(),
            room: Notify::new(),
            max_frames: max_frames.max(1),
            max_bytes,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        match self.queue.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Queues a frame without waiting. A frame larger than the whole byte budget is still
    /// taken when nothing else is held, or it could never be sent at all.
    pub(crate) fn push(&self, frame: Outbound) -> Result<(), Refused> {
        self.offer(frame).map_err(|(refused, _)| refused)
    }

    /// [`Outbox::push`], handing the frame back when it is refused.
    fn offer(&self, frame: Outbound) -> Result<(), (Refused, Outbound)> {
        let len = frame.len();
        {
            let mut queue = self.lock();
            let refused = if queue.shut {
                Some(Refused::Shut)
            } else if queue.frames.len() >= self.max_frames {
                Some(Refused::Frames)
            } else if queue.bytes > 0 && queue.bytes.saturating_add(len) > self.max_bytes {
                Some(Refused::Bytes)
            } else {
                None
            };
            if let Some(refused) = refused {
                return Err((refused, frame));
            }
            queue.bytes += len;
            queue.frames.push_back(frame);
        }
        self.waker.wake();
        Ok(())
    }

    /// Queues a frame, waiting for room instead of refusing it (the echo socket, which
    /// applies backpressure to its one client rather than closing it). `false` once shut.
    pub(crate) async fn push_waiting(&self, mut frame: Outbound) -> bool {
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            // Registered before trying, so that room made in between is not missed.
            room.as_mut().enable();
            match self.offer(frame) {
                Ok(()) => return true,
                Err((Refused::Shut, _)) => return false,
                Err((_, back)) => frame = back,
            }
            room.await;
        }
    }

    /// Refuses every later frame; with `discard`, drops the queued ones now and releases
    /// their bytes (the frame being written, if any, stays counted until it is written).
    pub(crate) fn shut(&self, discard: bool) {
        {
            let mut queue = self.lock();
            queue.shut = true;
            if discard {
                let dropped: usize = queue.frames.drain(..).map(|f| f.len()).sum();
                queue.bytes = queue.bytes.saturating_sub(dropped);
            }
        }
        self.waker.wake();
        self.room.notify_waiters();
    }

    /// Bytes held for this client: queued frames and the one being written.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    pub(crate) fn queued_frames(&self) -> usize {
        self.lock().frames.len()
    }

    /// The next frame to write; its bytes stay counted until [`Outbox::release`].
    fn pop(&self) -> Option<Outbound> {
        self.lock().frames.pop_front()
    }

    fn release(&self, bytes: usize) {
        {
            let mut queue = self.lock();
            queue.bytes = queue.bytes.saturating_sub(bytes);
        }
        self.room.notify_waiters();
    }
}

/// Why and how a connection is being closed.
#[derive(Debug, Clone)]
pub(crate) struct CloseCommand {
    /// `None` answers a client's close that carried no code.
    pub code: Option<u16>,
    pub reason: String,
    /// Write the frames already queued before the close frame (orderly closes); `false` when
    /// the client is not reading anyway or broke the protocol.
    pub flush: bool,
}

impl CloseCommand {
    pub(crate) fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code: Some(code),
            reason: reason.into(),
            flush: false,
        }
    }

    pub(crate) fn flushing(mut self) -> Self {
        self.flush = true;
        self
    }

    /// The close frame's payload: the code, then the reason cut to fit a control frame.
    fn payload(&self) -> Bytes {
        let Some(code) = self.code else {
            return Bytes::new();
        };
        let mut end = self.reason.len().min(MAX_CONTROL_PAYLOAD - 2);
        while !self.reason.is_char_boundary(end) {
            end -= 1;
        }
        let mut payload = Vec::with_capacity(2 + end);
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(&self.reason.as_bytes()[..end]);
        Bytes::from(payload)
    }
}

/// Asks a connection to close; the first request wins.
#[derive(Clone)]
pub(crate) struct Closer(Arc<CloserShared>);

struct CloserShared {
    command: watch::Sender<Option<CloseCommand>>,
    /// Wakes the [`SocketBody`], which must send the close frame.
    waker: AtomicWaker,
}

impl Closer {
    pub(crate) fn new() -> (Self, watch::Receiver<Option<CloseCommand>>) {
        let (tx, rx) = watch::channel(None);
        let closer = Self(Arc::new(CloserShared {
            command: tx,
            waker: AtomicWaker::new(),
        }));
        (closer, rx)
    }

    /// `true` when this call started the close.
    pub(crate) fn close(&self, command: CloseCommand) -> bool {
        let started = self.0.command.send_if_modified(|current| {
            if current.is_some() {
                false
            } else {
                *current = Some(command);
                true
            }
        });
        if started {
            self.0.waker.wake();
        }
        started
    }

    pub(crate) fn command(&self) -> Option<CloseCommand> {
        self.0.command.borrow().clone()
    }

    fn register(&self, waker: &Waker) {
        self.0.waker.register(waker);
    }
}

/// How long a close may take to reach a client (flushing included) before the reader stops
/// waiting for it.
pub(crate) const CLOSE_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest piece of a frame handed to the server at once, so that a large frame never sits
/// whole in the server's write buffer.
const CHUNK: usize = 16 * 1024;
/// RFC 6455 5.5: control frames carry at most 125 bytes.
const MAX_CONTROL_PAYLOAD: usize = 125;

/// Replaces the body of actix-ws's `101` answer with a [`SocketBody`] fed by `outbox`.
/// actix-ws's own body is kept, never polled: dropping it (when the connection ends) is what
/// ends the reader's message stream. The receiver resolves once the close frame has been
/// handed to the socket or the connection is gone.
pub(crate) fn attach(
    response: HttpResponse,
    outbox: Arc<Outbox>,
    closer: Closer,
) -> (HttpResponse, oneshot::Receiver<()>) {
    let (written, done) = oneshot::channel();
    let response = response
        .map_body(|_, actix_ws_body| SocketBody {
            outbox,
            closer,
            writing: None,
            state: BodyState::Open,
            written: Some(written),
            _actix_ws_body: actix_ws_body,
        })
        .map_into_boxed_body();
    (response, done)
}

/// The sending half of one WebSocket: frames from the outbox, encoded as the server polls.
pub(crate) struct SocketBody {
    outbox: Arc<Outbox>,
    closer: Closer,
    writing: Option<Writing>,
    state: BodyState,
    /// Dropped when the close frame is out (or with the body, when the connection ends).
    written: Option<oneshot::Sender<()>>,
    _actix_ws_body: BoxBody,
}

enum BodyState {
    Open,
    Closing(CloseCommand),
    /// The close frame is being written; then the body ends.
    Done,
}

/// A frame being handed over: its header, then its payload in chunks.
struct Writing {
    header: Option<Bytes>,
    payload: Bytes,
    /// Bytes to release from the outbox once the payload is out.
    counted: usize,
    data: bool,
}

impl Writing {
    fn frame(frame: Outbound) -> Self {
        let counted = frame.len();
        let (opcode, payload, data) = match frame {
            Outbound::Text(text) => (OP_TEXT, text.into_bytes(), true),
            Outbound::Binary(bytes) => (OP_BINARY, bytes, true),
            Outbound::Ping(bytes) => (OP_PING, control(bytes), false),
            Outbound::Pong(bytes) => (OP_PONG, control(bytes), false),
        };
        Self {
            header: Some(header(opcode, payload.len())),
            payload,
            counted,
            data,
        }
    }

    fn close(command: &CloseCommand) -> Self {
        let payload = command.payload();
        Self {
            header: Some(header(OP_CLOSE, payload.len())),
            payload,
            counted: 0,
            data: false,
        }
    }
}

const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// A ping or pong payload cut to what a control frame may carry.
fn control(bytes: Bytes) -> Bytes {
    if bytes.len() > MAX_CONTROL_PAYLOAD {
        bytes.slice(..MAX_CONTROL_PAYLOAD)
    } else {
        bytes
    }
}

/// The header of an unfragmented, unmasked (server) frame (RFC 6455 5.2).
fn header(opcode: u8, len: usize) -> Bytes {
    let mut h = Vec::with_capacity(10);
    h.push(0x80 | opcode);
    if len < 126 {
        h.push(len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        h.push(126);
        h.extend_from_slice(&short.to_be_bytes());
    } else {
        h.push(127);
        h.extend_from_slice(&(len as u64).to_be_bytes());
    }
    Bytes::from(h)
}

impl SocketBody {
    /// The next piece of the frame being written, if any; finishing a frame releases its
    /// bytes.
    fn next_chunk(&mut self) -> Option<Bytes> {
        let writing = self.writing.as_mut()?;
        if let Some(header) = writing.header.take() {
            return Some(header);
        }
        if writing.payload.len() > CHUNK {
            return Some(writing.payload.split_to(CHUNK));
        }
        let done = self.writing.take()?;
        self.outbox.release(done.counted);
        if done.data {
            metrics::counter!("ws_relay_frames_out_total").increment(1);
        }
        (!done.payload.is_empty()).then_some(done.payload)
    }
}

impl MessageBody for SocketBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        loop {
            if this.writing.is_some() {
                if let Some(chunk) = this.next_chunk() {
                    return Poll::Ready(Some(Ok(chunk)));
                }
                continue;
            }
            match &this.state {
                BodyState::Done => {
                    this.written = None;
                    return Poll::Ready(None);
                }
                BodyState::Open => {
                    // Register before looking, so that a push or close in between wakes us.
                    this.outbox.waker.register(cx.waker());
                    this.closer.register(cx.waker());
                    if let Some(command) = this.closer.command() {
                        this.outbox.shut(!command.flush);
                        this.state = BodyState::Closing(command);
                        continue;
                    }
                    match this.outbox.pop() {
                        Some(frame) => this.writing = Some(Writing::frame(frame)),
                        None => return Poll::Pending,
                    }
                }
                BodyState::Closing(command) => match this.outbox.pop() {
                    // Flushing: what was queued before the close goes first.
                    Some(frame) => this.writing = Some(Writing::frame(frame)),
                    None => {
                        this.writing = Some(Writing::close(command));
                        this.state = BodyState::Done;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Outbound {
        Outbound::Text(ByteString::from("x".repeat(n)))
    }

    #[test]
    fn the_outbox_counts_bytes_until_they_are_written() {
        let outbox = Outbox::new(100, 1000);
        outbox.push(text(400)).unwrap();
        outbox.push(text(400)).unwrap();
        assert_eq!(outbox.queued_bytes(), 800);
        // 200 more fit exactly; one more byte does not.
        assert_eq!(outbox.push(text(201)), Err(Refused::Bytes));
        outbox.push(text(200)).unwrap();
        assert_eq!(outbox.queued_bytes(), 1000);
        // Taken out for writing: still counted until written.
        let frame = outbox.pop().unwrap();
        assert_eq!(outbox.queued_bytes(), 1000);
        assert_eq!(outbox.push(text(1)), Err(Refused::Bytes));
        outbox.release(frame.len());
        assert_eq!(outbox.queued_bytes(), 600);
        outbox.push(text(400)).unwrap();
        // Shutting with discard frees the queue at once and refuses later frames.
        outbox.shut(true);
        assert_eq!(outbox.queued_bytes(), 0);
        assert_eq!(outbox.queued_frames(), 0);
        assert_eq!(outbox.push(text(1)), Err(Refused::Shut));
    }

    #[test]
    fn a_shared_frame_counts_in_every_outbox_and_frames_are_capped_too() {
        let shared = ByteString::from("y".repeat(300));
        let a = Outbox::new(2, 1000);
        let b = Outbox::new(2, 1000);
        for outbox in [&a, &b] {
            outbox.push(Outbound::Text(shared.clone())).unwrap();
            outbox.push(Outbound::Text(shared.clone())).unwrap();
            assert_eq!(outbox.queued_bytes(), 600);
            assert_eq!(
                outbox.push(Outbound::Text(shared.clone())),
                Err(Refused::Frames)
            );
        }
    }

    #[test]
    fn a_frame_larger_than_the_budget_goes_only_into_an_empty_outbox() {
        let outbox = Outbox::new(10, 100);
        outbox.push(text(500)).unwrap();
        assert_eq!(outbox.push(text(1)), Err(Refused::Bytes));
        let frame = outbox.pop().unwrap();
        outbox.release(frame.len());
        outbox.push(text(1)).unwrap();
        assert_eq!(outbox.push(text(500)), Err(Refused::Bytes));
    }

    #[test]
    fn headers_follow_rfc_6455() {
        assert_eq!(&header(OP_TEXT, 5)[..], &[0x81, 5]);
        assert_eq!(&header(OP_TEXT, 126)[..], &[0x81, 126, 0, 126]);
        assert_eq!(
            &header(OP_BINARY, 70_000)[..],
            &[0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
        let close = CloseCommand::new(1013, "é".repeat(100)).payload();
        assert!(close.len() <= MAX_CONTROL_PAYLOAD);
        assert_eq!(&close[..2], &1013u16.to_be_bytes());
        assert!(std::str::from_utf8(&close[2..]).is_ok());
    }
}
