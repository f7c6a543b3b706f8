//! Revoked sessions, for services that verify access tokens locally: a token stays valid by
//! its signature until it expires, so a logged-out session's tokens are refused by their
//! `sid` instead. [`RevokedSessions`] keeps the sids auth-service reports
//! (`GET /internal/sessions/revoked?since=`), fetched by a background poller every
//! `REVOCATION_POLL_MS`; a request only reads the in-memory set and never waits for
//! auth-service. When auth-service cannot be reached the last list is kept (and the failure
//! logged and counted in `revocation_poll_failures_total`).
//!
//! Memory is bounded by what auth-service answers: only sessions revoked within the
//! access-token lifetime (past it their tokens have expired anyway). Polls ask for what is
//! new since the previous answer; every [`FULL_EVERY`]th poll asks for the whole list and
//! replaces the set with it, so sids whose tokens can no longer be valid leave.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use uuid::Uuid;
use wire::RevokedSessions as Answer;

/// Whether a session was revoked; the `AuthUser` extractor asks the one registered as
/// `web::Data<dyn SessionStatus>` (auth-service checks its database; other services read a
/// [`RevokedSessions`]).
pub trait SessionStatus: Send + Sync {
    fn is_revoked(&self, session_id: Uuid) -> Pin<Box<dyn Future<Output = bool> + Send + '_>>;
}

/// Every this many polls, the whole list is fetched and replaces the set.
pub const FULL_EVERY: u32 = 30;
/// Incremental polls reach this far behind the previous answer's `now`: a revocation stamped
/// just before that answer may commit just after it.
const OVERLAP_MS: i64 = 10_000;

/// Where the poller reads the list: auth-service's base URL and the internal key header.
#[derive(Clone)]
pub struct RevocationSource {
    pub http: reqwest::Client,
    pub auth_url: String,
    pub key_header: &'static str,
    pub key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("auth-service could not be reached: {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error("auth-service answered {0}")]
    Refused(u16),
}

/// The set of revoked session ids. Cheap to clone; clones share the set.
#[derive(Clone, Default)]
pub struct RevokedSessions {
    inner: Arc<RwLock<State>>,
}

#[derive(Default)]
struct State {
    /// sid → when auth-service revoked it (Unix ms, its clock).
    sessions: HashMap<Uuid, i64>,
    /// auth-service's `now` of the last answer: the next `since`.
    since: Option<i64>,
    polls: u32,
    /// Whether the last poll failed (to log a change once rather than every poll).
    failing: bool,
}

impl RevokedSessions {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        match self.inner.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        match self.inner.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn contains(&self, session_id: Uuid) -> bool {
        self.read().sessions.contains_key(&session_id)
    }

    /// Whether the token's session (if it names one) is revoked.
    pub fn refuses(&self, sid: Option<Uuid>) -> bool {
        sid.is_some_and(|sid| self.contains(sid))
    }

    pub fn len(&self) -> usize {
        self.read().sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes in one answer; returns the sids that were not known before.
    pub fn apply(&self, answer: Answer, full: bool) -> Vec<Uuid> {
        let mut state = self.write();
        let mut fresh = Vec::new();
        let mut next: HashMap<Uuid, i64> = if full {
            HashMap::with_capacity(answer.sessions.len())
        } else {
            std::mem::take(&mut state.sessions)
        };
        for s in answer.sessions {
            let known =
                state.sessions.contains_key(&s.session_id) || next.contains_key(&s.session_id);
            if !known {
                fresh.push(s.session_id);
            }
            next.insert(s.session_id, s.revoked_at);
        }
        state.sessions = next;
        state.since = Some(answer.now);
        fresh
    }

    /// One fetch: the whole list on the first poll and every [`FULL_EVERY`]th, what is new
    /// otherwise. Returns the sids learned.
    pub async fn poll_once(&self, source: &RevocationSource) -> Result<Vec<Uuid>, PollError> {
        let (since, full) = {
            let state = self.read();
            match state.since {
                Some(since) if !state.polls.is_multiple_of(FULL_EVERY) => {
                    (since.saturating_sub(OVERLAP_MS), false)
                }
                _ => (0, true),
            }
        };
        let url = format!(
            "{}/internal/sessions/revoked?since={since}",
            source.auth_url.trim_end_matches('/')
        );
        let res = source
            .http
            .get(url)
            .header(source.key_header, source.key.as_str())
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(PollError::Refused(res.status().as_u16()));
        }
        let answer: Answer = res.json().await?;
        let fresh = self.apply(answer, full);
        let mut state = self.write();
        state.polls = state.polls.wrapping_add(1);
        Ok(fresh)
    }

    /// Polls every `every` for as long as the process runs, calling `on_revoked` with the sids
    /// each poll learned (a relay closes their sockets: the backstop when a
    /// `disconnectSession` push was lost). Call inside a Tokio runtime.
    pub fn spawn_poller(
        &self,
        source: RevocationSource,
        every: Duration,
        on_revoked: impl Fn(Vec<Uuid>) + Send + Sync + 'static,
    ) {
        let list = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let outcome = list.poll_once(&source).await;
                list.record(&outcome);
                if let Ok(fresh) = outcome
                    && !fresh.is_empty()
                {
                    on_revoked(fresh);
                }
            }
        });
    }

    fn record(&self, outcome: &Result<Vec<Uuid>, PollError>) {
        let mut state = self.write();
        match outcome {
            Ok(_) => {
                if std::mem::take(&mut state.failing) {
                    tracing::info!(
                        revoked = state.sessions.len(),
                        "revoked sessions are read from auth-service again"
                    );
                }
                metrics::gauge!("revoked_sessions").set(state.sessions.len() as f64);
            }
            Err(err) => {
                metrics::counter!("revocation_poll_failures_total").increment(1);
                if !std::mem::replace(&mut state.failing, true) {
                    tracing::warn!(error = %err, kept = state.sessions.len(), "cannot read revoked sessions from auth-service; keeping the last list");
                }
            }
        }
    }
}

impl SessionStatus for RevokedSessions {
    fn is_revoked(&self, session_id: Uuid) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        let revoked = self.contains(session_id);
        Box::pin(async move { revoked })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::RevokedSession;

    fn answer(ids: &[Uuid], now: i64) -> Answer {
        Answer {
            sessions: ids
                .iter()
                .map(|id| RevokedSession {
                    session_id: *id,
                    revoked_at: now - 1,
                })
                .collect(),
            now,
        }
    }

    #[test]
    fn increments_add_and_a_full_answer_replaces() {
        let list = RevokedSessions::new();
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(list.apply(answer(&[a], 10), true), vec![a]);
        assert_eq!(list.apply(answer(&[a, b], 20), false), vec![b]);
        assert!(list.refuses(Some(a)) && list.refuses(Some(b)));
        assert!(!list.refuses(None));
        // `a` is past the access-token lifetime: auth-service no longer lists it.
        assert_eq!(list.apply(answer(&[b, c], 30), true), vec![c]);
        assert!(!list.contains(a));
        assert_eq!(list.len(), 2);
        assert_eq!(list.read().since, Some(30));
    }
}
