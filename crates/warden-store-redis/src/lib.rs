//! # warden-store-redis
//!
//! What every Warden node must agree on at once, kept in Redis:
//!
//! - [`RedisCounters`]: the lockout counters ([`CounterStore`]), one Lua script
//!   per operation so that a burst spread over several nodes still gets no
//!   more than `max` password checks;
//! - [`RedisRateLimit`]: the per-client-IP token bucket shared by all nodes;
//! - [`Redis::feed_hook`] / [`Redis::spawn_feed_listener`]: pub/sub wake-ups on
//!   `<prefix>feed`, so that a revocation written by one node is pulled from
//!   the database change feed by every node at once instead of at its next poll;
//! - [`RedisSessionStore`] ([`Redis::sessions`]): server-side sessions and
//!   refresh tokens, for [`warden_core::store::Layered::with_sessions`]. Its
//!   audit events and revocation feed entries go to the main store's audit
//!   log and change feed ([`warden_core::store::ChangeFeed::append_changes`]),
//!   so revocations reach every node through the one database feed; see the
//!   type's docs for what is and is not atomic.
//!
//! Every key starts with a configurable prefix (`warden:`) and carries a TTL,
//! so nothing lingers. A Redis error is [`Error::Unavailable`] (HTTP 503): when
//! the counters cannot be reached a login is refused, never let through
//! unlimited. The connection is lazy and reconnects by itself, so a node starts
//! and keeps serving token checks while Redis is down.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use async_trait::async_trait;
use futures_util::StreamExt as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use warden_core::Error;
use warden_core::error::Result;
use warden_core::limits::SharedRateLimit;
use warden_core::store::{AttemptGate, CounterStore, FeedHook};

mod sessions;
pub use sessions::{DEFAULT_RETENTION, RedisSessionStore};

/// Default key prefix.
pub const DEFAULT_PREFIX: &str = "warden:";

/// An attempt reserved by `attempt_begin` whose outcome never came (the node
/// died, or Redis failed in between) stops counting after this long.
const IN_FLIGHT_STALE_MS: i64 = 60_000;

/// Counters live this long after their last write (plus the lock window).
const DAY_MS: i64 = 86_400_000;

const BEGIN: &str = r"
local k = KEYS[1]
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local stale = tonumber(ARGV[3])
local day = tonumber(ARGV[4])
local v = redis.call('HMGET', k, 'f', 'i', 'ia', 'u')
local f = tonumber(v[1]) or 0
local i = tonumber(v[2]) or 0
local ia = tonumber(v[3]) or 0
local u = tonumber(v[4])
if u then
  if u > now then
    local s = math.floor((u - now) / 1000)
    if s < 1 then s = 1 end
    return s
  end
  redis.call('HDEL', k, 'u')
end
if i > 0 and now - ia > stale then i = 0 end
if f + i >= max then return 1 end
redis.call('HSET', k, 'i', i + 1, 'ia', now)
local ttl = redis.call('PTTL', k)
if ttl < day then redis.call('PEXPIRE', k, day) end
return 0
";

const FAILED: &str = r"
local k = KEYS[1]
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local day = tonumber(ARGV[4])
local v = redis.call('HMGET', k, 'f', 'i', 'l')
local f = (tonumber(v[1]) or 0) + 1
local i = tonumber(v[2]) or 0
if i > 0 then i = i - 1 end
local l = tonumber(v[3]) or 0
if f >= max then
  local w = base * (2 ^ math.min(l, 32))
  if w > 86400 then w = 86400 end
  if w < 1 then w = 1 end
  redis.call('HSET', k, 'f', 0, 'i', i, 'l', l + 1, 'u', now + w * 1000)
  redis.call('PEXPIRE', k, w * 1000 + day)
  return w
end
redis.call('HSET', k, 'f', f, 'i', i)
local ttl = redis.call('PTTL', k)
if ttl < day then redis.call('PEXPIRE', k, day) end
return 0
";

const RATE: &str = r"
local k = KEYS[1]
local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local rate = cap / 60000
local v = redis.call('HMGET', k, 't', 'at')
local t = tonumber(v[1]) or cap
local at = tonumber(v[2]) or now
local el = now - at
if el < 0 then el = 0 end
t = math.min(cap, t + el * rate)
local res = 0
if t >= 1 then
  t = t - 1
else
  res = math.ceil((1 - t) / rate / 1000)
  if res < 1 then res = 1 end
end
redis.call('HSET', k, 't', tostring(t), 'at', tostring(now))
redis.call('PEXPIRE', k, 61000)
return res
";

fn unavailable(e: redis::RedisError) -> Error {
    Error::Unavailable(format!("redis: {e}"))
}

fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A Redis connection shared by the counters, the rate limit and the feed
/// wake-ups. Cheap to clone.
#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: Arc<str>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Prepare a connection to `url` (`redis://host:port/db`) with keys under
    /// `prefix`. Does not connect: the first command does, and a lost
    /// connection is re-established by itself. Must run inside a Tokio runtime.
    /// Fails only on a malformed URL.
    pub fn connect(url: &str, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::BadRequest(format!("WARDEN_REDIS_URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(unavailable)?;
        Ok(Self {
            client,
            conn,
            prefix: Arc::from(prefix),
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `PING`: whether Redis answers now.
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    /// Lockout counters in this Redis.
    pub fn counters(&self) -> RedisCounters {
        RedisCounters {
            redis: self.clone(),
            begin: redis::Script::new(BEGIN),
            failed: redis::Script::new(FAILED),
        }
    }

    /// The shared per-key rate limit in this Redis.
    pub fn rate_limit(&self) -> RedisRateLimit {
        RedisRateLimit {
            redis: self.clone(),
            script: redis::Script::new(RATE),
        }
    }

    fn channel(&self) -> String {
        format!("{}feed", self.prefix)
    }

    /// A hook for [`warden_core::store::Layered::with_feed_hook`]: each call
    /// asks a background task to `PUBLISH <prefix>feed` (bursts coalesce into
    /// one message; failures are only logged, the database feed still carries
    /// the change). Must be called inside a Tokio runtime.
    pub fn feed_hook(&self) -> FeedHook {
        let notify = Arc::new(tokio::sync::Notify::new());
        let wake = Arc::clone(&notify);
        let redis = self.clone();
        tokio::spawn(async move {
            let channel = redis.channel();
            loop {
                notify.notified().await;
                let mut c = redis.conn.clone();
                let r = redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg("1")
                    .query_async::<i64>(&mut c)
                    .await;
                if let Err(e) = r {
                    tracing::debug!(error = %e, "feed wake-up not published");
                }
            }
        });
        Arc::new(move || wake.notify_one())
    }

    /// Subscribe to `<prefix>feed` and call `on_wake` on every message, and
    /// once after each (re)subscription so that a node that was cut off
    /// catches up. Reconnects by itself; runs until the handle is aborted.
    pub fn spawn_feed_listener<F, Fut>(&self, on_wake: F) -> tokio::task::JoinHandle<()>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let client = self.client.clone();
        let channel = self.channel();
        tokio::spawn(async move {
            loop {
                let connected =
                    tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub()).await;
                match connected {
                    Ok(Ok(mut pubsub)) => match pubsub.subscribe(&channel).await {
                        Ok(()) => {
                            tracing::debug!(%channel, "subscribed to feed wake-ups");
                            on_wake().await;
                            let mut messages = pubsub.into_on_message();
                            while messages.next().await.is_some() {
                                on_wake().await;
                            }
                            tracing::warn!("redis feed subscription lost; reconnecting");
                        }
                        Err(e) => tracing::debug!(error = %e, "redis subscribe failed"),
                    },
                    Ok(Err(e)) => tracing::debug!(error = %e, "redis pub/sub connect failed"),
                    Err(_) => tracing::debug!("redis pub/sub connect timed out"),
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }
}

/// [`CounterStore`] in Redis: one hash per key (`<prefix>lock:<key>`) updated
/// by Lua scripts, with the semantics of the in-memory reference (in-flight
/// reservations count against `max`, lock windows double via
/// [`warden_core::limits::lock_window`], capped at a day). Differences: an
/// in-flight reservation whose outcome is never reported stops counting after
/// 60 s, and a key is forgotten a day after its last write (or lock end).
#[derive(Clone)]
pub struct RedisCounters {
    redis: Redis,
    begin: redis::Script,
    failed: redis::Script,
}

impl RedisCounters {
    fn key(&self, key: &str) -> String {
        format!("{}lock:{key}", self.redis.prefix)
    }
}

#[async_trait]
impl CounterStore for RedisCounters {
    async fn attempt_begin(&self, key: &str, now: OffsetDateTime, max: u32) -> Result<AttemptGate> {
        let mut c = self.redis.conn.clone();
        let secs: i64 = self
            .begin
            .key(self.key(key))
            .arg(millis(now))
            .arg(max)
            .arg(IN_FLIGHT_STALE_MS)
            .arg(DAY_MS)
            .invoke_async(&mut c)
            .await
            .map_err(unavailable)?;
        Ok(if secs <= 0 {
            AttemptGate::Allowed
        } else {
            AttemptGate::Locked(secs as u64)
        })
    }

    async fn attempt_failed(
        &self,
        key: &str,
        now: OffsetDateTime,
        max: u32,
        base_window_secs: u64,
    ) -> Result<Option<u64>> {
        let mut c = self.redis.conn.clone();
        let secs: i64 = self
            .failed
            .key(self.key(key))
            .arg(millis(now))
            .arg(max)
            .arg(base_window_secs.min(86_400))
            .arg(DAY_MS)
            .invoke_async(&mut c)
            .await
            .map_err(unavailable)?;
        Ok((secs > 0).then_some(secs as u64))
    }

    async fn attempt_clear(&self, key: &str) -> Result<()> {
        let mut c = self.redis.conn.clone();
        redis::cmd("DEL")
            .arg(self.key(key))
            .query_async::<i64>(&mut c)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}

/// [`SharedRateLimit`] in Redis: a token bucket per key
/// (`<prefix>rate:<key>`), refilled at `per_minute` a minute, in a Lua script.
#[derive(Clone)]
pub struct RedisRateLimit {
    redis: Redis,
    script: redis::Script,
}

#[async_trait]
impl SharedRateLimit for RedisRateLimit {
    async fn check(
        &self,
        key: &str,
        now: OffsetDateTime,
        per_minute: u32,
    ) -> Result<std::result::Result<(), u64>> {
        if per_minute == 0 {
            return Ok(Ok(()));
        }
        let mut c = self.redis.conn.clone();
        let secs: i64 = self
            .script
            .key(format!("{}rate:{key}", self.redis.prefix))
            .arg(millis(now))
            .arg(per_minute)
            .invoke_async(&mut c)
            .await
            .map_err(unavailable)?;
        Ok(if secs <= 0 { Ok(()) } else { Err(secs as u64) })
    }
}
