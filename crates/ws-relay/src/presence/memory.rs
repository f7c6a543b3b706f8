//! Presence kept in this relay's memory, for a relay that works alone (the quick start): its
//! own sockets are all there is, so every change of its share is a global transition. What
//! `lastSeenAt` held is forgotten at restart.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use uuid::Uuid;
use wire::protocol::PresenceView;

use super::{Op, view};

#[derive(Default)]
pub(super) struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    online: HashSet<Uuid>,
    /// User → when they last went offline (Unix ms).
    last_seen: HashMap<Uuid, i64>,
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn apply(&self, ops: &[Op]) -> Vec<PresenceView> {
        let now = time::OffsetDateTime::now_utc();
        let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let mut state = self.lock();
        let mut changes = Vec::new();
        for op in ops {
            match *op {
                Op::Online(user) => {
                    if state.online.insert(user) {
                        changes.push(view(user, true, None));
                    }
                }
                Op::Offline(user) => {
                    if state.online.remove(&user) {
                        state.last_seen.insert(user, now_ms);
                        changes.push(view(user, false, Some(now_ms)));
                    }
                }
            }
        }
        changes
    }

    /// The users online (every one of them is on this relay).
    pub(super) fn online(&self) -> u64 {
        self.lock().online.len() as u64
    }

    pub(super) fn snapshot(&self, users: &[Uuid]) -> Vec<PresenceView> {
        let state = self.lock();
        users
            .iter()
            .map(|user| {
                let online = state.online.contains(user);
                view(*user, online, state.last_seen.get(user).copied())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_are_reported_once() {
        let store = MemoryStore::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let changes = store.apply(&[Op::Online(a), Op::Online(a), Op::Offline(b)]);
        assert_eq!(changes, vec![view(a, true, None)]);
        let changes = store.apply(&[Op::Offline(a), Op::Offline(a)]);
        assert_eq!(changes.len(), 1);
        assert!(!changes[0].online && changes[0].last_seen_at.is_some());
        let snapshot = store.snapshot(&[b, a]);
        assert_eq!(snapshot[0], view(b, false, None));
        assert_eq!(snapshot[1], changes[0]);
    }
}
