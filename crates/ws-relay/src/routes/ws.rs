//! `GET /ws`: the upgrade, in two steps — admission (every check, then chat-service's
//! `$connect`: [`crate::socket::admission`]) and attachment (the connection registered and its
//! tasks started: [`crate::socket::attach`]). A refusal at either step is a plain HTTP answer.

use actix_web::{HttpRequest, HttpResponse, web};
use service_kit::RequestId;

use crate::relay::Relay;
use crate::socket::admission::{self, Refused};
use crate::socket::attach;

pub(crate) async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    relay: web::Data<Relay>,
    request_id: RequestId,
) -> HttpResponse {
    let outcome = match admission::admit(&req, body, &relay, &request_id).await {
        Ok(admitted) => attach::attach(&relay, admitted, request_id.as_str()),
        Err(refused) => Err(refused),
    };
    outcome.unwrap_or_else(Refused::into_response)
}
