//! This relay's share of presence: one task that hears sockets open and close, decides which
//! users are online *here* — with a socket in the hub, or within the grace after their last
//! one closed — and tells the store in order, in batches; with Redis it also beats this
//! relay's heartbeat and sweeps dead relays. The global transitions the store reports go to
//! the watchers through the fan-out.
//!
//! It is level-triggered: an event only says "look at this user again", and the hub is the
//! truth about sockets, so events that arrive out of order (a close seen before its open)
//! still end in the right state.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

use super::{Event, Op, Store};
use crate::config::PresenceSettings;
use crate::fanout::Fanout;
use crate::hub::Hub;

/// Events handled in one batch at most (one store call).
const BATCH: usize = 1024;

pub(super) struct Local {
    hub: Arc<Hub>,
    store: Arc<Store>,
    fanout: Arc<Fanout>,
    inbox: mpsc::UnboundedReceiver<Event>,
    grace: Duration,
    heartbeat: Duration,
    expiry: Duration,
    /// Users this relay told the store are online here.
    announced: HashSet<Uuid>,
    /// Users without a socket here whose grace runs until then.
    graces: HashMap<Uuid, Instant>,
    /// The same deadlines, earliest first (an entry whose deadline changed since is stale).
    deadlines: BinaryHeap<Reverse<(Instant, Uuid)>>,
    /// The store may not hold what `announced` says (a failed call): tell it all again.
    resync: bool,
}

impl Local {
    pub(super) fn new(
        hub: Arc<Hub>,
        store: Arc<Store>,
        fanout: Arc<Fanout>,
        settings: &PresenceSettings,
        inbox: mpsc::UnboundedReceiver<Event>,
    ) -> Self {
        Self {
            hub,
            store,
            fanout,
            inbox,
            grace: settings.grace,
            heartbeat: settings.heartbeat,
            expiry: settings.expiry,
            announced: HashSet::new(),
            graces: HashMap::new(),
            deadlines: BinaryHeap::new(),
            resync: false,
        }
    }

    pub(super) async fn run(mut self) {
        let shared = matches!(*self.store, Store::Redis(_));
        // The first tick is at once: a relay has its record before it announces anyone.
        let mut heartbeat = tokio::time::interval(self.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut events = Vec::with_capacity(BATCH);
        loop {
            let next_deadline = self.deadlines.peek().map(|Reverse((at, _))| *at);
            let mut ops = Vec::new();
            tokio::select! {
                biased;
                _ = heartbeat.tick(), if shared => {
                    self.beat().await;
                    continue;
                }
                got = self.inbox.recv_many(&mut events, BATCH) => {
                    if got == 0 {
                        return;
                    }
                    for event in events.drain(..) {
                        self.handle(event, &mut ops);
                    }
                }
                () = sleep_until(next_deadline) => self.expire(&mut ops),
            }
            if !ops.is_empty() {
                match self.store.apply(&ops).await {
                    Ok(changes) => self.fanout.publish_presence(changes),
                    Err(err) => {
                        tracing::warn!(error = %err, "presence changes not stored; resent at the next heartbeat");
                        self.resync = true;
                    }
                }
            }
        }
    }

    fn handle(&mut self, event: Event, ops: &mut Vec<Op>) {
        let user = match event {
            Event::Connected(user) => {
                // Even a socket that is already gone by now made its user online for a grace.
                if self.announced.insert(user) {
                    ops.push(Op::Online(user));
                }
                user
            }
            Event::Closed(user) => user,
        };
        if self.hub.is_connected(user) {
            self.graces.remove(&user);
        } else if self.announced.contains(&user) && !self.graces.contains_key(&user) {
            let deadline = Instant::now() + self.grace;
            self.graces.insert(user, deadline);
            self.deadlines.push(Reverse((deadline, user)));
        }
    }

    /// Users whose grace passed without a socket here go offline here.
    fn expire(&mut self, ops: &mut Vec<Op>) {
        let now = Instant::now();
        while let Some(Reverse((at, user))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            if self.graces.get(&user) != Some(&at) {
                continue;
            }
            self.graces.remove(&user);
            if !self.hub.is_connected(user) && self.announced.remove(&user) {
                ops.push(Op::Offline(user));
            }
        }
    }

    /// Renews this relay's record, takes dead relays' users offline, and tells the store all
    /// this relay's users again when it may have lost them.
    async fn beat(&mut self) {
        let Store::Redis(redis) = &*self.store else {
            return;
        };
        match redis
            .heartbeat(self.expiry, &self.announced, self.hub.len(), self.resync)
            .await
        {
            Ok(changes) => {
                self.resync = false;
                self.fanout.publish_presence(changes);
            }
            Err(err) => {
                tracing::warn!(error = %err, "presence heartbeat failed; retrying at the next one");
                self.resync = true;
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
