//! Logins as people see them: the confusable skeleton is unique like the key
//! (on insert, on rename, under concurrency), an update that keeps the login
//! keeps working, and `prepare_logins` reports nothing for accounts written
//! under the current rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::helpers::*;
use crate::error::Error;
use crate::store::{Revoke, Store};
use std::sync::Arc;

/// A look-alike login (Cyrillic `а`, capital `I` for `l`) is `LoginTaken` on
/// insert and on rename; lookup by skeleton finds the holder; renaming an
/// account to a look-alike of its own login is allowed.
pub async fn check_login_skeletons(store: &dyn Store) {
    let t = tag();
    let mut a = account(&format!("alice-{t}"), None);
    store
        .insert_account(&a, &event(Some(a.id), "account.create", now()))
        .await
        .expect("insert alice");
    let by = store
        .account_by_login_skeleton(&a.login_skeleton())
        .await
        .expect("account_by_login_skeleton");
    assert_eq!(by.map(|b| b.id), Some(a.id), "lookup by skeleton");
    for look_alike in [format!("\u{430}lice-{t}"), format!("aIice-{t}")] {
        let b = account(&look_alike, None);
        let r = store
            .insert_account(&b, &event(Some(b.id), "account.create", now()))
            .await;
        assert!(matches!(r, Err(Error::LoginTaken)), "{look_alike}: {r:?}");
        assert_eq!(store.account_by_id(b.id).await.unwrap(), None);
    }

    let mut b = account(&format!("bob-{t}"), None);
    store
        .insert_account(&b, &event(Some(b.id), "account.create", now()))
        .await
        .expect("insert bob");
    b.login = format!("\u{430}lice-{t}");
    let r = store.update_account(&b, Revoke::Nothing, now(), &[]).await;
    assert!(matches!(r, Err(Error::LoginTaken)), "rename: {r:?}");
    let stored = store.account_by_id(b.id).await.unwrap().unwrap();
    assert_eq!(
        stored.login,
        format!("bob-{t}"),
        "refused rename left no trace"
    );

    a.login = format!("AIice-{t}");
    store
        .update_account(&a, Revoke::Nothing, now(), &[])
        .await
        .expect("rename to a look-alike of its own login");
    a.blocked = true;
    store
        .update_account(&a, Revoke::Nothing, now(), &[])
        .await
        .expect("update keeping the login");
    let by = store
        .account_by_login_skeleton(&crate::login_rules::login_skeleton(&format!("alice-{t}")))
        .await
        .unwrap();
    assert_eq!(by.map(|x| x.id), Some(a.id), "skeleton follows the rename");

    let collisions = store.prepare_logins().await.expect("prepare_logins");
    assert!(
        collisions
            .iter()
            .all(|c| c.account_id != a.id && c.account_id != b.id),
        "accounts of the current rules never collide: {collisions:?}"
    );
}

/// Two concurrent inserts of look-alike logins: exactly one wins, the other
/// is `LoginTaken`.
pub async fn check_login_skeleton_concurrent(store: &Arc<dyn Store>) {
    let t = tag();
    let logins = [format!("carol-{t}"), format!("c\u{430}rol-{t}")];
    let tasks: Vec<_> = logins
        .iter()
        .map(|l| {
            let store = store.clone();
            let a = account(l, None);
            tokio::spawn(async move {
                store
                    .insert_account(&a, &event(Some(a.id), "account.create", now()))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(Error::LoginTaken) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one look-alike insert wins");
}
