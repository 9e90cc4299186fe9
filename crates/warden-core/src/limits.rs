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
