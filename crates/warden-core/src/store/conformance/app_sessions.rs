//! Sessions of app subjects ([`crate::app_tokens`]): no account row behind
//! them, owned by [`AccountId::of_app_subject`], and otherwise the same
//! session store: rotation with reuse detection, revocation with feed
//! entries, and the session cap (also under concurrent issues).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::helpers::*;
use crate::model::{AccountId, AppSubject, Session};
use crate::store::{Revoke, Rotation, Store};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// A live app-subject session of `subject` from `at` for a day.
fn app_session(subject: &str, at: OffsetDateTime) -> Session {
    let mut s = session(
        AccountId::of_app_subject(subject),
        at,
        at + Duration::days(1),
    );
    let mut claims = serde_json::Map::new();
    claims.insert("tenant".into(), serde_json::json!("t-1"));
    claims.insert("roles".into(), serde_json::json!(["editor", 3]));
    s.app = Some(AppSubject {
        subject: subject.to_owned(),
        claims,
    });
    s.scopes = Some(vec!["notes:read".to_owned()]);
    s
}

/// An app subject's session is stored without an account, round-trips with
/// its subject and claims, is listed under its owner id, rotates (the
/// rotated session keeps its subject), is revoked on reuse with a feed entry
/// naming its owner id, and is revoked by `revoke_session` and
/// `revoke_sessions` like an account's.
pub async fn check_app_sessions(store: &dyn Store) {
    let subject = format!("user-{}@app.example", tag());
    let owner = AccountId::of_app_subject(&subject);
    let t0 = now();
    let s = app_session(&subject, t0);
    let h1 = hash();
    let login = event(Some(owner), "app_token.issued", t0);
    store.create_session(&s, &h1, &login).await.unwrap();
    assert_eq!(store.session(s.id).await.unwrap(), Some(s.clone()));
    let live = store.live_sessions(owner, t0).await.unwrap();
    assert_eq!(live, vec![s.clone()]);

    // Rotation keeps the subject and its claims; reuse revokes the session.
    let h2 = hash();
    let r = store
        .rotate_refresh(&h1, &h2, t0, None, None)
        .await
        .unwrap();
    let Rotation::Rotated(rotated, _) = r else {
        panic!("expected Rotated, got {r:?}");
    };
    assert_eq!(rotated.app, s.app, "the rotated session keeps its subject");
    assert_eq!(rotated.scopes, s.scopes);
    let head = feed_head(store).await;
    let r = store
        .rotate_refresh(&h1, &hash(), t0, None, None)
        .await
        .unwrap();
    assert!(
        matches!(r, Rotation::Reused(ref x) if x.id == s.id),
        "{r:?}"
    );
    let back = store.session(s.id).await.unwrap().unwrap();
    assert!(back.revoked_at.is_some(), "reuse revokes the session");
    let feed = feed_for(store, head, owner).await;
    assert_eq!(
        revoked_ids(&feed, owner),
        [s.id].into_iter().collect(),
        "one SessionRevoked entry under the owner id"
    );

    // revoke_session and revoke_sessions work on the owner id.
    let one = app_session(&subject, t0);
    let two = app_session(&subject, t0);
    for x in [&one, &two] {
        store.create_session(x, &hash(), &login).await.unwrap();
    }
    let ev = event(Some(owner), "app_token.logout", t0);
    assert!(store.revoke_session(one.id, t0, &ev).await.unwrap());
    let n = store
        .revoke_sessions(owner, Revoke::All, t0, &ev)
        .await
        .unwrap();
    assert_eq!(n, 1, "only the one still live");
    assert!(store.live_sessions(owner, t0).await.unwrap().is_empty());
}

/// The cap counts an app subject's own live sessions (not an account's, not
/// another subject's), evicting the least recently used ones.
pub async fn check_app_sessions_capped(store: &dyn Store) {
    let subject = format!("cap-{}", tag());
    let owner = AccountId::of_app_subject(&subject);
    let other = format!("other-{}", tag());
    let t0 = now();
    let first = app_session(&subject, t0 - Duration::hours(2));
    let theirs = app_session(&other, t0 - Duration::hours(3));
    let login = event(Some(owner), "app_token.issued", t0);
    for x in [&first, &theirs] {
        store.create_session(x, &hash(), &login).await.unwrap();
    }
    let evicted = event(Some(owner), "session.evicted", t0);
    let second = app_session(&subject, t0);
    let ids = store
        .create_session_capped(&second, &hash(), &login, 1, &evicted)
        .await
        .unwrap();
    assert_eq!(ids, vec![first.id]);
    let live = store.live_sessions(owner, t0).await.unwrap();
    assert_eq!(live, vec![second.clone()]);
    let still = store.session(theirs.id).await.unwrap().unwrap();
    assert_eq!(still.revoked_at, None, "another subject is left alone");
}

/// Concurrent capped issues for one app subject (which has no row to lock)
/// never leave more live sessions than the limit.
pub async fn check_app_sessions_capped_concurrent(store: &Arc<dyn Store>) {
    let subject = format!("race-{}", tag());
    let owner = AccountId::of_app_subject(&subject);
    let t0 = now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..10 {
        let (store, subject) = (Arc::clone(store), subject.clone());
        set.spawn(async move {
            let at = t0 + Duration::milliseconds(i);
            let s = app_session(&subject, at);
            let ev = event(Some(owner), "app_token.issued", at);
            let evicted = event(Some(owner), "session.evicted", at);
            store
                .create_session_capped(&s, &hash(), &ev, 2, &evicted)
                .await
                .map(|ids| ids.len())
        });
    }
    let mut evicted = 0;
    while let Some(r) = set.join_next().await {
        evicted += r.expect("task").expect("create_session_capped");
    }
    let later = t0 + Duration::seconds(1);
    let live = store.live_sessions(owner, later).await.unwrap();
    assert_eq!(live.len(), 2, "exactly the limit stays live: {live:?}");
    assert_eq!(evicted, 10 - 2, "every other session was evicted once");
}
