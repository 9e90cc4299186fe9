//! Checks every backend of this crate runs (each test binary includes this
//! module with `mod common;`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::sync::Arc;
use time::OffsetDateTime;
use warden_core::Error;
use warden_core::model::{Account, AuditEvent};
use warden_core::store::{AccountQuery, AttemptGate, Revoke, Store};

/// A plain account with `login`.
pub fn account(login: &str) -> Account {
    Account::person(login, OffsetDateTime::now_utc())
}

/// An audit event of `account`.
pub fn event(account: &Account) -> AuditEvent {
    AuditEvent {
        at: OffsetDateTime::now_utc(),
        account_id: Some(account.id),
        event: "test".to_owned(),
        ip: None,
        user_agent: None,
        detail: serde_json::json!({}),
    }
}

/// Keys and search texts with a NUL character (which PostgreSQL text cannot
/// hold) find nothing on every backend, without an error; a write of such
/// text is stored or refused as a bad request, never a server error.
pub async fn nul_text_is_never_a_server_error(store: &dyn Store) {
    let a = account(&format!("nul-{}", uuid::Uuid::now_v7().simple()));
    store.insert_account(&a, &event(&a)).await.unwrap();
    assert!(store.account_by_login("nul\0x").await.unwrap().is_none());
    assert!(
        store
            .account_by_email("a\0@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let search = |s: &str| AccountQuery {
        search: Some(s.to_owned()),
        after: None,
        limit: 10,
    };
    assert!(
        store
            .list_accounts(&search("nul\0"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.list_accounts(&search(&a.login)).await.unwrap().len(),
        1
    );
    assert!(
        store
            .identity_by_subject("github", "sub\0ject")
            .await
            .unwrap()
            .is_none()
    );
    // A lockout counter of such a key works like any other.
    let now = OffsetDateTime::now_utc();
    let key = format!("login:{}\0", a.login);
    assert_eq!(
        store.attempt_begin(&key, now, 5).await.unwrap(),
        AttemptGate::Allowed
    );
    store.attempt_failed(&key, now, 5, 60).await.unwrap();
    store.attempt_clear(&key).await.unwrap();
    // Writes of text with a NUL.
    let mut blocked = a.clone();
    blocked.blocked = true;
    blocked.block_reason = Some("spam\0".to_owned());
    let r = store
        .update_account(&blocked, Revoke::Nothing, now, &[])
        .await;
    assert!(matches!(r, Ok(()) | Err(Error::BadRequest(_))), "{r:?}");
    let b = account(&format!("nul\0{}", uuid::Uuid::now_v7().simple()));
    let r = store.insert_account(&b, &event(&b)).await;
    assert!(matches!(r, Ok(()) | Err(Error::BadRequest(_))), "{r:?}");
}

/// Feed writers racing on several connections (the store's pool should have
/// several): a reader that polls while they run, as a node's sync task does,
/// sees every entry exactly once, in `seq` order, never skipping one that
/// commits later with a smaller `seq`.
pub async fn feed_never_skips<S: Store + 'static>(store: Arc<S>) {
    let mut accounts = Vec::new();
    for i in 0..8 {
        let a = account(&format!("feed-{i}-{}", uuid::Uuid::now_v7().simple()));
        store.insert_account(&a, &event(&a)).await.unwrap();
        accounts.push(a);
    }
    let head = store
        .changes_since(0, u32::MAX)
        .await
        .unwrap()
        .last()
        .map_or(0, |e| e.seq);
    const PER_WRITER: usize = 40;
    let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for a in accounts.clone() {
        let store = Arc::clone(&store);
        let finished = Arc::clone(&finished);
        writers.spawn(async move {
            for _ in 0..PER_WRITER {
                store
                    .update_account(&a, Revoke::Nothing, OffsetDateTime::now_utc(), &[])
                    .await
                    .unwrap();
            }
            finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let total = accounts.len() * PER_WRITER;
    let mut seen = Vec::new();
    let mut after = head;
    loop {
        let done = finished.load(std::sync::atomic::Ordering::SeqCst) == accounts.len();
        let batch = store.changes_since(after, 7).await.unwrap();
        if let Some(last) = batch.last() {
            after = last.seq;
        }
        let empty = batch.is_empty();
        seen.extend(batch.into_iter().map(|e| e.seq));
        if done && empty {
            break;
        }
        tokio::task::yield_now().await;
    }
    while writers.join_next().await.is_some() {}
    assert_eq!(
        seen.len(),
        total,
        "the reader skipped {} entries",
        total.saturating_sub(seen.len())
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "increasing seq");
    let rest = store.changes_since(after, 100).await.unwrap();
    assert!(rest.is_empty(), "nothing left behind the reader");
}
