//! Internal API keys, one per calling service (docs/architecture.md, "Internal keys"). Every
//! `/internal/...` endpoint requires `x-internal-api-key`; the key presented names the caller
//! (relay, chat-service or auth-service), and each endpoint says which callers it serves:
//! an unknown key is 401 `invalid_internal_key`, a known key of a caller the endpoint does
//! not serve is 403 `forbidden_internal_caller`. Keys are compared in constant time.

use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use subtle::ConstantTimeEq;

use crate::Problem;
use crate::config::{AppEnv, ConfigError, check_secret, var};

pub const INTERNAL_KEY_HEADER: &str = "x-internal-api-key";

/// A service that calls another's internal API, known by the key it presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A ws-relay: chat-service's `/internal/ws/*`, auth-service's revoked sessions.
    Relay,
    /// chat-service: relays' publish and @connections API, auth-service's user look-ups.
    Chat,
    /// auth-service: relays' publish, for disconnect controls only; chat-service's user events.
    Auth,
}

impl Caller {
    pub const ALL: [Caller; 3] = [Caller::Relay, Caller::Chat, Caller::Auth];

    /// The environment variable that holds this caller's key.
    pub fn key_var(self) -> &'static str {
        match self {
            Caller::Relay => "RELAY_INTERNAL_KEY",
            Caller::Chat => "CHAT_INTERNAL_KEY",
            Caller::Auth => "AUTH_INTERNAL_KEY",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Caller::Relay => "ws-relay",
            Caller::Chat => "chat-service",
            Caller::Auth => "auth-service",
        }
    }

    /// The development default (refused in production, see `KNOWN_DEFAULT_SECRETS`).
    fn dev_key(self) -> &'static str {
        match self {
            Caller::Relay => "dev-relay-internal-key",
            Caller::Chat => "dev-chat-internal-key",
            Caller::Auth => "dev-auth-internal-key",
        }
    }
}

/// One internal key: the one a service presents, or one it accepts. Never printed.
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

/// The three per-caller keys as configured. A service reads, and in production requires,
/// only the keys it uses: the one it holds and the ones it accepts.
#[derive(Clone)]
pub struct InternalKeySet {
    relay: InternalApiKey,
    chat: InternalApiKey,
    auth: InternalApiKey,
}

impl InternalKeySet {
    pub fn new(relay: &str, chat: &str, auth: &str) -> Self {
        Self {
            relay: InternalApiKey::new(relay),
            chat: InternalApiKey::new(chat),
            auth: InternalApiKey::new(auth),
        }
    }

    /// The development defaults, the same in every service so that a local stack agrees.
    pub fn development() -> Self {
        Self::new(
            Caller::Relay.dev_key(),
            Caller::Chat.dev_key(),
            Caller::Auth.dev_key(),
        )
    }

    /// Reads the keys in `uses` from their variables (development defaults when unset) and
    /// checks them with [`InternalKeySet::validate`].
    pub fn from_env(env: AppEnv, uses: &[Caller]) -> Result<Self, ConfigError> {
        let mut keys = Self::development();
        for &caller in uses {
            match var(caller.key_var()) {
                Some(value) => keys.set(caller, &value),
                // Production must not fall back to a development key.
                None => check_secret(env, caller.key_var(), None)?,
            }
        }
        keys.validate(env, uses)?;
        Ok(keys)
    }

    /// In production: every key in `uses` is a real secret, and no two are the same (a
    /// shared value would let one caller act as another).
    pub fn validate(&self, env: AppEnv, uses: &[Caller]) -> Result<(), ConfigError> {
        if !env.is_production() {
            return Ok(());
        }
        for (i, &caller) in uses.iter().enumerate() {
            check_secret(env, caller.key_var(), Some(self.key(caller).as_str()))?;
            if let Some(&same) = uses[..i]
                .iter()
                .find(|&&earlier| self.key(earlier).as_str() == self.key(caller).as_str())
            {
                return Err(ConfigError::new(
                    caller.key_var(),
                    format!(
                        "must differ from {}: each caller has its own key",
                        same.key_var()
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn key(&self, caller: Caller) -> &InternalApiKey {
        match caller {
            Caller::Relay => &self.relay,
            Caller::Chat => &self.chat,
            Caller::Auth => &self.auth,
        }
    }

    pub fn set(&mut self, caller: Caller, key: &str) {
        let key = InternalApiKey::new(key);
        match caller {
            Caller::Relay => self.relay = key,
            Caller::Chat => self.chat = key,
            Caller::Auth => self.auth = key,
        }
    }

    /// The keys a service accepts on its internal endpoints, to register as app data.
    pub fn accepting(&self, callers: &[Caller]) -> InternalKeys {
        InternalKeys(callers.iter().map(|&c| (c, self.key(c).clone())).collect())
    }
}

impl std::fmt::Debug for InternalKeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InternalKeySet(..)")
    }
}

/// The keys a service accepts, registered as app data (`web::Data<InternalKeys>`).
#[derive(Clone, Debug)]
pub struct InternalKeys(Arc<[(Caller, InternalApiKey)]>);

impl InternalKeys {
    /// The caller whose key this is. Every key is compared, in constant time, whatever
    /// matched first: the answer's timing says nothing about which key came close.
    pub fn identify(&self, presented: &[u8]) -> Option<Caller> {
        if presented.is_empty() {
            return None;
        }
        let mut found = None;
        for (caller, key) in self.0.iter() {
            if key.matches(presented) {
                found = Some(*caller);
            }
        }
        found
    }
}

/// Which callers an internal endpoint serves: a marker for [`InternalCaller`].
pub trait CallerSet {
    const CALLERS: &'static [Caller];
}

/// The caller sets the endpoints use.
pub mod allow {
    use super::{Caller, CallerSet};

    pub struct Relay;
    pub struct Chat;
    pub struct Auth;
    pub struct RelayOrChat;
    pub struct ChatOrAuth;

    impl CallerSet for Relay {
        const CALLERS: &'static [Caller] = &[Caller::Relay];
    }
    impl CallerSet for Chat {
        const CALLERS: &'static [Caller] = &[Caller::Chat];
    }
    impl CallerSet for Auth {
        const CALLERS: &'static [Caller] = &[Caller::Auth];
    }
    impl CallerSet for RelayOrChat {
        const CALLERS: &'static [Caller] = &[Caller::Relay, Caller::Chat];
    }
    impl CallerSet for ChatOrAuth {
        const CALLERS: &'static [Caller] = &[Caller::Chat, Caller::Auth];
    }
}

/// Extractor proving the caller presented the key of one of `A`'s callers. Put it first in
/// an internal handler's arguments: `_caller: FromRelay`.
pub struct InternalCaller<A: CallerSet> {
    caller: Caller,
    _allowed: PhantomData<fn() -> A>,
}

/// Only relays (chat-service's `/internal/ws/*`).
pub type FromRelay = InternalCaller<allow::Relay>;
/// Only chat-service (auth-service's user look-ups, relays' @connections API).
pub type FromChat = InternalCaller<allow::Chat>;
/// Only auth-service (chat-service's user events).
pub type FromAuth = InternalCaller<allow::Auth>;
/// Relays or chat-service (auth-service's revoked sessions).
pub type FromRelayOrChat = InternalCaller<allow::RelayOrChat>;
/// chat-service or auth-service (a relay's publish; the handler limits auth-service further).
pub type FromChatOrAuth = InternalCaller<allow::ChatOrAuth>;

impl<A: CallerSet> InternalCaller<A> {
    pub fn caller(&self) -> Caller {
        self.caller
    }
}

/// 403 `forbidden_internal_caller`: a valid key of a caller that may not do this.
pub fn forbidden_caller(caller: Caller, what: &str) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden_internal_caller",
        format!("{} may not {what}", caller.name()),
    )
}

impl<A: CallerSet> FromRequest for InternalCaller<A> {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(keys) = req.app_data::<web::Data<InternalKeys>>() else {
            tracing::error!("internal endpoint reached without InternalKeys in app data");
            return ready(Err(Problem::internal()));
        };
        let presented = req
            .headers()
            .get(INTERNAL_KEY_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        ready(match keys.identify(presented) {
            Some(caller) if A::CALLERS.contains(&caller) => Ok(InternalCaller {
                caller,
                _allowed: PhantomData,
            }),
            Some(caller) => Err(forbidden_caller(caller, "call this internal endpoint")),
            None => Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid_internal_key",
                "this endpoint is internal: a valid x-internal-api-key header is required",
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_its_caller() {
        let set = InternalKeySet::new(
            "relay-key-000000001",
            "chat-key-0000000001",
            "auth-key-000000001",
        );
        let keys = set.accepting(&[Caller::Chat, Caller::Auth]);
        assert_eq!(keys.identify(b"chat-key-0000000001"), Some(Caller::Chat));
        assert_eq!(keys.identify(b"auth-key-000000001"), Some(Caller::Auth));
        // Not accepted here, so unknown.
        assert_eq!(keys.identify(b"relay-key-000000001"), None);
        assert_eq!(keys.identify(b""), None);
        assert_eq!(keys.identify(b"chat-key-000000000"), None);
    }

    #[test]
    fn production_wants_distinct_real_keys() {
        let p = AppEnv::Production;
        let uses = [Caller::Relay, Caller::Chat];
        assert!(InternalKeySet::development().validate(p, &uses).is_err());
        let same = InternalKeySet::new(
            "a-long-random-value-123456",
            "a-long-random-value-123456",
            "x",
        );
        let err = same.validate(p, &uses).unwrap_err();
        assert_eq!(err.var, "CHAT_INTERNAL_KEY");
        let good = InternalKeySet::new(
            "a-long-random-value-123456",
            "another-long-random-value-1",
            "x",
        );
        assert!(good.validate(p, &uses).is_ok());
        // The auth key is not used by this service: its value does not matter.
        assert!(good.validate(AppEnv::Development, &Caller::ALL).is_ok());
    }
}
