//! `create_session_capped`: the least recently used live sessions over the
//! limit are revoked with the new session, also under concurrent logins.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::helpers::*;
use crate::error::Error;
use crate::model::{AccountId, SessionId};
use crate::store::{Store, evicted_event};
use std::sync::Arc;
use time::Duration;

/// Over the limit, the least recently used live sessions (by `last_seen_at`)
/// are revoked with a feed entry and an audit event each; expired, revoked
/// and other accounts' sessions are not counted; an unknown account is
/// `NotFound` and evicts nothing.
pub async fn check_create_session_capped(store: &dyn Store) {
    let a = new_account(store).await;
    let other = new_account(store).await;
    let t0 = now();
    let (oldest, _) = new_session(store, a.id, t0 - Duration::hours(3)).await;
    let (middle, _) = new_session(store, a.id, t0 - Duration::hours(2)).await;
    let (recent, _) = new_session(store, a.id, t0 - Duration::hours(1)).await;
    // The oldest one was used last: `middle` is now the least recently used.
    store
        .touch_session(oldest.id, t0 - Duration::minutes(10))
        .await
        .unwrap();
    let expired = session(a.id, t0 - Duration::days(2), t0 - Duration::seconds(1));
    store
        .create_session(&expired, &hash(), &event(Some(a.id), "login.success", t0))
        .await
        .unwrap();
    let (theirs, _) = new_session(store, other.id, t0 - Duration::hours(5)).await;

    let head = feed_head(store).await;
    let template = event(Some(a.id), "session.evicted", t0);
    let mut new = session(a.id, t0, t0 + Duration::days(1));
    new.scopes = Some(vec!["read".to_owned()]);
    let login = event(Some(a.id), "login.success", t0);
    let ids = store
        .create_session_capped(&new, &hash(), &login, 2, &template)
        .await
        .unwrap();
    assert_eq!(ids, vec![middle.id, recent.id], "least recently used first");
    for id in [middle.id, recent.id] {
        let s = store.session(id).await.unwrap().unwrap();
        assert_eq!(s.revoked_at, Some(t0), "evicted at the new session's time");
    }
    assert_eq!(store.session(new.id).await.unwrap(), Some(new.clone()));
    let live: Vec<SessionId> = (store.live_sessions(a.id, t0).await.unwrap())
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, vec![new.id, oldest.id]);
    let s = store.session(theirs.id).await.unwrap().unwrap();
    assert_eq!(
        s.revoked_at, None,
        "another account's session is left alone"
    );
    let feed = feed_for(store, head, a.id).await;
    assert_eq!(
        revoked_ids(&feed, a.id),
        [middle.id, recent.id].into_iter().collect(),
        "one feed entry per evicted session"
    );
    let audit = audit_of(store, a.id).await;
    for id in [middle.id, recent.id] {
        let want = evicted_event(&template, id);
        assert!(audit.contains(&want), "audit of {id:?}: {audit:?}");
    }

    // Under the limit nothing is evicted.
    let b_new = session(other.id, t0, t0 + Duration::days(1));
    let ids = store
        .create_session_capped(&b_new, &hash(), &login, 2, &template)
        .await
        .unwrap();
    assert!(ids.is_empty(), "{ids:?}");
    assert_eq!(store.live_sessions(other.id, t0).await.unwrap().len(), 2);

    // A limit of 1 keeps only the new session.
    let one = session(other.id, t0, t0 + Duration::days(1));
    let ids = store
        .create_session_capped(&one, &hash(), &login, 1, &template)
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    let live = store.live_sessions(other.id, t0).await.unwrap();
    assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), vec![one.id]);

    // Unknown account: nothing written.
    let orphan = session(AccountId::new(), t0, t0 + Duration::days(1));
    let r = store
        .create_session_capped(&orphan, &hash(), &login, 1, &template)
        .await;
    assert!(matches!(r, Err(Error::NotFound)), "{r:?}");
    assert_eq!(store.session(orphan.id).await.unwrap(), None);
}

/// Concurrent capped creations for one account never leave more live
/// sessions than the limit, and every session is either live or evicted.
pub async fn check_create_session_capped_concurrent(store: &Arc<dyn Store>) {
    let a = new_account(store.as_ref()).await;
    let t0 = now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..12 {
        let store = Arc::clone(store);
        set.spawn(async move {
            let at = t0 + Duration::milliseconds(i);
            let s = session(a.id, at, at + Duration::days(1));
            let ev = event(Some(a.id), "login.success", at);
            let evicted = event(Some(a.id), "session.evicted", at);
            store
                .create_session_capped(&s, &hash(), &ev, 3, &evicted)
                .await
                .map(|ids| (s.id, ids))
        });
    }
    let (mut created, mut evicted) = (Vec::new(), Vec::new());
    while let Some(r) = set.join_next().await {
        let (id, ids) = r.expect("task").expect("create_session_capped");
        created.push(id);
        evicted.extend(ids);
    }
    let later = t0 + Duration::seconds(1);
    let live = store.live_sessions(a.id, later).await.unwrap();
    assert_eq!(live.len(), 3, "exactly the limit stays live: {live:?}");
    evicted.sort();
    let before = evicted.len();
    evicted.dedup();
    assert_eq!(before, evicted.len(), "no session is evicted twice");
    assert_eq!(evicted.len(), 12 - 3, "every other session was evicted");
    for id in created {
        let live_now = live.iter().any(|s| s.id == id);
        assert_ne!(live_now, evicted.contains(&id), "{id:?} live xor evicted");
    }
}
