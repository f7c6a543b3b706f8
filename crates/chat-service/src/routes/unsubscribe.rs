//! `/notifications/unsubscribe?user=&sig=`: the one-click unsubscribe link of e-mail digests
//! (RFC 8058; docs/architecture.md, "Notifications"). No bearer token: the signature is the
//! credential, and all it can do is turn the digest off. `GET` only shows a page with a
//! button (mail scanners open links; they must not unsubscribe anyone); `POST` — the button,
//! or the mail client's `List-Unsubscribe=One-Click` — does it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::domain::unsubscribe::{PATH, UnsubscribeKey};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;

/// GET and POST; any other method is 405.
pub(crate) fn resource() -> actix_web::Resource {
    web::resource(PATH)
        .route(web::get().to(page))
        .route(web::post().to(unsubscribe))
        .default_service(web::to(service_kit::problem::not_found))
}

/// The link's `user` and `sig`, read leniently: whatever the query, the answer is the page
/// or 403, never a 400.
fn signed_user(key: &UnsubscribeKey, query: &[(String, String)]) -> Option<Uuid> {
    let first = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    key.verify(first("user"), first("sig"))
}

fn query_pairs(req: &actix_web::HttpRequest) -> Vec<(String, String)> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

#[utoipa::path(
    get, path = "/notifications/unsubscribe", tag = "notifications", operation_id = "unsubscribe_page",
    params(("user" = Option<String>, Query, description = "the user id the link was made for"),
           ("sig" = Option<String>, Query, description = "base64url HMAC-SHA256 of the user id, made by the server")),
    responses(
        (status = 200, description = "An HTML page with a button that POSTs the same URL; nothing changes until it is pressed", body = String, content_type = "text/html"),
        (status = 403, description = "An HTML page saying the link is not valid (a wrong or missing signature or user)", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn page(state: web::Data<AppState>, req: actix_web::HttpRequest) -> HttpResponse {
    match signed_user(&state.unsubscribe, &query_pairs(&req)) {
        // The form's URL is made again from the checked id: nothing from the request is
        // echoed into the page.
        Some(user) => html(
            StatusCode::OK,
            "Unsubscribe from e-mail digests",
            &format!(
                "<p>Stop the e-mails that list the direct messages and mentions you missed while away?</p>\
                 <form method=\"post\" action=\"{PATH}?user={user}&amp;sig={}\">\
                 <button type=\"submit\">Unsubscribe</button></form>",
                state.unsubscribe.sign(user)
            ),
        ),
        None => invalid_page(),
    }
}

#[utoipa::path(
    post, path = "/notifications/unsubscribe", tag = "notifications", operation_id = "unsubscribe",
    params(("user" = Option<String>, Query, description = "the user id the link was made for"),
           ("sig" = Option<String>, Query, description = "base64url HMAC-SHA256 of the user id, made by the server")),
    request_body(description = "`List-Unsubscribe=One-Click` (application/x-www-form-urlencoded), as RFC 8058 mail clients send it; any body, or none, is accepted and ignored", content = Option<String>, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "E-mail digests are off for the user; an HTML page says so", body = String, content_type = "text/html"),
        (status = 403, description = "invalid_unsubscribe_link: a wrong or missing signature or user", body = service_kit::openapi::ProblemDoc),
    )
)]
pub(crate) async fn unsubscribe(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
) -> ApiResult<HttpResponse> {
    let user = signed_user(&state.unsubscribe, &query_pairs(&req))
        .ok_or(ApiError::InvalidUnsubscribeLink)?;
    crate::store::notifications::turn_off_digest(&state.db.pool, user, store_kit::now_ms()).await?;
    tracing::info!(%user, "e-mail digests turned off by the unsubscribe link");
    metrics::counter!("digest_unsubscribed_total").increment(1);
    Ok(html(
        StatusCode::OK,
        "Unsubscribed",
        "<p>You will no longer receive e-mail digests. You can turn them on again in the app's notification settings.</p>",
    ))
}

fn invalid_page() -> HttpResponse {
    html(
        StatusCode::FORBIDDEN,
        "This link is not valid",
        "<p>This unsubscribe link is not valid. Use the link in your newest digest, or turn e-mail digests off in the app's notification settings.</p>",
    )
}

/// A small page of our own text only (no user content), with no script or style, under a
/// Content-Security-Policy that allows nothing but posting its form back here.
fn html(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} · Cloud Chat</title></head>\
             <body><h1>{title}</h1>{body}</body></html>\n"
        ))
}
