//! Reading client frames safely.
//!
//! actix-http's codec rejects an oversized frame only once the whole frame is buffered, so a
//! header announcing a gigabyte would make us buffer a gigabyte first. [`FrameGuard`] sits
//! between the TCP payload and the codec and fails as soon as a frame *header* announces more
//! than the limit. [`FrameReader`] then turns the codec's frames into [`Incoming`] events:
//! it joins fragmented messages (with the same limit on the total), validates UTF-8 as the
//! fragments arrive (so a bad byte fails fast), and maps every protocol violation to the close
//! code RFC 6455 asks for.

use std::pin::Pin;
use std::str::Utf8Error;
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use actix_ws::{CloseCode, CloseReason, Item, Message, MessageStream, ProtocolError};
use bytestring::ByteString;
use futures_util::Stream;

/// A client event, after validation.
#[derive(Debug)]
pub(crate) enum Incoming {
    Text(ByteString),
    Binary(Bytes),
    Ping(Bytes),
    Pong,
    /// The client started the close handshake.
    Close(Option<CloseReason>),
    /// The client broke the protocol: close with this code.
    Violation(CloseCode, &'static str),
    /// The TCP connection ended without a close frame.
    Ended,
}

/// Wraps the raw request payload and fails when a frame header announces a payload larger
/// than `max`. Bytes pass through unchanged; only the headers are looked at.
pub(crate) struct FrameGuard<S> {
    inner: S,
    max: u64,
    state: GuardState,
    failed: bool,
}

enum GuardState {
    /// Collecting a header (2 to 14 bytes).
    Header { buf: [u8; 14], have: usize },
    /// Skipping a payload.
    Payload { remaining: u64 },
}

impl<S> FrameGuard<S> {
    pub(crate) fn new(inner: S, max: usize) -> Self {
        Self {
            inner,
            max: u64::try_from(max).unwrap_or(u64::MAX),
            state: GuardState::Header {
                buf: [0; 14],
                have: 0,
            },
            failed: false,
        }
    }

    /// Follows the frame boundaries through `chunk`; `false` when a header is over the limit.
    fn inspect(&mut self, mut chunk: &[u8]) -> bool {
        while !chunk.is_empty() {
            match &mut self.state {
                GuardState::Payload { remaining } => {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(chunk.len());
                    *remaining -= n as u64;
                    chunk = &chunk[n..];
                    if *remaining == 0 {
                        self.state = GuardState::Header {
                            buf: [0; 14],
                            have: 0,
                        };
                    }
                }
                GuardState::Header { buf, have } => {
                    let needed = if *have < 2 {
                        2
                    } else {
                        header_len(buf[0..2].try_into().unwrap_or([0, 0]))
                    };
                    let take = (needed - *have).min(chunk.len());
                    buf[*have..*have + take].copy_from_slice(&chunk[..take]);
                    *have += take;
                    chunk = &chunk[take..];
                    if *have < needed {
                        continue;
                    }
                    if needed == 2 && header_len([buf[0], buf[1]]) > 2 {
                        // Now we know how long the header is; go round for the rest.
                        continue;
                    }
                    let len = payload_len(&buf[..*have]);
                    if len > self.max {
                        return false;
                    }
                    self.state = if len == 0 {
                        GuardState::Header {
                            buf: [0; 14],
                            have: 0,
                        }
                    } else {
                        GuardState::Payload { remaining: len }
                    };
                }
            }
        }
        true
    }
}

/// The upgrade request's `body` behind a [`FrameGuard`] of `max` bytes, as actix-ws takes it.
pub(crate) async fn guard_payload(
    req: &HttpRequest,
    body: web::Payload,
    max: usize,
) -> actix_web::Result<web::Payload> {
    let guarded: Pin<Box<dyn Stream<Item = _>>> = Box::pin(FrameGuard::new(body.into_inner(), max));
    let mut payload = actix_web::dev::Payload::from(guarded);
    web::Payload::from_request(req, &mut payload).await
}

/// Header length from its first two bytes: base, extended length, mask key.
fn header_len(first: [u8; 2]) -> usize {
    let ext = match first[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if first[1] & 0x80 != 0 { 4 } else { 0 };
    2 + ext + mask
}

fn payload_len(header: &[u8]) -> u64 {
    match header[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        127 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&header[2..10]);
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    }
}

impl<S> Stream for FrameGuard<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                if this.inspect(&bytes) {
                    Poll::Ready(Some(Ok(bytes)))
                } else {
                    this.failed = true;
                    Poll::Ready(Some(Err(PayloadError::Overflow)))
                }
            }
            other => other,
        }
    }
}

/// A fragmented message being joined.
struct Partial {
    text: bool,
    buf: BytesMut,
    /// Bytes of `buf` known to be valid UTF-8 (text messages).
    valid_up_to: usize,
}

/// Turns actix-ws messages into validated [`Incoming`] events.
pub(crate) struct FrameReader {
    stream: MessageStream,
    max: usize,
    partial: Option<Partial>,
    done: bool,
}

impl FrameReader {
    pub(crate) fn new(stream: MessageStream, max: usize) -> Self {
        Self {
            // One frame may be as large as a whole message.
            stream: stream.max_frame_size(max),
            max,
            partial: None,
            done: false,
        }
    }

    /// The next event; after `Close`, `Violation` or `Ended` it keeps returning `Ended`.
    pub(crate) async fn next(&mut self) -> Incoming {
        if self.done {
            return Incoming::Ended;
        }
        loop {
            let event = match self.stream.recv().await {
                None => Incoming::Ended,
                Some(Err(err)) => violation_for(&err),
                Some(Ok(msg)) => match self.accept(msg) {
                    Some(event) => event,
                    None => continue,
                },
            };
            if matches!(
                event,
                Incoming::Close(_) | Incoming::Violation(..) | Incoming::Ended
            ) {
                self.done = true;
            }
            return event;
        }
    }

    /// `None` while a fragmented message is still being joined.
    fn accept(&mut self, msg: Message) -> Option<Incoming> {
        match msg {
            Message::Text(text) => Some(Incoming::Text(text)),
            Message::Binary(bytes) => Some(Incoming::Binary(bytes)),
            Message::Ping(bytes) => Some(Incoming::Ping(bytes)),
            Message::Pong(_) => Some(Incoming::Pong),
            Message::Close(reason) => Some(Incoming::Close(reason)),
            Message::Nop => None,
            Message::Continuation(item) => self.continuation(item),
        }
    }

    fn continuation(&mut self, item: Item) -> Option<Incoming> {
        let (bytes, first_text, last) = match item {
            Item::FirstText(b) => (b, Some(true), false),
            Item::FirstBinary(b) => (b, Some(false), false),
            Item::Continue(b) => (b, None, false),
            Item::Last(b) => (b, None, true),
        };
        if let Some(text) = first_text {
            // The codec already refuses a new message inside a fragmented one.
            self.partial = Some(Partial {
                text,
                buf: BytesMut::new(),
                valid_up_to: 0,
            });
        }
        let Some(partial) = self.partial.as_mut() else {
            return Some(Incoming::Violation(
                CloseCode::Protocol,
                "continuation without a first fragment",
            ));
        };
        if partial.buf.len() + bytes.len() > self.max {
            return Some(Incoming::Violation(CloseCode::Size, "message too big"));
        }
        partial.buf.extend_from_slice(&bytes);
        if partial.text {
            match std::str::from_utf8(&partial.buf[partial.valid_up_to..]) {
                Ok(_) => partial.valid_up_to = partial.buf.len(),
                // A character cut between fragments is fine until the last one.
                Err(e) if e.error_len().is_none() && !last => {
                    partial.valid_up_to += e.valid_up_to();
                }
                Err(_) => {
                    return Some(Incoming::Violation(
                        CloseCode::Invalid,
                        "invalid UTF-8 in a text message",
                    ));
                }
            }
        }
        if !last {
            return None;
        }
        let partial = self.partial.take()?;
        let bytes = partial.buf.freeze();
        if partial.text {
            match ByteString::try_from(bytes) {
                Ok(text) => Some(Incoming::Text(text)),
                Err(_) => Some(Incoming::Violation(
                    CloseCode::Invalid,
                    "invalid UTF-8 in a text message",
                )),
            }
        } else {
            Some(Incoming::Binary(bytes))
        }
    }
}

/// The close code for a protocol error from the codec (or from our guard).
fn violation_for(err: &ProtocolError) -> Incoming {
    match err {
        ProtocolError::Overflow => Incoming::Violation(CloseCode::Size, "message too big"),
        ProtocolError::Io(io) => {
            let inner = io.get_ref();
            if inner.is_some_and(|e| e.downcast_ref::<Utf8Error>().is_some()) {
                Incoming::Violation(CloseCode::Invalid, "invalid UTF-8 in a text message")
            } else if inner.is_some_and(|e| {
                matches!(
                    e.downcast_ref::<PayloadError>(),
                    Some(PayloadError::Overflow)
                )
            }) {
                Incoming::Violation(CloseCode::Size, "message too big")
            } else if io.kind() == std::io::ErrorKind::InvalidData {
                // Reserved bits set, and the like.
                Incoming::Violation(CloseCode::Protocol, "protocol error")
            } else {
                Incoming::Ended
            }
        }
        _ => Incoming::Violation(CloseCode::Protocol, "protocol error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(max: usize) -> FrameGuard<futures_util::stream::Empty<Result<Bytes, PayloadError>>> {
        FrameGuard::new(futures_util::stream::empty(), max)
    }

    /// A masked client frame header announcing `len` bytes.
    fn header(len: u64) -> Vec<u8> {
        let mut h = vec![0x81];
        if len < 126 {
            h.push(0x80 | len as u8);
        } else if len <= u64::from(u16::MAX) {
            h.push(0x80 | 126);
            h.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            h.push(0x80 | 127);
            h.extend_from_slice(&len.to_be_bytes());
        }
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    }

    #[test]
    fn passes_frames_within_the_limit_across_chunk_boundaries() {
        let mut g = guard(1000);
        let mut bytes = header(1000);
        bytes.extend(std::iter::repeat_n(b'a', 1000));
        bytes.extend(header(5));
        bytes.extend(b"hello");
        // Feed one byte at a time: headers straddle chunks.
        for b in &bytes {
            assert!(g.inspect(std::slice::from_ref(b)));
        }
        assert!(matches!(g.state, GuardState::Header { have: 0, .. }));
    }

    #[test]
    fn fails_on_the_header_of_an_oversized_frame() {
        let mut g = guard(65536);
        assert!(g.inspect(&header(65536)));
        let mut g = guard(65536);
        assert!(!g.inspect(&header(65537)));
        let mut g = guard(65536);
        assert!(!g.inspect(&header(1 << 40)));
        // Split inside the extended length.
        let mut g = guard(65536);
        let h = header(1 << 40);
        assert!(g.inspect(&h[..3]));
        assert!(!g.inspect(&h[3..]));
    }
}
