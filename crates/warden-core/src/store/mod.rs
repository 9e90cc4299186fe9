//! Storage capability traits. Every backend (memory, SQLite, PostgreSQL, ...)
//! implements them and passes the one conformance suite in [`conformance`].
//!
//! Contract shared by all methods:
//! - a write that records an audit event writes it in the same transaction;
//! - a method that revokes sessions appends one [`Change::SessionRevoked`] per
//!   session to the change feed in the same transaction, so that every node's
//!   in-memory revocation set learns of it (a session store kept apart, e.g.
//!   in Redis, writes both to the main store right after its own change:
//!   [`SessionBackend`], [`ChangeFeed::append_changes`]);
//! - uniqueness violations come back as [`Error::LoginTaken`] / [`Error::EmailTaken`];
//! - storage failures come back as [`Error::Unavailable`] or [`Error::Internal`].

use crate::error::Result;
use crate::model::{Account, AccountId, AuditEvent, Session, SessionId, StoredKey};
use async_trait::async_trait;
use time::OffsetDateTime;

mod memory;
pub use memory::MemoryStore;
mod api_keys;
pub use api_keys::{ApiKey, ApiKeyQuery, ApiKeyStore, ApiKeyUsage};
mod mfa;
pub use mfa::{ActiveTotp, MfaChallenge, MfaStore};
mod layered;
pub use layered::{FeedHook, Layered, SessionBackend};
mod one_time;
pub use one_time::{ConsumedToken, OneTimeTokenStore, TokenKind};
mod identities;
pub use identities::{Identity, IdentityStore};
mod passkeys;
pub use passkeys::{Passkey, PasskeyStore};
mod provider;
pub use provider::{AuthCode, CodeGrant, CodeUse, Consent, OAuthClient, ProviderStore};
mod organizations;
pub use organizations::{
    ActiveOrganization, BUILTIN_ROLES, Invitation, InvitationState, Membership, OrgRole,
    Organization, OrganizationStore, is_builtin_role,
};

#[cfg(feature = "conformance")]
pub mod conformance;

/// Which sessions a write revokes along with its change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke {
    /// None.
    Nothing,
    /// Every live session of the account.
    All,
    /// Every live session of the account except this one.
    AllExcept(SessionId),
}

/// Outcome of an atomic refresh-token rotation.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    /// The token was current: it is now used and the new hash is current;
    /// with what the rotation read of the organization the session acts for.
    Rotated(Session, ActiveOrg),
    /// The token had already been rotated: the session is now revoked.
    Reused(Session),
    /// Unknown token, or its session is revoked or expired.
    Invalid,
}

/// The organization a rotated session acts for, as its rotation read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveOrg {
    /// Not read: this session store does not keep it (sessions kept apart
    /// from the main store, [`SessionBackend`]); ask
    /// [`OrganizationStore::active_organization`].
    Unread,
    /// [`OrganizationStore::active_organization`] of the session, read in
    /// the rotation's transaction.
    Read(Option<ActiveOrganization>),
}

/// One entry of the change feed that keeps every node's caches fresh.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    /// A session was revoked at a time.
    SessionRevoked(SessionId, AccountId),
    /// An account row changed or was deleted.
    AccountChanged(AccountId),
    /// An API key (of an account) was revoked.
    ApiKeyRevoked(crate::model::ApiKeyId, AccountId),
    /// The organization claims of a session (of the account) are stale: its
    /// access tokens with organization claims of an older
    /// [`ActiveOrganization::epoch`] are refused.
    OrgClaimsRevoked(SessionId, AccountId),
}

/// A change feed entry with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// Monotonic sequence; `changes_since(seq)` returns entries after it.
    pub seq: i64,
    /// What changed.
    pub change: Change,
    /// When.
    pub at: OffsetDateTime,
}

/// Page request for account listings.
#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    /// Case-insensitive substring of login or email.
    pub search: Option<String>,
    /// Return accounts with id greater than this (cursor pagination).
    pub after: Option<AccountId>,
    /// At most this many.
    pub limit: u32,
}

/// A stored account that does not hold the key or the skeleton of the current
/// login rules because an older account already does (see
/// [`AccountStore::prepare_logins`]). It keeps working: it keeps its old key
/// (the login lower-cased) when the new key is taken, and has no skeleton.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCollision {
    /// The account that could not get them.
    pub account_id: AccountId,
    /// Its login.
    pub login: String,
    /// The account that holds them (None if it went away meanwhile).
    pub with_id: Option<AccountId>,
    /// That account's login.
    pub with_login: Option<String>,
    /// Whether its new key is taken too (it then keeps its old key).
    pub key_taken: bool,
}

/// Audit trail filter.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this account.
    pub account_id: Option<AccountId>,
    /// At or after.
    pub from: Option<OffsetDateTime>,
    /// Before.
    pub to: Option<OffsetDateTime>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// Accounts.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Insert a new account. `LoginTaken` (the login's key or skeleton is
    /// another account's) / `EmailTaken` on conflicts.
    async fn insert_account(&self, account: &Account, audit: &AuditEvent) -> Result<()>;
    /// By id.
    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>>;
    /// By login key ([`crate::model::normalize_login`]; accounts of
    /// [`LoginCollision`]s also by their old key, the login lower-cased).
    async fn account_by_login(&self, login_key: &str) -> Result<Option<Account>>;
    /// By TR39 confusable skeleton ([`crate::login_rules::login_skeleton`]).
    /// Skeletons are unique: inserting an account, or renaming one, to a login
    /// whose key or skeleton another account holds is `LoginTaken`.
    async fn account_by_login_skeleton(&self, skeleton: &str) -> Result<Option<Account>>;
    /// Bring accounts stored before the current login rules up to them: give
    /// each its key and skeleton, oldest account first, and report those that
    /// cannot get them because another account holds them (they are never
    /// merged, renamed or disabled). Idempotent; SQL stores run it at connect.
    async fn prepare_logins(&self) -> Result<Vec<LoginCollision>>;
    /// By normalized (lower-case) email.
    async fn account_by_email(&self, email_key: &str) -> Result<Option<Account>>;
    /// Replace the stored row with `account` (matched by id), revoke sessions as
    /// asked, and record `audit` events, all in one transaction. `NotFound` if gone.
    /// `mfa_enabled` is left as stored: only the [`MfaStore`] operations change it,
    /// so a write from a cached copy can never switch a second factor back on or off.
    async fn update_account(
        &self,
        account: &Account,
        revoke: Revoke,
        now: OffsetDateTime,
        audit: &[AuditEvent],
    ) -> Result<()>;
    /// Replace the account's password hash with `new` if it is still `old` (a
    /// compare-and-swap: a password change that came first wins), setting
    /// `updated_at` to `now` and writing `audit` and a
    /// [`Change::AccountChanged`] entry in the same transaction. False, and
    /// nothing written, when the account is gone or its hash is no longer `old`.
    async fn replace_password_hash(
        &self,
        id: AccountId,
        old: &str,
        new: &str,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Delete an account, revoking (feed) and deleting its sessions. False if absent.
    async fn delete_account(
        &self,
        id: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Accounts ordered by id.
    async fn list_accounts(&self, query: &AccountQuery) -> Result<Vec<Account>>;
}

/// The audit event of a session revoked by
/// [`SessionStore::create_session_capped`]: `template` with `session_id` set
/// in its detail.
pub fn evicted_event(template: &AuditEvent, session: SessionId) -> AuditEvent {
    let mut ev = template.clone();
    match ev.detail.as_object_mut() {
        Some(d) => {
            d.insert("session_id".into(), serde_json::json!(session));
        }
        None => ev.detail = serde_json::json!({ "session_id": session }),
    }
    ev
}

/// Sessions and their refresh tokens.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Create a session with its first refresh-token hash.
    async fn create_session(
        &self,
        session: &Session,
        refresh_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> Result<()>;
    /// [`SessionStore::create_session`] that keeps at most `max_live` (at
    /// least 1) live sessions of the account, the new one included: when
    /// more would be live at `session.created_at`, the least recently used
    /// others (oldest `last_seen_at`, then `created_at`, then id) are revoked
    /// in the same transaction, each with a [`Change::SessionRevoked`] feed
    /// entry and the audit event [`evicted_event`]`(evicted, id)`. Concurrent
    /// calls for one account never leave more than `max_live` live sessions.
    /// Returns the revoked sessions' ids, least recently used first.
    async fn create_session_capped(
        &self,
        session: &Session,
        refresh_hash: &[u8; 32],
        audit: &AuditEvent,
        max_live: u32,
        evicted: &AuditEvent,
    ) -> Result<Vec<SessionId>>;
    /// By id (also revoked or expired ones, until pruned).
    async fn session(&self, id: SessionId) -> Result<Option<Session>>;
    /// Live sessions of an account at `now`, newest first.
    async fn live_sessions(&self, account: AccountId, now: OffsetDateTime) -> Result<Vec<Session>>;
    /// Atomically rotate: if `old_hash` is the current token of a live session,
    /// mark it used, make `new_hash` current, update `last_seen_at`/ip/user agent
    /// and audit `token.refresh`; if it was already used, revoke the session and
    /// audit `token.refresh_reused`. Exactly one of two concurrent calls with the
    /// same token can get [`Rotation::Rotated`].
    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        now: OffsetDateTime,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<Rotation>;
    /// Revoke one session (if live). True if it was live.
    async fn revoke_session(
        &self,
        id: SessionId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Revoke sessions of an account as `revoke` says; returns how many.
    async fn revoke_sessions(
        &self,
        account: AccountId,
        revoke: Revoke,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<u64>;
    /// Replace the refresh token of a live session: every unused token of the
    /// session is marked used (so presenting it later counts as reuse) and
    /// `new_hash` becomes current. False when the session is not live.
    async fn reissue_refresh(
        &self,
        id: SessionId,
        new_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// Set `last_seen_at` of a session to `now`.
    async fn touch_session(&self, id: SessionId, now: OffsetDateTime) -> Result<()>;
    /// Delete sessions and tokens that ended before `before`, and feed entries
    /// older than `feed_before`. Returns rows deleted.
    async fn prune(&self, before: OffsetDateTime, feed_before: OffsetDateTime) -> Result<u64>;
}

/// The change feed.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Entries with `seq > after`, oldest first, at most `limit`.
    async fn changes_since(&self, after: i64, limit: u32) -> Result<Vec<FeedEntry>>;
    /// Append `changes` (all at `at`) and the `audit` events in one
    /// transaction: the feed and audit writes of a change made outside this
    /// store, e.g. a revocation of a session kept in Redis
    /// ([`SessionBackend`]).
    async fn append_changes(
        &self,
        changes: &[Change],
        at: OffsetDateTime,
        audit: &[AuditEvent],
    ) -> Result<()>;
}

/// The audit trail (append-only).
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Append one event on its own (for events without a state change).
    async fn append_audit(&self, event: &AuditEvent) -> Result<()>;
    /// Query, newest first.
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>>;
    /// Delete events older than `before`; returns how many.
    async fn prune_audit(&self, before: OffsetDateTime) -> Result<u64>;
}

/// Signing keys and small server settings (generated secrets).
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every stored key, oldest first.
    async fn signing_keys(&self) -> Result<Vec<StoredKey>>;
    /// Add a key; when `retire_others` is set, every other unretired key is retired at that time.
    async fn add_signing_key(
        &self,
        key: &StoredKey,
        retire_others: Option<OffsetDateTime>,
    ) -> Result<()>;
    /// Read a setting.
    async fn setting(&self, name: &str) -> Result<Option<String>>;
    /// Store `value` unless the setting exists; returns the stored value either way.
    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String>;
}

/// Lockout counters. Operations are atomic per key.
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Reserve one attempt for `key`. Fails with the seconds to wait when the key
    /// is locked, or when `max` attempts are already failed or in flight.
    async fn attempt_begin(&self, key: &str, now: OffsetDateTime, max: u32) -> Result<AttemptGate>;
    /// The reserved attempt failed. When failures reach `max`, lock for
    /// `base_window * 2^n` (n = earlier locks since the last success); returns the lock seconds.
    async fn attempt_failed(
        &self,
        key: &str,
        now: OffsetDateTime,
        max: u32,
        base_window_secs: u64,
    ) -> Result<Option<u64>>;
    /// The reserved attempt succeeded (or an admin cleared it): forget the key.
    async fn attempt_clear(&self, key: &str) -> Result<()>;
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptGate {
    /// Go ahead; report the outcome with `attempt_failed` or `attempt_clear`.
    Allowed,
    /// Locked: retry after this many seconds.
    Locked(u64),
}

/// Everything a backend provides.
#[async_trait]
pub trait Store:
    AccountStore
    + SessionStore
    + ChangeFeed
    + AuditStore
    + KeyStore
    + CounterStore
    + MfaStore
    + ApiKeyStore
    + OneTimeTokenStore
    + IdentityStore
    + PasskeyStore
    + ProviderStore
    + OrganizationStore
{
    /// Whether the backend answers (for `/readyz`).
    async fn ping(&self) -> Result<()>;
    /// A short backend name (`memory`, `sqlite`, `postgres`).
    fn backend(&self) -> &'static str;
}
