//! Lockout rules. The counters live in a [`crate::store::CounterStore`].

use time::OffsetDateTime;

/// Seconds from `now` until `until`, at least 1.
pub fn secs_until(now: OffsetDateTime, until: OffsetDateTime) -> u64 {
    let secs = (until - now).whole_seconds();
    secs.max(1) as u64
}

/// Lock window for the `n`-th lock since the last success: `base * 2^n`, capped at one day.
///
/// ```
/// assert_eq!(warden_core::limits::lock_window(60, 0), 60);
/// assert_eq!(warden_core::limits::lock_window(60, 2), 240);
/// assert_eq!(warden_core::limits::lock_window(60, 40), 86_400);
/// ```
pub fn lock_window(base: u64, n: u32) -> u64 {
    let factor = 1u64.checked_shl(n.min(32)).unwrap_or(u64::MAX);
    base.saturating_mul(factor).clamp(1, 86_400)
}

/// One lockout counter: the state every [`crate::store::CounterStore`] keeps
/// per key, with the one set of rules all stores apply to it.
///
/// ```
/// use warden_core::limits::AttemptCounter;
/// use warden_core::store::AttemptGate;
/// let now = time::OffsetDateTime::UNIX_EPOCH;
/// let mut c = AttemptCounter::default();
/// assert!(matches!(c.begin(now, 1), AttemptGate::Allowed));
/// assert_eq!(c.failed(now, 1, 60), Some(60));
/// assert!(matches!(c.begin(now, 1), AttemptGate::Locked(60)));
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCounter {
    /// Failures since the last success or lock.
    pub failures: u32,
    /// Attempts begun and not yet reported.
    pub in_flight: u32,
    /// Locks since the last success (each doubles the window).
    pub locks: u32,
    /// Locked until then.
    pub locked_until: Option<OffsetDateTime>,
}

impl AttemptCounter {
    /// Begin an attempt at `now` with at most `max` failures before a lock.
    pub fn begin(&mut self, now: OffsetDateTime, max: u32) -> crate::store::AttemptGate {
        use crate::store::AttemptGate;
        if let Some(until) = self.locked_until {
            if until > now {
                return AttemptGate::Locked(secs_until(now, until));
            }
            self.locked_until = None;
        }
        if self.failures.saturating_add(self.in_flight) >= max {
            // The budget is taken by attempts still being checked.
            return AttemptGate::Locked(1);
        }
        self.in_flight += 1;
        AttemptGate::Allowed
    }

    /// A begun attempt failed: the lock's seconds when this failure locks
    /// (the window is [`lock_window`] of `base` seconds).
    pub fn failed(&mut self, now: OffsetDateTime, max: u32, base: u64) -> Option<u64> {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.failures = self.failures.saturating_add(1);
        if self.failures < max {
            return None;
        }
        let secs = lock_window(base, self.locks);
        self.locks = self.locks.saturating_add(1);
        self.failures = 0;
        let secs_i64 = i64::try_from(secs).unwrap_or(i64::MAX);
        self.locked_until = Some(now.saturating_add(time::Duration::seconds(secs_i64)));
        Some(secs)
    }
}

/// A per-key token bucket kept in process memory (per-IP limits of one node).
///
/// ```
/// use warden_core::limits::RateLimiter;
/// let rl = RateLimiter::new(2);
/// let t = time::OffsetDateTime::UNIX_EPOCH;
/// assert!(rl.check("1.2.3.4", t).is_ok());
/// assert!(rl.check("1.2.3.4", t).is_ok());
/// assert!(rl.check("1.2.3.4", t).is_err());
/// assert!(rl.check("5.6.7.8", t).is_ok());
/// ```
pub struct RateLimiter {
    per_minute: u32,
    buckets: parking_lot::Mutex<std::collections::HashMap<String, (f64, OffsetDateTime)>>,
}

const RATE_KEYS_MAX: usize = 100_000;

impl RateLimiter {
    /// Allow `per_minute` requests a minute per key, in bursts up to the same number.
    /// Zero disables the limit.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: parking_lot::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Take one token for `key`; `Err(seconds)` when none is left.
    pub fn check(&self, key: &str, now: OffsetDateTime) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let cap = f64::from(self.per_minute);
        let rate = cap / 60.0;
        let mut b = self.buckets.lock();
        if b.len() >= RATE_KEYS_MAX && !b.contains_key(key) {
            // Drop full buckets first: they hold no state worth keeping.
            b.retain(|_, (tokens, at)| {
                let refill = (now - *at).as_seconds_f64().max(0.0) * rate;
                *tokens + refill < cap
            });
        }
        let (tokens, at) = b.entry(key.to_owned()).or_insert((cap, now));
        let elapsed = (now - *at).as_seconds_f64().max(0.0);
        *tokens = (*tokens + elapsed * rate).min(cap);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// A rate limit shared by several nodes (e.g. in Redis). `Ok(Err(seconds))`
/// when the key has no token left; `Err` when the backend cannot answer (the
/// caller then falls back to its own [`RateLimiter`]).
#[async_trait::async_trait]
pub trait SharedRateLimit: Send + Sync {
    /// Take one token for `key`, allowing `per_minute` a minute (0: no limit).
    async fn check(
        &self,
        key: &str,
        now: OffsetDateTime,
        per_minute: u32,
    ) -> crate::error::Result<Result<(), u64>>;
}
