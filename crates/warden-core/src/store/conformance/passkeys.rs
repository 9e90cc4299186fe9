//! Conformance checks of [`crate::store::PasskeyStore`] and of the rule that
//! the last sign-in method of an account cannot be removed.

use super::{audit_names, event, new_account, now, tag, unique_account};
use crate::error::Error;
use crate::model::{Account, AccountId};
use crate::store::{Identity, Passkey, Store};
use std::sync::Arc;
use time::Duration;
use uuid::Uuid;

fn passkey(account: AccountId, name: &str) -> Passkey {
    let t = now();
    let mut credential_id = Uuid::now_v7().as_bytes().to_vec();
    credential_id.extend_from_slice(Uuid::now_v7().as_bytes());
    Passkey {
        id: Uuid::now_v7(),
        account_id: account,
        credential_id,
        name: name.to_owned(),
        credential: format!("{{\"cred\":\"{}\",\"counter\":0}}", tag()),
        backup_eligible: true,
        backup_state: false,
        created_at: t - Duration::seconds(30),
        last_used_at: None,
    }
}

/// An account without a password, inserted with one passkey.
async fn passwordless(store: &dyn Store) -> (Account, Passkey) {
    let mut a = unique_account();
    a.password_hash = None;
    let p = passkey(a.id, "first");
    store
        .insert_account_with_passkey(
            &a,
            &p,
            &[
                event(Some(a.id), "account.registered", now()),
                event(Some(a.id), "passkey.registered", now()),
            ],
        )
        .await
        .expect("insert_account_with_passkey");
    (a, p)
}

/// Insert, list, look up by credential id, uniqueness, unknown account,
/// update after use, rename, delete (owner only), deletion with the account.
pub async fn check_passkeys(store: &dyn Store) {
    let a = new_account(store).await;
    let b = new_account(store).await;
    let t = now();
    let first = passkey(a.id, "laptop");
    store
        .insert_passkey(&first, &event(Some(a.id), "passkey.registered", t))
        .await
        .expect("insert_passkey");
    assert!(
        audit_names(store, a.id)
            .await
            .contains(&"passkey.registered".to_owned())
    );
    let got = store
        .passkey_by_credential(&first.credential_id)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(got, first);
    assert!(
        store
            .passkey_by_credential(b"no such credential")
            .await
            .unwrap()
            .is_none()
    );
    let mut second = passkey(a.id, "phone");
    second.created_at = first.created_at + Duration::seconds(1);
    store
        .insert_passkey(&second, &event(Some(a.id), "passkey.registered", t))
        .await
        .unwrap();
    // A credential id is unique across accounts.
    let mut dup = passkey(b.id, "stolen");
    dup.credential_id = first.credential_id.clone();
    assert!(matches!(
        store
            .insert_passkey(&dup, &event(Some(b.id), "passkey.registered", t))
            .await,
        Err(Error::BadRequest(_))
    ));
    let unknown = passkey(AccountId::new(), "nobody");
    assert!(matches!(
        store
            .insert_passkey(&unknown, &event(None, "passkey.registered", t))
            .await,
        Err(Error::NotFound)
    ));
    let list = store.passkeys_of(a.id).await.unwrap();
    assert_eq!(
        list.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![first.id, second.id]
    );
    assert!(store.passkeys_of(b.id).await.unwrap().is_empty());
    // After a sign-in.
    assert!(
        store
            .passkey_used(first.id, "{\"counter\":7}", true, t)
            .await
            .unwrap()
    );
    let got = store
        .passkey_by_credential(&first.credential_id)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(got.credential, "{\"counter\":7}");
    assert!(got.backup_state);
    assert_eq!(got.last_used_at, Some(t));
    assert!(
        !store
            .passkey_used(Uuid::now_v7(), "{}", false, t)
            .await
            .unwrap()
    );
    // Rename: owner only.
    assert!(!store.rename_passkey(b.id, first.id, "mine").await.unwrap());
    assert!(
        store
            .rename_passkey(a.id, first.id, "work laptop")
            .await
            .unwrap()
    );
    assert_eq!(
        store.passkeys_of(a.id).await.unwrap()[0].name,
        "work laptop"
    );
    // Delete: owner only; the account has a password, so any passkey may go.
    assert!(
        !store
            .delete_passkey(b.id, first.id, &event(Some(b.id), "passkey.deleted", t))
            .await
            .unwrap()
    );
    assert!(
        store
            .delete_passkey(a.id, first.id, &event(Some(a.id), "passkey.deleted", t))
            .await
            .unwrap()
    );
    assert!(
        audit_names(store, a.id)
            .await
            .contains(&"passkey.deleted".to_owned())
    );
    assert!(
        store
            .passkey_by_credential(&first.credential_id)
            .await
            .unwrap()
            .is_none()
    );
    // Deleting the account deletes its passkeys.
    store
        .delete_account(a.id, t, &event(Some(a.id), "account.deleted", t))
        .await
        .unwrap();
    assert!(
        store
            .passkey_by_credential(&second.credential_id)
            .await
            .unwrap()
            .is_none()
    );
}

/// Passkey-only accounts: created atomically with their passkey (a login
/// conflict stores neither); the last passkey, or the last identity, of an
/// account without a password cannot be removed.
pub async fn check_last_sign_in_method(store: &dyn Store) {
    let (a, first) = passwordless(store).await;
    let stored = store.account_by_id(a.id).await.unwrap().expect("account");
    assert!(stored.password_hash.is_none());
    assert_eq!(store.passkeys_of(a.id).await.unwrap(), vec![first.clone()]);
    let names = audit_names(store, a.id).await;
    assert!(names.contains(&"account.registered".to_owned()));
    assert!(names.contains(&"passkey.registered".to_owned()));
    // Same login: neither the account nor the passkey is stored.
    let mut clash = unique_account();
    clash.login = a.login.to_uppercase();
    clash.email = None;
    clash.password_hash = None;
    let p = passkey(clash.id, "clash");
    assert!(matches!(
        store
            .insert_account_with_passkey(&clash, &p, &[event(Some(clash.id), "x", now())])
            .await,
        Err(Error::LoginTaken)
    ));
    assert!(store.account_by_id(clash.id).await.unwrap().is_none());
    assert!(
        store
            .passkey_by_credential(&p.credential_id)
            .await
            .unwrap()
            .is_none()
    );
    let t = now();
    let ev = |n: &str| event(Some(a.id), n, t);
    // The only passkey of an account without a password stays.
    assert!(matches!(
        store
            .delete_passkey(a.id, first.id, &ev("passkey.deleted"))
            .await,
        Err(Error::LastSignInMethod)
    ));
    assert_eq!(store.passkeys_of(a.id).await.unwrap().len(), 1);
    // With a second passkey, one may go.
    let second = passkey(a.id, "second");
    store
        .insert_passkey(&second, &ev("passkey.registered"))
        .await
        .unwrap();
    assert!(
        store
            .delete_passkey(a.id, first.id, &ev("passkey.deleted"))
            .await
            .unwrap()
    );
    // An external identity counts as a sign-in method too ...
    let identity = Identity {
        id: Uuid::now_v7(),
        account_id: a.id,
        provider: "google".to_owned(),
        subject: tag(),
        email: None,
        created_at: t,
    };
    store
        .link_identity(&identity, &ev("identity.linked"))
        .await
        .unwrap();
    assert!(
        store
            .delete_passkey(a.id, second.id, &ev("passkey.deleted"))
            .await
            .unwrap()
    );
    // ... and is now the last one.
    assert!(matches!(
        store
            .unlink_identity(a.id, identity.id, &ev("identity.unlinked"))
            .await,
        Err(Error::LastSignInMethod)
    ));
    // A passkey makes the identity removable again.
    let third = passkey(a.id, "third");
    store
        .insert_passkey(&third, &ev("passkey.registered"))
        .await
        .unwrap();
    assert!(
        store
            .unlink_identity(a.id, identity.id, &ev("identity.unlinked"))
            .await
            .unwrap()
    );
    assert!(matches!(
        store
            .delete_passkey(a.id, third.id, &ev("passkey.deleted"))
            .await,
        Err(Error::LastSignInMethod)
    ));
}

/// Two concurrent removals of the last two sign-in methods of an account
/// without a password: exactly one succeeds.
pub async fn check_last_sign_in_method_concurrent(store: &Arc<dyn Store>) {
    for round in 0..3 {
        let (a, first) = passwordless(store.as_ref()).await;
        let second = passkey(a.id, "second");
        store
            .insert_passkey(&second, &event(Some(a.id), "passkey.registered", now()))
            .await
            .unwrap();
        let identity = Identity {
            id: Uuid::now_v7(),
            account_id: a.id,
            provider: "github".to_owned(),
            subject: tag(),
            email: None,
            created_at: now(),
        };
        // Round 0: two passkeys; rounds 1, 2: a passkey and an identity.
        if round > 0 {
            store
                .delete_passkey(
                    a.id,
                    second.id,
                    &event(Some(a.id), "passkey.deleted", now()),
                )
                .await
                .unwrap();
            store
                .link_identity(&identity, &event(Some(a.id), "identity.linked", now()))
                .await
                .unwrap();
        }
        let s1 = Arc::clone(store);
        let s2 = Arc::clone(store);
        let (first_id, second_id, identity_id) = (first.id, second.id, identity.id);
        let t1 = tokio::spawn(async move {
            s1.delete_passkey(a.id, first_id, &event(Some(a.id), "passkey.deleted", now()))
                .await
        });
        let t2 = tokio::spawn(async move {
            if round == 0 {
                s2.delete_passkey(
                    a.id,
                    second_id,
                    &event(Some(a.id), "passkey.deleted", now()),
                )
                .await
            } else {
                s2.unlink_identity(
                    a.id,
                    identity_id,
                    &event(Some(a.id), "identity.unlinked", now()),
                )
                .await
            }
        });
        let r1 = t1.await.unwrap();
        let r2 = t2.await.unwrap();
        let ok = [&r1, &r2].iter().filter(|r| matches!(r, Ok(true))).count();
        let last = [&r1, &r2]
            .iter()
            .filter(|r| matches!(r, Err(Error::LastSignInMethod)))
            .count();
        assert_eq!((ok, last), (1, 1), "round {round}: {r1:?} {r2:?}");
        let left = store.passkeys_of(a.id).await.unwrap().len()
            + store.identities_of(a.id).await.unwrap().len();
        assert_eq!(left, 1, "round {round}");
    }
}
