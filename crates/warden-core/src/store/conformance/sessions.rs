//! Sessions and refresh tokens: create, rotate (also concurrently), revoke,
//! reissue and touch.

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

/// Create, read back, and list live sessions newest first.
pub async fn check_sessions(store: &dyn Store) {
    let a = new_account(store).await;
    let other = new_account(store).await;
    let t0 = now();

    // Unknown account.
    let orphan = session(AccountId::new(), t0, t0 + Duration::days(1));
    let r = store
        .create_session(&orphan, &hash(), &event(None, "login.success", t0))
        .await;
    assert!(
        matches!(r, Err(Error::NotFound)),
        "session of an unknown account: {r:?}"
    );
    assert_eq!(store.session(orphan.id).await.unwrap(), None);

    let (old, _) = new_session(store, a.id, t0 - Duration::hours(3)).await;
    let (mid, _) = new_session(store, a.id, t0 - Duration::hours(2)).await;
    let (new, _) = new_session(store, a.id, t0 - Duration::hours(1)).await;
    let mut short = session(a.id, t0 - Duration::minutes(5), t0 + Duration::minutes(1));
    short.ip = None;
    short.user_agent = None;
    short.long = false;
    short.amr = Vec::new();
    short.scopes = Some(vec!["read".to_owned(), "write".to_owned()]);
    store
        .create_session(&short, &hash(), &event(Some(a.id), "login.success", t0))
        .await
        .unwrap();
    let mut expired = session(a.id, t0 - Duration::days(2), t0 - Duration::seconds(1));
    expired.scopes = Some(Vec::new());
    store
        .create_session(&expired, &hash(), &event(Some(a.id), "login.success", t0))
        .await
        .unwrap();
    let (revoked, _) = new_session(store, a.id, t0 - Duration::minutes(30)).await;
    assert!(
        store
            .revoke_session(revoked.id, t0, &event(Some(a.id), "logout", t0))
            .await
            .unwrap()
    );
    new_session(store, other.id, t0).await;

    assert_eq!(
        store.session(mid.id).await.unwrap(),
        Some(mid.clone()),
        "session round trip"
    );
    assert_eq!(
        store.session(short.id).await.unwrap(),
        Some(short.clone()),
        "session round trip"
    );
    assert_eq!(
        store.session(expired.id).await.unwrap(),
        Some(expired.clone()),
        "expired stays"
    );
    assert_eq!(store.session(SessionId::new()).await.unwrap(), None);
    let r = store.session(revoked.id).await.unwrap().unwrap();
    assert_eq!(r.revoked_at, Some(t0));

    let live = store.live_sessions(a.id, t0).await.unwrap();
    let live_ids: Vec<SessionId> = live.iter().map(|s| s.id).collect();
    assert_eq!(
        live_ids,
        vec![short.id, new.id, mid.id, old.id],
        "live sessions newest first"
    );
    assert_eq!(live[1], new);

    // `expires_at == now` is no longer live.
    let later = store.live_sessions(a.id, short.expires_at).await.unwrap();
    assert_eq!(
        later.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![new.id, mid.id, old.id]
    );

    let names = audit_names(store, a.id).await;
    assert!(
        names.iter().filter(|n| *n == "login.success").count() >= 6,
        "{names:?}"
    );
}

/// Rotation: Rotated, then Reused on the old hash (session revoked, feed,
/// audit), Invalid for unknown tokens and expired sessions.
pub async fn check_rotate_refresh(store: &dyn Store) {
    let a = new_account(store).await;
    let t0 = now();
    let (s, h1) = new_session(store, a.id, t0).await;

    let h2 = hash();
    let t1 = t0 + Duration::seconds(10);
    let r = store
        .rotate_refresh(&h1, &h2, t1, Some("203.0.113.9"), Some("new-agent"))
        .await
        .unwrap();
    let mut want = s.clone();
    want.last_seen_at = t1;
    want.ip = Some("203.0.113.9".to_owned());
    want.user_agent = Some("new-agent".to_owned());
    assert_eq!(rotated(r), want);
    assert_eq!(store.session(s.id).await.unwrap(), Some(want.clone()));

    let h3 = hash();
    let t2 = t1 + Duration::seconds(10);
    let r = store
        .rotate_refresh(&h2, &h3, t2, None, None)
        .await
        .unwrap();
    want.last_seen_at = t2;
    want.ip = None;
    want.user_agent = None;
    assert_eq!(rotated(r), want, "second rotation");

    let head = feed_head(store).await;
    let t3 = t2 + Duration::seconds(10);
    let r = store
        .rotate_refresh(&h1, &hash(), t3, Some("198.51.100.66"), None)
        .await
        .unwrap();
    let mut revoked = want.clone();
    revoked.revoked_at = Some(t3);
    assert_eq!(
        r,
        Rotation::Reused(revoked.clone()),
        "reuse of a rotated token"
    );
    assert_eq!(store.session(s.id).await.unwrap(), Some(revoked));
    let feed = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].change, Change::SessionRevoked(s.id, a.id));
    assert_eq!(feed[0].at, t3);

    // The session is gone for the current token too.
    let r = store
        .rotate_refresh(&h3, &hash(), t3, None, None)
        .await
        .unwrap();
    assert_eq!(r, Rotation::Invalid, "current token of a revoked session");
    let r = store
        .rotate_refresh(&h1, &hash(), t3, None, None)
        .await
        .unwrap();
    assert_eq!(r, Rotation::Invalid, "reuse on a revoked session");

    let events = audit_of(store, a.id).await;
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "token.refresh").count(),
        2,
        "{names:?}"
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| **n == "token.refresh_reused")
            .count(),
        1,
        "{names:?}"
    );
    let reused = events
        .iter()
        .find(|e| e.event == "token.refresh_reused")
        .unwrap();
    assert_eq!(reused.at, t3);
    assert_eq!(reused.ip.as_deref(), Some("198.51.100.66"));

    // Unknown token.
    let r = store
        .rotate_refresh(&hash(), &hash(), t3, None, None)
        .await
        .unwrap();
    assert_eq!(r, Rotation::Invalid, "unknown token");

    // Expired session.
    let exp = session(a.id, t0 - Duration::days(2), t0 - Duration::seconds(1));
    let he = hash();
    store
        .create_session(&exp, &he, &event(Some(a.id), "login.success", t0))
        .await
        .unwrap();
    let r = store
        .rotate_refresh(&he, &hash(), t0, None, None)
        .await
        .unwrap();
    assert_eq!(r, Rotation::Invalid, "expired session");
    assert_eq!(
        store.session(exp.id).await.unwrap(),
        Some(exp),
        "expired session untouched"
    );
}

/// 20 concurrent rotations of one token: exactly one `Rotated`.
pub async fn check_rotate_refresh_concurrent(store: &Arc<dyn Store>) {
    let a = new_account(store.as_ref()).await;
    let t0 = now();
    let (s, h) = new_session(store.as_ref(), a.id, t0).await;

    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let store = Arc::clone(store);
        set.spawn(async move { store.rotate_refresh(&h, &hash(), t0, None, None).await });
    }
    let (mut rotated, mut reused, mut invalid) = (0, 0, 0);
    while let Some(r) = set.join_next().await {
        match r.expect("task").expect("rotate_refresh") {
            Rotation::Rotated(..) => rotated += 1,
            Rotation::Reused(_) => reused += 1,
            Rotation::Invalid => invalid += 1,
        }
    }
    assert_eq!(
        rotated, 1,
        "exactly one rotation wins (reused {reused}, invalid {invalid})"
    );
    assert!(reused >= 1, "the losers see a reuse");
    assert_eq!(rotated + reused + invalid, 20);
    let after = store.session(s.id).await.unwrap().unwrap();
    assert!(after.revoked_at.is_some(), "reuse revoked the session");
}

/// `revoke_session`: true once for a live session, false otherwise.
pub async fn check_revoke_session(store: &dyn Store) {
    let a = new_account(store).await;
    let t0 = now();
    let (s, h) = new_session(store, a.id, t0).await;
    let head = feed_head(store).await;
    let ev = event(Some(a.id), "session.revoke", t0);
    assert!(store.revoke_session(s.id, t0, &ev).await.unwrap());
    assert_eq!(
        store.session(s.id).await.unwrap().unwrap().revoked_at,
        Some(t0)
    );
    let feed = feed_for(store, head, a.id).await;
    assert_eq!(
        feed.iter().map(|e| e.change.clone()).collect::<Vec<_>>(),
        vec![Change::SessionRevoked(s.id, a.id)]
    );
    assert!(audit_of(store, a.id).await.contains(&ev));
    assert_eq!(
        store
            .rotate_refresh(&h, &hash(), t0, None, None)
            .await
            .unwrap(),
        Rotation::Invalid
    );

    let t1 = t0 + Duration::seconds(5);
    assert!(
        !store.revoke_session(s.id, t1, &ev).await.unwrap(),
        "second revoke"
    );
    assert_eq!(
        store.session(s.id).await.unwrap().unwrap().revoked_at,
        Some(t0)
    );
    assert!(
        !store
            .revoke_session(SessionId::new(), t1, &ev)
            .await
            .unwrap(),
        "unknown session"
    );
    let exp = session(a.id, t0 - Duration::days(2), t0 - Duration::seconds(1));
    store
        .create_session(&exp, &hash(), &event(Some(a.id), "login.success", t0))
        .await
        .unwrap();
    assert!(
        !store.revoke_session(exp.id, t0, &ev).await.unwrap(),
        "expired session"
    );
    assert_eq!(
        feed_for(store, head, a.id).await.len(),
        1,
        "no feed for no-op revokes"
    );
}

/// `revoke_sessions` counts and feed entries.
pub async fn check_revoke_sessions(store: &dyn Store) {
    let a = new_account(store).await;
    let other = new_account(store).await;
    let t0 = now();
    let (s1, _) = new_session(store, a.id, t0).await;
    let (s2, _) = new_session(store, a.id, t0).await;
    let (s3, _) = new_session(store, a.id, t0).await;
    let (os, _) = new_session(store, other.id, t0).await;
    let head = feed_head(store).await;

    let ev = |n: &str| event(Some(a.id), n, t0);
    assert_eq!(
        store
            .revoke_sessions(a.id, Revoke::Nothing, t0, &ev("r0"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .revoke_sessions(a.id, Revoke::AllExcept(s2.id), t0, &ev("r1"))
            .await
            .unwrap(),
        2
    );
    let feed = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 2, "{feed:?}");
    assert_eq!(revoked_ids(&feed, a.id), HashSet::from([s1.id, s3.id]));
    let live = store.live_sessions(a.id, t0).await.unwrap();
    assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), vec![s2.id]);

    let head = feed_head(store).await;
    assert_eq!(
        store
            .revoke_sessions(a.id, Revoke::All, t0, &ev("r2"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .revoke_sessions(a.id, Revoke::All, t0, &ev("r3"))
            .await
            .unwrap(),
        0
    );
    let feed: Vec<Change> = feed_for(store, head, a.id)
        .await
        .into_iter()
        .map(|e| e.change)
        .collect();
    assert_eq!(feed, vec![Change::SessionRevoked(s2.id, a.id)]);
    assert!(
        store.session(os.id).await.unwrap().unwrap().is_live(t0),
        "other account untouched"
    );

    let names = audit_names(store, a.id).await;
    for n in ["r1", "r2"] {
        assert!(names.contains(&n.to_owned()), "audit {n}: {names:?}");
    }
}

/// `reissue_refresh`: earlier tokens become reuses, the new one is current;
/// false for sessions that are not live.
pub async fn check_reissue_refresh(store: &dyn Store) {
    let a = new_account(store).await;
    let t0 = now();
    let (s, h1) = new_session(store, a.id, t0).await;
    let h2 = hash();
    assert!(
        store.reissue_refresh(s.id, &h2, t0).await.unwrap(),
        "reissue on a live session"
    );
    assert_eq!(
        store.session(s.id).await.unwrap(),
        Some(s.clone()),
        "session row unchanged"
    );
    let h3 = hash();
    let r = store
        .rotate_refresh(&h2, &h3, t0, None, None)
        .await
        .unwrap();
    assert!(
        matches!(r, Rotation::Rotated(..)),
        "reissued token rotates: {r:?}"
    );
    let head = feed_head(store).await;
    let r = store
        .rotate_refresh(&h1, &hash(), t0, None, None)
        .await
        .unwrap();
    assert!(
        matches!(r, Rotation::Reused(_)),
        "token from before the reissue: {r:?}"
    );
    assert_eq!(
        revoked_ids(&feed_for(store, head, a.id).await, a.id),
        HashSet::from([s.id])
    );
    assert!(
        !store.reissue_refresh(s.id, &hash(), t0).await.unwrap(),
        "revoked session"
    );
    assert!(
        !store
            .reissue_refresh(SessionId::new(), &hash(), t0)
            .await
            .unwrap(),
        "unknown session"
    );
    let exp = session(a.id, t0 - Duration::days(2), t0 - Duration::seconds(1));
    store
        .create_session(&exp, &hash(), &event(Some(a.id), "login.success", t0))
        .await
        .unwrap();
    assert!(
        !store.reissue_refresh(exp.id, &hash(), t0).await.unwrap(),
        "expired session"
    );
}

/// `touch_session` moves `last_seen_at`; unknown ids are fine.
pub async fn check_touch_session(store: &dyn Store) {
    let a = new_account(store).await;
    let t0 = now();
    let (s, _) = new_session(store, a.id, t0).await;
    let t1 = t0 + Duration::minutes(7);
    store.touch_session(s.id, t1).await.unwrap();
    let mut want = s.clone();
    want.last_seen_at = t1;
    assert_eq!(store.session(s.id).await.unwrap(), Some(want));
    store
        .touch_session(SessionId::new(), t1)
        .await
        .expect("touch unknown session");
}
