//! The second factor: TOTP secrets and steps, recovery codes, MFA challenges.

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

/// An inserted account without a second factor.
async fn plain_account(store: &dyn Store) -> Account {
    let mut a = unique_account();
    a.mfa_enabled = false;
    insert(store, &a).await;
    a
}

/// An account with an enabled TOTP secret (`last_step` 100) and two recovery codes.
async fn mfa_account(store: &dyn Store) -> (Account, Vec<u8>, [[u8; 32]; 2]) {
    let a = plain_account(store).await;
    let secret = hash().to_vec();
    let codes = [hash(), hash()];
    store
        .set_pending_totp(a.id, &secret, now(), &event(Some(a.id), "mfa.setup", now()))
        .await
        .expect("set_pending_totp");
    let ev = event(Some(a.id), "mfa.enabled", now());
    assert!(
        store
            .enable_totp(a.id, &secret, 100, &codes, now(), &ev)
            .await
            .expect("enable_totp")
    );
    (a, secret, codes)
}

/// A live MFA challenge of an account, by a fresh hash.
async fn new_challenge(store: &dyn Store, account: AccountId, ttl: Duration) -> [u8; 32] {
    let h = hash();
    let c = crate::store::MfaChallenge {
        account_id: account,
        remember: true,
        expires_at: now() + ttl,
        attempts: 0,
        scopes: Some(vec!["read".to_owned(), "write".to_owned()]),
    };
    store
        .create_mfa_challenge(&h, &c)
        .await
        .expect("create_mfa_challenge");
    h
}

/// Pending secrets are replaced; enabling needs the current pending secret and
/// sets the flag, the feed entry and the audit event in one go.
pub async fn check_totp_enable(store: &dyn Store) {
    let a = plain_account(store).await;
    assert_eq!(store.pending_totp(a.id).await.unwrap(), None);
    assert_eq!(store.active_totp(a.id).await.unwrap(), None);
    let (first, second) = (hash().to_vec(), hash().to_vec());
    for s in [&first, &second] {
        store
            .set_pending_totp(a.id, s, now(), &event(Some(a.id), "mfa.setup", now()))
            .await
            .unwrap();
    }
    assert_eq!(
        store.pending_totp(a.id).await.unwrap(),
        Some(second.clone())
    );
    let head = feed_head(store).await;
    let codes = [hash(), hash(), hash()];
    let at = now();
    let ev = event(Some(a.id), "mfa.enabled", at);
    assert!(
        !store
            .enable_totp(a.id, &first, 7, &codes, at, &ev)
            .await
            .unwrap(),
        "a replaced pending secret must not enable"
    );
    assert!(
        !store
            .account_by_id(a.id)
            .await
            .unwrap()
            .unwrap()
            .mfa_enabled
    );
    assert_eq!(store.active_totp(a.id).await.unwrap(), None);
    assert!(
        store
            .enable_totp(a.id, &second, 7, &codes, at, &ev)
            .await
            .unwrap()
    );
    let stored = store.account_by_id(a.id).await.unwrap().unwrap();
    assert!(stored.mfa_enabled);
    assert_eq!(stored.updated_at, at);
    assert_eq!(store.pending_totp(a.id).await.unwrap(), None);
    assert_eq!(
        store.active_totp(a.id).await.unwrap(),
        Some(crate::store::ActiveTotp {
            secret: second.clone(),
            last_step: Some(7)
        })
    );
    assert_eq!(store.recovery_codes_left(a.id).await.unwrap(), 3);
    let feed = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].change, Change::AccountChanged(a.id));
    let names = audit_names(store, a.id).await;
    assert_eq!(names.iter().filter(|n| *n == "mfa.enabled").count(), 1);
    assert_eq!(names.iter().filter(|n| *n == "mfa.setup").count(), 2);
    // A new pending secret leaves the active one alone.
    let third = hash().to_vec();
    store
        .set_pending_totp(a.id, &third, now(), &event(Some(a.id), "mfa.setup", now()))
        .await
        .unwrap();
    assert_eq!(store.pending_totp(a.id).await.unwrap(), Some(third));
    assert_eq!(
        store.active_totp(a.id).await.unwrap().map(|t| t.secret),
        Some(second)
    );
    // Unknown account.
    let ghost = AccountId::new();
    let r = store
        .set_pending_totp(ghost, b"x", now(), &event(Some(ghost), "mfa.setup", now()))
        .await;
    assert!(matches!(r, Err(Error::NotFound)), "{r:?}");
    assert!(
        !store
            .enable_totp(ghost, b"x", 1, &[], now(), &event(Some(ghost), "e", now()))
            .await
            .unwrap()
    );
}

/// `use_totp_step` only moves `last_step` forward.
pub async fn check_totp_step(store: &dyn Store) {
    let plain = plain_account(store).await;
    assert!(!store.use_totp_step(plain.id, 1).await.unwrap());
    let (a, _, _) = mfa_account(store).await;
    assert!(!store.use_totp_step(a.id, 100).await.unwrap(), "same step");
    assert!(!store.use_totp_step(a.id, 99).await.unwrap(), "older step");
    assert!(store.use_totp_step(a.id, 101).await.unwrap());
    assert!(!store.use_totp_step(a.id, 101).await.unwrap(), "replay");
    assert!(store.use_totp_step(a.id, 103).await.unwrap());
    assert!(!store.use_totp_step(a.id, 102).await.unwrap());
    assert_eq!(
        store.active_totp(a.id).await.unwrap().unwrap().last_step,
        Some(103)
    );
}

/// Of concurrent `use_totp_step` calls with one step exactly one wins.
pub async fn check_totp_step_concurrent(store: &Arc<dyn Store>) {
    let (a, _, _) = mfa_account(store.as_ref()).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = Arc::clone(store);
        set.spawn(async move { store.use_totp_step(a.id, 200).await });
    }
    let mut wins = 0;
    while let Some(r) = set.join_next().await {
        wins += usize::from(r.expect("task").expect("use_totp_step"));
    }
    assert_eq!(wins, 1, "concurrent use_totp_step winners");
}

/// Recovery codes work once, only for their account; concurrent use has one winner.
pub async fn check_recovery_codes(store: &Arc<dyn Store>) {
    let s = store.as_ref();
    let (a, _, codes) = mfa_account(s).await;
    let (b, _, other) = mfa_account(s).await;
    assert_eq!(s.use_recovery_code(a.id, &hash()).await.unwrap(), None);
    assert_eq!(s.use_recovery_code(a.id, &other[0]).await.unwrap(), None);
    assert_eq!(s.use_recovery_code(a.id, &codes[0]).await.unwrap(), Some(1));
    assert_eq!(s.use_recovery_code(a.id, &codes[0]).await.unwrap(), None);
    assert_eq!(s.recovery_codes_left(a.id).await.unwrap(), 1);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = Arc::clone(store);
        let code = codes[1];
        set.spawn(async move { store.use_recovery_code(a.id, &code).await });
    }
    let mut wins = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Some(left) = r.expect("task").expect("use_recovery_code") {
            wins.push(left);
        }
    }
    assert_eq!(wins, vec![0], "concurrent recovery code winners");
    assert_eq!(s.recovery_codes_left(a.id).await.unwrap(), 0);
    assert_eq!(s.recovery_codes_left(b.id).await.unwrap(), 2);
}

/// Disabling deletes secrets and codes and clears the flag; audited only when enabled.
pub async fn check_totp_disable(store: &dyn Store) {
    let (a, _, codes) = mfa_account(store).await;
    store
        .set_pending_totp(
            a.id,
            b"pending",
            now(),
            &event(Some(a.id), "mfa.setup", now()),
        )
        .await
        .unwrap();
    let head = feed_head(store).await;
    let at = now();
    assert!(
        store
            .disable_totp(a.id, at, &event(Some(a.id), "mfa.disabled", at))
            .await
            .unwrap()
    );
    let stored = store.account_by_id(a.id).await.unwrap().unwrap();
    assert!(!stored.mfa_enabled);
    assert_eq!(stored.updated_at, at);
    assert_eq!(store.active_totp(a.id).await.unwrap(), None);
    assert_eq!(store.pending_totp(a.id).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(a.id).await.unwrap(), 0);
    assert_eq!(
        store.use_recovery_code(a.id, &codes[0]).await.unwrap(),
        None
    );
    assert!(!store.use_totp_step(a.id, 1000).await.unwrap());
    let feed = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].change, Change::AccountChanged(a.id));
    // Again: nothing to do, nothing recorded.
    assert!(
        !store
            .disable_totp(a.id, now(), &event(Some(a.id), "mfa.disabled", now()))
            .await
            .unwrap()
    );
    let names = audit_names(store, a.id).await;
    assert_eq!(names.iter().filter(|n| *n == "mfa.disabled").count(), 1);
    assert!(feed_for(store, head, a.id).await.len() == 1);
    // Only a pending secret: removed, but the account was not enabled.
    let p = plain_account(store).await;
    store
        .set_pending_totp(
            p.id,
            b"pending",
            now(),
            &event(Some(p.id), "mfa.setup", now()),
        )
        .await
        .unwrap();
    assert!(
        !store
            .disable_totp(p.id, now(), &event(Some(p.id), "mfa.disabled", now()))
            .await
            .unwrap()
    );
    assert_eq!(store.pending_totp(p.id).await.unwrap(), None);
    // Unknown account.
    let ghost = AccountId::new();
    assert!(
        !store
            .disable_totp(ghost, now(), &event(Some(ghost), "mfa.disabled", now()))
            .await
            .unwrap()
    );
}

/// MFA tokens: attempts counted up to `max`, single use, expiry, prune, and
/// deletion with their account.
pub async fn check_mfa_challenges(store: &dyn Store) {
    let a = plain_account(store).await;
    let ghost = crate::store::MfaChallenge {
        account_id: AccountId::new(),
        remember: false,
        expires_at: now() + Duration::minutes(5),
        attempts: 0,
        scopes: None,
    };
    let r = store.create_mfa_challenge(&hash(), &ghost).await;
    assert!(matches!(r, Err(Error::NotFound)), "{r:?}");

    // Three failed attempts kill the token.
    let h = new_challenge(store, a.id, Duration::minutes(5)).await;
    for left in [2, 1, 0] {
        let c = store
            .begin_mfa_attempt(&h, now(), 3)
            .await
            .unwrap()
            .expect("live challenge");
        assert_eq!(c.account_id, a.id);
        assert!(c.remember);
        assert_eq!(c.attempts, 3 - left);
        assert_eq!(store.mfa_attempt_failed(&h, 3).await.unwrap(), left);
    }
    assert_eq!(store.begin_mfa_attempt(&h, now(), 3).await.unwrap(), None);
    assert_eq!(store.take_mfa_challenge(&h, now()).await.unwrap(), None);
    assert_eq!(store.mfa_attempt_failed(&h, 3).await.unwrap(), 0);

    // Single use.
    let h = new_challenge(store, a.id, Duration::minutes(5)).await;
    assert!(
        store
            .begin_mfa_attempt(&h, now(), 3)
            .await
            .unwrap()
            .is_some()
    );
    let taken = store.take_mfa_challenge(&h, now()).await.unwrap().unwrap();
    assert_eq!(taken.account_id, a.id);
    assert_eq!(taken.attempts, 1);
    assert_eq!(
        taken.scopes,
        Some(vec!["read".to_owned(), "write".to_owned()]),
        "the login's scopes come back"
    );
    assert_eq!(store.take_mfa_challenge(&h, now()).await.unwrap(), None);
    assert_eq!(store.begin_mfa_attempt(&h, now(), 3).await.unwrap(), None);

    // Expiry.
    let h = new_challenge(store, a.id, Duration::minutes(5)).await;
    let later = now() + Duration::minutes(6);
    assert_eq!(store.begin_mfa_attempt(&h, later, 3).await.unwrap(), None);
    let h = new_challenge(store, a.id, Duration::minutes(5)).await;
    assert_eq!(store.take_mfa_challenge(&h, later).await.unwrap(), None);
    assert_eq!(store.begin_mfa_attempt(&h, now(), 3).await.unwrap(), None);

    // Prune removes expired tokens only.
    let old = new_challenge(store, a.id, Duration::seconds(-10)).await;
    let live = new_challenge(store, a.id, Duration::minutes(5)).await;
    assert!(store.prune_mfa_challenges(now()).await.unwrap() >= 1);
    assert_eq!(
        store
            .begin_mfa_attempt(&old, now() - Duration::minutes(1), 3)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .begin_mfa_attempt(&live, now(), 3)
            .await
            .unwrap()
            .is_some()
    );

    // Deleting the account deletes its tokens and second factor.
    let (b, _, _) = mfa_account(store).await;
    let h = new_challenge(store, b.id, Duration::minutes(5)).await;
    assert!(
        store
            .delete_account(b.id, now(), &event(Some(b.id), "account.deleted", now()))
            .await
            .unwrap()
    );
    assert_eq!(store.begin_mfa_attempt(&h, now(), 3).await.unwrap(), None);
    assert_eq!(store.active_totp(b.id).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(b.id).await.unwrap(), 0);
}

/// Concurrent attempts never exceed `max`; concurrent takes have one winner.
pub async fn check_mfa_challenges_concurrent(store: &Arc<dyn Store>) {
    let a = plain_account(store.as_ref()).await;
    let h = new_challenge(store.as_ref(), a.id, Duration::minutes(5)).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = Arc::clone(store);
        set.spawn(async move { store.begin_mfa_attempt(&h, now(), 3).await });
    }
    let mut begun = 0;
    while let Some(r) = set.join_next().await {
        begun += usize::from(r.expect("task").expect("begin_mfa_attempt").is_some());
    }
    assert_eq!(begun, 3, "concurrent attempts allowed");

    let h = new_challenge(store.as_ref(), a.id, Duration::minutes(5)).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = Arc::clone(store);
        set.spawn(async move { store.take_mfa_challenge(&h, now()).await });
    }
    let mut taken = 0;
    while let Some(r) = set.join_next().await {
        taken += usize::from(r.expect("task").expect("take_mfa_challenge").is_some());
    }
    assert_eq!(taken, 1, "concurrent takes");
}
