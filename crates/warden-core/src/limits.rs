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
