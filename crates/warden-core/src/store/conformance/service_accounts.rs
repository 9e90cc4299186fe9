//! Conformance checks of account kinds and
//! [`crate::store::ApiKeyStore::insert_api_key_with_owner`].

use super::{audit_names, event, feed_after, feed_head, hash, new_account, now, unique_account};
use crate::error::Error;
use crate::model::{AccountId, AccountKind, ApiKeyId};
use crate::store::{ApiKey, Change, Store};
use time::{Duration, OffsetDateTime};

fn key(account: AccountId, scopes: &[&str], created_at: OffsetDateTime) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        account_id: account,
        name: format!("svc {}", uuid::Uuid::now_v7().simple()),
        secret_hash: hash(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        created_at,
        expires_at: Some(created_at + Duration::days(15)),
        revoked_at: None,
    }
}

/// A service account keeps its kind through insert, update and every lookup;
/// other accounts read back as persons.
pub async fn check_account_kind(store: &dyn Store) {
    let person = new_account(store).await;
    assert_eq!(
        store.account_by_id(person.id).await.unwrap().unwrap().kind,
        AccountKind::Person
    );
    let mut svc = unique_account();
    svc.kind = AccountKind::Service;
    svc.password_hash = None;
    svc.mfa_enabled = false;
    store
        .insert_account(&svc, &event(Some(svc.id), "service_account.created", now()))
        .await
        .unwrap();
    assert_eq!(
        store.account_by_id(svc.id).await.unwrap(),
        Some(svc.clone())
    );
    let by_login = store.account_by_login(&svc.login_key()).await.unwrap();
    assert_eq!(by_login.map(|a| a.kind), Some(AccountKind::Service));
    svc.scopes = vec!["reports:read".to_owned()];
    store
        .update_account(&svc, crate::store::Revoke::Nothing, now(), &[])
        .await
        .unwrap();
    assert_eq!(store.account_by_id(svc.id).await.unwrap(), Some(svc));
}

/// With a new owner, the account, the key and every audit event are written
/// together; a taken login writes nothing at all.
pub async fn check_api_key_with_new_owner(store: &dyn Store) {
    let mut svc = unique_account();
    svc.kind = AccountKind::Service;
    svc.password_hash = None;
    svc.mfa_enabled = false;
    let t = now();
    let k = key(svc.id, &["reports:read"], t);
    let events = [
        event(Some(svc.id), "service_account.created", t),
        event(Some(svc.id), "api_key.created", t),
    ];
    store
        .insert_api_key_with_owner(Some(&svc), &k, &events)
        .await
        .expect("insert_api_key_with_owner");
    assert_eq!(
        store.account_by_id(svc.id).await.unwrap(),
        Some(svc.clone())
    );
    assert_eq!(store.api_key(k.id).await.unwrap(), Some(k));
    let names = audit_names(store, svc.id).await;
    assert!(names.contains(&"service_account.created".to_owned()));
    assert!(names.contains(&"api_key.created".to_owned()));

    // Same login, other id: refused, and neither row nor event is left.
    let mut twin = unique_account();
    twin.kind = AccountKind::Service;
    twin.login = svc.login.to_uppercase();
    twin.email = None;
    let k2 = key(twin.id, &[], t);
    let r = store
        .insert_api_key_with_owner(
            Some(&twin),
            &k2,
            &[event(Some(twin.id), "api_key.created", t)],
        )
        .await;
    assert!(matches!(r, Err(Error::LoginTaken)), "{r:?}");
    assert_eq!(store.account_by_id(twin.id).await.unwrap(), None);
    assert_eq!(store.api_key(k2.id).await.unwrap(), None);
    assert!(audit_names(store, twin.id).await.is_empty());
}

/// Without a new owner, the stored owner gains the key's scopes it lacks
/// (a feed entry when it changed, none when it held them all); an unknown
/// owner is `NotFound` and writes nothing.
pub async fn check_api_key_widens_owner(store: &dyn Store) {
    let a = new_account(store).await;
    let t = now();
    let head = feed_head(store).await;
    let k = key(a.id, &["admin", "reports:write"], t);
    store
        .insert_api_key_with_owner(None, &k, &[event(Some(a.id), "api_key.created", t)])
        .await
        .unwrap();
    let stored = store.account_by_id(a.id).await.unwrap().unwrap();
    assert_eq!(stored.scopes, ["admin", "read:all", "reports:write"]);
    assert_eq!(store.api_key(k.id).await.unwrap(), Some(k));
    let feed = feed_after(store, head).await;
    assert!(
        feed.iter()
            .any(|e| e.change == Change::AccountChanged(a.id)),
        "{feed:?}"
    );

    let head = feed_head(store).await;
    let held = key(a.id, &["read:all"], t);
    store
        .insert_api_key_with_owner(None, &held, &[event(Some(a.id), "api_key.created", t)])
        .await
        .unwrap();
    let again = store.account_by_id(a.id).await.unwrap().unwrap();
    assert_eq!(again.scopes, stored.scopes);
    assert!(
        !feed_after(store, head)
            .await
            .iter()
            .any(|e| e.change == Change::AccountChanged(a.id))
    );

    let ghost = key(AccountId::new(), &["x"], t);
    let r = store.insert_api_key_with_owner(None, &ghost, &[]).await;
    assert!(matches!(r, Err(Error::NotFound)), "{r:?}");
    assert_eq!(store.api_key(ghost.id).await.unwrap(), None);
}
