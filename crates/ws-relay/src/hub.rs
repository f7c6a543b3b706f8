//! This relay's routing tables (docs/architecture.md, ws-relay): connectionId → connection
//! (with its rooms); roomId → connections; userId → connections; sessionId → connections;
//! watched userId → the connections watching that user's presence. One
//! `RwLock` guards the maps so they never disagree; delivery only reads, and never waits on a
//! socket while holding the lock (a non-blocking [`Connection::send`] into each connection's
//! bounded outbox).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytestring::ByteString;
use uuid::Uuid;
use wire::Target;

use crate::socket::connection::Connection;

struct Entry {
    conn: Arc<Connection>,
    rooms: HashSet<i64>,
    /// Bumped by every `subscribe`/`unsubscribe` that touches this connection, so a rooms
    /// re-check read before a control item does not undo it (see [`Hub::reconcile`]).
    epoch: u64,
    /// The users whose presence it watches (`watchPresence`).
    watching: Vec<Uuid>,
    /// `presence` frames held back while its `presenceList` is being read, so that no change
    /// reaches the client before the snapshot it follows (see [`Hub::watch`]).
    held: Option<Vec<ByteString>>,
}

/// A connection's subscriptions as they stood at one moment (see [`Hub::reconcile`]).
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    id: Arc<str>,
    epoch: u64,
}

/// What [`Hub::reconcile`] changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Repair {
    /// Subscriptions added (a lost `subscribe`, or a room joined during a connect).
    pub subscribed: usize,
    /// Subscriptions removed (a lost `unsubscribe` or room deletion).
    pub unsubscribed: usize,
    /// Connections left alone because a control item changed them after the snapshot.
    pub skipped: usize,
}

#[derive(Default)]
struct Tables {
    connections: HashMap<Arc<str>, Entry>,
    rooms: HashMap<i64, HashSet<Arc<str>>>,
    users: HashMap<Uuid, HashSet<Arc<str>>>,
    /// sessionId → connections, so a revoked session's sockets are found without a scan.
    sessions: HashMap<Uuid, HashSet<Arc<str>>>,
    /// Watched user → watching connections, so a presence change costs its watchers only.
    watchers: HashMap<Uuid, HashSet<Arc<str>>>,
}

impl Tables {
    fn resolve(&self, ids: Option<&HashSet<Arc<str>>>) -> Vec<Arc<Connection>> {
        ids.map_or_else(Vec::new, |ids| {
            ids.iter()
                .filter_map(|id| self.connections.get(id).map(|e| e.conn.clone()))
                .collect()
        })
    }
}

/// Takes `id` out of `key`'s set, and the set out of the map once it is empty.
fn unlink(map: &mut HashMap<Uuid, HashSet<Arc<str>>>, key: &Uuid, id: &str) {
    if let Some(set) = map.get_mut(key) {
        set.remove(id);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RegisterError {
    #[error("this relay holds its maximum number of connections")]
    RelayFull,
    #[error("this user holds the maximum number of connections")]
    UserFull,
}

#[derive(Default)]
pub(crate) struct Hub {
    tables: RwLock<Tables>,
}

/// A read-only view of one connection for the @connections API.
pub(crate) struct ConnectionInfo {
    pub conn: Arc<Connection>,
    pub rooms: Vec<i64>,
}

impl Hub {
    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        match self.tables.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        match self.tables.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.read().connections.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a connection subscribed to `rooms`, unless a cap says no (checked under the same
    /// lock as the insert, so concurrent connects cannot overshoot).
    pub(crate) fn register(
        &self,
        conn: Arc<Connection>,
        rooms: &[i64],
        max_total: usize,
        max_per_user: usize,
    ) -> Result<(), RegisterError> {
        let mut t = self.write();
        if t.connections.len() >= max_total {
            return Err(RegisterError::RelayFull);
        }
        if t.users.get(&conn.user_id).map_or(0, HashSet::len) >= max_per_user {
            return Err(RegisterError::UserFull);
        }
        let id = conn.id.clone();
        for room in rooms {
            t.rooms.entry(*room).or_default().insert(id.clone());
        }
        t.users.entry(conn.user_id).or_default().insert(id.clone());
        if let Some(sid) = conn.session_id {
            t.sessions.entry(sid).or_default().insert(id.clone());
        }
        t.connections.insert(
            id,
            Entry {
                conn,
                rooms: rooms.iter().copied().collect(),
                epoch: 0,
                watching: Vec::new(),
                held: None,
            },
        );
        metrics::gauge!("ws_relay_connections").set(t.connections.len() as f64);
        Ok(())
    }

    /// Removes a connection from every table; `None` when it was already gone.
    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Connection>> {
        let mut t = self.write();
        let entry = t.connections.remove(id)?;
        for room in &entry.rooms {
            if let Some(set) = t.rooms.get_mut(room) {
                set.remove(id);
                if set.is_empty() {
                    t.rooms.remove(room);
                }
            }
        }
        unlink(&mut t.users, &entry.conn.user_id, id);
        if let Some(sid) = entry.conn.session_id {
            unlink(&mut t.sessions, &sid, id);
        }
        for user in &entry.watching {
            unlink(&mut t.watchers, user, id);
        }
        metrics::gauge!("ws_relay_connections").set(t.connections.len() as f64);
        Some(entry.conn)
    }

    pub(crate) fn get(&self, id: &str) -> Option<ConnectionInfo> {
        let t = self.read();
        t.connections.get(id).map(|e| {
            let mut rooms: Vec<i64> = e.rooms.iter().copied().collect();
            rooms.sort_unstable();
            ConnectionInfo {
                conn: e.conn.clone(),
                rooms,
            }
        })
    }

    /// Delivers one pre-serialised frame to every local connection the target names;
    /// returns how many queued it.
    pub(crate) fn deliver(&self, target: &Target, frame: &ByteString) -> usize {
        let t = self.read();
        let send = |id: &Arc<str>| {
            t.connections
                .get(id)
                .is_some_and(|e| e.conn.send_text(frame.clone()))
        };
        match target {
            Target::Room(room) => t
                .rooms
                .get(room)
                .map_or(0, |ids| ids.iter().filter(|id| send(id)).count()),
            Target::User(user) => t
                .users
                .get(user)
                .map_or(0, |ids| ids.iter().filter(|id| send(id)).count()),
            Target::Connection(id) => usize::from(
                t.connections
                    .get(id.as_str())
                    .is_some_and(|e| e.conn.send_text(frame.clone())),
            ),
        }
    }

    /// Subscribes every local connection of `user` to `room`.
    pub(crate) fn subscribe(&self, user: Uuid, room: i64) {
        let mut t = self.write();
        let Some(ids) = t.users.get(&user).cloned() else {
            return;
        };
        for id in ids {
            if let Some(e) = t.connections.get_mut(&id) {
                e.rooms.insert(room);
                e.epoch += 1;
            }
            t.rooms.entry(room).or_default().insert(id);
        }
    }

    pub(crate) fn unsubscribe(&self, user: Uuid, room: i64) {
        let mut t = self.write();
        let Some(ids) = t.users.get(&user).cloned() else {
            return;
        };
        for id in &ids {
            if let Some(e) = t.connections.get_mut(id) {
                e.rooms.remove(&room);
                e.epoch += 1;
            }
        }
        if let Some(set) = t.rooms.get_mut(&room) {
            for id in &ids {
                set.remove(id);
            }
            if set.is_empty() {
                t.rooms.remove(&room);
            }
        }
    }

    /// Every user with a connection here, with their connections' subscription state now.
    pub(crate) fn subscriptions(&self) -> Vec<(Uuid, Vec<Seen>)> {
        let t = self.read();
        t.users
            .iter()
            .map(|(user, ids)| (*user, seen(&t, ids)))
            .collect()
    }

    /// [`Hub::subscriptions`] for one user.
    pub(crate) fn subscriptions_of(&self, user: Uuid) -> Vec<Seen> {
        let t = self.read();
        t.users
            .get(&user)
            .map_or_else(Vec::new, |ids| seen(&t, ids))
    }

    /// Makes `rooms` the subscriptions of the connections in `seen` — those that no control
    /// item changed since they were seen (a newer control wins over an older read; the next
    /// re-check looks again).
    pub(crate) fn reconcile(&self, seen: &[Seen], rooms: &[i64]) -> Repair {
        let wanted: HashSet<i64> = rooms.iter().copied().collect();
        let mut repair = Repair::default();
        let mut t = self.write();
        let Tables {
            connections,
            rooms: by_room,
            ..
        } = &mut *t;
        for s in seen {
            let Some(entry) = connections.get_mut(&s.id) else {
                continue;
            };
            if entry.epoch != s.epoch {
                repair.skipped += 1;
                continue;
            }
            for room in entry.rooms.difference(&wanted) {
                repair.unsubscribed += 1;
                if let Some(set) = by_room.get_mut(room) {
                    set.remove(&s.id);
                    if set.is_empty() {
                        by_room.remove(room);
                    }
                }
            }
            for room in wanted.difference(&entry.rooms) {
                repair.subscribed += 1;
                by_room.entry(*room).or_default().insert(s.id.clone());
            }
            entry.rooms.clone_from(&wanted);
        }
        repair
    }

    /// Makes `users` the presence watch list of connection `id` (replacing its previous one)
    /// and holds back the `presence` frames for it until [`Hub::watched`] sends the snapshot.
    /// `false` when the connection is gone.
    pub(crate) fn watch(&self, id: &str, users: &[Uuid]) -> bool {
        let mut t = self.write();
        let Tables {
            connections,
            watchers,
            ..
        } = &mut *t;
        let Some(entry) = connections.get_mut(id) else {
            return false;
        };
        let key = entry.conn.id.clone();
        for user in &entry.watching {
            unlink(watchers, user, id);
        }
        for user in users {
            watchers.entry(*user).or_default().insert(key.clone());
        }
        entry.watching = users.to_vec();
        entry.held.get_or_insert_with(Vec::new);
        true
    }

    /// Sends `snapshot` (the `presenceList`, or an error) to connection `id`, then the
    /// `presence` frames held back since [`Hub::watch`].
    pub(crate) fn watched(&self, id: &str, snapshot: ByteString) {
        let mut t = self.write();
        let Some(entry) = t.connections.get_mut(id) else {
            return;
        };
        let held = entry.held.take().unwrap_or_default();
        if entry.conn.send_text(snapshot) {
            for frame in held {
                entry.conn.send_text(frame);
            }
        }
    }

    /// Delivers one `presence` frame about `user` to the connections watching them; returns
    /// how many queued (or held) it.
    pub(crate) fn deliver_presence(&self, user: Uuid, frame: &ByteString) -> usize {
        let mut t = self.write();
        let Tables {
            connections,
            watchers,
            ..
        } = &mut *t;
        let Some(ids) = watchers.get(&user) else {
            return 0;
        };
        ids.iter()
            .filter(|id| {
                connections.get_mut(*id).is_some_and(|e| match &mut e.held {
                    Some(held) => {
                        held.push(frame.clone());
                        true
                    }
                    None => e.conn.send_text(frame.clone()),
                })
            })
            .count()
    }

    /// Whether `user` has a connection on this relay.
    pub(crate) fn is_connected(&self, user: Uuid) -> bool {
        self.read().users.contains_key(&user)
    }

    pub(crate) fn connections_of(&self, user: Uuid) -> Vec<Arc<Connection>> {
        let t = self.read();
        t.resolve(t.users.get(&user))
    }

    pub(crate) fn connections_of_session(&self, session: Uuid) -> Vec<Arc<Connection>> {
        let t = self.read();
        t.resolve(t.sessions.get(&session))
    }

    pub(crate) fn all(&self) -> Vec<Arc<Connection>> {
        self.read()
            .connections
            .values()
            .map(|e| e.conn.clone())
            .collect()
    }
}

fn seen(t: &Tables, ids: &HashSet<Arc<str>>) -> Vec<Seen> {
    ids.iter()
        .filter_map(|id| {
            t.connections.get(id).map(|e| Seen {
                id: id.clone(),
                epoch: e.epoch,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(user: Uuid, queue: usize) -> Arc<Connection> {
        Connection::detached(user, queue, 1024 * 1024)
    }

    #[test]
    fn rooms_users_and_connections_stay_consistent() {
        let hub = Hub::default();
        let alice = Uuid::new_v4();
        let bob = Uuid::new_v4();
        let a1 = conn(alice, 8);
        let a2 = conn(alice, 8);
        let b1 = conn(bob, 8);
        hub.register(a1.clone(), &[1, 2], 10, 10).unwrap();
        hub.register(a2.clone(), &[1], 10, 10).unwrap();
        hub.register(b1.clone(), &[1], 10, 10).unwrap();

        let frame = ByteString::from_static("{}");
        assert_eq!(hub.deliver(&Target::Room(1), &frame), 3);
        assert_eq!(hub.deliver(&Target::Room(2), &frame), 1);
        assert_eq!(hub.deliver(&Target::User(alice), &frame), 2);
        assert_eq!(
            hub.deliver(&Target::Connection(b1.id.to_string()), &frame),
            1
        );

        hub.subscribe(bob, 2);
        assert_eq!(hub.deliver(&Target::Room(2), &frame), 2);
        hub.unsubscribe(alice, 1);
        assert_eq!(hub.deliver(&Target::Room(1), &frame), 1);

        hub.remove(&b1.id);
        assert_eq!(hub.deliver(&Target::Room(2), &frame), 1);
        assert_eq!(hub.deliver(&Target::User(bob), &frame), 0);
        assert!(hub.get(&b1.id).is_none());
        assert_eq!(hub.len(), 2);

        assert_eq!(a1.outbox.queued_frames(), 5);
        assert_eq!(a2.outbox.queued_frames(), 2);
        assert_eq!(b1.outbox.queued_frames(), 4);
    }

    #[test]
    fn reconcile_repairs_subscriptions_unless_a_control_came_after() {
        let hub = Hub::default();
        let alice = Uuid::new_v4();
        let a1 = conn(alice, 8);
        let a2 = conn(alice, 8);
        hub.register(a1.clone(), &[1, 5], 10, 10).unwrap();
        hub.register(a2.clone(), &[1, 5], 10, 10).unwrap();
        let frame = ByteString::from_static("{}");

        // Room 5 was left (its `unsubscribe` lost) and room 9 joined (its `subscribe` lost).
        let seen = hub.subscriptions_of(alice);
        let repair = hub.reconcile(&seen, &[1, 9]);
        assert_eq!(
            repair,
            Repair {
                subscribed: 2,
                unsubscribed: 2,
                skipped: 0
            }
        );
        assert_eq!(hub.deliver(&Target::Room(5), &frame), 0);
        assert_eq!(hub.deliver(&Target::Room(9), &frame), 2);
        assert_eq!(hub.get(&a1.id).unwrap().rooms, vec![1, 9]);

        // A control item after the snapshot wins: the stale read changes nothing.
        let seen = hub.subscriptions();
        hub.unsubscribe(alice, 9);
        let (_, stale) = &seen[0];
        let repair = hub.reconcile(stale, &[1, 9]);
        assert_eq!(repair.skipped, 2);
        assert_eq!(hub.deliver(&Target::Room(9), &frame), 0);
    }

    #[test]
    fn presence_goes_to_watchers_after_their_snapshot_and_stops_with_them() {
        let hub = Hub::default();
        let bob = Uuid::new_v4();
        let a1 = conn(Uuid::new_v4(), 8);
        let a2 = conn(Uuid::new_v4(), 8);
        hub.register(a1.clone(), &[], 10, 10).unwrap();
        hub.register(a2.clone(), &[], 10, 10).unwrap();
        let frame = ByteString::from_static("{}");

        assert!(hub.watch(&a1.id, &[bob]));
        // Held until the snapshot is out, then sent after it.
        assert_eq!(hub.deliver_presence(bob, &frame), 1);
        assert_eq!(a1.outbox.queued_frames(), 0);
        hub.watched(&a1.id, ByteString::from_static("[]"));
        assert_eq!(a1.outbox.queued_frames(), 2);
        assert_eq!(hub.deliver_presence(bob, &frame), 1);

        // A new list replaces the old one; a closed connection watches nothing.
        hub.watch(&a2.id, &[bob]);
        hub.watched(&a2.id, ByteString::from_static("[]"));
        hub.watch(&a1.id, &[]);
        hub.watched(&a1.id, ByteString::from_static("[]"));
        assert_eq!(hub.deliver_presence(bob, &frame), 1);
        hub.remove(&a2.id);
        assert_eq!(hub.deliver_presence(bob, &frame), 0);
        assert!(!hub.watch(&a2.id, &[bob]));
    }

    #[test]
    fn caps_are_enforced() {
        let hub = Hub::default();
        let alice = Uuid::new_v4();
        let a1 = conn(alice, 1);
        let a2 = conn(alice, 1);
        let b1 = conn(Uuid::new_v4(), 1);
        hub.register(a1, &[], 2, 1).unwrap();
        assert_eq!(hub.register(a2, &[], 2, 1), Err(RegisterError::UserFull));
        hub.register(b1, &[], 2, 1).unwrap();
        let c1 = conn(Uuid::new_v4(), 1);
        assert_eq!(hub.register(c1, &[], 2, 1), Err(RegisterError::RelayFull));
    }
}
