//! `/.well-known/jwks.json` (the public signing keys) and `/openapi.json`.

use actix_web::{HttpResponse, get, web};

use crate::startup::AppState;

#[utoipa::path(tag = "keys", responses((status = 200, description = "Public signing keys (JWKS)")))]
#[get("/.well-known/jwks.json")]
pub(crate) async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            "public, max-age=300",
        ))
        .json(state.issuer.jwks(&[]))
}

#[get("/openapi.json")]
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document())
}
