//! The login gate: the failed-attempt lockout of password logins and of the
//! MFA step, and the memory of logins that failed recently (which turns the
//! human check on for them). The lockout counters live in a
//! [`CounterStore`], so every node sees them; the failure memory is per
//! process. Both read their time from the engine's [`Clock`].
//!
//! Rules: `block_tries` consecutive failures of a key lock it for
//! `block_window`, doubling with each further lock (see
//! [`crate::limits::lock_window`]); a success (or an admin's unblock, or a
//! password reset) clears it. A failed login is remembered for one hour.

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::model::{AccountId, normalize_login};
use crate::settings::Settings;
use crate::store::{AttemptGate, CounterStore};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// How long a failed login keeps the human check on for that login.
pub const FAILURE_MEMORY: Duration = Duration::hours(1);
/// Logins remembered at most (expired ones, then all, are dropped beyond).
const FAILURE_MAX: usize = 100_000;

/// What a lockout counter counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateKey {
    /// Password attempts of a login (any spelling of it).
    Login(String),
    /// Second-factor codes of an account, across `mfa_token`s.
    Mfa(AccountId),
}

impl GateKey {
    /// The counter of a login as typed (normalized here).
    pub fn login(login: &str) -> Self {
        GateKey::Login(normalize_login(login))
    }

    fn counter(&self) -> String {
        match self {
            GateKey::Login(key) => format!("login:{key}"),
            GateKey::Mfa(id) => format!("mfa:{id}"),
        }
    }
}

/// The failed-login lockout and the failure memory of one engine.
#[derive(Clone)]
pub struct LoginGate {
    counters: Arc<dyn CounterStore>,
    clock: Arc<dyn Clock>,
    tries: u32,
    window_secs: u64,
    failures: Arc<Mutex<HashMap<String, OffsetDateTime>>>,
}

impl std::fmt::Debug for LoginGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginGate")
            .field("tries", &self.tries)
            .field("window_secs", &self.window_secs)
            .finish_non_exhaustive()
    }
}

impl LoginGate {
    /// A gate over `counters` with the lockout rules of `settings`.
    pub fn new(
        counters: Arc<dyn CounterStore>,
        clock: Arc<dyn Clock>,
        settings: &Settings,
    ) -> Self {
        Self {
            counters,
            clock,
            tries: settings.block_tries,
            window_secs: settings.block_window.whole_seconds().max(1).unsigned_abs(),
            failures: Arc::default(),
        }
    }

    /// Reserve an attempt: `TooManyAttempts` (with the seconds to wait) while
    /// the key is locked or its attempts are used up.
    pub async fn begin(&self, key: &GateKey) -> Result<()> {
        match self
            .counters
            .attempt_begin(&key.counter(), self.clock.now(), self.tries)
            .await?
        {
            AttemptGate::Allowed => Ok(()),
            AttemptGate::Locked(secs) => Err(Error::TooManyAttempts { retry_after: secs }),
        }
    }

    /// The reserved attempt failed; returns the lock seconds when this
    /// failure locked the key.
    pub async fn failed(&self, key: &GateKey) -> Result<Option<u64>> {
        self.counters
            .attempt_failed(
                &key.counter(),
                self.clock.now(),
                self.tries,
                self.window_secs,
            )
            .await
    }

    /// The reserved attempt succeeded, or an admin or a password reset
    /// cleared the key: forget its failures and lock.
    pub async fn clear(&self, key: &GateKey) -> Result<()> {
        self.counters.attempt_clear(&key.counter()).await
    }

    /// Whether a login failed within the last hour (the human check is then
    /// asked for it).
    pub fn failed_recently(&self, login: &str) -> bool {
        let key = normalize_login(login);
        let now = self.clock.now();
        self.failures
            .lock()
            .get(&key)
            .is_some_and(|at| now - *at < FAILURE_MEMORY)
    }

    /// Remember the outcome of a password login: a wrong password (or
    /// unknown login) is remembered, a success forgets the login, any other
    /// error changes nothing.
    pub fn remember<T>(&self, login: &str, outcome: &Result<T>) {
        match outcome {
            Ok(_) => self.remember_failure(login, false),
            Err(Error::InvalidCredentials) => self.remember_failure(login, true),
            Err(_) => {}
        }
    }

    fn remember_failure(&self, login: &str, failed: bool) {
        let key = normalize_login(login);
        let mut f = self.failures.lock();
        if !failed {
            f.remove(&key);
            return;
        }
        let now = self.clock.now();
        if f.len() >= FAILURE_MAX {
            f.retain(|_, at| now - *at < FAILURE_MEMORY);
            if f.len() >= FAILURE_MAX {
                f.clear();
            }
        }
        f.insert(key, now);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::MemoryStore;

    fn gate(clock: &ManualClock, tries: u32, window: i64) -> LoginGate {
        let settings = Settings {
            block_tries: tries,
            block_window: Duration::seconds(window),
            ..Settings::default()
        };
        LoginGate::new(
            Arc::new(MemoryStore::new()),
            Arc::new(clock.clone()),
            &settings,
        )
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn failures_lock_and_the_lock_ends_on_the_clock() {
        block_on(async {
            let clock = ManualClock::at_unix(1_000_000);
            let g = gate(&clock, 2, 60);
            let key = GateKey::login("Alice");
            g.begin(&key).await.unwrap();
            assert_eq!(g.failed(&key).await.unwrap(), None);
            g.begin(&key).await.unwrap();
            assert_eq!(g.failed(&key).await.unwrap(), Some(60));
            let locked = g.begin(&GateKey::login("ALICE")).await;
            assert!(matches!(
                locked,
                Err(Error::TooManyAttempts { retry_after: 60 })
            ));
            clock.advance(Duration::seconds(30));
            assert!(matches!(
                g.begin(&key).await,
                Err(Error::TooManyAttempts { retry_after: 30 })
            ));
            clock.advance(Duration::seconds(31));
            g.begin(&key).await.unwrap();
            g.clear(&key).await.unwrap();
        });
    }

    #[test]
    fn clear_unlocks_and_keys_are_separate() {
        block_on(async {
            let clock = ManualClock::at_unix(1_000_000);
            let g = gate(&clock, 1, 60);
            let login = GateKey::login("bob");
            let mfa = GateKey::Mfa(AccountId::new());
            g.begin(&login).await.unwrap();
            assert_eq!(g.failed(&login).await.unwrap(), Some(60));
            assert!(g.begin(&login).await.is_err());
            g.begin(&mfa).await.unwrap();
            g.clear(&login).await.unwrap();
            g.begin(&login).await.unwrap();
        });
    }

    #[test]
    fn failure_memory_follows_the_clock() {
        let clock = ManualClock::at_unix(1_000_000);
        let g = gate(&clock, 5, 60);
        assert!(!g.failed_recently("carol"));
        g.remember::<()>("Carol", &Err(Error::InvalidCredentials));
        assert!(g.failed_recently("CAROL"));
        clock.advance(Duration::minutes(59));
        assert!(g.failed_recently("carol"));
        clock.advance(Duration::minutes(1));
        assert!(!g.failed_recently("carol"));
        g.remember::<()>("carol", &Err(Error::InvalidCredentials));
        g.remember::<()>("carol", &Err(Error::AccountBlocked));
        assert!(g.failed_recently("carol"), "other errors change nothing");
        g.remember("carol", &Ok(()));
        assert!(!g.failed_recently("carol"));
    }
}
