//! Error policy: every error a client sees is an RFC 9457 `application/problem+json` body with
//! a stable snake_case `code`. Services keep their own `thiserror` enums for what callers match
//! on and convert them into a [`Problem`] in one `From` impl; unexpected errors are logged
//! with their cause chain there and reach the client only as a generic 500. Extractor failures
//! (bad JSON, bad path or query) go through the handlers in this module so that they are
//! problems too, never actix's plain-text defaults.

use std::borrow::Cow;
use std::fmt;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;

/// One offending input field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: Cow<'static, str>,
    pub message: Cow<'static, str>,
}

impl FieldError {
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    kind: &'static str,
    title: Cow<'static, str>,
    status: u16,
    code: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<Cow<'static, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
    /// RFC 9457 extension members beside the standard ones (e.g. `suspendedUntil`).
    #[serde(flatten)]
    extensions: serde_json::Map<String, serde_json::Value>,
    #[serde(skip)]
    retry_after_secs: Option<u64>,
    #[serde(skip)]
    bearer_challenge: bool,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            kind: "about:blank",
            title: Cow::Borrowed(status.canonical_reason().unwrap_or("Error")),
            status: status.as_u16(),
            code: code.into(),
            detail: Some(detail.into()),
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
            retry_after_secs: None,
            bearer_challenge: false,
        }
    }

    /// 400 listing the offending fields.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_ref()).collect();
        let detail = format!("invalid fields: {}", fields.join(", "));
        Self {
            errors,
            ..Self::new(StatusCode::BAD_REQUEST, "validation_failed", detail)
        }
    }

    pub fn not_found(
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    pub fn conflict(
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn forbidden(
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    /// 401 with a `WWW-Authenticate: Bearer` challenge.
    pub fn unauthorized(
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            bearer_challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, code, detail)
        }
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; retry after the number of seconds in Retry-After",
            )
        }
    }

    /// 503 for a dependency that is down; the client may retry.
    pub fn unavailable(
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    }

    /// The generic 500. Log the cause before returning this; it never reaches the client.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server hit an unexpected error; it has been logged with this request's x-request-id",
        )
    }

    /// Logs an unexpected error with its whole cause chain and returns the generic 500.
    pub fn from_unexpected(err: &anyhow::Error) -> Self {
        tracing::error!(error = %format!("{err:#}"), "unexpected error");
        Self::internal()
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds an extension member (RFC 9457, section 3.2): a camelCase name that is none of the
    /// standard members, with the value clients read.
    pub fn with_extension(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extensions.insert(name.to_owned(), value);
        self
    }

    /// An extension member, if the problem has it.
    pub fn extension(&self, name: &str) -> Option<&serde_json::Value> {
        self.extensions.get(name)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    /// The fields a validation problem refused.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.code)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status());
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let Some(secs) = self.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.bearer_challenge {
            res.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            ));
        }
        res.body(serde_json::to_vec(self).unwrap_or_default())
    }
}

impl From<anyhow::Error> for Problem {
    fn from(err: anyhow::Error) -> Self {
        Self::from_unexpected(&err)
    }
}

/// Request bodies: malformed JSON, wrong types or missing fields are 400 with serde's message
/// (which names the field); a wrong content type 415; an oversized body 413.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let problem = match &err {
        JsonPayloadError::ContentType => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(e) => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("invalid JSON body: {e}"),
        ),
        other => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("could not read the request body: {other}"),
        ),
    };
    problem.into()
}

/// Path parameters that do not parse (e.g. `/rooms/abc`) name no resource: 404.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    Problem::not_found("not_found", format!("no such resource ({err})")).into()
}

/// Query strings that do not parse are 400 with the reason.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        format!("invalid query string: {err}"),
    )
    .into()
}

/// Registers the extractor error handlers above, with a body limit.
pub fn configure_extractors(cfg: &mut web::ServiceConfig, json_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(json_limit)
            .error_handler(json_error),
    )
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::QueryConfig::default().error_handler(query_error));
}

/// Default service: unknown paths are a problem+json 404, not an empty body; a path the
/// service's OpenAPI document names, asked with another method, is a 405 with `Allow`
/// (when the service registered its [`crate::openapi::KnownPaths`]).
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let allowed = req
        .app_data::<web::Data<crate::openapi::KnownPaths>>()
        .and_then(|known| known.methods(req.path()));
    match allowed {
        Some(methods) => {
            let mut answer = Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!(
                    "{} {} is not served; use {}",
                    req.method(),
                    req.path(),
                    methods.join(", ")
                ),
            )
            .error_response();
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&methods.join(", ")) {
                answer
                    .headers_mut()
                    .insert(actix_web::http::header::ALLOW, value);
            }
            answer
        }
        None => Problem::not_found(
            "not_found",
            format!("no route for {} {}", req.method(), req.path()),
        )
        .error_response(),
    }
}

impl actix_web::Responder for Problem {
    type Body = actix_web::body::BoxBody;
    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

/// Implements `ResponseError` for a service's error enum through its `problem()` method.
/// `$unexpected` names the variant for unexpected errors: a 500 whose cause is logged once,
/// when the response is built, and never sent.
#[macro_export]
macro_rules! problem_response_error {
    ($ty:ty, $unexpected:path) => {
        impl ::actix_web::ResponseError for $ty {
            fn status_code(&self) -> ::actix_web::http::StatusCode {
                match self {
                    $unexpected(_) => ::actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                    other => other.problem().status(),
                }
            }

            fn error_response(&self) -> ::actix_web::HttpResponse {
                ::actix_web::ResponseError::error_response(&self.problem())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_sit_beside_the_standard_members() {
        let problem = Problem::forbidden("account_suspended", "suspended")
            .with_extension("suspendedUntil", serde_json::Value::Null)
            .with_extension("reason", serde_json::json!("spam"));
        assert_eq!(
            problem.extension("reason"),
            Some(&serde_json::json!("spam"))
        );
        assert_eq!(
            serde_json::to_value(&problem).ok(),
            Some(serde_json::json!({
                "type": "about:blank", "title": "Forbidden", "status": 403,
                "code": "account_suspended", "detail": "suspended",
                "suspendedUntil": null, "reason": "spam"
            }))
        );
    }
}
