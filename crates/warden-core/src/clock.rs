//! Time is a parameter: the domain reads it from a [`Clock`].

use parking_lot::Mutex;
use std::sync::Arc;
use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current UTC time.
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that tests set and advance by hand.
///
/// ```
/// use warden_core::clock::{Clock, ManualClock};
/// let clock = ManualClock::at_unix(1_000);
/// clock.advance(time::Duration::seconds(5));
/// assert_eq!(clock.now().unix_timestamp(), 1_005);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    /// A clock fixed at a unix timestamp (seconds).
    pub fn at_unix(secs: i64) -> Self {
        let t = OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Self(Arc::new(Mutex::new(t)))
    }
    /// Move the clock forward.
    pub fn advance(&self, by: time::Duration) {
        let mut t = self.0.lock();
        *t += by;
    }
    /// Set the clock.
    pub fn set(&self, to: OffsetDateTime) {
        *self.0.lock() = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock()
    }
}
