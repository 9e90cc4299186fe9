//! Conformance checks of [`crate::store::IdentityStore`].

use super::{audit_names, event, hash, new_account, now, tag};
use crate::error::Error;
use crate::model::AccountId;
use crate::store::{Identity, Store};
use std::sync::Arc;
use time::Duration;
use uuid::Uuid;

fn identity(account: AccountId, provider: &str, subject: &str) -> Identity {
    Identity {
        id: Uuid::now_v7(),
        account_id: account,
        provider: provider.to_owned(),
        subject: subject.to_owned(),
        email: Some(format!("{subject}@example.com")),
        created_at: now(),
    }
}

/// Link, look up, list, uniqueness of `(provider, subject)`, unlink, audit,
/// unknown account, deletion with the account.
pub async fn check_identities(store: &dyn Store) {
    let a = new_account(store).await;
    let b = new_account(store).await;
    let sub = tag();
    let t = now();
    let first = identity(a.id, "google", &sub);
    store
        .link_identity(&first, &event(Some(a.id), "identity.linked", t))
        .await
        .expect("link");
    assert!(
        audit_names(store, a.id)
            .await
            .contains(&"identity.linked".to_owned())
    );
    let got = store
        .identity_by_subject("google", &sub)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(got.id, first.id);
    assert_eq!(got.account_id, a.id);
    assert_eq!(got.email, first.email);
    assert_eq!(got.created_at, first.created_at);
    assert!(
        store
            .identity_by_subject("github", &sub)
            .await
            .unwrap()
            .is_none()
    );
    // The same subject of another provider is another identity.
    let second = identity(a.id, "github", &sub);
    store
        .link_identity(&second, &event(Some(a.id), "identity.linked", t))
        .await
        .expect("link second");
    // (provider, subject) is unique across accounts.
    let dup = identity(b.id, "google", &sub);
    assert!(matches!(
        store
            .link_identity(&dup, &event(Some(b.id), "identity.linked", t))
            .await,
        Err(Error::IdentityTaken)
    ));
    let unknown = identity(AccountId::new(), "google", &tag());
    assert!(matches!(
        store
            .link_identity(&unknown, &event(None, "identity.linked", t))
            .await,
        Err(Error::NotFound)
    ));
    let list = store.identities_of(a.id).await.unwrap();
    assert_eq!(
        list.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![first.id, second.id]
    );
    assert!(store.identities_of(b.id).await.unwrap().is_empty());
    // Only the owner can unlink.
    assert!(
        !store
            .unlink_identity(b.id, first.id, &event(Some(b.id), "identity.unlinked", t))
            .await
            .unwrap()
    );
    assert!(
        store
            .unlink_identity(a.id, first.id, &event(Some(a.id), "identity.unlinked", t))
            .await
            .unwrap()
    );
    assert!(
        audit_names(store, a.id)
            .await
            .contains(&"identity.unlinked".to_owned())
    );
    assert!(
        store
            .identity_by_subject("google", &sub)
            .await
            .unwrap()
            .is_none()
    );
    // Deleting the account deletes its identities.
    store
        .delete_account(a.id, t, &event(Some(a.id), "account.deleted", t))
        .await
        .unwrap();
    assert!(
        store
            .identity_by_subject("github", &sub)
            .await
            .unwrap()
            .is_none()
    );
}

/// OAuth state: taken once, expired state gives nothing, prune.
pub async fn check_oauth_states(store: &Arc<dyn Store>) {
    let t = now();
    let h = hash();
    store
        .put_oauth_state(&h, "{\"p\":1}", t + Duration::minutes(10))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let s = Arc::clone(store);
            tokio::spawn(async move { s.take_oauth_state(&h, t).await.unwrap() })
        })
        .collect();
    let mut got = Vec::new();
    for task in tasks {
        got.extend(task.await.unwrap());
    }
    assert_eq!(got, vec!["{\"p\":1}".to_owned()]);
    let old = hash();
    store
        .put_oauth_state(&old, "x", t - Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(store.take_oauth_state(&old, t).await.unwrap(), None);
    let stale = hash();
    store
        .put_oauth_state(&stale, "y", t - Duration::hours(2))
        .await
        .unwrap();
    let fresh = hash();
    store
        .put_oauth_state(&fresh, "z", t + Duration::minutes(10))
        .await
        .unwrap();
    assert!(
        store
            .prune_oauth_states(t - Duration::hours(1))
            .await
            .unwrap()
            >= 1
    );
    assert_eq!(store.take_oauth_state(&stale, t).await.unwrap(), None);
    assert_eq!(
        store.take_oauth_state(&fresh, t).await.unwrap(),
        Some("z".to_owned())
    );
}
