//! HTTP handlers, one module per resource. Paths are those of the OpenAPI document (`/openapi.json`) and, for `/internal`, docs/architecture.md.

pub(crate) mod admin;
pub(crate) mod blocks;
pub(crate) mod dms;
pub(crate) mod export;
pub(crate) mod files;
pub(crate) mod internal_ws;
pub(crate) mod members;
pub(crate) mod mentions;
pub(crate) mod messages;
pub(crate) mod moderation;
pub(crate) mod notifications;
pub(crate) mod presence;
pub(crate) mod push;
pub(crate) mod reports;
pub(crate) mod rooms;
pub(crate) mod search;
pub(crate) mod tickets;
pub(crate) mod unsubscribe;
pub(crate) mod uploads;
pub(crate) mod user_events;

use actix_web::{HttpRequest, HttpResponse, get, web};
use tokens::actix::AuthUser;
use wire::Publish;

use crate::ops::{Actor, Caller, Outcome};
use crate::startup::AppState;

/// A JSON body's fields. Bodies whose fields may all be null are read through it (serde's
/// `try_from`): serde alone would also take such a struct from an array of its values, which
/// the schema forbids.
pub(crate) type JsonObject = serde_json::Map<String, serde_json::Value>;

/// Takes the field `name` out of a body: missing is an error, null is whatever `T` makes of
/// it (`None` for an `Option`).
pub(crate) fn take<T: serde::de::DeserializeOwned>(
    body: &mut JsonObject,
    name: &str,
) -> Result<T, String> {
    let value = body
        .remove(name)
        .ok_or_else(|| format!("missing field `{name}`"))?;
    serde_json::from_value(value).map_err(|e| format!("{name}: {e}"))
}

/// Like [`take`], for a field that may be left out.
pub(crate) fn take_optional<T: serde::de::DeserializeOwned>(
    body: &mut JsonObject,
    name: &str,
) -> Result<Option<T>, String> {
    match body.remove(name) {
        None => Ok(None),
        Some(value) => serde_json::from_value(value).map_err(|e| format!("{name}: {e}")),
    }
}

/// The caller of a moderation action (an access token, as [`AuthUser`] checks it), with the
/// client's address as the audit log records it (`X-Forwarded-For` counts only from
/// `TRUSTED_PROXIES`).
impl actix_web::FromRequest for Actor {
    type Error = service_kit::Problem;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let ip = req
            .app_data::<web::Data<AppState>>()
            .and_then(|state| state.settings.trusted_proxies.client_ip(req))
            .map(|ip| ip.to_string());
        let user = <AuthUser as actix_web::FromRequest>::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            Ok(Actor {
                caller: Caller::from(&user),
                ip,
            })
        })
    }
}

/// The caller of a write that needs a verified e-mail address (posting, reacting, uploading,
/// creating rooms, a socket ticket): an [`AuthUser`] whose token does not carry `unverified`.
/// auth-service sets that claim only under `REQUIRE_EMAIL_VERIFICATION` (docs/architecture.md,
/// "E-mail verification"); this and a bearer-token `$connect` are where chat-service reads it.
pub(crate) struct VerifiedUser(pub(crate) AuthUser);

impl actix_web::FromRequest for VerifiedUser {
    type Error = service_kit::Problem;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let user = <AuthUser as actix_web::FromRequest>::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            if user.claims.unverified {
                return Err(crate::error::ApiError::EmailUnverified.problem());
            }
            Ok(VerifiedUser(user))
        })
    }
}

/// Tells the relays what an operation started in a REST call did, in the background (control
/// items are retried until a relay accepts them, deliveries alone get one try; see
/// `relay-client`), and hands back its value for the answer.
pub(crate) fn publish<T>(
    state: &AppState,
    outcome: Outcome<T>,
    request_id: &service_kit::RequestId,
) -> T {
    if !outcome.deliveries.is_empty() || !outcome.control.is_empty() {
        state.relay.publish_in_background(
            Publish {
                deliveries: outcome.deliveries,
                control: outcome.control,
            },
            request_id.to_string(),
        );
    }
    outcome.value
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Another method on a documented path: 405 with Allow (service_kit::problem::not_found).
    // Built once, not for every worker that runs this.
    static KNOWN: std::sync::OnceLock<web::Data<service_kit::openapi::KnownPaths>> =
        std::sync::OnceLock::new();
    cfg.app_data(KNOWN.get_or_init(known_paths).clone());
    cfg.service(rooms::list)
        .service(rooms::create)
        .service(rooms::get)
        .service(rooms::delete)
        .service(rooms::hide)
        .service(dms::open)
        .service(members::list)
        .service(members::add)
        .service(members::remove)
        .service(moderation::set_role)
        .service(moderation::mute)
        .service(moderation::unmute)
        .service(moderation::mutes)
        .service(blocks::list)
        .service(blocks::block)
        .service(blocks::unblock)
        .service(reports::create)
        .service(reports::list)
        .service(reports::resolve)
        .service(admin::audit)
        .service(admin::stats)
        .service(messages::history)
        .service(messages::changes)
        .service(messages::post)
        .service(messages::edit)
        .service(messages::delete)
        .service(messages::react)
        .service(messages::unreact)
        .service(messages::mark_read)
        .service(messages::read_markers)
        .service(mentions::list)
        .service(search::search)
        .service(presence::get)
        .service(notifications::get)
        .service(notifications::put)
        .service(notifications::put_room)
        .service(push::vapid_public_key)
        .service(push::subscribe)
        .service(push::list)
        .service(push::unsubscribe)
        .service(tickets::create)
        .service(uploads::create)
        .service(files::cookie_resource())
        .service(files::download)
        .service(files::download_thumbnail)
        .service(unsubscribe::resource())
        .service(internal_ws::connect)
        .service(internal_ws::action)
        .service(
            web::resource("/internal/ws/actions")
                .app_data(
                    web::JsonConfig::default()
                        .limit(wire::BATCH_BODY_LIMIT)
                        .error_handler(service_kit::problem::json_error),
                )
                .route(web::post().to(internal_ws::actions_batch)),
        )
        .service(internal_ws::disconnect)
        .service(internal_ws::rooms_of_users)
        .service(user_events::receive)
        .service(export::export)
        .service(openapi);
}

#[get("/openapi.json")]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document())
}

fn known_paths() -> web::Data<service_kit::openapi::KnownPaths> {
    web::Data::new(service_kit::openapi::KnownPaths::from_openapi(
        &crate::openapi::document(),
    ))
}
