//! The internal API key: every `/internal/...` endpoint requires `x-internal-api-key`,
//! compared in constant time. A missing or wrong key is 401.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use subtle::ConstantTimeEq;

use crate::Problem;

pub const INTERNAL_KEY_HEADER: &str = "x-internal-api-key";

/// The shared key, registered as app data.
#[derive(Clone)]
pub struct InternalApiKey(Arc<str>);

impl InternalApiKey {
    pub fn new(key: impl Into<Arc<str>>) -> Self {
        Self(key.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, presented: &[u8]) -> bool {
        bool::from(self.0.as_bytes().ct_eq(presented))
    }
}

impl std::fmt::Debug for InternalApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InternalApiKey(..)")
    }
}

/// Extractor proving the caller presented the internal key. Put it first in an internal
/// handler's arguments.
pub struct InternalCaller;

impl FromRequest for InternalCaller {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(key) = req.app_data::<web::Data<InternalApiKey>>() else {
            tracing::error!("internal endpoint reached without an InternalApiKey in app data");
            return ready(Err(Problem::internal()));
        };
        let presented = req
            .headers()
            .get(INTERNAL_KEY_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !presented.is_empty() && key.matches(presented) {
            ready(Ok(InternalCaller))
        } else {
            ready(Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid_internal_key",
                "this endpoint is internal: a valid x-internal-api-key header is required",
            )))
        }
    }
}
