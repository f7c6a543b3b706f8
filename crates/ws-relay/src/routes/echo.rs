//! `GET /ws-echo`: an unauthenticated echo socket over the very frame handling `/ws` uses
//! (size guard, reader, bounded writer), so that the Autobahn protocol suite can exercise it.
//! Mounted only with `WS_ENABLE_ECHO=true`, which production refuses.

use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::Stream;

use crate::relay::Relay;
use crate::socket::reader::{FrameGuard, FrameReader, Incoming};
use crate::socket::writer::{self, CloseCommand, Closer, Outbound, Outbox};

pub async fn echo(
    req: HttpRequest,
    body: web::Payload,
    relay: web::Data<Relay>,
) -> actix_web::Result<HttpResponse> {
    let max = relay.settings().limits.max_frame_bytes;
    let guarded: Pin<Box<dyn Stream<Item = _>>> = Box::pin(FrameGuard::new(body.into_inner(), max));
    let mut payload = actix_web::dev::Payload::from(guarded);
    let body = web::Payload::from_request(&req, &mut payload).await?;
    let (response, _unused_session, stream) = actix_ws::handle(&req, body)?;
    let limits = &relay.settings().limits;
    let outbox = Outbox::new(limits.outbound_queue, limits.outbound_max_bytes);
    let (closer, _) = Closer::new();
    let (response, _written) = writer::attach(response, outbox.clone(), closer.clone());
    actix_web::rt::spawn(async move {
        let mut reader = FrameReader::new(stream, max);
        loop {
            let out = match reader.next().await {
                Incoming::Text(t) => Outbound::Text(t),
                Incoming::Binary(b) => Outbound::Binary(b),
                Incoming::Ping(b) => Outbound::Pong(b),
                Incoming::Pong(_) => continue,
                Incoming::Close(reason) => {
                    closer.close(CloseCommand {
                        code: reason.map(|r| u16::from(r.code)),
                        reason: String::new(),
                        flush: true,
                    });
                    return;
                }
                Incoming::Violation(code, why) => {
                    closer.close(CloseCommand::new(u16::from(code), why).flushing());
                    return;
                }
                Incoming::Ended => {
                    closer.close(CloseCommand {
                        code: None,
                        reason: String::new(),
                        flush: false,
                    });
                    return;
                }
            };
            if !outbox.push_waiting(out).await {
                return;
            }
        }
    });
    Ok(response)
}
