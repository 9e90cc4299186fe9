//! Password hashes: the compare-and-swap that replaces an imported hash with
//! Argon2id at the first sign-in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::helpers::*;
use crate::model::AccountId;
use crate::store::{Change, Store};
use std::sync::Arc;

const BCRYPT: &str = "$2b$04$g7AJ53Gqmd2IkkhWrfm7K.RFnhq5n2c./foRa8gmKW/qewYM77Dee";
const NEW: &str = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA";

/// `replace_password_hash` swaps only from the hash it was given, and writes
/// the hash, `updated_at`, the audit event and an `AccountChanged` entry
/// together; a stale or unknown swap writes nothing.
pub async fn check_replace_password_hash(store: &dyn Store) {
    let mut a = unique_account();
    a.password_hash = Some(BCRYPT.to_owned());
    insert(store, &a).await;
    let head = feed_head(store).await;
    let at = now();
    let ev = event(Some(a.id), "password.rehashed", at);

    // A stale `old` (the password changed meanwhile) changes nothing.
    let stale = store
        .replace_password_hash(a.id, "$2b$04$stale", NEW, at, &ev)
        .await
        .expect("stale swap");
    assert!(!stale, "a swap from a hash that is not stored");
    assert_eq!(store.account_by_id(a.id).await.unwrap(), Some(a.clone()));
    assert!(
        feed_for(store, head, a.id).await.is_empty(),
        "feed of a stale swap"
    );
    assert_eq!(audit_names(store, a.id).await, vec!["account.create"]);
    let ghost = store
        .replace_password_hash(AccountId::new(), BCRYPT, NEW, at, &ev)
        .await
        .expect("swap of an unknown account");
    assert!(!ghost, "an unknown account");

    assert!(
        store
            .replace_password_hash(a.id, BCRYPT, NEW, at, &ev)
            .await
            .expect("swap"),
        "the swap from the stored hash"
    );
    let stored = store.account_by_id(a.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some(NEW));
    assert_eq!(stored.updated_at, at);
    let mut rest = stored.clone();
    rest.password_hash = a.password_hash.clone();
    rest.updated_at = a.updated_at;
    assert_eq!(rest, a, "nothing else changes");
    let feed = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 1, "{feed:?}");
    assert_eq!(feed[0].change, Change::AccountChanged(a.id));
    assert!(audit_of(store, a.id).await.contains(&ev), "the audit event");

    // Once swapped, the old hash no longer matches.
    assert!(
        !store
            .replace_password_hash(a.id, BCRYPT, "$argon2id$other", at, &ev)
            .await
            .unwrap()
    );
    let again = store.account_by_id(a.id).await.unwrap().unwrap();
    assert_eq!(again.password_hash.as_deref(), Some(NEW));
}

/// Of concurrent swaps from the same hash, exactly one wins.
pub async fn check_replace_password_hash_concurrent(store: &Arc<dyn Store>) {
    let mut a = unique_account();
    a.password_hash = Some(BCRYPT.to_owned());
    insert(store.as_ref(), &a).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let new = format!("{NEW}{i}");
            let ev = event(Some(a.id), "password.rehashed", now());
            let won = store
                .replace_password_hash(a.id, BCRYPT, &new, now(), &ev)
                .await
                .expect("concurrent swap");
            won.then_some(new)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        if let Some(new) = t.await.unwrap() {
            winners.push(new);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one swap wins: {winners:?}");
    let stored = store.account_by_id(a.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some(winners[0].as_str()));
    let n = audit_names(store.as_ref(), a.id)
        .await
        .iter()
        .filter(|e| *e == "password.rehashed")
        .count();
    assert_eq!(n, 1, "one audit event");
}
