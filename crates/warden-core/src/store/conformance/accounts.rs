//! Accounts: the round trip, uniqueness of login and email, updates and
//! the sessions they revoke, delete, and listing.

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

/// `ping` answers and `backend` names the backend.
pub async fn check_ping(store: &dyn Store) {
    store.ping().await.expect("ping");
    assert!(!store.backend().is_empty(), "backend name is empty");
}

/// Insert, then read back by id, login key and email key.
pub async fn check_account_roundtrip(store: &dyn Store) {
    let a = unique_account();
    let ev = event(Some(a.id), "account.create", now());
    store.insert_account(&a, &ev).await.expect("insert_account");

    let by_id = store.account_by_id(a.id).await.expect("account_by_id");
    assert_eq!(by_id.as_ref(), Some(&a), "account_by_id round trip");
    let by_login = store
        .account_by_login(&a.login_key())
        .await
        .expect("account_by_login");
    assert_eq!(by_login.as_ref(), Some(&a), "account_by_login round trip");
    let key = normalize_email(a.email.as_deref().unwrap());
    let by_email = store
        .account_by_email(&key)
        .await
        .expect("account_by_email");
    assert_eq!(by_email.as_ref(), Some(&a), "account_by_email round trip");

    assert_eq!(store.account_by_id(AccountId::new()).await.unwrap(), None);
    assert_eq!(
        store
            .account_by_login(&format!("nobody-{}", tag()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .account_by_email(&format!("nobody-{}@x.test", tag()))
            .await
            .unwrap(),
        None
    );

    // An account without email and with the other optional fields set.
    let mut b = account(&format!("plain-{}", tag()), None);
    b.password_hash = None;
    b.blocked = true;
    b.active = false;
    b.block_reason = Some("spam".to_owned());
    b.scopes = Vec::new();
    b.properties = serde_json::json!({});
    insert(store, &b).await;
    assert_eq!(store.account_by_id(b.id).await.unwrap(), Some(b.clone()));

    // The audit event was written with the insert.
    assert_eq!(audit_of(store, a.id).await, vec![ev]);
}

/// Login and email are unique case-insensitively on insert; missing emails never clash.
pub async fn check_unique_on_insert(store: &dyn Store) {
    let a = new_account(store).await;

    let same_login = account(
        &a.login.to_uppercase(),
        Some(&format!("other-{}@x.test", tag())),
    );
    let r = store
        .insert_account(
            &same_login,
            &event(Some(same_login.id), "account.create", now()),
        )
        .await;
    assert!(
        matches!(r, Err(Error::LoginTaken)),
        "duplicate login (other case): {r:?}"
    );

    let email = a.email.as_deref().unwrap().to_uppercase();
    let same_email = account(&format!("other-{}", tag()), Some(&email));
    let r = store
        .insert_account(
            &same_email,
            &event(Some(same_email.id), "account.create", now()),
        )
        .await;
    assert!(
        matches!(r, Err(Error::EmailTaken)),
        "duplicate email (other case): {r:?}"
    );

    // Nothing of the failed inserts was stored, audit included.
    assert_eq!(store.account_by_id(same_login.id).await.unwrap(), None);
    assert_eq!(store.account_by_id(same_email.id).await.unwrap(), None);
    assert!(
        audit_of(store, same_login.id).await.is_empty(),
        "audit of a failed insert"
    );

    // Two accounts without email are fine.
    insert(store, &account(&format!("noemail-{}", tag()), None)).await;
    insert(store, &account(&format!("noemail-{}", tag()), None)).await;

    // Re-inserting the same id is an error.
    let mut dup = unique_account();
    dup.id = a.id;
    let r = store
        .insert_account(&dup, &event(Some(a.id), "account.create", now()))
        .await;
    assert!(r.is_err(), "duplicate id accepted");
}

/// Login and email are unique case-insensitively on update too.
pub async fn check_unique_on_update(store: &dyn Store) {
    let a = new_account(store).await;
    let b = new_account(store).await;
    let head = feed_head(store).await;

    let mut b2 = b.clone();
    b2.login = a.login.to_uppercase();
    let r = store.update_account(&b2, Revoke::Nothing, now(), &[]).await;
    assert!(
        matches!(r, Err(Error::LoginTaken)),
        "update to a taken login: {r:?}"
    );

    let mut b3 = b.clone();
    b3.email = Some(a.email.as_deref().unwrap().to_uppercase());
    let r = store.update_account(&b3, Revoke::Nothing, now(), &[]).await;
    assert!(
        matches!(r, Err(Error::EmailTaken)),
        "update to a taken email: {r:?}"
    );

    // Failed updates change nothing and write no feed entry.
    assert_eq!(store.account_by_id(b.id).await.unwrap(), Some(b.clone()));
    assert!(
        feed_for(store, head, b.id).await.is_empty(),
        "feed entry of a failed update"
    );

    // Changing the case of one's own login and email is fine.
    let mut b4 = b.clone();
    b4.login = b.login.to_uppercase();
    b4.email = b.email.as_deref().map(str::to_lowercase);
    store
        .update_account(&b4, Revoke::Nothing, now(), &[])
        .await
        .expect("case-only update");
    assert_eq!(store.account_by_id(b.id).await.unwrap(), Some(b4.clone()));
    assert_eq!(
        store
            .account_by_login(&normalize_login(&b.login))
            .await
            .unwrap(),
        Some(b4)
    );
}

/// Updating an absent account is `NotFound`.
pub async fn check_update_not_found(store: &dyn Store) {
    let ghost = unique_account();
    let r = store.update_account(&ghost, Revoke::All, now(), &[]).await;
    assert!(
        matches!(r, Err(Error::NotFound)),
        "update of absent account: {r:?}"
    );
    assert_eq!(store.account_by_id(ghost.id).await.unwrap(), None);
}

/// Update replaces every field; the old login and email no longer resolve.
pub async fn check_update_replaces_row(store: &dyn Store) {
    let a = new_account(store).await;
    let t = tag();
    let mut b = a.clone();
    b.login = format!("Renamed-{t}");
    b.email = Some(format!("renamed-{t}@example.org"));
    b.email_verified = false;
    b.active = false;
    b.blocked = true;
    b.block_reason = Some("abuse".to_owned());
    b.mfa_enabled = !a.mfa_enabled; // ignored: only MfaStore changes it
    b.scopes = vec!["user".to_owned()];
    b.properties = serde_json::json!({ "nested": { "deep": [1, 2, 3] }, "s": "ü" });
    b.password_hash = None;
    b.password_changed_at = now();
    b.updated_at = now();
    store
        .update_account(&b, Revoke::Nothing, now(), &[])
        .await
        .expect("update_account");
    b.mfa_enabled = a.mfa_enabled;

    assert_eq!(store.account_by_id(a.id).await.unwrap(), Some(b.clone()));
    assert_eq!(store.account_by_login(&a.login_key()).await.unwrap(), None);
    let old_email = normalize_email(a.email.as_deref().unwrap());
    assert_eq!(store.account_by_email(&old_email).await.unwrap(), None);
    assert_eq!(
        store.account_by_login(&b.login_key()).await.unwrap(),
        Some(b.clone())
    );
    let new_email = normalize_email(b.email.as_deref().unwrap());
    assert_eq!(
        store.account_by_email(&new_email).await.unwrap(),
        Some(b.clone())
    );

    // Removing the email frees it.
    let mut c = b.clone();
    c.email = None;
    store
        .update_account(&c, Revoke::Nothing, now(), &[])
        .await
        .expect("drop email");
    assert_eq!(store.account_by_email(&new_email).await.unwrap(), None);
    let d = account(&format!("taker-{}", tag()), b.email.as_deref());
    insert(store, &d).await;
}

/// `Revoke::AllExcept` / `All` / `Nothing` on update: the right sessions, one
/// `SessionRevoked` per session, then `AccountChanged`, and the audit events.
pub async fn check_update_revokes(store: &dyn Store) {
    let a = new_account(store).await;
    let other = new_account(store).await;
    let t0 = now();
    let (s1, _) = new_session(store, a.id, t0 - Duration::minutes(3)).await;
    let (s2, _) = new_session(store, a.id, t0 - Duration::minutes(2)).await;
    let (s3, _) = new_session(store, a.id, t0 - Duration::minutes(1)).await;
    // Expired: not live, so not revoked.
    let s4 = session(a.id, t0 - Duration::days(2), t0 - Duration::days(1));
    store
        .create_session(&s4, &hash(), &event(Some(a.id), "login.success", t0))
        .await
        .unwrap();
    let (os, _) = new_session(store, other.id, t0).await;

    let head = feed_head(store).await;
    let at = t0 + Duration::seconds(1);
    let evs = [
        event(Some(a.id), "account.update", at),
        event(Some(a.id), "password.change", at),
    ];
    let mut a2 = a.clone();
    a2.updated_at = at;
    store
        .update_account(&a2, Revoke::AllExcept(s2.id), at, &evs)
        .await
        .expect("update");

    let s1r = store.session(s1.id).await.unwrap().unwrap();
    let s3r = store.session(s3.id).await.unwrap().unwrap();
    assert_eq!(s1r.revoked_at, Some(at), "s1 revoked at `now`");
    assert_eq!(s3r.revoked_at, Some(at), "s3 revoked at `now`");
    assert_eq!(
        store.session(s2.id).await.unwrap().unwrap().revoked_at,
        None,
        "kept session"
    );
    assert_eq!(
        store.session(s4.id).await.unwrap().unwrap().revoked_at,
        None,
        "expired session"
    );
    assert_eq!(
        store.session(os.id).await.unwrap().unwrap().revoked_at,
        None,
        "other account"
    );

    // The order of the entries of one write is free (a store that keeps
    // sessions elsewhere appends their revocations after the account change).
    let feed = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 3, "feed after AllExcept: {feed:?}");
    let (changed, revoked) = split_account_changed(&feed, a.id);
    assert_eq!(changed, 1, "one AccountChanged: {feed:?}");
    assert_eq!(revoked_ids(&revoked, a.id), HashSet::from([s1.id, s3.id]));
    assert!(feed.iter().all(|e| e.at == at), "feed entries carry `now`");
    assert!(feed_for(store, head, other.id).await.is_empty());

    let names = audit_names(store, a.id).await;
    assert!(names.contains(&"account.update".to_owned()), "{names:?}");
    assert!(names.contains(&"password.change".to_owned()), "{names:?}");

    // All: the remaining live session.
    let head = feed_head(store).await;
    let at2 = at + Duration::seconds(1);
    store
        .update_account(&a2, Revoke::All, at2, &[])
        .await
        .expect("update All");
    assert_eq!(
        store.session(s2.id).await.unwrap().unwrap().revoked_at,
        Some(at2)
    );
    // Already revoked sessions keep their first revocation time.
    assert_eq!(
        store.session(s1.id).await.unwrap().unwrap().revoked_at,
        Some(at)
    );
    let feed: HashSet<Change> = feed_for(store, head, a.id)
        .await
        .into_iter()
        .map(|e| e.change)
        .collect();
    assert_eq!(
        feed,
        HashSet::from([
            Change::SessionRevoked(s2.id, a.id),
            Change::AccountChanged(a.id)
        ])
    );
    assert!(store.live_sessions(a.id, at2).await.unwrap().is_empty());

    // Nothing: only AccountChanged.
    let head = feed_head(store).await;
    store
        .update_account(&a2, Revoke::Nothing, at2, &[])
        .await
        .expect("update Nothing");
    let feed: Vec<Change> = feed_for(store, head, a.id)
        .await
        .into_iter()
        .map(|e| e.change)
        .collect();
    assert_eq!(feed, vec![Change::AccountChanged(a.id)]);
    assert_eq!(
        store.session(os.id).await.unwrap().unwrap().revoked_at,
        None
    );
}

/// Delete revokes (feed) and removes sessions and tokens; false the second time.
pub async fn check_delete_account(store: &dyn Store) {
    let a = new_account(store).await;
    let t0 = now();
    let (s1, h1) = new_session(store, a.id, t0).await;
    let (s2, _) = new_session(store, a.id, t0).await;
    let s3 = session(a.id, t0 - Duration::days(2), t0 - Duration::days(1));
    store
        .create_session(&s3, &hash(), &event(Some(a.id), "login.success", t0))
        .await
        .unwrap();

    let head = feed_head(store).await;
    let at = t0 + Duration::seconds(1);
    let ev = event(Some(a.id), "account.delete", at);
    assert!(
        store
            .delete_account(a.id, at, &ev)
            .await
            .expect("delete_account")
    );

    assert_eq!(store.account_by_id(a.id).await.unwrap(), None);
    assert_eq!(store.account_by_login(&a.login_key()).await.unwrap(), None);
    for sid in [s1.id, s2.id, s3.id] {
        assert_eq!(
            store.session(sid).await.unwrap(),
            None,
            "session survives delete"
        );
    }
    assert!(store.live_sessions(a.id, at).await.unwrap().is_empty());
    let r = store
        .rotate_refresh(&h1, &hash(), at, None, None)
        .await
        .unwrap();
    assert_eq!(r, Rotation::Invalid, "token of a deleted account");

    let feed = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 3, "feed after delete: {feed:?}");
    let (changed, revoked) = split_account_changed(&feed, a.id);
    assert_eq!(changed, 1, "one AccountChanged: {feed:?}");
    assert_eq!(revoked_ids(&revoked, a.id), HashSet::from([s1.id, s2.id]));

    // The audit trail outlives the account.
    assert!(
        audit_of(store, a.id).await.contains(&ev),
        "delete audit event"
    );

    assert!(
        !store
            .delete_account(a.id, at, &ev)
            .await
            .expect("second delete")
    );

    // Login and email are free again.
    let again = account(&a.login, a.email.as_deref());
    insert(store, &again).await;
}

/// Listing: ordered by id, cursor pagination, case-insensitive search on
/// login or email, `%` and `_` taken literally.
pub async fn check_list_accounts(store: &dyn Store) {
    let t = tag();
    let mut ours = Vec::new();
    for i in 0..5 {
        let a = account(
            &format!("List-{t}-{i}"),
            Some(&format!("l{i}-{}@x.test", tag())),
        );
        insert(store, &a).await;
        ours.push(a);
    }
    // Matches by email only.
    let by_mail = account(
        &format!("mail-only-{}", tag()),
        Some(&format!("Who.{}@X.test", t.to_uppercase())),
    );
    insert(store, &by_mail).await;
    ours.push(by_mail);
    ours.sort_by_key(|a| a.id);
    let ids: Vec<AccountId> = ours.iter().map(|a| a.id).collect();

    let q = |search: &str, after: Option<AccountId>, limit: u32| AccountQuery {
        search: Some(search.to_owned()),
        after,
        limit,
    };
    let all = store
        .list_accounts(&q(&t.to_uppercase(), None, 100))
        .await
        .unwrap();
    assert_eq!(all, ours, "search by tag, ordered by id");

    // Pages of two.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_accounts(&q(&t, after, 2)).await.unwrap();
        assert!(page.len() <= 2);
        match page.last() {
            Some(a) => after = Some(a.id),
            None => break,
        }
        paged.extend(page.into_iter().map(|a| a.id));
    }
    assert_eq!(paged, ids, "cursor pagination");

    let one = store
        .list_accounts(&q(&format!("list-{t}-3"), None, 10))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].login, format!("List-{t}-3"));
    let mail = store
        .list_accounts(&q(&format!("who.{t}@x.TEST"), None, 10))
        .await
        .unwrap();
    assert_eq!(mail.len(), 1, "search on email");

    let zero = store.list_accounts(&q(&t, None, 0)).await.unwrap();
    assert!(zero.is_empty(), "limit 0");

    // Wildcards are literal.
    let e = tag();
    let under = account(&format!("esc-{e}-a_b"), None);
    let plain = account(&format!("esc-{e}-axb"), None);
    let pct = account(&format!("esc-{e}-50%off"), None);
    for a in [&under, &plain, &pct] {
        insert(store, a).await;
    }
    let r = store
        .list_accounts(&q(&format!("{e}-a_b"), None, 10))
        .await
        .unwrap();
    assert_eq!(
        r.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![under.id],
        "`_` is literal"
    );
    let r = store
        .list_accounts(&q(&format!("{e}-50%"), None, 10))
        .await
        .unwrap();
    assert_eq!(
        r.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![pct.id],
        "`%` is literal"
    );
    let r = store
        .list_accounts(&q(&format!("{e}-%b"), None, 10))
        .await
        .unwrap();
    assert!(r.is_empty(), "`%` is literal");

    // Without search: ascending ids after the cursor, at most `limit`.
    let page = store
        .list_accounts(&AccountQuery {
            search: None,
            after: Some(ids[0]),
            limit: 3,
        })
        .await
        .unwrap();
    assert!(!page.is_empty() && page.len() <= 3);
    assert!(page.iter().all(|a| a.id > ids[0]));
    assert!(page.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
}
