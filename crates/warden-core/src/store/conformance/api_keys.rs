//! Conformance checks of [`crate::store::ApiKeyStore`].

use super::{audit_names, event, feed_after, feed_head, hash, new_account, now};
use crate::error::Error;
use crate::model::{AccountId, ApiKeyId};
use crate::store::{ApiKey, ApiKeyQuery, ApiKeyUsage, Change, Revoke, Store};
use time::{Duration, OffsetDateTime};

fn key(account: AccountId, created_at: OffsetDateTime) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        account_id: account,
        name: format!("key {}", uuid::Uuid::now_v7().simple()),
        secret_hash: hash(),
        scopes: vec!["read:all".to_owned(), "admin".to_owned()],
        created_at,
        expires_at: Some(created_at + Duration::days(15)),
        revoked_at: None,
    }
}

async fn insert_key(store: &dyn Store, k: &ApiKey) {
    store
        .insert_api_key(
            k,
            &event(Some(k.account_id), "api_key.created", k.created_at),
        )
        .await
        .expect("insert_api_key");
}

fn usage(key: ApiKeyId, at: OffsetDateTime, path: &str) -> ApiKeyUsage {
    ApiKeyUsage {
        key_id: key,
        at,
        ip: Some("203.0.113.9".to_owned()),
        method: "GET".to_owned(),
        path: path.to_owned(),
    }
}

/// Insert and read back every field; unknown ids are `None`; a key of an
/// unknown account is `NotFound`; the audit event is written with it.
pub async fn check_api_key_roundtrip(store: &dyn Store) {
    let a = new_account(store).await;
    let k = key(a.id, now());
    insert_key(store, &k).await;
    assert_eq!(store.api_key(k.id).await.unwrap(), Some(k.clone()));
    assert!(
        audit_names(store, a.id)
            .await
            .contains(&"api_key.created".to_owned())
    );

    let mut never = key(a.id, now());
    never.expires_at = None;
    never.scopes = Vec::new();
    insert_key(store, &never).await;
    assert_eq!(store.api_key(never.id).await.unwrap(), Some(never));

    assert_eq!(store.api_key(ApiKeyId::new()).await.unwrap(), None);
    let orphan = key(AccountId::new(), now());
    let err = store
        .insert_api_key(&orphan, &event(None, "api_key.created", now()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    assert_eq!(store.api_key(orphan.id).await.unwrap(), None);
}

/// Listing: newest first, per account or all, revoked only when asked, limit.
pub async fn check_list_api_keys(store: &dyn Store) {
    let a = new_account(store).await;
    let b = new_account(store).await;
    let t0 = now();
    let keys: Vec<ApiKey> = (0..3)
        .map(|i| key(a.id, t0 + Duration::seconds(i)))
        .collect();
    for k in &keys {
        insert_key(store, k).await;
    }
    let other = key(b.id, t0);
    insert_key(store, &other).await;
    assert!(
        store
            .revoke_api_key(keys[1].id, t0, &event(Some(a.id), "api_key.revoked", t0))
            .await
            .unwrap()
    );

    let ids = |v: Vec<ApiKey>| v.into_iter().map(|k| k.id).collect::<Vec<_>>();
    let live = store
        .list_api_keys(&ApiKeyQuery {
            account_id: Some(a.id),
            include_revoked: false,
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(
        ids(live),
        vec![keys[2].id, keys[0].id],
        "newest first, no revoked"
    );
    let all = store
        .list_api_keys(&ApiKeyQuery {
            account_id: Some(a.id),
            include_revoked: true,
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(ids(all.clone()), vec![keys[2].id, keys[1].id, keys[0].id]);
    assert!(all[1].revoked_at.is_some());
    let one = store
        .list_api_keys(&ApiKeyQuery {
            account_id: Some(a.id),
            include_revoked: true,
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(ids(one), vec![keys[2].id], "limit");
    let everyone = ids(store
        .list_api_keys(&ApiKeyQuery {
            account_id: None,
            include_revoked: true,
            limit: 100_000,
        })
        .await
        .unwrap());
    assert!(everyone.contains(&other.id) && everyone.contains(&keys[1].id));
    let of_b = ids(store
        .list_api_keys(&ApiKeyQuery {
            account_id: Some(b.id),
            include_revoked: false,
            limit: 100,
        })
        .await
        .unwrap());
    assert_eq!(of_b, vec![other.id]);
}

/// Revoke sets `revoked_at`, appends `ApiKeyRevoked` to the feed and audits,
/// once; a second revoke, an unknown key and renewing a revoked key are false.
pub async fn check_revoke_api_key(store: &dyn Store) {
    let a = new_account(store).await;
    let k = key(a.id, now());
    insert_key(store, &k).await;
    let head = feed_head(store).await;
    let at = now();
    assert!(
        store
            .revoke_api_key(k.id, at, &event(Some(a.id), "api_key.revoked", at))
            .await
            .unwrap()
    );
    let stored = store.api_key(k.id).await.unwrap().unwrap();
    assert_eq!(stored.revoked_at, Some(at));
    assert!(!stored.is_live(at));
    let feed = feed_after(store, head).await;
    let mine: Vec<_> = feed
        .iter()
        .filter(|e| matches!(e.change, Change::ApiKeyRevoked(id, _) if id == k.id))
        .collect();
    assert_eq!(mine.len(), 1, "{feed:?}");
    assert_eq!(mine[0].change, Change::ApiKeyRevoked(k.id, a.id));
    assert_eq!(mine[0].at, at);
    assert!(
        audit_names(store, a.id)
            .await
            .contains(&"api_key.revoked".to_owned())
    );

    let later = at + Duration::seconds(1);
    assert!(
        !store
            .revoke_api_key(k.id, later, &event(Some(a.id), "api_key.revoked", later))
            .await
            .unwrap(),
        "already revoked"
    );
    assert_eq!(
        store.api_key(k.id).await.unwrap().unwrap().revoked_at,
        Some(at),
        "first revocation time kept"
    );
    assert!(
        !store
            .revoke_api_key(ApiKeyId::new(), at, &event(None, "api_key.revoked", at))
            .await
            .unwrap()
    );
    assert!(
        !store
            .renew_api_key(
                k.id,
                Some(later),
                &event(Some(a.id), "api_key.renewed", later)
            )
            .await
            .unwrap(),
        "a revoked key is not renewed"
    );
    let after: Vec<_> = feed_after(store, head)
        .await
        .into_iter()
        .filter(|e| matches!(e.change, Change::ApiKeyRevoked(id, _) if id == k.id))
        .collect();
    assert_eq!(after.len(), 1, "no second feed entry");
}

/// Renew replaces `expires_at` (also with `None`) and audits.
pub async fn check_renew_api_key(store: &dyn Store) {
    let a = new_account(store).await;
    let t0 = now();
    let mut k = key(a.id, t0 - Duration::days(20));
    insert_key(store, &k).await;
    assert!(!k.is_live(t0), "expired");
    let until = t0 + Duration::days(30);
    assert!(
        store
            .renew_api_key(k.id, Some(until), &event(Some(a.id), "api_key.renewed", t0))
            .await
            .unwrap()
    );
    k.expires_at = Some(until);
    assert_eq!(store.api_key(k.id).await.unwrap(), Some(k.clone()));
    assert!(
        store
            .renew_api_key(k.id, None, &event(Some(a.id), "api_key.renewed", t0))
            .await
            .unwrap()
    );
    assert_eq!(store.api_key(k.id).await.unwrap().unwrap().expires_at, None);
    assert!(
        audit_names(store, a.id)
            .await
            .contains(&"api_key.renewed".to_owned())
    );
    assert!(
        !store
            .renew_api_key(ApiKeyId::new(), None, &event(None, "api_key.renewed", t0))
            .await
            .unwrap()
    );
}

/// Usage: appended in batches, newest first (ties: later insertion first),
/// limit, records of unknown keys skipped, each key of `prune` pruned to the
/// `keep` newest and the others left whole.
pub async fn check_api_key_usage(store: &dyn Store) {
    let a = new_account(store).await;
    let k1 = key(a.id, now());
    let k2 = key(a.id, now());
    insert_key(store, &k1).await;
    insert_key(store, &k2).await;
    let t0 = now();
    let batch = vec![
        usage(k1.id, t0, "/a"),
        usage(k2.id, t0, "/x"),
        usage(k1.id, t0 + Duration::seconds(2), "/c"),
        usage(ApiKeyId::new(), t0, "/gone"),
        usage(k1.id, t0 + Duration::seconds(1), "/b"),
    ];
    let both = [k1.id, k2.id];
    assert_eq!(
        store
            .append_api_key_usage(&batch, &both, 100)
            .await
            .unwrap(),
        4
    );
    let paths = |v: Vec<ApiKeyUsage>| v.into_iter().map(|u| u.path).collect::<Vec<_>>();
    let got = store.api_key_usage(k1.id, 100).await.unwrap();
    assert_eq!(got[0], batch[2], "every field round-trips");
    assert_eq!(paths(got), vec!["/c", "/b", "/a"], "newest first");
    assert_eq!(
        paths(store.api_key_usage(k1.id, 2).await.unwrap()),
        vec!["/c", "/b"],
        "limit"
    );
    assert_eq!(
        paths(store.api_key_usage(k2.id, 100).await.unwrap()),
        vec!["/x"]
    );
    assert!(
        store
            .api_key_usage(ApiKeyId::new(), 100)
            .await
            .unwrap()
            .is_empty()
    );

    // Same time: the later record counts as newer.
    let t1 = t0 + Duration::seconds(3);
    let mut same = usage(k1.id, t1, "/d1");
    same.ip = None;
    let batch2 = vec![same.clone(), usage(k1.id, t1, "/d2")];
    assert_eq!(
        store.append_api_key_usage(&batch2, &both, 3).await.unwrap(),
        2
    );
    let got = store.api_key_usage(k1.id, 100).await.unwrap();
    assert_eq!(
        paths(got.clone()),
        vec!["/d2", "/d1", "/c"],
        "pruned to the 3 newest"
    );
    assert_eq!(got[1], same, "a missing IP round-trips");
    assert_eq!(
        paths(store.api_key_usage(k2.id, 100).await.unwrap()),
        vec!["/x"],
        "a key of `prune` is pruned to `keep` only"
    );

    // Many records of one key in one batch, not pruned, then pruned by a
    // batch without them; an older record is pruned first.
    let many: Vec<ApiKeyUsage> = (0..20)
        .map(|i| usage(k2.id, t1 + Duration::milliseconds(i), &format!("/m{i}")))
        .collect();
    assert_eq!(
        store
            .append_api_key_usage(&many, &[k1.id], 5)
            .await
            .unwrap(),
        20
    );
    assert_eq!(
        store.api_key_usage(k2.id, 100).await.unwrap().len(),
        21,
        "a key not in `prune` keeps its whole log"
    );
    let late = [usage(k2.id, t0 - Duration::seconds(1), "/late")];
    assert_eq!(store.append_api_key_usage(&late, &[], 5).await.unwrap(), 1);
    assert_eq!(
        paths(store.api_key_usage(k2.id, 3).await.unwrap()),
        vec!["/m19", "/m18", "/m17"]
    );
    assert_eq!(
        store.append_api_key_usage(&[], &[k2.id], 5).await.unwrap(),
        0
    );
    assert_eq!(
        paths(store.api_key_usage(k2.id, 100).await.unwrap()),
        vec!["/m19", "/m18", "/m17", "/m16", "/m15"]
    );
    assert_eq!(
        paths(store.api_key_usage(k1.id, 100).await.unwrap()),
        vec!["/d2", "/d1", "/c"],
        "a log within `keep` is left as it is"
    );
    assert_eq!(store.append_api_key_usage(&[], &[], 5).await.unwrap(), 0);
}

/// Deleting an account deletes its keys and their usage.
pub async fn check_delete_account_deletes_api_keys(store: &dyn Store) {
    let a = new_account(store).await;
    let k = key(a.id, now());
    insert_key(store, &k).await;
    store
        .append_api_key_usage(&[usage(k.id, now(), "/me")], &[k.id], 10)
        .await
        .unwrap();
    store
        .update_account(&a, Revoke::Nothing, now(), &[])
        .await
        .unwrap();
    assert!(
        store
            .delete_account(a.id, now(), &event(Some(a.id), "account.deleted", now()))
            .await
            .unwrap()
    );
    assert_eq!(store.api_key(k.id).await.unwrap(), None);
    assert!(store.api_key_usage(k.id, 10).await.unwrap().is_empty());
    let listed = store
        .list_api_keys(&ApiKeyQuery {
            account_id: Some(a.id),
            include_revoked: true,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(listed.is_empty());
}
