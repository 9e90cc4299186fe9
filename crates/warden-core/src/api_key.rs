//! API keys: the key format, verification (with a small cache), the usage log
//! (buffered and written in batches off the request path) and the engine
//! operations to create, list, renew and revoke keys.
//!
//! A key is `wdn_<id>_<secret>`: `<id>` is the key's UUID in URL-safe base64
//! (22 characters) and `<secret>` 256 random bits in URL-safe base64 (43
//! characters). Only the SHA-256 of the secret is stored; verification is one
//! lookup by id and a constant-time compare of the hashes.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use warden_core::{Auth, Error, NewAccount, Settings, model::ClientInfo, store::MemoryStore};
//! use warden_core::api_key::NewApiKey;
//! let mut settings = Settings::default();
//! settings.hash = warden_core::password::HashParams { memory_kib: 64, iterations: 1, parallelism: 1 };
//! let auth = Auth::new(Arc::new(MemoryStore::new()), settings).await?;
//! let by = ClientInfo::default();
//! let alice = auth.accounts().create_account(NewAccount::new("alice", "correct horse battery"), &by).await?;
//! let issued = auth.api_keys().create_api_key(alice.id, NewApiKey::named("ci"), &by).await?;
//! assert!(issued.key.starts_with("wdn_"));
//! let principal = auth.api_keys().authenticate_api_key(&issued.key, None, "GET", "/me").await?;
//! assert_eq!(principal.account.id, alice.id);
//! auth.api_keys().revoke_api_key(Some(alice.id), issued.record.id, &by).await?;
//! assert!(matches!(auth.api_keys().authenticate_api_key(&issued.key, None, "GET", "/me").await, Err(Error::InvalidApiKey)));
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```

use crate::accounts::{Accounts, check_usable, valid_scope};
use crate::error::{Error, FieldError, Result};
use crate::key_cache::ApiKeyState;
use crate::model::{Account, AccountId, ApiKeyId, ClientInfo};
use crate::random;
use crate::shared::Shared;
use crate::store::{ApiKey, ApiKeyQuery, ApiKeyStore, ApiKeyUsage, AuditStore};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Every key starts with this.
pub const KEY_PREFIX: &str = "wdn_";
/// Characters of the id part (16 bytes in URL-safe base64).
const ID_LEN: usize = 22;
/// Characters of the secret part (32 bytes in URL-safe base64).
const SECRET_LEN: usize = 43;
/// Length of a whole key string.
pub const KEY_LEN: usize = KEY_PREFIX.len() + ID_LEN + 1 + SECRET_LEN;
/// Longest lifetime a key may be given, in days.
pub const MAX_EXPIRY_DAYS: u32 = 3650;
/// Keys (not revoked, expired ones included) an account may hold.
pub const MAX_KEYS_PER_ACCOUNT: usize = 100;
/// Longest key name, in characters.
pub const NAME_MAX: usize = 100;
/// Longest request path recorded, in bytes.
const PATH_MAX: usize = 512;
/// Longest a read of a usage log waits for this node's buffered uses.
const USAGE_READ_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The two parts of a well-formed key string.
#[derive(Clone, Copy)]
pub struct ParsedKey<'a> {
    /// The key's id.
    pub id: ApiKeyId,
    secret: &'a str,
}

impl std::fmt::Debug for ParsedKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedKey")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Split a key string into id and secret; `None` unless it has the `wdn_` format.
///
/// ```
/// use warden_core::api_key::parse_key;
/// assert!(parse_key("wdn_nope").is_none());
/// assert!(parse_key("wrt_AZa0bc-_dEfGhIjKlMnOpQ_0123456789012345678901234567890123456789012").is_none());
/// ```
pub fn parse_key(key: &str) -> Option<ParsedKey<'_>> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    if rest.len() != ID_LEN + 1 + SECRET_LEN || !rest.is_ascii() {
        return None;
    }
    let (id, secret) = rest.split_at(ID_LEN);
    let secret = secret.strip_prefix('_')?;
    let mut buf = [0u8; 18];
    let n = URL_SAFE_NO_PAD.decode_slice(id, &mut buf).ok()?;
    let bytes: [u8; 16] = buf.get(..n)?.try_into().ok()?;
    Some(ParsedKey {
        id: ApiKeyId(uuid::Uuid::from_bytes(bytes)),
        secret,
    })
}

/// A new key string for `id` and the SHA-256 of its secret.
fn new_key(id: ApiKeyId) -> (String, [u8; 32]) {
    let secret = random::token(32);
    let hash = random::sha256(secret.as_bytes());
    let key = format!(
        "{KEY_PREFIX}{}_{secret}",
        URL_SAFE_NO_PAD.encode(id.0.as_bytes())
    );
    (key, hash)
}

/// Input of [`ApiKeys::create_api_key`].
#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    /// A name for the owner (1–100 characters).
    pub name: String,
    /// Scopes of the key; each must be one of the owner's. `None`: the owner's
    /// scopes at creation.
    pub scopes: Option<Vec<String>>,
    /// Days until it expires; `None`: the configured default; `0`: never
    /// (only when allowed by the settings).
    pub expires_in_days: Option<u32>,
}

impl NewApiKey {
    /// A key with a name and everything else default.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// A key just created: the record and the key string, which is shown once.
#[derive(Clone)]
pub struct IssuedApiKey {
    /// The stored record.
    pub record: ApiKey,
    /// The whole key (`wdn_...`); not stored anywhere.
    pub key: String,
}

impl std::fmt::Debug for IssuedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedApiKey")
            .field("record", &self.record)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// Who an API key authenticates: the key, its owner and its effective scopes
/// (the key's scopes that the owner still has).
#[derive(Debug, Clone)]
pub struct ApiKeyPrincipal {
    /// The key used.
    pub key_id: ApiKeyId,
    /// The owner (active and not blocked).
    pub account: Arc<Account>,
    /// The key's scopes intersected with the owner's current scopes.
    pub scopes: Arc<[String]>,
}

impl ApiKeyPrincipal {
    /// Whether the key grants a scope.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

fn valid_name(name: &str) -> Result<String> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > NAME_MAX {
        return Err(Error::field(
            "name",
            format!("must be 1 to {NAME_MAX} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::field("name", "must not contain control characters"));
    }
    Ok(name.to_owned())
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// API keys (see [`crate::Auth::api_keys`]).
#[derive(Clone)]
pub struct ApiKeys {
    pub(crate) store: Arc<dyn ApiKeyStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) state: Arc<ApiKeyState>,
    pub(crate) accounts: Accounts,
}

impl ApiKeys {
    pub(crate) fn api_key_expiry(
        &self,
        days: Option<u32>,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>> {
        let s = &self.shared.settings;
        let days = days.unwrap_or(s.api_key_ttl_days);
        if days == 0 {
            return if s.api_key_allow_no_expiry {
                Ok(None)
            } else {
                Err(Error::field(
                    "expires_in_days",
                    "must be at least 1: keys without expiry are not allowed",
                ))
            };
        }
        if days > MAX_EXPIRY_DAYS {
            return Err(Error::field(
                "expires_in_days",
                format!("must be at most {MAX_EXPIRY_DAYS}"),
            ));
        }
        Ok(Some(now + Duration::days(i64::from(days))))
    }

    /// Checked name, scopes and expiry of a new key. `scopes` absent:
    /// `default_scopes`. With `subset_of`, every scope must be one of that account's.
    pub(crate) fn check_new_key(
        &self,
        input: &NewApiKey,
        default_scopes: &[String],
        subset_of: Option<&Account>,
        now: OffsetDateTime,
    ) -> Result<(String, Vec<String>, Option<OffsetDateTime>)> {
        let mut errors = Vec::new();
        let name = match valid_name(&input.name) {
            Ok(n) => Some(n),
            Err(Error::Validation(v)) => {
                errors.extend(v);
                None
            }
            Err(e) => return Err(e),
        };
        let mut scopes = input
            .scopes
            .clone()
            .unwrap_or_else(|| default_scopes.to_vec());
        scopes.sort();
        scopes.dedup();
        for s in &scopes {
            if !valid_scope(s) {
                errors.push(FieldError::new("scopes", format!("invalid scope {s:?}")));
            } else if subset_of.is_some_and(|o| !o.has_scope(s)) {
                errors.push(FieldError::new(
                    "scopes",
                    format!("{s:?} is not a scope of the account"),
                ));
            }
        }
        let expires_at = match self.api_key_expiry(input.expires_in_days, now) {
            Ok(e) => Some(e),
            Err(Error::Validation(v)) => {
                errors.extend(v);
                None
            }
            Err(e) => return Err(e),
        };
        match (name, expires_at) {
            (Some(name), Some(expires_at)) if errors.is_empty() => Ok((name, scopes, expires_at)),
            _ => Err(Error::Validation(errors)),
        }
    }

    /// `validation_failed` on `name` when the account holds the most keys it may.
    pub(crate) async fn check_key_room(&self, account: AccountId) -> Result<()> {
        let live = self
            .store
            .list_api_keys(&ApiKeyQuery {
                account_id: Some(account),
                include_revoked: false,
                limit: MAX_KEYS_PER_ACCOUNT as u32,
            })
            .await?;
        if live.len() >= MAX_KEYS_PER_ACCOUNT {
            return Err(Error::field(
                "name",
                format!(
                    "an account may hold at most {MAX_KEYS_PER_ACCOUNT} API keys; revoke one first"
                ),
            ));
        }
        Ok(())
    }

    /// A new key record (and its string) and its `api_key.created` event.
    pub(crate) fn new_key_record(
        &self,
        account: AccountId,
        (name, scopes, expires_at): (String, Vec<String>, Option<OffsetDateTime>),
        now: OffsetDateTime,
        client: &ClientInfo,
    ) -> (IssuedApiKey, crate::model::AuditEvent) {
        let id = ApiKeyId::new();
        let (key, secret_hash) = new_key(id);
        let record = ApiKey {
            id,
            account_id: account,
            name,
            secret_hash,
            scopes,
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        let ev = self.shared.audit(
            "api_key.created",
            Some(account),
            client,
            serde_json::json!({
                "key_id": id, "name": record.name, "scopes": record.scopes,
                "expires_at": expires_at.map(|t| t.unix_timestamp()),
            }),
        );
        (IssuedApiKey { record, key }, ev)
    }

    /// Create an API key for an active, unblocked account. Requested scopes the
    /// owner does not have are refused (422 `validation_failed` on `scopes`).
    /// The returned key string is not stored: show it once.
    pub async fn create_api_key(
        &self,
        account: AccountId,
        input: NewApiKey,
        client: &ClientInfo,
    ) -> Result<IssuedApiKey> {
        let owner = self.accounts.account(account).await?;
        check_usable(&owner)?;
        let now = self.shared.now();
        let checked = self.check_new_key(&input, &owner.scopes, Some(&owner), now)?;
        self.check_key_room(account).await?;
        let (issued, ev) = self.new_key_record(account, checked, now, client);
        self.store.insert_api_key(&issued.record, &ev).await?;
        Ok(issued)
    }

    /// The account's keys that are not revoked (expired ones included), newest first.
    pub async fn list_api_keys(&self, account: AccountId) -> Result<Vec<ApiKey>> {
        self.store
            .list_api_keys(&ApiKeyQuery {
                account_id: Some(account),
                include_revoked: false,
                limit: 1000,
            })
            .await
    }

    /// Keys of every account, or of one (admin), revoked ones included, newest first.
    pub async fn admin_list_api_keys(&self, query: &ApiKeyQuery) -> Result<Vec<ApiKey>> {
        self.store.list_api_keys(query).await
    }

    /// A key by id; with `owner`, `NotFound` for another account's key.
    pub async fn api_key(&self, owner: Option<AccountId>, id: ApiKeyId) -> Result<ApiKey> {
        match self.store.api_key(id).await? {
            Some(k) if owner.is_none_or(|o| o == k.account_id) => Ok(k),
            _ => Err(Error::NotFound),
        }
    }

    /// Revoke a key: refused from the very next request on this node, and on
    /// other nodes at their next feed sync. With `owner`, only that account's
    /// keys (`NotFound` otherwise); without, any key (admin). `NotFound` for a
    /// key already revoked.
    pub async fn revoke_api_key(
        &self,
        owner: Option<AccountId>,
        id: ApiKeyId,
        client: &ClientInfo,
    ) -> Result<()> {
        let k = self.api_key(owner, id).await?;
        if k.revoked_at.is_some() {
            return Err(Error::NotFound);
        }
        let ev = self.shared.audit(
            "api_key.revoked",
            Some(k.account_id),
            client,
            serde_json::json!({
                "key_id": id, "name": k.name,
                "by": if owner.is_some() { "owner" } else { "admin" },
            }),
        );
        let done = self.store.revoke_api_key(id, self.shared.now(), &ev).await;
        self.state.forget(id);
        if !done? {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// Give a key that is not revoked a new expiry, counted from now (`None`:
    /// the configured default). Expired keys may be renewed.
    pub async fn renew_api_key(
        &self,
        owner: Option<AccountId>,
        id: ApiKeyId,
        expires_in_days: Option<u32>,
        client: &ClientInfo,
    ) -> Result<ApiKey> {
        let mut k = self.api_key(owner, id).await?;
        if k.revoked_at.is_some() {
            return Err(Error::NotFound);
        }
        let expires_at = self.api_key_expiry(expires_in_days, self.shared.now())?;
        let ev = self.shared.audit(
            "api_key.renewed",
            Some(k.account_id),
            client,
            serde_json::json!({
                "key_id": id,
                "expires_at": expires_at.map(|t| t.unix_timestamp()),
            }),
        );
        let done = self.store.renew_api_key(id, expires_at, &ev).await;
        self.state.forget(id);
        if !done? {
            return Err(Error::NotFound);
        }
        k.expires_at = expires_at;
        Ok(k)
    }

    /// The usage log of a key, newest first, at most `limit` and at most the
    /// `api_key_usage_keep` newest; with `owner`, only that account's key. The
    /// uses this node has buffered are written first (waiting at most a second).
    pub async fn api_key_usage(
        &self,
        owner: Option<AccountId>,
        id: ApiKeyId,
        limit: u32,
    ) -> Result<Vec<ApiKeyUsage>> {
        self.api_key(owner, id).await?;
        self.state.flush(USAGE_READ_WAIT).await;
        let keep = self.shared.settings.api_key_usage_keep;
        // A log may hold a few more than `keep` between prunes (see key_cache).
        let limit = if keep > 0 { limit.min(keep) } else { limit };
        self.store.api_key_usage(id, limit).await
    }

    /// Usage records dropped so far because the buffer was full.
    pub fn api_key_usage_dropped(&self) -> u64 {
        self.state.dropped()
    }

    /// Wait until every usage record queued so far has been handed to the
    /// store (a flush hook for tests and shutdown; gives up after `limit`).
    /// Answers whether the buffer was flushed in time.
    pub async fn flush_api_key_usage(&self, limit: std::time::Duration) -> bool {
        self.state.flush(limit).await
    }

    /// Verify an API key and record its use (time, `ip`, `method`, `path`)
    /// without waiting for the store. Unknown, malformed, revoked and expired
    /// keys are `InvalidApiKey` (revoked and expired ones are audited as
    /// `api_key.rejected`); a blocked or inactive owner is `AccountBlocked` /
    /// `AccountInactive`; a deleted owner `InvalidApiKey`.
    ///
    /// A verified record is cached for at most 30 s; a revoke on this node
    /// clears it at once, on other nodes at their next [`crate::Upkeep::sync`].
    pub async fn authenticate_api_key(
        &self,
        key: &str,
        ip: Option<&str>,
        method: &str,
        path: &str,
    ) -> Result<ApiKeyPrincipal> {
        let parsed = parse_key(key).ok_or(Error::InvalidApiKey)?;
        let hash = random::sha256(parsed.secret.as_bytes());
        let now = self.shared.now();
        let state = &self.state;
        let (record, scopes) = match state.cached(parsed.id, now) {
            Some(hit) => hit,
            None => {
                let generation = state.generation();
                let Some(k) = self.store.api_key(parsed.id).await? else {
                    return Err(Error::InvalidApiKey);
                };
                if k.is_live(now) {
                    state.insert(k, generation, now)
                } else {
                    let scopes: Arc<[String]> = k.scopes.clone().into();
                    (Arc::new(k), scopes)
                }
            }
        };
        if !random::ct_eq(&hash, &record.secret_hash) {
            return Err(Error::InvalidApiKey);
        }
        if !record.is_live(now) {
            let reason = if record.revoked_at.is_some() {
                "revoked"
            } else {
                "expired"
            };
            self.api_key_rejected(&record, reason, ip, now).await;
            return Err(Error::InvalidApiKey);
        }
        let account = match self.accounts.account(record.account_id).await {
            Ok(a) => a,
            Err(Error::NotFound) => return Err(Error::InvalidApiKey),
            Err(e) => return Err(e),
        };
        check_usable(&account)?;
        let scopes = if scopes.iter().all(|s| account.has_scope(s)) {
            scopes
        } else {
            scopes
                .iter()
                .filter(|s| account.has_scope(s))
                .cloned()
                .collect()
        };
        let keep = self.shared.settings.api_key_usage_keep;
        if keep > 0 {
            state.record(
                &self.store,
                keep,
                ApiKeyUsage {
                    key_id: record.id,
                    at: now,
                    ip: ip.map(str::to_owned),
                    method: truncate(method, 16),
                    path: truncate(path, PATH_MAX),
                },
            );
        }
        Ok(ApiKeyPrincipal {
            key_id: record.id,
            account,
            scopes,
        })
    }

    async fn api_key_rejected(
        &self,
        key: &ApiKey,
        reason: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) {
        self.state.forget(key.id);
        if !self.state.audit_rejection(key.id, now) {
            return;
        }
        let client = ClientInfo {
            ip: ip.map(str::to_owned),
            ..ClientInfo::default()
        };
        let ev = self.shared.audit(
            "api_key.rejected",
            Some(key.account_id),
            &client,
            serde_json::json!({"key_id": key.id, "reason": reason}),
        );
        if let Err(e) = self.audit.append_audit(&ev).await {
            tracing::warn!(error = %e, "cannot audit a rejected API key");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn format_round_trips() {
        let id = ApiKeyId::new();
        let (key, hash) = new_key(id);
        assert_eq!(key.len(), KEY_LEN);
        assert!(key.starts_with(KEY_PREFIX));
        let p = parse_key(&key).unwrap();
        assert_eq!(p.id, id);
        assert_eq!(random::sha256(p.secret.as_bytes()), hash);
        assert!(!format!("{p:?}").contains(p.secret));
        let (other, _) = new_key(id);
        assert_ne!(key, other, "fresh randomness every time");
    }

    #[test]
    fn malformed_keys_are_refused() {
        let (key, _) = new_key(ApiKeyId::new());
        assert!(parse_key(&key[1..]).is_none());
        assert!(parse_key(&key[..key.len() - 1]).is_none());
        assert!(parse_key(&format!("{key}x")).is_none());
        let mut bad_sep = key.clone().into_bytes();
        bad_sep[KEY_PREFIX.len() + ID_LEN] = b'-';
        assert!(parse_key(&String::from_utf8(bad_sep).unwrap()).is_none());
        let bad_id = format!(
            "{KEY_PREFIX}{}{}",
            "!".repeat(ID_LEN),
            &key[KEY_PREFIX.len() + ID_LEN..]
        );
        assert!(parse_key(&bad_id).is_none());
        assert!(parse_key("").is_none());
        assert!(parse_key(&"é".repeat(40)).is_none());
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(valid_name("  ci  ").unwrap(), "ci");
        assert!(valid_name("").is_err());
        assert!(valid_name(&"x".repeat(NAME_MAX + 1)).is_err());
        assert!(valid_name("a\nb").is_err());
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("ab", 5), "ab");
    }
}
