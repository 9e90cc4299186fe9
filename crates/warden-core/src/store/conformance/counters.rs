//! The lockout counters: failures, attempts in flight, concurrency.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(unused_imports)]

use super::helpers::*;
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::model::{
    Account, AccountId, AuditEvent, Session, SessionId, StoredKey, normalize_email, normalize_login,
};
use crate::store::{
    AccountQuery, AttemptGate, AuditQuery, Change, FeedEntry, Revoke, Rotation, Store,
};
use std::collections::HashSet;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Lockout: failures up to `max` lock for `base * 2^n`; clear resets.
pub async fn check_counters(store: &dyn Store) {
    let key = format!("login:{}", tag());
    let t0 = now();
    let (max, base) = (3, 60);

    for i in 0..3 {
        assert_eq!(
            store.attempt_begin(&key, t0, max).await.unwrap(),
            AttemptGate::Allowed
        );
        let r = store.attempt_failed(&key, t0, max, base).await.unwrap();
        if i < 2 {
            assert_eq!(r, None, "failure {i} does not lock");
        } else {
            assert_eq!(r, Some(60), "third failure locks for base");
        }
    }
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Locked(60)
    );
    let t59 = t0 + Duration::seconds(59);
    assert_eq!(
        store.attempt_begin(&key, t59, max).await.unwrap(),
        AttemptGate::Locked(1)
    );
    let t59h = t0 + Duration::milliseconds(59_500);
    assert_eq!(
        store.attempt_begin(&key, t59h, max).await.unwrap(),
        AttemptGate::Locked(1),
        "at least 1"
    );

    // The lock is over: failures start from zero, the next lock doubles.
    let t1 = t0 + Duration::seconds(60);
    for i in 0..3 {
        assert_eq!(
            store.attempt_begin(&key, t1, max).await.unwrap(),
            AttemptGate::Allowed,
            "after lock {i}"
        );
        let r = store.attempt_failed(&key, t1, max, base).await.unwrap();
        assert_eq!(
            r,
            if i < 2 { None } else { Some(120) },
            "second lock doubles"
        );
    }
    assert_eq!(
        store.attempt_begin(&key, t1, max).await.unwrap(),
        AttemptGate::Locked(120)
    );
    let t2 = t1 + Duration::seconds(120);
    for i in 0..3 {
        assert_eq!(
            store.attempt_begin(&key, t2, max).await.unwrap(),
            AttemptGate::Allowed
        );
        let r = store.attempt_failed(&key, t2, max, base).await.unwrap();
        assert_eq!(
            r,
            if i < 2 { None } else { Some(240) },
            "third lock doubles again"
        );
    }

    // Clear forgets everything, including earlier locks.
    store.attempt_clear(&key).await.unwrap();
    assert_eq!(
        store.attempt_begin(&key, t2, max).await.unwrap(),
        AttemptGate::Allowed
    );
    store.attempt_failed(&key, t2, max, base).await.unwrap();
    store.attempt_begin(&key, t2, max).await.unwrap();
    store.attempt_failed(&key, t2, max, base).await.unwrap();
    store.attempt_begin(&key, t2, max).await.unwrap();
    assert_eq!(
        store.attempt_failed(&key, t2, max, base).await.unwrap(),
        Some(60),
        "reset by clear"
    );

    // The window is capped at one day.
    let capped = format!("login:{}", tag());
    assert_eq!(
        store.attempt_failed(&capped, t0, 1, 100_000).await.unwrap(),
        Some(86_400)
    );
    // Clearing an unknown key is fine; counters are per key.
    store
        .attempt_clear(&format!("login:{}", tag()))
        .await
        .unwrap();
    let fresh = format!("login:{}", tag());
    assert_eq!(
        store.attempt_begin(&fresh, t0, max).await.unwrap(),
        AttemptGate::Allowed
    );
}

/// Attempts in flight count against `max`.
pub async fn check_counters_in_flight(store: &dyn Store) {
    let key = format!("login:{}", tag());
    let t0 = now();
    let max = 2;
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Allowed
    );
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Allowed
    );
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Locked(1),
        "budget in flight"
    );
    // One failed: one failure + one in flight still fill the budget.
    assert_eq!(store.attempt_failed(&key, t0, max, 30).await.unwrap(), None);
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Locked(1)
    );
    // The other failed: two failures lock.
    assert_eq!(
        store.attempt_failed(&key, t0, max, 30).await.unwrap(),
        Some(30)
    );
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Locked(30)
    );
    store.attempt_clear(&key).await.unwrap();
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Allowed
    );
}

/// 50 concurrent `attempt_begin` with `max = 5`: exactly 5 allowed; then 5
/// concurrent failures lock exactly once.
pub async fn check_counters_concurrent(store: &Arc<dyn Store>) {
    let key = format!("login:{}", tag());
    let t0 = now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let store = Arc::clone(store);
        let key = key.clone();
        set.spawn(async move { store.attempt_begin(&key, t0, 5).await });
    }
    let mut allowed = 0;
    while let Some(r) = set.join_next().await {
        match r.expect("task").expect("attempt_begin") {
            AttemptGate::Allowed => allowed += 1,
            AttemptGate::Locked(secs) => assert_eq!(secs, 1, "busy budget"),
        }
    }
    assert_eq!(allowed, 5, "exactly max attempts reserved");

    let mut set = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let store = Arc::clone(store);
        let key = key.clone();
        set.spawn(async move { store.attempt_failed(&key, t0, 5, 60).await });
    }
    let mut locks = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Some(secs) = r.expect("task").expect("attempt_failed") {
            locks.push(secs);
        }
    }
    assert_eq!(locks, vec![60], "exactly one failure locks");
    assert_eq!(
        store.attempt_begin(&key, t0, 5).await.unwrap(),
        AttemptGate::Locked(60)
    );
}
