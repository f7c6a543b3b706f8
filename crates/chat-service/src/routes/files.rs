//! Downloads: `GET /files/{id}` and `GET /files/{id}/thumbnail`, streamed from storage with
//! `Range`, `ETag` and headers that keep an uploaded file from ever running as part of our
//! origin; and the `cc_files` cookie (`POST`/`DELETE /files/cookie`) with which a browser
//! fetches them (docs/decisions.md says why a cookie rather than signed URLs).

use std::pin::Pin;

use actix_web::body::SizedStream;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{
    FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, delete, get, post, web,
};
use futures_util::StreamExt;
use service_kit::Problem;
use tokens::actix::{AuthUser, authenticate, bearer_token};
use uuid::Uuid;

use crate::domain::files::{ByteRange, content_disposition};
use crate::error::{ApiError, ApiResult};
use crate::ops::{self, Caller};
use crate::startup::AppState;
use crate::storage::Storage;

/// The cookie a browser sends for downloads: the access token, scoped to `/files`.
pub(crate) const FILES_COOKIE: &str = "cc_files";

/// The caller of a download: the bearer token, or else the `cc_files` cookie, checked exactly
/// as every bearer token is (signature, expiry, revoked session).
pub(crate) struct FileReader(AuthUser);

impl FromRequest for FileReader {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let token = bearer_token(req)
            .map(str::to_owned)
            .or_else(|| req.cookie(FILES_COOKIE).map(|c| c.value().to_owned()));
        let checked = authenticate(req, token);
        Box::pin(async move { checked.await.map(FileReader) })
    }
}

#[utoipa::path(
    tag = "files", security(("bearer" = []), ("filesCookie" = [])),
    params(("id" = Uuid, Path), ("Range" = Option<String>, Header, description = "one range, `bytes=a-b`, `bytes=a-` or `bytes=-n` (several ranges: the whole file)"),
           ("If-None-Match" = Option<String>, Header, description = "the ETag of a copy the client has")),
    responses(
        (status = 200, description = "The file, streamed, with Content-Length, a strong ETag, Content-Disposition (inline for JPEG, PNG, GIF and WebP; attachment, with filename*, for everything else), X-Content-Type-Options: nosniff, Content-Security-Policy: default-src 'none'; sandbox and Cache-Control: private"),
        (status = 206, description = "The requested range, with Content-Range"),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = 401, body = service_kit::openapi::ProblemDoc),
        (status = 404, description = "file_not_found: no such file, a deleted one, one in a room the caller is not in, or another user's upload that no message carries", body = service_kit::openapi::ProblemDoc),
        (status = 416, description = "range_not_satisfiable: the range starts past the end, with Content-Range: bytes */size", body = service_kit::openapi::ProblemDoc),
        (status = 503, description = "storage_unavailable", body = service_kit::openapi::ProblemDoc),
    )
)]
#[get("/files/{id}")]
pub(crate) async fn download(
    state: web::Data<AppState>,
    reader: FileReader,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    serve(&state, &reader.0, &req, path.into_inner(), false).await
}

#[utoipa::path(
    tag = "files", security(("bearer" = []), ("filesCookie" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The thumbnail (longest side 480 px; JPEG, or PNG for images with transparency), with the headers of GET /files/{id}"),
        (status = 206, description = "The requested range"),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = 401, body = service_kit::openapi::ProblemDoc),
        (status = 404, description = "file_not_found: as for the file, and for a file without a thumbnail (not an image, or not larger than 480 px)", body = service_kit::openapi::ProblemDoc),
        (status = 416, description = "range_not_satisfiable", body = service_kit::openapi::ProblemDoc),
        (status = 503, description = "storage_unavailable", body = service_kit::openapi::ProblemDoc),
    )
)]
#[get("/files/{id}/thumbnail")]
pub(crate) async fn download_thumbnail(
    state: web::Data<AppState>,
    reader: FileReader,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    serve(&state, &reader.0, &req, path.into_inner(), true).await
}

async fn serve(
    state: &AppState,
    user: &AuthUser,
    req: &HttpRequest,
    id: Uuid,
    thumbnail: bool,
) -> ApiResult<HttpResponse> {
    let upload = ops::uploads::readable(state, &Caller::from(user), id).await?;
    let (key, size, content_type, etag) = if thumbnail {
        let thumb = upload.thumbnail.as_ref().ok_or(ApiError::FileNotFound)?;
        (
            Storage::thumbnail_key(id),
            thumb.size,
            thumb.content_type.as_str(),
            format!("\"{id}-t{}\"", thumb.size),
        )
    } else {
        (
            Storage::upload_key(id),
            upload.size,
            upload.content_type.as_str(),
            format!("\"{id}-{}\"", upload.size),
        )
    };
    let headers = |status: StatusCode| {
        let mut res = HttpResponseBuilder::new(status);
        res.insert_header((header::ETAG, etag.clone()))
            .insert_header((
                header::CACHE_CONTROL,
                format!(
                    "private, max-age={}",
                    state.settings.files.cache_max_age.as_secs()
                ),
            ))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            ))
            .insert_header((header::ACCEPT_RANGES, "bytes"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                content_disposition(content_type, &upload.name),
            ));
        res
    };
    let header_text = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let Some(tags) = header_text(header::IF_NONE_MATCH)
        && tags
            .split(',')
            .any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag)
    {
        return Ok(headers(StatusCode::NOT_MODIFIED).finish());
    }
    // A range is served only of the copy the client has (If-Range), else the whole file.
    let same_copy = header_text(header::IF_RANGE).is_none_or(|t| t.trim() == etag);
    let range = if same_copy {
        ByteRange::parse(header_text(header::RANGE).as_deref(), size)
    } else {
        ByteRange::Full
    };
    let (status, read, length) = match range {
        ByteRange::Full => (StatusCode::OK, None, size),
        ByteRange::Partial { start, end } => (
            StatusCode::PARTIAL_CONTENT,
            Some(start..end + 1),
            end + 1 - start,
        ),
        ByteRange::Unsatisfiable => {
            let problem = Problem::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("the file has {size} bytes"),
            );
            let mut res = actix_web::ResponseError::error_response(&problem);
            if let Ok(value) = header::HeaderValue::from_str(&format!("bytes */{size}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(res);
        }
    };
    let stream = match state.storage.read(&key, read.clone()).await {
        Ok(stream) => stream,
        // The row says it exists, the store does not have it: as good as gone.
        Err(object_store::Error::NotFound { .. }) => {
            tracing::error!(upload_id = %id, thumbnail, "a file's object is missing from storage");
            return Err(ApiError::FileNotFound);
        }
        Err(e) => return Err(ApiError::storage(e.into())),
    };
    let mut res = headers(status);
    res.content_type(if content_type == "text/plain" {
        "text/plain; charset=utf-8"
    } else {
        content_type
    });
    if let Some(r) = &read {
        res.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{size}", r.start, r.end - 1),
        ));
    }
    metrics::counter!("file_downloads_total", "kind" => if thumbnail { "thumbnail" } else { "file" })
        .increment(1);
    Ok(res.body(SizedStream::new(
        length,
        stream.map(|chunk| chunk.map_err(box_error)),
    )))
}

fn box_error(e: object_store::Error) -> Box<dyn std::error::Error> {
    tracing::warn!(error = %e, "a download broke off: storage failed mid-stream");
    Box::new(e)
}

#[utoipa::path(
    tag = "files", security(("bearer" = [])),
    responses(
        (status = 204, description = "Set-Cookie: cc_files=<the access token>; Path=/files; HttpOnly; SameSite=Strict; Max-Age=<the token's remaining life> (and Secure when PUBLIC_URL is https or APP_ENV=production). Call it again after each token refresh."),
        (status = 401, body = service_kit::openapi::ProblemDoc),
    )
)]
#[post("/files/cookie")]
pub(crate) async fn set_cookie(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
) -> HttpResponse {
    let token = bearer_token(&req).unwrap_or_default().to_owned();
    let now = store_kit::now_ms() / 1000;
    let remaining = (user.claims.exp - now).max(0);
    let cookie = Cookie::build(FILES_COOKIE, token)
        .path("/files")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.files.secure_cookie)
        .max_age(actix_web::cookie::time::Duration::seconds(remaining))
        .finish();
    HttpResponse::NoContent().cookie(cookie).finish()
}

#[utoipa::path(
    tag = "files",
    responses((status = 204, description = "Set-Cookie that removes cc_files (no token needed: it may have expired)"))
)]
#[delete("/files/cookie")]
pub(crate) async fn clear_cookie(state: web::Data<AppState>) -> HttpResponse {
    let mut cookie = Cookie::build(FILES_COOKIE, "")
        .path("/files")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.files.secure_cookie)
        .finish();
    cookie.make_removal();
    HttpResponse::NoContent().cookie(cookie).finish()
}
