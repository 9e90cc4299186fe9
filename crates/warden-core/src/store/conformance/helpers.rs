//! Helpers of the conformance checks: fresh ids, accounts, sessions, and
//! reading back the feed and the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(unused_imports)]

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

pub(super) fn now() -> OffsetDateTime {
    SystemClock.now()
}

/// A fresh 32-hex-digit tag.
pub(super) fn tag() -> String {
    Uuid::now_v7().simple().to_string()
}

/// A fresh 32-byte refresh-token hash.
pub(super) fn hash() -> [u8; 32] {
    let mut h = [0u8; 32];
    h[..16].copy_from_slice(Uuid::now_v7().as_bytes());
    h[16..].copy_from_slice(Uuid::now_v7().as_bytes());
    h
}

/// An account with every field set to something non-default, so that a
/// backend that drops a field fails the round trip.
pub(super) fn account(login: &str, email: Option<&str>) -> Account {
    let t = now();
    Account {
        id: AccountId::new(),
        kind: crate::model::AccountKind::Person,
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

pub(super) fn unique_account() -> Account {
    let t = tag();
    account(&format!("User-{t}"), Some(&format!("Mail-{t}@Example.com")))
}

pub(super) fn event(account: Option<AccountId>, name: &str, at: OffsetDateTime) -> AuditEvent {
    AuditEvent {
        at,
        account_id: account,
        event: name.to_owned(),
        ip: Some("192.0.2.7".to_owned()),
        user_agent: Some("conformance/1".to_owned()),
        detail: serde_json::json!({ "check": name, "k": [1, 2] }),
    }
}

pub(super) fn session(
    account: AccountId,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Session {
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
        scopes: None,
        app: None,
        client_id: None,
    }
}

pub(super) async fn insert(store: &dyn Store, a: &Account) {
    store
        .insert_account(a, &event(Some(a.id), "account.create", now()))
        .await
        .expect("insert_account");
}

pub(super) async fn new_account(store: &dyn Store) -> Account {
    let a = unique_account();
    insert(store, &a).await;
    a
}

/// A live session (created now, expiring in a day) with its refresh hash.
pub(super) async fn new_session(
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
pub(super) async fn feed_head(store: &dyn Store) -> i64 {
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
pub(super) async fn feed_after(store: &dyn Store, mut after: i64) -> Vec<FeedEntry> {
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
pub(super) async fn feed_for(store: &dyn Store, after: i64, account: AccountId) -> Vec<FeedEntry> {
    feed_after(store, after)
        .await
        .into_iter()
        .filter(|e| match &e.change {
            Change::SessionRevoked(_, a)
            | Change::AccountChanged(a)
            | Change::ApiKeyRevoked(_, a)
            | Change::OrgClaimsRevoked(_, a) => *a == account,
        })
        .collect()
}

/// The session ids of `SessionRevoked` entries; panics on any other entry.
pub(super) fn revoked_ids(entries: &[FeedEntry], account: AccountId) -> HashSet<SessionId> {
    entries
        .iter()
        .map(|e| match &e.change {
            Change::SessionRevoked(sid, acc) if *acc == account => *sid,
            other => panic!("expected SessionRevoked of {account:?}, got {other:?}"),
        })
        .collect()
}

/// How many entries are `AccountChanged(account)`, and the other entries.
pub(super) fn split_account_changed(
    entries: &[FeedEntry],
    account: AccountId,
) -> (usize, Vec<FeedEntry>) {
    let (changed, rest): (Vec<FeedEntry>, Vec<FeedEntry>) = entries
        .iter()
        .cloned()
        .partition(|e| e.change == Change::AccountChanged(account));
    (changed.len(), rest)
}

pub(super) async fn audit_of(store: &dyn Store, account: AccountId) -> Vec<AuditEvent> {
    store
        .audit(&AuditQuery {
            account_id: Some(account),
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .expect("audit")
}

pub(super) async fn audit_names(store: &dyn Store, account: AccountId) -> Vec<String> {
    audit_of(store, account)
        .await
        .into_iter()
        .map(|e| e.event)
        .collect()
}

/// The session of a [`Rotation::Rotated`] (else a failure).
pub(super) fn rotated(r: Rotation) -> Session {
    match r {
        Rotation::Rotated(session, _) => session,
        other => panic!("expected a rotation, got {other:?}"),
    }
}
