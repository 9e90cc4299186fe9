//! The change feed, the audit log, signing keys, settings, and pruning.

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

/// The feed is ordered by strictly increasing `seq` and honours `limit`.
pub async fn check_changes_since(store: &dyn Store) {
    let a = new_account(store).await;
    let head = feed_head(store).await;
    let t0 = now();
    for i in 0..5 {
        let mut b = a.clone();
        b.updated_at = t0 + Duration::seconds(i);
        store
            .update_account(&b, Revoke::Nothing, t0 + Duration::seconds(i), &[])
            .await
            .unwrap();
    }
    let all = feed_after(store, head).await;
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|e| e.change == Change::AccountChanged(a.id)));
    assert!(
        all.windows(2).all(|w| w[0].seq < w[1].seq),
        "increasing seq"
    );
    assert!(all.iter().all(|e| e.seq > head));
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.at, t0 + Duration::seconds(i as i64), "feed `at`");
    }

    let two = store.changes_since(head, 2).await.unwrap();
    assert_eq!(two, all[..2].to_vec(), "limit");
    let rest = store.changes_since(two[1].seq, 100).await.unwrap();
    assert_eq!(rest, all[2..].to_vec(), "resume after a seq");
    let none = store.changes_since(all[4].seq, 100).await.unwrap();
    assert!(none.is_empty(), "nothing after the newest");
    assert!(
        store.changes_since(head, 0).await.unwrap().is_empty(),
        "limit 0"
    );
}

/// `append_changes`: the entries in order, all at `at`, with the audit
/// events; nothing at all for empty lists.
pub async fn check_append_changes(store: &dyn Store) {
    let a = new_account(store).await;
    let head = feed_head(store).await;
    let at = now();
    let (s1, s2) = (SessionId::new(), SessionId::new());
    let evs = [
        event(Some(a.id), "session.revoke", at),
        event(Some(a.id), "token.refresh_reused", at),
    ];
    store
        .append_changes(
            &[
                Change::SessionRevoked(s1, a.id),
                Change::SessionRevoked(s2, a.id),
            ],
            at,
            &evs,
        )
        .await
        .expect("append_changes");
    let feed = feed_after(store, head).await;
    assert_eq!(
        feed.iter().map(|e| e.change.clone()).collect::<Vec<_>>(),
        vec![
            Change::SessionRevoked(s1, a.id),
            Change::SessionRevoked(s2, a.id)
        ]
    );
    assert!(feed.iter().all(|e| e.at == at), "feed `at`");
    assert!(feed[0].seq < feed[1].seq);
    let audit = audit_of(store, a.id).await;
    for ev in &evs {
        assert!(audit.contains(ev), "audit {ev:?}");
    }

    let head = feed_head(store).await;
    store.append_changes(&[], at, &[]).await.expect("empty");
    assert!(feed_after(store, head).await.is_empty());
    let only_audit = event(Some(a.id), "audit.only", at);
    store
        .append_changes(&[], at, std::slice::from_ref(&only_audit))
        .await
        .expect("audit only");
    assert!(feed_after(store, head).await.is_empty());
    assert!(audit_of(store, a.id).await.contains(&only_audit));
}

/// Audit append and query: by account, time range (`from` inclusive, `to`
/// exclusive), newest first, limit.
pub async fn check_audit(store: &dyn Store) {
    let id = AccountId::new();
    let base = now();
    let mut evs = Vec::new();
    for i in 0..5 {
        let mut e = event(Some(id), &format!("ev.{i}"), base + Duration::seconds(i));
        if i == 2 {
            e.ip = None;
            e.user_agent = None;
            e.detail = serde_json::Value::Null;
        }
        store.append_audit(&e).await.unwrap();
        evs.push(e);
    }
    let anon = event(None, "login.failure", base + Duration::seconds(9));
    store.append_audit(&anon).await.unwrap();

    let newest_first: Vec<AuditEvent> = evs.iter().rev().cloned().collect();
    assert_eq!(
        audit_of(store, id).await,
        newest_first,
        "by account, newest first"
    );

    let q = |from: Option<i64>, to: Option<i64>, limit: u32| AuditQuery {
        account_id: Some(id),
        from: from.map(|s| base + Duration::seconds(s)),
        to: to.map(|s| base + Duration::seconds(s)),
        limit,
    };
    assert_eq!(
        store.audit(&q(None, None, 2)).await.unwrap(),
        newest_first[..2].to_vec(),
        "limit"
    );
    assert_eq!(
        store.audit(&q(Some(1), Some(3), 10)).await.unwrap(),
        vec![evs[2].clone(), evs[1].clone()]
    );
    assert_eq!(
        store.audit(&q(Some(3), None, 10)).await.unwrap(),
        vec![evs[4].clone(), evs[3].clone()]
    );
    assert_eq!(
        store.audit(&q(None, Some(1), 10)).await.unwrap(),
        vec![evs[0].clone()]
    );
    assert!(
        store.audit(&q(None, None, 0)).await.unwrap().is_empty(),
        "limit 0"
    );

    // Without account filter: the anonymous event is found by time.
    let all = store
        .audit(&AuditQuery {
            account_id: None,
            from: Some(base + Duration::seconds(9)),
            to: Some(base + Duration::seconds(10)),
            limit: 1000,
        })
        .await
        .unwrap();
    assert!(all.contains(&anon), "anonymous event");
    assert!(all.iter().all(|e| e.at >= base + Duration::seconds(9)));
}

/// `prune_audit` deletes events older than `before`.
pub async fn check_prune_audit(store: &dyn Store) {
    let id = AccountId::new();
    // Far in the past, so that other checks' events are not touched.
    let old = OffsetDateTime::from_unix_timestamp(946_684_800).unwrap(); // 2000-01-01
    for i in 0..3 {
        store
            .append_audit(&event(Some(id), "old", old + Duration::seconds(i)))
            .await
            .unwrap();
    }
    let keep = event(Some(id), "kept", old + Duration::days(1));
    store.append_audit(&keep).await.unwrap();
    let n = store.prune_audit(old + Duration::days(1)).await.unwrap();
    assert!(n >= 3, "pruned {n}");
    assert_eq!(audit_of(store, id).await, vec![keep]);
}

/// Signing keys: round trip, oldest first, `retire_others`.
pub async fn check_signing_keys(store: &dyn Store) {
    let t0 = now();
    let key = |at: OffsetDateTime| StoredKey {
        kid: tag(),
        alg: "EdDSA".to_owned(),
        private_der: hash().to_vec(),
        created_at: at,
        retired_at: None,
    };
    let k1 = key(t0);
    let k2 = key(t0 + Duration::seconds(1));
    let k3 = key(t0 + Duration::seconds(2));
    store.add_signing_key(&k1, None).await.unwrap();
    store.add_signing_key(&k2, None).await.unwrap();
    let keys = store.signing_keys().await.unwrap();
    let pos = |k: &StoredKey, keys: &[StoredKey]| keys.iter().position(|x| x.kid == k.kid);
    assert_eq!(keys[pos(&k1, &keys).unwrap()], k1, "key round trip");
    assert!(pos(&k1, &keys) < pos(&k2, &keys), "oldest first");

    let at = t0 + Duration::seconds(3);
    store.add_signing_key(&k3, Some(at)).await.unwrap();
    let keys = store.signing_keys().await.unwrap();
    let (p1, p2, p3) = (
        pos(&k1, &keys).unwrap(),
        pos(&k2, &keys).unwrap(),
        pos(&k3, &keys).unwrap(),
    );
    assert!(p1 < p2 && p2 < p3, "oldest first");
    assert_eq!(keys[p1].retired_at, Some(at));
    assert_eq!(keys[p2].retired_at, Some(at));
    assert_eq!(keys[p3], k3, "new key stays unretired");
    assert!(
        keys.iter().filter(|k| k.retired_at.is_none()).count() == 1,
        "one active key"
    );

    // Already retired keys keep their retirement time.
    let k4 = key(t0 + Duration::seconds(4));
    store
        .add_signing_key(&k4, Some(at + Duration::seconds(1)))
        .await
        .unwrap();
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys[pos(&k1, &keys).unwrap()].retired_at, Some(at));
    assert_eq!(
        keys[pos(&k3, &keys).unwrap()].retired_at,
        Some(at + Duration::seconds(1))
    );
}

/// `setting_or_insert` keeps the first value.
pub async fn check_settings(store: &dyn Store) {
    let name = format!("conformance.{}", tag());
    assert_eq!(store.setting(&name).await.unwrap(), None);
    assert_eq!(
        store.setting_or_insert(&name, "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.setting_or_insert(&name, "second").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.setting(&name).await.unwrap().as_deref(),
        Some("first")
    );
}

/// Concurrent `setting_or_insert` calls agree on one value.
pub async fn check_settings_concurrent(store: &Arc<dyn Store>) {
    let name = format!("conformance.{}", tag());
    let mut set = tokio::task::JoinSet::new();
    for i in 0..10 {
        let store = Arc::clone(store);
        let name = name.clone();
        set.spawn(async move { store.setting_or_insert(&name, &format!("v{i}")).await });
    }
    let mut values = HashSet::new();
    while let Some(r) = set.join_next().await {
        values.insert(r.expect("task").expect("setting_or_insert"));
    }
    assert_eq!(values.len(), 1, "concurrent setting_or_insert: {values:?}");
    let stored = store.setting(&name).await.unwrap().unwrap();
    assert!(values.contains(&stored));
}

/// `prune` deletes ended sessions with their tokens and old feed entries.
pub async fn check_prune(store: &dyn Store) {
    let a = new_account(store).await;
    let t0 = now();
    let expired = session(a.id, t0 - Duration::days(3), t0 - Duration::hours(2));
    let he = hash();
    store
        .create_session(&expired, &he, &event(Some(a.id), "login.success", t0))
        .await
        .unwrap();
    let (revoked, hr) = new_session(store, a.id, t0 - Duration::hours(3)).await;
    let head = feed_head(store).await;
    let revoked_at = t0 - Duration::hours(2);
    assert!(
        store
            .revoke_session(
                revoked.id,
                revoked_at,
                &event(Some(a.id), "logout", revoked_at)
            )
            .await
            .unwrap()
    );
    // Revoked recently: kept.
    let (recent, _) = new_session(store, a.id, t0).await;
    assert!(
        store
            .revoke_session(recent.id, t0, &event(Some(a.id), "logout", t0))
            .await
            .unwrap()
    );
    let (live, hl) = new_session(store, a.id, t0).await;
    let old_feed = feed_for(store, head, a.id).await;
    assert_eq!(old_feed.len(), 2);

    let cut = t0 - Duration::hours(1);
    let n = store.prune(cut, cut).await.unwrap();
    // Two sessions, their two tokens and one feed entry at least.
    assert!(n >= 5, "pruned {n}");
    assert_eq!(store.session(expired.id).await.unwrap(), None);
    assert_eq!(store.session(revoked.id).await.unwrap(), None);
    assert!(
        store.session(recent.id).await.unwrap().is_some(),
        "recently revoked kept"
    );
    assert!(store.session(live.id).await.unwrap().is_some(), "live kept");
    assert_eq!(
        store
            .rotate_refresh(&he, &hash(), t0, None, None)
            .await
            .unwrap(),
        Rotation::Invalid
    );
    assert_eq!(
        store
            .rotate_refresh(&hr, &hash(), t0, None, None)
            .await
            .unwrap(),
        Rotation::Invalid
    );
    assert!(matches!(
        store
            .rotate_refresh(&hl, &hash(), t0, None, None)
            .await
            .unwrap(),
        Rotation::Rotated(..)
    ));

    // The old feed entry is gone, the recent one stays.
    let feed: Vec<FeedEntry> = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 1, "{feed:?}");
    assert_eq!(feed[0].change, Change::SessionRevoked(recent.id, a.id));
    assert_eq!(feed[0].seq, old_feed[1].seq, "seq survives pruning");
}
