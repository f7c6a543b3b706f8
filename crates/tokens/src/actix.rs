//! The actix extractor for the authenticated user: `Authorization: Bearer <token>`, verified
//! with the [`Verifier`] registered as `web::Data<Verifier>`, and refused with 401
//! `session_revoked` when the [`SessionStatus`] registered as `web::Data<dyn SessionStatus>`
//! says the token's session was revoked (docs/architecture.md).

use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use service_kit::Problem;
use uuid::Uuid;

use crate::{AccessClaims, SessionStatus, Verifier, VerifyError};

/// The caller, proven by a valid access token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub username: String,
    pub session_id: Option<Uuid>,
    pub claims: AccessClaims,
}

impl From<VerifyError> for Problem {
    fn from(err: VerifyError) -> Self {
        match err {
            VerifyError::Expired => {
                Problem::unauthorized("token_expired", "the access token has expired; refresh it")
            }
            VerifyError::KeysUnavailable => Problem::unavailable(
                "keys_unavailable",
                "the token signing keys cannot be fetched right now; retry shortly",
            ),
            other => Problem::unauthorized("invalid_token", other.to_string()),
        }
    }
}

/// 401 for a token whose session was logged out or revoked.
pub fn session_revoked() -> Problem {
    Problem::unauthorized(
        "session_revoked",
        "this session was logged out or revoked; log in again",
    )
}

/// The bearer token of a request, if any.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequest for AuthUser {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        authenticate(req, bearer_token(req).map(str::to_owned))
    }
}

/// Checks an access token exactly as the extractor does — signature, expiry, revoked
/// session — wherever the request carried it: for a route that also takes it from a cookie
/// (chat-service's downloads). `None` is 401 `missing_token`.
pub fn authenticate(
    req: &HttpRequest,
    token: Option<String>,
) -> Pin<Box<dyn Future<Output = Result<AuthUser, Problem>>>> {
    let verifier = req.app_data::<web::Data<Verifier>>().cloned();
    let sessions = req.app_data::<web::Data<dyn SessionStatus>>().cloned();
    Box::pin(async move {
        let Some(verifier) = verifier else {
            tracing::error!("AuthUser used without a Verifier in app data");
            return Err(Problem::internal());
        };
        let Some(token) = token else {
            return Err(Problem::unauthorized(
                "missing_token",
                "send the access token as Authorization: Bearer <token>",
            ));
        };
        let claims = verifier.verify(&token).await?;
        if let (Some(sessions), Some(sid)) = (sessions, claims.sid)
            && sessions.is_revoked(sid).await
        {
            return Err(session_revoked());
        }
        Ok(AuthUser {
            id: claims.sub,
            username: claims.username.clone(),
            session_id: claims.sid,
            claims,
        })
    })
}
