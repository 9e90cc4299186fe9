//! A store assembled from parts: every capability of a base store, with the
//! lockout counters of another backend (e.g. PostgreSQL + Redis counters).

use super::*;
use crate::model::ApiKeyId;
use std::sync::Arc;

/// Called after a write that appended to the change feed succeeded.
pub type FeedHook = Arc<dyn Fn() + Send + Sync>;

/// [`Store`] that delegates everything to `base`, except the [`CounterStore`]
/// operations, which go to `counters`. After a successful write that may
/// append to the change feed (revocations, account changes, API key
/// revocations), the optional feed hook runs, so other nodes can be woken up
/// instead of waiting for their next poll.
pub struct Layered {
    base: Arc<dyn Store>,
    counters: Arc<dyn CounterStore>,
    on_feed_write: Option<FeedHook>,
}

impl Layered {
    /// Combine `base` with `counters`.
    pub fn new(base: Arc<dyn Store>, counters: Arc<dyn CounterStore>) -> Self {
        Self {
            base,
            counters,
            on_feed_write: None,
        }
    }

    /// Run `hook` after every successful write that may append to the change feed.
    /// It must not block (e.g. send on a channel).
    pub fn with_feed_hook(mut self, hook: FeedHook) -> Self {
        self.on_feed_write = Some(hook);
        self
    }

    /// The base store.
    pub fn base(&self) -> &Arc<dyn Store> {
        &self.base
    }

    fn feed_written(&self) {
        if let Some(hook) = &self.on_feed_write {
            hook();
        }
    }
}

#[async_trait]
impl Store for Layered {
    async fn ping(&self) -> Result<()> {
        self.base.ping().await
    }

    fn backend(&self) -> &'static str {
        self.base.backend()
    }
}

#[async_trait]
impl AccountStore for Layered {
    async fn insert_account(&self, account: &Account, audit: &AuditEvent) -> Result<()> {
        self.base.insert_account(account, audit).await
    }

    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>> {
        self.base.account_by_id(id).await
    }

    async fn account_by_login(&self, login_key: &str) -> Result<Option<Account>> {
        self.base.account_by_login(login_key).await
    }

    async fn account_by_email(&self, email_key: &str) -> Result<Option<Account>> {
        self.base.account_by_email(email_key).await
    }

    async fn update_account(
        &self,
        account: &Account,
        revoke: Revoke,
        now: OffsetDateTime,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let r = self.base.update_account(account, revoke, now, audit).await;
        if r.is_ok() {
            self.feed_written();
        }
        r
    }

    async fn delete_account(
        &self,
        id: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let r = self.base.delete_account(id, now, audit).await;
        if r.is_ok() {
            self.feed_written();
        }
        r
    }

    async fn list_accounts(&self, query: &AccountQuery) -> Result<Vec<Account>> {
        self.base.list_accounts(query).await
    }
}

#[async_trait]
impl SessionStore for Layered {
    async fn create_session(
        &self,
        session: &Session,
        refresh_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> Result<()> {
        self.base.create_session(session, refresh_hash, audit).await
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>> {
        self.base.session(id).await
    }

    async fn live_sessions(&self, account: AccountId, now: OffsetDateTime) -> Result<Vec<Session>> {
        self.base.live_sessions(account, now).await
    }

    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        now: OffsetDateTime,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<Rotation> {
        let r = self
            .base
            .rotate_refresh(old_hash, new_hash, now, ip, user_agent)
            .await;
        if r.is_ok() {
            self.feed_written();
        }
        r
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let r = self.base.revoke_session(id, now, audit).await;
        if r.is_ok() {
            self.feed_written();
        }
        r
    }

    async fn revoke_sessions(
        &self,
        account: AccountId,
        revoke: Revoke,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<u64> {
        let r = self.base.revoke_sessions(account, revoke, now, audit).await;
        if r.is_ok() {
            self.feed_written();
        }
        r
    }

    async fn reissue_refresh(
        &self,
        id: SessionId,
        new_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool> {
        self.base.reissue_refresh(id, new_hash, now).await
    }

    async fn touch_session(&self, id: SessionId, now: OffsetDateTime) -> Result<()> {
        self.base.touch_session(id, now).await
    }

    async fn prune(&self, before: OffsetDateTime, feed_before: OffsetDateTime) -> Result<u64> {
        self.base.prune(before, feed_before).await
    }
}

#[async_trait]
impl ChangeFeed for Layered {
    async fn changes_since(&self, after: i64, limit: u32) -> Result<Vec<FeedEntry>> {
        self.base.changes_since(after, limit).await
    }
}

#[async_trait]
impl AuditStore for Layered {
    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        self.base.append_audit(event).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.base.audit(query).await
    }

    async fn prune_audit(&self, before: OffsetDateTime) -> Result<u64> {
        self.base.prune_audit(before).await
    }
}

#[async_trait]
impl KeyStore for Layered {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        self.base.signing_keys().await
    }

    async fn add_signing_key(
        &self,
        key: &StoredKey,
        retire_others: Option<OffsetDateTime>,
    ) -> Result<()> {
        self.base.add_signing_key(key, retire_others).await
    }

    async fn setting(&self, name: &str) -> Result<Option<String>> {
        self.base.setting(name).await
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        self.base.setting_or_insert(name, value).await
    }
}

#[async_trait]
impl CounterStore for Layered {
    async fn attempt_begin(&self, key: &str, now: OffsetDateTime, max: u32) -> Result<AttemptGate> {
        self.counters.attempt_begin(key, now, max).await
    }

    async fn attempt_failed(
        &self,
        key: &str,
        now: OffsetDateTime,
        max: u32,
        base_window_secs: u64,
    ) -> Result<Option<u64>> {
        self.counters
            .attempt_failed(key, now, max, base_window_secs)
            .await
    }

    async fn attempt_clear(&self, key: &str) -> Result<()> {
        self.counters.attempt_clear(key).await
    }
}

#[async_trait]
impl MfaStore for Layered {
    async fn set_pending_totp(
        &self,
        account: AccountId,
        secret: &[u8],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<()> {
        self.base
            .set_pending_totp(account, secret, now, audit)
            .await
    }

    async fn pending_totp(&self, account: AccountId) -> Result<Option<Vec<u8>>> {
        self.base.pending_totp(account).await
    }

    async fn active_totp(&self, account: AccountId) -> Result<Option<ActiveTotp>> {
        self.base.active_totp(account).await
    }

    async fn enable_totp(
        &self,
        account: AccountId,
        secret: &[u8],
        step: i64,
        recovery_hashes: &[[u8; 32]],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let r = self
            .base
            .enable_totp(account, secret, step, recovery_hashes, now, audit)
            .await;
        if r.is_ok() {
            self.feed_written();
        }
        r
    }

    async fn disable_totp(
        &self,
        account: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let r = self.base.disable_totp(account, now, audit).await;
        if r.is_ok() {
            self.feed_written();
        }
        r
    }

    async fn use_totp_step(&self, account: AccountId, step: i64) -> Result<bool> {
        self.base.use_totp_step(account, step).await
    }

    async fn use_recovery_code(&self, account: AccountId, hash: &[u8; 32]) -> Result<Option<u32>> {
        self.base.use_recovery_code(account, hash).await
    }

    async fn recovery_codes_left(&self, account: AccountId) -> Result<u32> {
        self.base.recovery_codes_left(account).await
    }

    async fn create_mfa_challenge(&self, hash: &[u8; 32], challenge: &MfaChallenge) -> Result<()> {
        self.base.create_mfa_challenge(hash, challenge).await
    }

    async fn begin_mfa_attempt(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
        max: u32,
    ) -> Result<Option<MfaChallenge>> {
        self.base.begin_mfa_attempt(hash, now, max).await
    }

    async fn mfa_attempt_failed(&self, hash: &[u8; 32], max: u32) -> Result<u32> {
        self.base.mfa_attempt_failed(hash, max).await
    }

    async fn take_mfa_challenge(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<MfaChallenge>> {
        self.base.take_mfa_challenge(hash, now).await
    }

    async fn prune_mfa_challenges(&self, before: OffsetDateTime) -> Result<u64> {
        self.base.prune_mfa_challenges(before).await
    }
}

#[async_trait]
impl ApiKeyStore for Layered {
    async fn insert_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> Result<()> {
        self.base.insert_api_key(key, audit).await
    }

    async fn api_key(&self, id: ApiKeyId) -> Result<Option<ApiKey>> {
        self.base.api_key(id).await
    }

    async fn list_api_keys(&self, query: &ApiKeyQuery) -> Result<Vec<ApiKey>> {
        self.base.list_api_keys(query).await
    }

    async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let r = self.base.revoke_api_key(id, now, audit).await;
        if r.is_ok() {
            self.feed_written();
        }
        r
    }

    async fn renew_api_key(
        &self,
        id: ApiKeyId,
        expires_at: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        self.base.renew_api_key(id, expires_at, audit).await
    }

    async fn append_api_key_usage(&self, batch: &[ApiKeyUsage], keep: u32) -> Result<u64> {
        self.base.append_api_key_usage(batch, keep).await
    }

    async fn api_key_usage(&self, id: ApiKeyId, limit: u32) -> Result<Vec<ApiKeyUsage>> {
        self.base.api_key_usage(id, limit).await
    }
}

#[async_trait]
impl OneTimeTokenStore for Layered {
    #[allow(clippy::too_many_arguments)]
    async fn issue(
        &self,
        kind: TokenKind,
        hash: &[u8; 32],
        account: AccountId,
        issued_at: OffsetDateTime,
        expires_at: OffsetDateTime,
        payload: Option<&str>,
        audit: &AuditEvent,
    ) -> Result<()> {
        self.base
            .issue(kind, hash, account, issued_at, expires_at, payload, audit)
            .await
    }

    async fn consume(
        &self,
        kind: TokenKind,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<ConsumedToken>> {
        self.base.consume(kind, hash, now).await
    }

    async fn revoke_for_account(&self, account: AccountId, kinds: &[TokenKind]) -> Result<u64> {
        self.base.revoke_for_account(account, kinds).await
    }

    async fn last_issued_at(
        &self,
        kind: TokenKind,
        account: AccountId,
    ) -> Result<Option<OffsetDateTime>> {
        self.base.last_issued_at(kind, account).await
    }

    async fn prune_one_time(&self, before: OffsetDateTime) -> Result<u64> {
        self.base.prune_one_time(before).await
    }
}

#[async_trait]
impl IdentityStore for Layered {
    async fn link_identity(&self, identity: &Identity, audit: &AuditEvent) -> Result<()> {
        self.base.link_identity(identity, audit).await
    }

    async fn identity_by_subject(&self, provider: &str, subject: &str) -> Result<Option<Identity>> {
        self.base.identity_by_subject(provider, subject).await
    }

    async fn identities_of(&self, account: AccountId) -> Result<Vec<Identity>> {
        self.base.identities_of(account).await
    }

    async fn unlink_identity(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        audit: &AuditEvent,
    ) -> Result<bool> {
        self.base.unlink_identity(account, id, audit).await
    }

    async fn put_oauth_state(
        &self,
        hash: &[u8; 32],
        payload: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        self.base.put_oauth_state(hash, payload, expires_at).await
    }

    async fn take_oauth_state(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<String>> {
        self.base.take_oauth_state(hash, now).await
    }

    async fn prune_oauth_states(&self, before: OffsetDateTime) -> Result<u64> {
        self.base.prune_oauth_states(before).await
    }
}

#[async_trait]
impl PasskeyStore for Layered {
    async fn insert_passkey(&self, passkey: &Passkey, audit: &AuditEvent) -> Result<()> {
        self.base.insert_passkey(passkey, audit).await
    }

    async fn insert_account_with_passkey(
        &self,
        account: &Account,
        passkey: &Passkey,
        audit: &[AuditEvent],
    ) -> Result<()> {
        self.base
            .insert_account_with_passkey(account, passkey, audit)
            .await
    }

    async fn passkeys_of(&self, account: AccountId) -> Result<Vec<Passkey>> {
        self.base.passkeys_of(account).await
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>> {
        self.base.passkey_by_credential(credential_id).await
    }

    async fn passkey_used(
        &self,
        id: uuid::Uuid,
        credential: &str,
        backup_state: bool,
        now: OffsetDateTime,
    ) -> Result<bool> {
        self.base
            .passkey_used(id, credential, backup_state, now)
            .await
    }

    async fn rename_passkey(&self, account: AccountId, id: uuid::Uuid, name: &str) -> Result<bool> {
        self.base.rename_passkey(account, id, name).await
    }

    async fn delete_passkey(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        audit: &AuditEvent,
    ) -> Result<bool> {
        self.base.delete_passkey(account, id, audit).await
    }
}
