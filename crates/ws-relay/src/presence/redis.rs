//! Presence in Redis, shared by the relays of a deployment (docs/architecture.md,
//! "Presence"). Keys, under `{prefix}:presence:`:
//!
//! - `relays`: sorted set, relay instance → its last heartbeat (Redis time, Unix ms);
//! - `on:{instance}`: set, the users online on that relay;
//! - `user:{userId}`: set, the relays the user is online on — online while it is not empty;
//! - `seen`: hash, user → when they last went offline (Unix ms);
//! - `conns`: hash, relay instance → its number of sockets at its last heartbeat (for the
//!   instance figures of `GET /internal/stats`).
//!
//! Every change runs in a Lua script, so a transition (the first relay added to a user's set,
//! the last one removed) is seen by exactly one caller, which publishes it. Each heartbeat
//! also sweeps the relays whose record is older than the expiry: their users leave, with the
//! dead relay's last heartbeat as `lastSeenAt`. A relay that finds its own record gone (it
//! was swept while cut off) writes all its users again. The scripts build key names from the
//! prefix: one Redis server, as the fan-out's single channel assumes, not a cluster.

use std::collections::HashSet;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;
use tokio::sync::Mutex;
use uuid::Uuid;
use wire::protocol::PresenceView;

use super::{Op, Unavailable, view};

/// What every writing script starts with: the prefix and relay from `ARGV[1]` and `ARGV[2]`,
/// Redis's clock, and `up`/`down`, which move one user on or off one relay and record a
/// transition in `out` as (user, `""` for online or the `lastSeenAt` ms).
macro_rules! prelude {
    () => {
        r#"
local prefix, relay = ARGV[1], ARGV[2]
local clock = redis.call('TIME')
local now = string.format('%.0f', clock[1] * 1000 + math.floor(clock[2] / 1000))
local seen = prefix .. ':presence:seen'
local out = {}
local function on_key(r) return prefix .. ':presence:on:' .. r end
local function holders(user) return prefix .. ':presence:user:' .. user end
local function up(r, user)
  redis.call('SADD', on_key(r), user)
  if redis.call('SADD', holders(user), r) == 1 and redis.call('SCARD', holders(user)) == 1 then
    out[#out + 1] = user
    out[#out + 1] = ''
  end
end
local function down(r, user, at)
  redis.call('SREM', on_key(r), user)
  if redis.call('SREM', holders(user), r) == 1 and redis.call('SCARD', holders(user)) == 0 then
    redis.call('HSET', seen, user, at)
    out[#out + 1] = user
    out[#out + 1] = at
  end
end
"#
    };
}

/// `ARGV[3..]`: pairs of `+`/`-` and a user, applied in order.
const APPLY: &str = concat!(
    prelude!(),
    r#"
for i = 3, #ARGV, 2 do
  if ARGV[i] == '+' then up(relay, ARGV[i + 1]) else down(relay, ARGV[i + 1], now) end
end
return out
"#
);

/// `ARGV[3..]`: every user online on this relay; the relay's set becomes exactly that.
const REPLACE: &str = concat!(
    prelude!(),
    r#"
local wanted = {}
for i = 3, #ARGV do wanted[ARGV[i]] = true end
for _, user in ipairs(redis.call('SMEMBERS', on_key(relay))) do
  if not wanted[user] then down(relay, user, now) end
end
for i = 3, #ARGV do up(relay, ARGV[i]) end
return out
"#
);

/// `ARGV[3]`: the expiry (ms), `ARGV[4]`: this relay's number of sockets. Renews this
/// relay's record and sweeps the dead ones; the answer starts with `1` when this relay's
/// record was not there (first beat, or swept).
const HEARTBEAT: &str = concat!(
    prelude!(),
    r#"
local relays = prefix .. ':presence:relays'
local conns = prefix .. ':presence:conns'
local fresh = redis.call('ZADD', relays, now, relay)
redis.call('HSET', conns, relay, ARGV[4])
local horizon = string.format('%.0f', tonumber(now) - tonumber(ARGV[3]))
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', relays, '-inf', '(' .. horizon)) do
  local last = redis.call('ZSCORE', relays, dead)
  last = string.format('%.0f', tonumber(last))
  for _, user in ipairs(redis.call('SMEMBERS', on_key(dead))) do down(dead, user, last) end
  redis.call('DEL', on_key(dead))
  redis.call('ZREM', relays, dead)
  redis.call('HDEL', conns, dead)
end
table.insert(out, 1, tostring(fresh))
return out
"#
);

/// `ARGV[2..]`: users. For each: how many relays hold them, and `lastSeenAt` ms or `""`.
const SNAPSHOT: &str = r#"
local prefix = ARGV[1]
local out = {}
for i = 2, #ARGV do
  out[#out + 1] = tostring(redis.call('SCARD', prefix .. ':presence:user:' .. ARGV[i]))
  out[#out + 1] = redis.call('HGET', prefix .. ':presence:seen', ARGV[i]) or ''
end
return out
"#;

/// The sockets of every live relay (as of their last heartbeats) and the users online on any
/// of them (a union: a user on two relays counts once).
const STATS: &str = r#"
local prefix = ARGV[1]
local relays = redis.call('ZRANGE', prefix .. ':presence:relays', 0, -1)
local sockets = 0
local sets = {}
for _, r in ipairs(relays) do
  sockets = sockets + (tonumber(redis.call('HGET', prefix .. ':presence:conns', r)) or 0)
  sets[#sets + 1] = prefix .. ':presence:on:' .. r
end
local online = 0
if #sets > 0 then online = redis.call('SUNIONSTORE', prefix .. ':presence:stats-tmp', unpack(sets)) end
redis.call('DEL', prefix .. ':presence:stats-tmp')
return {tostring(sockets), tostring(online)}
"#;

/// A call to Redis that takes longer than this fails (and is retried at the next heartbeat).
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) struct RedisStore {
    client: redis::Client,
    conn: Mutex<Option<ConnectionManager>>,
    prefix: String,
    /// This process on Redis (two relays may share a `RELAY_ID`).
    instance: String,
    beaten: std::sync::atomic::AtomicBool,
    apply: Script,
    replace: Script,
    heartbeat: Script,
    snapshot: Script,
    stats: Script,
}

impl RedisStore {
    pub(super) fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
        Ok(Self {
            client,
            conn: Mutex::new(None),
            prefix: prefix.to_owned(),
            instance: Uuid::new_v4().to_string(),
            beaten: std::sync::atomic::AtomicBool::new(false),
            apply: Script::new(APPLY),
            replace: Script::new(REPLACE),
            heartbeat: Script::new(HEARTBEAT),
            snapshot: Script::new(SNAPSHOT),
            stats: Script::new(STATS),
        })
    }

    /// The shared, reconnecting connection (made on first use).
    async fn connection(&self) -> Result<ConnectionManager, Unavailable> {
        let mut conn = self.conn.lock().await;
        if let Some(c) = conn.as_ref() {
            return Ok(c.clone());
        }
        let made = tokio::time::timeout(CALL_TIMEOUT, ConnectionManager::new(self.client.clone()))
            .await
            .map_err(|_| Unavailable("Redis did not answer in time".to_owned()))?
            .map_err(|e| Unavailable(format!("cannot connect to Redis: {e}")))?;
        *conn = Some(made.clone());
        Ok(made)
    }

    /// Runs `script` with the prefix first in `ARGV`, then `args`.
    async fn run(&self, script: &Script, args: &[&str]) -> Result<Vec<String>, Unavailable> {
        let mut conn = self.connection().await?;
        let mut invocation = script.arg(&self.prefix);
        for arg in args {
            invocation.arg(*arg);
        }
        tokio::time::timeout(CALL_TIMEOUT, invocation.invoke_async(&mut conn))
            .await
            .map_err(|_| Unavailable("Redis did not answer in time".to_owned()))?
            .map_err(|e| Unavailable(e.to_string()))
    }

    pub(super) async fn apply(&self, ops: &[Op]) -> Result<Vec<PresenceView>, Unavailable> {
        let flat: Vec<String> = ops
            .iter()
            .flat_map(|op| match op {
                Op::Online(user) => ["+".to_owned(), user.to_string()],
                Op::Offline(user) => ["-".to_owned(), user.to_string()],
            })
            .collect();
        let mut args = vec![self.instance.as_str()];
        args.extend(flat.iter().map(String::as_str));
        Ok(transitions(&self.run(&self.apply, &args).await?))
    }

    /// Renews this relay's record and sweeps dead relays; writes all of `announced` again
    /// when `resync` says the store may have lost some, or the record was gone (this relay was
    /// swept while cut off). Returns the transitions.
    pub(super) async fn heartbeat(
        &self,
        expiry: Duration,
        announced: &HashSet<Uuid>,
        sockets: usize,
        resync: bool,
    ) -> Result<Vec<PresenceView>, Unavailable> {
        use std::sync::atomic::Ordering;
        let expiry_ms = expiry.as_millis().to_string();
        let sockets = sockets.to_string();
        let answer = self
            .run(
                &self.heartbeat,
                &[self.instance.as_str(), &expiry_ms, &sockets],
            )
            .await?;
        let fresh = answer.first().is_some_and(|f| f == "1");
        let mut changes = transitions(answer.get(1..).unwrap_or_default());
        let swept = fresh && self.beaten.swap(true, Ordering::Relaxed);
        if resync || swept {
            if swept {
                tracing::warn!(
                    "this relay's presence record had expired (cut off from Redis?); writing its users again"
                );
            }
            let users: Vec<String> = announced.iter().map(Uuid::to_string).collect();
            let mut args = vec![self.instance.as_str()];
            args.extend(users.iter().map(String::as_str));
            changes.extend(transitions(&self.run(&self.replace, &args).await?));
        }
        Ok(changes)
    }

    pub(super) async fn snapshot(&self, users: &[Uuid]) -> Result<Vec<PresenceView>, Unavailable> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = users.iter().map(Uuid::to_string).collect();
        let args: Vec<&str> = ids.iter().map(String::as_str).collect();
        let answer = self.run(&self.snapshot, &args).await?;
        Ok(users
            .iter()
            .zip(answer.chunks_exact(2))
            .map(|(user, pair)| {
                let online = pair[0] != "0";
                view(*user, online, pair[1].parse().ok())
            })
            .collect())
    }

    /// (sockets on every live relay, users online on any).
    pub(super) async fn stats(&self) -> Result<(u64, u64), Unavailable> {
        let answer = self.run(&self.stats, &[]).await?;
        let figure = |i: usize| answer.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok((figure(0), figure(1)))
    }
}

/// A script's (user, `""` | last-seen ms) pairs as changes.
fn transitions(flat: &[String]) -> Vec<PresenceView> {
    flat.chunks_exact(2)
        .filter_map(|pair| {
            let user = pair[0].parse().ok()?;
            let last_seen: Option<i64> = pair[1].parse().ok();
            Some(view(user, last_seen.is_none(), last_seen))
        })
        .collect()
}
