//! Storage of API keys and their usage log.

use crate::error::Result;
use crate::model::{Account, AccountId, ApiKeyId, AuditEvent};
use async_trait::async_trait;
use std::fmt;
use time::OffsetDateTime;

/// A stored API key. Only the SHA-256 of its secret is kept; `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Public id (also inside the key string).
    pub id: ApiKeyId,
    /// Owner.
    pub account_id: AccountId,
    /// A name the owner gave it.
    pub name: String,
    /// SHA-256 of the secret part of the key.
    pub secret_hash: [u8; 32],
    /// Scopes granted to the key (at most the owner's; intersected again at use).
    pub scopes: Vec<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// End of validity; `None` never expires.
    pub expires_at: Option<OffsetDateTime>,
    /// When revoked, if revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("name", &self.name)
            .field("secret_hash", &"[redacted]")
            .field("scopes", &self.scopes)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}

impl ApiKey {
    /// Whether the key can be used at `now` (not revoked, not expired).
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// One authenticated use of an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyUsage {
    /// The key used.
    pub key_id: ApiKeyId,
    /// When.
    pub at: OffsetDateTime,
    /// Client IP, if known.
    pub ip: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Request path (never the query string).
    pub path: String,
}

/// Filter of API-key listings.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyQuery {
    /// Only keys of this account.
    pub account_id: Option<AccountId>,
    /// Also revoked keys.
    pub include_revoked: bool,
    /// At most this many, newest first.
    pub limit: u32,
}

/// API keys and their usage log.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Insert a new key and its audit event in one transaction. `NotFound` when
    /// the owner does not exist.
    async fn insert_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> Result<()>;
    /// Insert `key` and make its owner hold the key's scopes, with the `audit`
    /// events, in one transaction. With `new_owner` (whose id is the key's
    /// `account_id`), that account is inserted first (`LoginTaken` /
    /// `EmailTaken` on a conflict, and then nothing is written). Without, the
    /// stored owner (`NotFound` when absent) gains the key's scopes it lacks
    /// and, when that changes it, [`super::Change::AccountChanged`] is
    /// appended to the feed.
    async fn insert_api_key_with_owner(
        &self,
        new_owner: Option<&Account>,
        key: &ApiKey,
        audit: &[AuditEvent],
    ) -> Result<()>;
    /// By id (also revoked or expired ones).
    async fn api_key(&self, id: ApiKeyId) -> Result<Option<ApiKey>>;
    /// Keys newest first (by `created_at`, then id).
    async fn list_api_keys(&self, query: &ApiKeyQuery) -> Result<Vec<ApiKey>>;
    /// Revoke a key that is not revoked yet: set `revoked_at`, append
    /// [`super::Change::ApiKeyRevoked`] to the feed and record `audit`, in one
    /// transaction. False when the key is absent or already revoked.
    async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Set a new `expires_at` of a key that is not revoked, with its audit event.
    /// False when the key is absent or revoked.
    async fn renew_api_key(
        &self,
        id: ApiKeyId,
        expires_at: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Append usage records in one transaction (records of keys that no longer
    /// exist are skipped) and in it delete all but the `keep` newest records of
    /// each key of `prune` (other keys' logs are left as they are, so a log may
    /// hold more than `keep` between prunes). Returns how many records were stored.
    async fn append_api_key_usage(
        &self,
        batch: &[ApiKeyUsage],
        prune: &[ApiKeyId],
        keep: u32,
    ) -> Result<u64>;
    /// Usage of a key, newest first (by `at`, then insertion order), at most `limit`.
    async fn api_key_usage(&self, id: ApiKeyId, limit: u32) -> Result<Vec<ApiKeyUsage>>;
}
