//! `POST /uploads`: a file as the one multipart part `file`, or as the raw body with
//! `?filename=`. The handler only finds the bytes and the name; `ops::uploads` does the rest.

use actix_web::{HttpRequest, HttpResponse, http::header, post, web};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::VerifiedUser;
use crate::domain::files::FileName;
use crate::error::{ApiError, ApiResult};
use crate::ops::{self, Caller};
use crate::startup::AppState;
use crate::store::uploads::Upload;

/// A multipart body may be this much larger than the file it carries (boundaries, part
/// headers) before its declared length alone refuses it.
const MULTIPART_SLACK: u64 = 64 * 1024;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadQuery {
    /// The file's name, for a raw body (a multipart part's own `filename` wins); sanitised;
    /// `file` when there is none.
    filename: Option<String>,
}

/// `POST /uploads` as multipart/form-data: exactly one part, `file` (for the OpenAPI
/// document; the handler reads the parts as they stream).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct UploadForm {
    /// The file's bytes; the part's `filename` is its name.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// `POST /uploads` with the file as the body (any Content-Type; `?filename=` names it).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub(crate) struct RawFile(Vec<u8>);

/// An upload as stored.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UploadView {
    id: Uuid,
    /// Sanitised: no path, control characters or bidirectional overrides; at most 255 bytes.
    name: String,
    /// Sniffed from the bytes (an image type, `text/plain` for UTF-8 text, or
    /// `application/octet-stream`); what the client said is ignored.
    content_type: String,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    /// For images larger than 480 px on their longest side.
    #[serde(skip_serializing_if = "Option::is_none")]
    thumbnail: Option<ThumbnailView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ThumbnailView {
    width: u32,
    height: u32,
}

impl From<&Upload> for UploadView {
    fn from(u: &Upload) -> Self {
        Self {
            id: u.id,
            name: u.name.clone(),
            content_type: u.content_type.clone(),
            size: u.size,
            width: u.width,
            height: u.height,
            thumbnail: u.thumbnail.as_ref().map(|t| ThumbnailView {
                width: t.width,
                height: t.height,
            }),
        }
    }
}

fn no_file() -> ApiError {
    ApiError::UnsupportedMediaType(
        "send the file as the one multipart/form-data part named `file`, or as the body with a Content-Type and ?filename=".to_owned(),
    )
}

#[utoipa::path(
    tag = "files", security(("bearer" = [])), params(UploadQuery),
    request_body(description = "multipart/form-data with exactly one part, named `file` (its `filename` is the name), or the file itself as the body with any Content-Type (`?filename=` names it). At most UPLOAD_MAX_BYTES (25 MiB), enforced while the body streams; an empty file is a file of 0 bytes.",
        content((UploadForm = "multipart/form-data"), (RawFile = "application/octet-stream"))),
    responses(
        (status = 201, description = "Stored. Images (JPEG, PNG, GIF, WebP) get their width and height (EXIF orientation applied) and, past 480 px, a thumbnail; a JPEG, PNG or WebP carrying EXIF metadata is stored re-encoded without it. The upload is deleted after UPLOAD_UNATTACHED_TTL_SECS unless a message carries it.", body = UploadView),
        (status = 400, description = "validation_failed: a multipart part other than `file`, or more than one part", body = service_kit::openapi::ProblemDoc),
        (status = 403, description = "email_unverified: the account has not verified its e-mail address and the instance requires it (REQUIRE_EMAIL_VERIFICATION)", body = service_kit::openapi::ProblemDoc),
        (status = 413, description = "upload_too_large: over UPLOAD_MAX_BYTES (nothing is kept); upload_quota_exceeded: the caller's live files would pass UPLOAD_QUOTA_BYTES (1 GiB), the detail says how much they use", body = service_kit::openapi::ProblemDoc),
        (status = 415, description = "unsupported_media_type: no Content-Type, or a multipart body that cannot be read or has no part", body = service_kit::openapi::ProblemDoc),
        (status = 429, description = "rate_limited: more than UPLOADS_PER_HOUR (100) uploads in an hour, with Retry-After", body = service_kit::openapi::ProblemDoc),
        (status = 503, description = "storage_unavailable: the object store did not answer", body = service_kit::openapi::ProblemDoc),
    )
)]
#[post("/uploads")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    VerifiedUser(user): VerifiedUser,
    req: HttpRequest,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let caller = Caller::from(&user);
    let max = state.settings.files.upload_max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // A body that says it is too large is refused before a byte is stored.
    if declared.is_some_and(|len| len > max.saturating_add(MULTIPART_SLACK)) {
        metrics::counter!("uploads_rejected_total", "reason" => "too_large").increment(1);
        return Err(ApiError::UploadTooLarge(max));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(no_file)?;
    let is_multipart = content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data");
    let upload = if is_multipart {
        let mut parts = actix_multipart::Multipart::new(req.headers(), payload);
        let mut field = match parts.next().await {
            Some(Ok(field)) => field,
            Some(Err(e)) => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "the multipart body cannot be read: {e}"
                )));
            }
            None => return Err(no_file()),
        };
        if field.name() != Some("file") {
            return Err(ApiError::field(
                "file",
                "send exactly one part, named `file`",
            ));
        }
        let raw_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned)
            .or_else(|| query.filename.clone())
            .unwrap_or_default();
        let upload =
            ops::uploads::upload(&state, &caller, FileName::parse(&raw_name), &mut field).await?;
        drop(field);
        // Exactly one part: anything after it undoes the upload.
        if let Some(extra) = parts.next().await {
            ops::uploads::discard(&state, upload.id).await;
            return Err(match extra {
                Ok(_) => ApiError::field("file", "send exactly one part, named `file`"),
                Err(e) => ApiError::UnsupportedMediaType(format!(
                    "the multipart body cannot be read: {e}"
                )),
            });
        }
        upload
    } else {
        let raw_name = query.filename.as_deref().unwrap_or_default();
        ops::uploads::upload(&state, &caller, FileName::parse(raw_name), payload).await?
    };
    Ok(HttpResponse::Created().json(UploadView::from(&upload)))
}
