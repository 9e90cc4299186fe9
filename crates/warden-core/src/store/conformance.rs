//! The conformance suite every [`Store`] backend must pass.
//!
//! Each check panics (via `assert!`) when the backend breaks the contract of
//! [`crate::store`]. Every check makes its own accounts, sessions, keys and
//! counter keys with fresh UUIDs, so the suite can run again and again against
//! one persistent database. Checks run one after another: [`check_prune`] and
//! [`check_prune_audit`] delete old rows of every account, so do not run the
//! suite concurrently with other tests on the same database.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use warden_core::store::{MemoryStore, Store, conformance};
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//! conformance::run_all(store).await;
//! # }
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{AccountQuery, AttemptGate, AuditQuery, Change, FeedEntry, Revoke, Rotation, Store};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::model::{
    Account, AccountId, AuditEvent, Session, SessionId, StoredKey, normalize_email, normalize_login,
};
use std::collections::HashSet;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Run every check, one after another.
pub async fn run_all(store: Arc<dyn Store>) {
    let s: &dyn Store = store.as_ref();
    check_ping(s).await;
    check_account_roundtrip(s).await;
    check_unique_on_insert(s).await;
    check_unique_on_update(s).await;
    check_update_not_found(s).await;
    check_update_replaces_row(s).await;
    check_update_revokes(s).await;
    check_delete_account(s).await;
    check_list_accounts(s).await;
    check_sessions(s).await;
    check_rotate_refresh(s).await;
    check_rotate_refresh_concurrent(&store).await;
    check_revoke_session(s).await;
    check_revoke_sessions(s).await;
    check_reissue_refresh(s).await;
    check_touch_session(s).await;
    check_changes_since(s).await;
    check_audit(s).await;
    check_prune_audit(s).await;
    check_signing_keys(s).await;
    check_settings(s).await;
    check_settings_concurrent(&store).await;
    check_counters(s).await;
    check_counters_in_flight(s).await;
    check_counters_concurrent(&store).await;
    check_totp_enable(s).await;
    check_totp_step(s).await;
    check_totp_step_concurrent(&store).await;
    check_recovery_codes(&store).await;
    check_totp_disable(s).await;
    check_mfa_challenges(s).await;
    check_mfa_challenges_concurrent(&store).await;
    check_prune(s).await;
    check_api_key_roundtrip(s).await;
    check_list_api_keys(s).await;
    check_revoke_api_key(s).await;
    check_renew_api_key(s).await;
    check_api_key_usage(s).await;
    check_delete_account_deletes_api_keys(s).await;
    check_one_time_tokens(s).await;
    check_one_time_replaced(s).await;
    check_one_time_concurrent(&store).await;
    check_identities(s).await;
    check_oauth_states(&store).await;
    check_passkeys(s).await;
    check_last_sign_in_method(s).await;
    check_last_sign_in_method_concurrent(&store).await;
}

#[path = "conformance_api_keys.rs"]
mod api_key_checks;
pub use api_key_checks::*;

#[path = "conformance_one_time.rs"]
mod one_time_checks;
pub use one_time_checks::*;

#[path = "conformance_identities.rs"]
mod identity_checks;
pub use identity_checks::*;

#[path = "conformance_passkeys.rs"]
mod passkey_checks;
pub use passkey_checks::*;

// ---------------------------------------------------------------- helpers

fn now() -> OffsetDateTime {
    SystemClock.now()
}

/// A fresh 32-hex-digit tag.
fn tag() -> String {
    Uuid::now_v7().simple().to_string()
}

/// A fresh 32-byte refresh-token hash.
fn hash() -> [u8; 32] {
    let mut h = [0u8; 32];
    h[..16].copy_from_slice(Uuid::now_v7().as_bytes());
    h[16..].copy_from_slice(Uuid::now_v7().as_bytes());
    h
}

/// An account with every field set to something non-default, so that a
/// backend that drops a field fails the round trip.
fn account(login: &str, email: Option<&str>) -> Account {
    let t = now();
    Account {
        id: AccountId::new(),
        login: login.to_owned(),
        email: email.map(str::to_owned),
        email_verified: true,
        active: true,
        blocked: false,
        block_reason: None,
        mfa_enabled: true,
        scopes: vec!["admin".to_owned(), "read:all".to_owned()],
        properties: serde_json::json!({ "team": "blue", "n": 3, "list": [true, null, "x"] }),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        password_changed_at: t - Duration::days(3),
        created_at: t - Duration::days(10),
        updated_at: t - Duration::seconds(5),
    }
}

fn unique_account() -> Account {
    let t = tag();
    account(&format!("User-{t}"), Some(&format!("Mail-{t}@Example.com")))
}

fn event(account: Option<AccountId>, name: &str, at: OffsetDateTime) -> AuditEvent {
    AuditEvent {
        at,
        account_id: account,
        event: name.to_owned(),
        ip: Some("192.0.2.7".to_owned()),
        user_agent: Some("conformance/1".to_owned()),
        detail: serde_json::json!({ "check": name, "k": [1, 2] }),
    }
}

fn session(account: AccountId, created_at: OffsetDateTime, expires_at: OffsetDateTime) -> Session {
    Session {
        id: SessionId::new(),
        account_id: account,
        created_at,
        last_seen_at: created_at,
        expires_at,
        ip: Some("198.51.100.1".to_owned()),
        user_agent: Some("agent/1".to_owned()),
        long: true,
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        revoked_at: None,
    }
}

async fn insert(store: &dyn Store, a: &Account) {
    store
        .insert_account(a, &event(Some(a.id), "account.create", now()))
        .await
        .expect("insert_account");
}

async fn new_account(store: &dyn Store) -> Account {
    let a = unique_account();
    insert(store, &a).await;
    a
}

/// A live session (created now, expiring in a day) with its refresh hash.
async fn new_session(
    store: &dyn Store,
    account: AccountId,
    at: OffsetDateTime,
) -> (Session, [u8; 32]) {
    let s = session(account, at, at + Duration::days(1));
    let h = hash();
    store
        .create_session(&s, &h, &event(Some(account), "login.success", at))
        .await
        .expect("create_session");
    (s, h)
}

/// The sequence number of the newest feed entry (0 when empty).
async fn feed_head(store: &dyn Store) -> i64 {
    let mut after = 0;
    loop {
        let page = store
            .changes_since(after, 1000)
            .await
            .expect("changes_since");
        match page.last() {
            Some(e) => after = e.seq,
            None => return after,
        }
    }
}

/// Every feed entry after `after`, oldest first.
async fn feed_after(store: &dyn Store, mut after: i64) -> Vec<FeedEntry> {
    let mut out = Vec::new();
    loop {
        let page = store
            .changes_since(after, 1000)
            .await
            .expect("changes_since");
        match page.last() {
            Some(e) => after = e.seq,
            None => return out,
        }
        out.extend(page);
    }
}

/// Feed entries after `after` that concern `account`.
async fn feed_for(store: &dyn Store, after: i64, account: AccountId) -> Vec<FeedEntry> {
    feed_after(store, after)
        .await
        .into_iter()
        .filter(|e| match &e.change {
            Change::SessionRevoked(_, a)
            | Change::AccountChanged(a)
            | Change::ApiKeyRevoked(_, a) => *a == account,
        })
        .collect()
}

/// The session ids of `SessionRevoked` entries; panics on any other entry.
fn revoked_ids(entries: &[FeedEntry], account: AccountId) -> HashSet<SessionId> {
    entries
        .iter()
        .map(|e| match &e.change {
            Change::SessionRevoked(sid, acc) if *acc == account => *sid,
            other => panic!("expected SessionRevoked of {account:?}, got {other:?}"),
        })
        .collect()
}

async fn audit_of(store: &dyn Store, account: AccountId) -> Vec<AuditEvent> {
    store
        .audit(&AuditQuery {
            account_id: Some(account),
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .expect("audit")
}

async fn audit_names(store: &dyn Store, account: AccountId) -> Vec<String> {
    audit_of(store, account)
        .await
        .into_iter()
        .map(|e| e.event)
        .collect()
}

// ---------------------------------------------------------------- checks

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

    let feed = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 3, "feed after AllExcept: {feed:?}");
    assert_eq!(revoked_ids(&feed[..2], a.id), HashSet::from([s1.id, s3.id]));
    assert_eq!(feed[2].change, Change::AccountChanged(a.id));
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
    let feed: Vec<Change> = feed_for(store, head, a.id)
        .await
        .into_iter()
        .map(|e| e.change)
        .collect();
    assert_eq!(
        feed,
        vec![
            Change::SessionRevoked(s2.id, a.id),
            Change::AccountChanged(a.id)
        ]
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
    assert_eq!(revoked_ids(&feed[..2], a.id), HashSet::from([s1.id, s2.id]));
    assert_eq!(feed[2].change, Change::AccountChanged(a.id));

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
    store
        .create_session(&short, &hash(), &event(Some(a.id), "login.success", t0))
        .await
        .unwrap();
    let expired = session(a.id, t0 - Duration::days(2), t0 - Duration::seconds(1));
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
    assert_eq!(r, Rotation::Rotated(want.clone()));
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
    assert_eq!(r, Rotation::Rotated(want.clone()), "second rotation");

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
            Rotation::Rotated(_) => rotated += 1,
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
        matches!(r, Rotation::Rotated(_)),
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

/// The feed is ordered by strictly increasing `seq` and honours `limit`.
pub async fn check_changes_since(store: &dyn Store) {
    let a = new_account(store).await;
    let head = feed_head(store).await;
    let t0 = now();
    for i in 0..5 {
        let mut b = a.clone();
        b.updated_at = t0 + Duration::seconds(i);
        store
            .update_account(&b, Revoke::Nothing, t0 + Duration::seconds(i), &[])
            .await
            .unwrap();
    }
    let all = feed_after(store, head).await;
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|e| e.change == Change::AccountChanged(a.id)));
    assert!(
        all.windows(2).all(|w| w[0].seq < w[1].seq),
        "increasing seq"
    );
    assert!(all.iter().all(|e| e.seq > head));
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.at, t0 + Duration::seconds(i as i64), "feed `at`");
    }

    let two = store.changes_since(head, 2).await.unwrap();
    assert_eq!(two, all[..2].to_vec(), "limit");
    let rest = store.changes_since(two[1].seq, 100).await.unwrap();
    assert_eq!(rest, all[2..].to_vec(), "resume after a seq");
    let none = store.changes_since(all[4].seq, 100).await.unwrap();
    assert!(none.is_empty(), "nothing after the newest");
    assert!(
        store.changes_since(head, 0).await.unwrap().is_empty(),
        "limit 0"
    );
}

/// Audit append and query: by account, time range (`from` inclusive, `to`
/// exclusive), newest first, limit.
pub async fn check_audit(store: &dyn Store) {
    let id = AccountId::new();
    let base = now();
    let mut evs = Vec::new();
    for i in 0..5 {
        let mut e = event(Some(id), &format!("ev.{i}"), base + Duration::seconds(i));
        if i == 2 {
            e.ip = None;
            e.user_agent = None;
            e.detail = serde_json::Value::Null;
        }
        store.append_audit(&e).await.unwrap();
        evs.push(e);
    }
    let anon = event(None, "login.failure", base + Duration::seconds(9));
    store.append_audit(&anon).await.unwrap();

    let newest_first: Vec<AuditEvent> = evs.iter().rev().cloned().collect();
    assert_eq!(
        audit_of(store, id).await,
        newest_first,
        "by account, newest first"
    );

    let q = |from: Option<i64>, to: Option<i64>, limit: u32| AuditQuery {
        account_id: Some(id),
        from: from.map(|s| base + Duration::seconds(s)),
        to: to.map(|s| base + Duration::seconds(s)),
        limit,
    };
    assert_eq!(
        store.audit(&q(None, None, 2)).await.unwrap(),
        newest_first[..2].to_vec(),
        "limit"
    );
    assert_eq!(
        store.audit(&q(Some(1), Some(3), 10)).await.unwrap(),
        vec![evs[2].clone(), evs[1].clone()]
    );
    assert_eq!(
        store.audit(&q(Some(3), None, 10)).await.unwrap(),
        vec![evs[4].clone(), evs[3].clone()]
    );
    assert_eq!(
        store.audit(&q(None, Some(1), 10)).await.unwrap(),
        vec![evs[0].clone()]
    );
    assert!(
        store.audit(&q(None, None, 0)).await.unwrap().is_empty(),
        "limit 0"
    );

    // Without account filter: the anonymous event is found by time.
    let all = store
        .audit(&AuditQuery {
            account_id: None,
            from: Some(base + Duration::seconds(9)),
            to: Some(base + Duration::seconds(10)),
            limit: 1000,
        })
        .await
        .unwrap();
    assert!(all.contains(&anon), "anonymous event");
    assert!(all.iter().all(|e| e.at >= base + Duration::seconds(9)));
}

/// `prune_audit` deletes events older than `before`.
pub async fn check_prune_audit(store: &dyn Store) {
    let id = AccountId::new();
    // Far in the past, so that other checks' events are not touched.
    let old = OffsetDateTime::from_unix_timestamp(946_684_800).unwrap(); // 2000-01-01
    for i in 0..3 {
        store
            .append_audit(&event(Some(id), "old", old + Duration::seconds(i)))
            .await
            .unwrap();
    }
    let keep = event(Some(id), "kept", old + Duration::days(1));
    store.append_audit(&keep).await.unwrap();
    let n = store.prune_audit(old + Duration::days(1)).await.unwrap();
    assert!(n >= 3, "pruned {n}");
    assert_eq!(audit_of(store, id).await, vec![keep]);
}

/// Signing keys: round trip, oldest first, `retire_others`.
pub async fn check_signing_keys(store: &dyn Store) {
    let t0 = now();
    let key = |at: OffsetDateTime| StoredKey {
        kid: tag(),
        alg: "EdDSA".to_owned(),
        private_der: hash().to_vec(),
        created_at: at,
        retired_at: None,
    };
    let k1 = key(t0);
    let k2 = key(t0 + Duration::seconds(1));
    let k3 = key(t0 + Duration::seconds(2));
    store.add_signing_key(&k1, None).await.unwrap();
    store.add_signing_key(&k2, None).await.unwrap();
    let keys = store.signing_keys().await.unwrap();
    let pos = |k: &StoredKey, keys: &[StoredKey]| keys.iter().position(|x| x.kid == k.kid);
    assert_eq!(keys[pos(&k1, &keys).unwrap()], k1, "key round trip");
    assert!(pos(&k1, &keys) < pos(&k2, &keys), "oldest first");

    let at = t0 + Duration::seconds(3);
    store.add_signing_key(&k3, Some(at)).await.unwrap();
    let keys = store.signing_keys().await.unwrap();
    let (p1, p2, p3) = (
        pos(&k1, &keys).unwrap(),
        pos(&k2, &keys).unwrap(),
        pos(&k3, &keys).unwrap(),
    );
    assert!(p1 < p2 && p2 < p3, "oldest first");
    assert_eq!(keys[p1].retired_at, Some(at));
    assert_eq!(keys[p2].retired_at, Some(at));
    assert_eq!(keys[p3], k3, "new key stays unretired");
    assert!(
        keys.iter().filter(|k| k.retired_at.is_none()).count() == 1,
        "one active key"
    );

    // Already retired keys keep their retirement time.
    let k4 = key(t0 + Duration::seconds(4));
    store
        .add_signing_key(&k4, Some(at + Duration::seconds(1)))
        .await
        .unwrap();
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys[pos(&k1, &keys).unwrap()].retired_at, Some(at));
    assert_eq!(
        keys[pos(&k3, &keys).unwrap()].retired_at,
        Some(at + Duration::seconds(1))
    );
}

/// `setting_or_insert` keeps the first value.
pub async fn check_settings(store: &dyn Store) {
    let name = format!("conformance.{}", tag());
    assert_eq!(store.setting(&name).await.unwrap(), None);
    assert_eq!(
        store.setting_or_insert(&name, "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.setting_or_insert(&name, "second").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.setting(&name).await.unwrap().as_deref(),
        Some("first")
    );
}

/// Concurrent `setting_or_insert` calls agree on one value.
pub async fn check_settings_concurrent(store: &Arc<dyn Store>) {
    let name = format!("conformance.{}", tag());
    let mut set = tokio::task::JoinSet::new();
    for i in 0..10 {
        let store = Arc::clone(store);
        let name = name.clone();
        set.spawn(async move { store.setting_or_insert(&name, &format!("v{i}")).await });
    }
    let mut values = HashSet::new();
    while let Some(r) = set.join_next().await {
        values.insert(r.expect("task").expect("setting_or_insert"));
    }
    assert_eq!(values.len(), 1, "concurrent setting_or_insert: {values:?}");
    let stored = store.setting(&name).await.unwrap().unwrap();
    assert!(values.contains(&stored));
}

/// Lockout: failures up to `max` lock for `base * 2^n`; clear resets.
pub async fn check_counters(store: &dyn Store) {
    let key = format!("login:{}", tag());
    let t0 = now();
    let (max, base) = (3, 60);

    for i in 0..3 {
        assert_eq!(
            store.attempt_begin(&key, t0, max).await.unwrap(),
            AttemptGate::Allowed
        );
        let r = store.attempt_failed(&key, t0, max, base).await.unwrap();
        if i < 2 {
            assert_eq!(r, None, "failure {i} does not lock");
        } else {
            assert_eq!(r, Some(60), "third failure locks for base");
        }
    }
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Locked(60)
    );
    let t59 = t0 + Duration::seconds(59);
    assert_eq!(
        store.attempt_begin(&key, t59, max).await.unwrap(),
        AttemptGate::Locked(1)
    );
    let t59h = t0 + Duration::milliseconds(59_500);
    assert_eq!(
        store.attempt_begin(&key, t59h, max).await.unwrap(),
        AttemptGate::Locked(1),
        "at least 1"
    );

    // The lock is over: failures start from zero, the next lock doubles.
    let t1 = t0 + Duration::seconds(60);
    for i in 0..3 {
        assert_eq!(
            store.attempt_begin(&key, t1, max).await.unwrap(),
            AttemptGate::Allowed,
            "after lock {i}"
        );
        let r = store.attempt_failed(&key, t1, max, base).await.unwrap();
        assert_eq!(
            r,
            if i < 2 { None } else { Some(120) },
            "second lock doubles"
        );
    }
    assert_eq!(
        store.attempt_begin(&key, t1, max).await.unwrap(),
        AttemptGate::Locked(120)
    );
    let t2 = t1 + Duration::seconds(120);
    for i in 0..3 {
        assert_eq!(
            store.attempt_begin(&key, t2, max).await.unwrap(),
            AttemptGate::Allowed
        );
        let r = store.attempt_failed(&key, t2, max, base).await.unwrap();
        assert_eq!(
            r,
            if i < 2 { None } else { Some(240) },
            "third lock doubles again"
        );
    }

    // Clear forgets everything, including earlier locks.
    store.attempt_clear(&key).await.unwrap();
    assert_eq!(
        store.attempt_begin(&key, t2, max).await.unwrap(),
        AttemptGate::Allowed
    );
    store.attempt_failed(&key, t2, max, base).await.unwrap();
    store.attempt_begin(&key, t2, max).await.unwrap();
    store.attempt_failed(&key, t2, max, base).await.unwrap();
    store.attempt_begin(&key, t2, max).await.unwrap();
    assert_eq!(
        store.attempt_failed(&key, t2, max, base).await.unwrap(),
        Some(60),
        "reset by clear"
    );

    // The window is capped at one day.
    let capped = format!("login:{}", tag());
    assert_eq!(
        store.attempt_failed(&capped, t0, 1, 100_000).await.unwrap(),
        Some(86_400)
    );
    // Clearing an unknown key is fine; counters are per key.
    store
        .attempt_clear(&format!("login:{}", tag()))
        .await
        .unwrap();
    let fresh = format!("login:{}", tag());
    assert_eq!(
        store.attempt_begin(&fresh, t0, max).await.unwrap(),
        AttemptGate::Allowed
    );
}

/// Attempts in flight count against `max`.
pub async fn check_counters_in_flight(store: &dyn Store) {
    let key = format!("login:{}", tag());
    let t0 = now();
    let max = 2;
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Allowed
    );
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Allowed
    );
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Locked(1),
        "budget in flight"
    );
    // One failed: one failure + one in flight still fill the budget.
    assert_eq!(store.attempt_failed(&key, t0, max, 30).await.unwrap(), None);
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Locked(1)
    );
    // The other failed: two failures lock.
    assert_eq!(
        store.attempt_failed(&key, t0, max, 30).await.unwrap(),
        Some(30)
    );
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Locked(30)
    );
    store.attempt_clear(&key).await.unwrap();
    assert_eq!(
        store.attempt_begin(&key, t0, max).await.unwrap(),
        AttemptGate::Allowed
    );
}

/// 50 concurrent `attempt_begin` with `max = 5`: exactly 5 allowed; then 5
/// concurrent failures lock exactly once.
pub async fn check_counters_concurrent(store: &Arc<dyn Store>) {
    let key = format!("login:{}", tag());
    let t0 = now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let store = Arc::clone(store);
        let key = key.clone();
        set.spawn(async move { store.attempt_begin(&key, t0, 5).await });
    }
    let mut allowed = 0;
    while let Some(r) = set.join_next().await {
        match r.expect("task").expect("attempt_begin") {
            AttemptGate::Allowed => allowed += 1,
            AttemptGate::Locked(secs) => assert_eq!(secs, 1, "busy budget"),
        }
    }
    assert_eq!(allowed, 5, "exactly max attempts reserved");

    let mut set = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let store = Arc::clone(store);
        let key = key.clone();
        set.spawn(async move { store.attempt_failed(&key, t0, 5, 60).await });
    }
    let mut locks = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Some(secs) = r.expect("task").expect("attempt_failed") {
            locks.push(secs);
        }
    }
    assert_eq!(locks, vec![60], "exactly one failure locks");
    assert_eq!(
        store.attempt_begin(&key, t0, 5).await.unwrap(),
        AttemptGate::Locked(60)
    );
}

/// `prune` deletes ended sessions with their tokens and old feed entries.
pub async fn check_prune(store: &dyn Store) {
    let a = new_account(store).await;
    let t0 = now();
    let expired = session(a.id, t0 - Duration::days(3), t0 - Duration::hours(2));
    let he = hash();
    store
        .create_session(&expired, &he, &event(Some(a.id), "login.success", t0))
        .await
        .unwrap();
    let (revoked, hr) = new_session(store, a.id, t0 - Duration::hours(3)).await;
    let head = feed_head(store).await;
    let revoked_at = t0 - Duration::hours(2);
    assert!(
        store
            .revoke_session(
                revoked.id,
                revoked_at,
                &event(Some(a.id), "logout", revoked_at)
            )
            .await
            .unwrap()
    );
    // Revoked recently: kept.
    let (recent, _) = new_session(store, a.id, t0).await;
    assert!(
        store
            .revoke_session(recent.id, t0, &event(Some(a.id), "logout", t0))
            .await
            .unwrap()
    );
    let (live, hl) = new_session(store, a.id, t0).await;
    let old_feed = feed_for(store, head, a.id).await;
    assert_eq!(old_feed.len(), 2);

    let cut = t0 - Duration::hours(1);
    let n = store.prune(cut, cut).await.unwrap();
    // Two sessions, their two tokens and one feed entry at least.
    assert!(n >= 5, "pruned {n}");
    assert_eq!(store.session(expired.id).await.unwrap(), None);
    assert_eq!(store.session(revoked.id).await.unwrap(), None);
    assert!(
        store.session(recent.id).await.unwrap().is_some(),
        "recently revoked kept"
    );
    assert!(store.session(live.id).await.unwrap().is_some(), "live kept");
    assert_eq!(
        store
            .rotate_refresh(&he, &hash(), t0, None, None)
            .await
            .unwrap(),
        Rotation::Invalid
    );
    assert_eq!(
        store
            .rotate_refresh(&hr, &hash(), t0, None, None)
            .await
            .unwrap(),
        Rotation::Invalid
    );
    assert!(matches!(
        store
            .rotate_refresh(&hl, &hash(), t0, None, None)
            .await
            .unwrap(),
        Rotation::Rotated(_)
    ));

    // The old feed entry is gone, the recent one stays.
    let feed: Vec<FeedEntry> = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 1, "{feed:?}");
    assert_eq!(feed[0].change, Change::SessionRevoked(recent.id, a.id));
    assert_eq!(feed[0].seq, old_feed[1].seq, "seq survives pruning");
}

// ---------------------------------------------------------------- second factor

/// An inserted account without a second factor.
async fn plain_account(store: &dyn Store) -> Account {
    let mut a = unique_account();
    a.mfa_enabled = false;
    insert(store, &a).await;
    a
}

/// An account with an enabled TOTP secret (`last_step` 100) and two recovery codes.
async fn mfa_account(store: &dyn Store) -> (Account, Vec<u8>, [[u8; 32]; 2]) {
    let a = plain_account(store).await;
    let secret = hash().to_vec();
    let codes = [hash(), hash()];
    store
        .set_pending_totp(a.id, &secret, now(), &event(Some(a.id), "mfa.setup", now()))
        .await
        .expect("set_pending_totp");
    let ev = event(Some(a.id), "mfa.enabled", now());
    assert!(
        store
            .enable_totp(a.id, &secret, 100, &codes, now(), &ev)
            .await
            .expect("enable_totp")
    );
    (a, secret, codes)
}

/// A live MFA challenge of an account, by a fresh hash.
async fn new_challenge(store: &dyn Store, account: AccountId, ttl: Duration) -> [u8; 32] {
    let h = hash();
    let c = super::MfaChallenge {
        account_id: account,
        remember: true,
        expires_at: now() + ttl,
        attempts: 0,
    };
    store
        .create_mfa_challenge(&h, &c)
        .await
        .expect("create_mfa_challenge");
    h
}

/// Pending secrets are replaced; enabling needs the current pending secret and
/// sets the flag, the feed entry and the audit event in one go.
pub async fn check_totp_enable(store: &dyn Store) {
    let a = plain_account(store).await;
    assert_eq!(store.pending_totp(a.id).await.unwrap(), None);
    assert_eq!(store.active_totp(a.id).await.unwrap(), None);
    let (first, second) = (hash().to_vec(), hash().to_vec());
    for s in [&first, &second] {
        store
            .set_pending_totp(a.id, s, now(), &event(Some(a.id), "mfa.setup", now()))
            .await
            .unwrap();
    }
    assert_eq!(
        store.pending_totp(a.id).await.unwrap(),
        Some(second.clone())
    );
    let head = feed_head(store).await;
    let codes = [hash(), hash(), hash()];
    let at = now();
    let ev = event(Some(a.id), "mfa.enabled", at);
    assert!(
        !store
            .enable_totp(a.id, &first, 7, &codes, at, &ev)
            .await
            .unwrap(),
        "a replaced pending secret must not enable"
    );
    assert!(
        !store
            .account_by_id(a.id)
            .await
            .unwrap()
            .unwrap()
            .mfa_enabled
    );
    assert_eq!(store.active_totp(a.id).await.unwrap(), None);
    assert!(
        store
            .enable_totp(a.id, &second, 7, &codes, at, &ev)
            .await
            .unwrap()
    );
    let stored = store.account_by_id(a.id).await.unwrap().unwrap();
    assert!(stored.mfa_enabled);
    assert_eq!(stored.updated_at, at);
    assert_eq!(store.pending_totp(a.id).await.unwrap(), None);
    assert_eq!(
        store.active_totp(a.id).await.unwrap(),
        Some(super::ActiveTotp {
            secret: second.clone(),
            last_step: Some(7)
        })
    );
    assert_eq!(store.recovery_codes_left(a.id).await.unwrap(), 3);
    let feed = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].change, Change::AccountChanged(a.id));
    let names = audit_names(store, a.id).await;
    assert_eq!(names.iter().filter(|n| *n == "mfa.enabled").count(), 1);
    assert_eq!(names.iter().filter(|n| *n == "mfa.setup").count(), 2);
    // A new pending secret leaves the active one alone.
    let third = hash().to_vec();
    store
        .set_pending_totp(a.id, &third, now(), &event(Some(a.id), "mfa.setup", now()))
        .await
        .unwrap();
    assert_eq!(store.pending_totp(a.id).await.unwrap(), Some(third));
    assert_eq!(
        store.active_totp(a.id).await.unwrap().map(|t| t.secret),
        Some(second)
    );
    // Unknown account.
    let ghost = AccountId::new();
    let r = store
        .set_pending_totp(ghost, b"x", now(), &event(Some(ghost), "mfa.setup", now()))
        .await;
    assert!(matches!(r, Err(Error::NotFound)), "{r:?}");
    assert!(
        !store
            .enable_totp(ghost, b"x", 1, &[], now(), &event(Some(ghost), "e", now()))
            .await
            .unwrap()
    );
}

/// `use_totp_step` only moves `last_step` forward.
pub async fn check_totp_step(store: &dyn Store) {
    let plain = plain_account(store).await;
    assert!(!store.use_totp_step(plain.id, 1).await.unwrap());
    let (a, _, _) = mfa_account(store).await;
    assert!(!store.use_totp_step(a.id, 100).await.unwrap(), "same step");
    assert!(!store.use_totp_step(a.id, 99).await.unwrap(), "older step");
    assert!(store.use_totp_step(a.id, 101).await.unwrap());
    assert!(!store.use_totp_step(a.id, 101).await.unwrap(), "replay");
    assert!(store.use_totp_step(a.id, 103).await.unwrap());
    assert!(!store.use_totp_step(a.id, 102).await.unwrap());
    assert_eq!(
        store.active_totp(a.id).await.unwrap().unwrap().last_step,
        Some(103)
    );
}

/// Of concurrent `use_totp_step` calls with one step exactly one wins.
pub async fn check_totp_step_concurrent(store: &Arc<dyn Store>) {
    let (a, _, _) = mfa_account(store.as_ref()).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = Arc::clone(store);
        set.spawn(async move { store.use_totp_step(a.id, 200).await });
    }
    let mut wins = 0;
    while let Some(r) = set.join_next().await {
        wins += usize::from(r.expect("task").expect("use_totp_step"));
    }
    assert_eq!(wins, 1, "concurrent use_totp_step winners");
}

/// Recovery codes work once, only for their account; concurrent use has one winner.
pub async fn check_recovery_codes(store: &Arc<dyn Store>) {
    let s = store.as_ref();
    let (a, _, codes) = mfa_account(s).await;
    let (b, _, other) = mfa_account(s).await;
    assert_eq!(s.use_recovery_code(a.id, &hash()).await.unwrap(), None);
    assert_eq!(s.use_recovery_code(a.id, &other[0]).await.unwrap(), None);
    assert_eq!(s.use_recovery_code(a.id, &codes[0]).await.unwrap(), Some(1));
    assert_eq!(s.use_recovery_code(a.id, &codes[0]).await.unwrap(), None);
    assert_eq!(s.recovery_codes_left(a.id).await.unwrap(), 1);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = Arc::clone(store);
        let code = codes[1];
        set.spawn(async move { store.use_recovery_code(a.id, &code).await });
    }
    let mut wins = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Some(left) = r.expect("task").expect("use_recovery_code") {
            wins.push(left);
        }
    }
    assert_eq!(wins, vec![0], "concurrent recovery code winners");
    assert_eq!(s.recovery_codes_left(a.id).await.unwrap(), 0);
    assert_eq!(s.recovery_codes_left(b.id).await.unwrap(), 2);
}

/// Disabling deletes secrets and codes and clears the flag; audited only when enabled.
pub async fn check_totp_disable(store: &dyn Store) {
    let (a, _, codes) = mfa_account(store).await;
    store
        .set_pending_totp(
            a.id,
            b"pending",
            now(),
            &event(Some(a.id), "mfa.setup", now()),
        )
        .await
        .unwrap();
    let head = feed_head(store).await;
    let at = now();
    assert!(
        store
            .disable_totp(a.id, at, &event(Some(a.id), "mfa.disabled", at))
            .await
            .unwrap()
    );
    let stored = store.account_by_id(a.id).await.unwrap().unwrap();
    assert!(!stored.mfa_enabled);
    assert_eq!(stored.updated_at, at);
    assert_eq!(store.active_totp(a.id).await.unwrap(), None);
    assert_eq!(store.pending_totp(a.id).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(a.id).await.unwrap(), 0);
    assert_eq!(
        store.use_recovery_code(a.id, &codes[0]).await.unwrap(),
        None
    );
    assert!(!store.use_totp_step(a.id, 1000).await.unwrap());
    let feed = feed_for(store, head, a.id).await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].change, Change::AccountChanged(a.id));
    // Again: nothing to do, nothing recorded.
    assert!(
        !store
            .disable_totp(a.id, now(), &event(Some(a.id), "mfa.disabled", now()))
            .await
            .unwrap()
    );
    let names = audit_names(store, a.id).await;
    assert_eq!(names.iter().filter(|n| *n == "mfa.disabled").count(), 1);
    assert!(feed_for(store, head, a.id).await.len() == 1);
    // Only a pending secret: removed, but the account was not enabled.
    let p = plain_account(store).await;
    store
        .set_pending_totp(
            p.id,
            b"pending",
            now(),
            &event(Some(p.id), "mfa.setup", now()),
        )
        .await
        .unwrap();
    assert!(
        !store
            .disable_totp(p.id, now(), &event(Some(p.id), "mfa.disabled", now()))
            .await
            .unwrap()
    );
    assert_eq!(store.pending_totp(p.id).await.unwrap(), None);
    // Unknown account.
    let ghost = AccountId::new();
    assert!(
        !store
            .disable_totp(ghost, now(), &event(Some(ghost), "mfa.disabled", now()))
            .await
            .unwrap()
    );
}

/// MFA tokens: attempts counted up to `max`, single use, expiry, prune, and
/// deletion with their account.
pub async fn check_mfa_challenges(store: &dyn Store) {
    let a = plain_account(store).await;
    let ghost = super::MfaChallenge {
        account_id: AccountId::new(),
        remember: false,
        expires_at: now() + Duration::minutes(5),
        attempts: 0,
    };
    let r = store.create_mfa_challenge(&hash(), &ghost).await;
    assert!(matches!(r, Err(Error::NotFound)), "{r:?}");

    // Three failed attempts kill the token.
    let h = new_challenge(store, a.id, Duration::minutes(5)).await;
    for left in [2, 1, 0] {
        let c = store
            .begin_mfa_attempt(&h, now(), 3)
            .await
            .unwrap()
            .expect("live challenge");
        assert_eq!(c.account_id, a.id);
        assert!(c.remember);
        assert_eq!(c.attempts, 3 - left);
        assert_eq!(store.mfa_attempt_failed(&h, 3).await.unwrap(), left);
    }
    assert_eq!(store.begin_mfa_attempt(&h, now(), 3).await.unwrap(), None);
    assert_eq!(store.take_mfa_challenge(&h, now()).await.unwrap(), None);
    assert_eq!(store.mfa_attempt_failed(&h, 3).await.unwrap(), 0);

    // Single use.
    let h = new_challenge(store, a.id, Duration::minutes(5)).await;
    assert!(
        store
            .begin_mfa_attempt(&h, now(), 3)
            .await
            .unwrap()
            .is_some()
    );
    let taken = store.take_mfa_challenge(&h, now()).await.unwrap().unwrap();
    assert_eq!(taken.account_id, a.id);
    assert_eq!(taken.attempts, 1);
    assert_eq!(store.take_mfa_challenge(&h, now()).await.unwrap(), None);
    assert_eq!(store.begin_mfa_attempt(&h, now(), 3).await.unwrap(), None);

    // Expiry.
    let h = new_challenge(store, a.id, Duration::minutes(5)).await;
    let later = now() + Duration::minutes(6);
    assert_eq!(store.begin_mfa_attempt(&h, later, 3).await.unwrap(), None);
    let h = new_challenge(store, a.id, Duration::minutes(5)).await;
    assert_eq!(store.take_mfa_challenge(&h, later).await.unwrap(), None);
    assert_eq!(store.begin_mfa_attempt(&h, now(), 3).await.unwrap(), None);

    // Prune removes expired tokens only.
    let old = new_challenge(store, a.id, Duration::seconds(-10)).await;
    let live = new_challenge(store, a.id, Duration::minutes(5)).await;
    assert!(store.prune_mfa_challenges(now()).await.unwrap() >= 1);
    assert_eq!(
        store
            .begin_mfa_attempt(&old, now() - Duration::minutes(1), 3)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .begin_mfa_attempt(&live, now(), 3)
            .await
            .unwrap()
            .is_some()
    );

    // Deleting the account deletes its tokens and second factor.
    let (b, _, _) = mfa_account(store).await;
    let h = new_challenge(store, b.id, Duration::minutes(5)).await;
    assert!(
        store
            .delete_account(b.id, now(), &event(Some(b.id), "account.deleted", now()))
            .await
            .unwrap()
    );
    assert_eq!(store.begin_mfa_attempt(&h, now(), 3).await.unwrap(), None);
    assert_eq!(store.active_totp(b.id).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(b.id).await.unwrap(), 0);
}

/// Concurrent attempts never exceed `max`; concurrent takes have one winner.
pub async fn check_mfa_challenges_concurrent(store: &Arc<dyn Store>) {
    let a = plain_account(store.as_ref()).await;
    let h = new_challenge(store.as_ref(), a.id, Duration::minutes(5)).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = Arc::clone(store);
        set.spawn(async move { store.begin_mfa_attempt(&h, now(), 3).await });
    }
    let mut begun = 0;
    while let Some(r) = set.join_next().await {
        begun += usize::from(r.expect("task").expect("begin_mfa_attempt").is_some());
    }
    assert_eq!(begun, 3, "concurrent attempts allowed");

    let h = new_challenge(store.as_ref(), a.id, Duration::minutes(5)).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = Arc::clone(store);
        set.spawn(async move { store.take_mfa_challenge(&h, now()).await });
    }
    let mut taken = 0;
    while let Some(r) = set.join_next().await {
        taken += usize::from(r.expect("task").expect("take_mfa_challenge").is_some());
    }
    assert_eq!(taken, 1, "concurrent takes");
}
