//! `GET /ws-echo`: an unauthenticated echo socket over the very frame handling `/ws` uses
//! (size guard, reader, bounded writer), so that the Autobahn protocol suite can exercise it.
//! Mounted only with `WS_ENABLE_ECHO=true`, which production refuses.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::relay::Relay;
use crate::socket::reader::{self, FrameReader, Incoming};
use crate::socket::writer::{self, CloseCommand, Closer, Outbound, Outbox};

pub(crate) async fn echo(
    req: HttpRequest,
    body: web::Payload,
    relay: web::Data<Relay>,
) -> actix_web::Result<HttpResponse> {
    let max = relay.settings().limits.max_frame_bytes;
    let body = reader::guard_payload(&req, body, max).await?;
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
                Incoming::Pong => continue,
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
