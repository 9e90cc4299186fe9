//! A store assembled from parts: every capability of a base store, with the
//! lockout counters of another backend (e.g. PostgreSQL + Redis counters) and,
//! optionally, the sessions of a third ([`SessionBackend`], e.g. Redis).

use super::*;
use crate::model::ApiKeyId;
use std::sync::Arc;

/// Called after a write that appended to the change feed succeeded.
pub type FeedHook = Arc<dyn Fn() + Send + Sync>;

/// A [`SessionStore`] kept apart from the main store (e.g. in Redis), for
/// [`Layered::with_sessions`]. It writes its audit events and change-feed
/// entries to the main store ([`ChangeFeed::append_changes`]), and answers
/// the session side of the account writes that revoke or delete sessions.
/// Its [`SessionStore::prune`] also prunes the main store (sessions left
/// there from before the switch, and the change feed).
#[async_trait]
pub trait SessionBackend: SessionStore {
    /// Revoke the live sessions of `account` as `revoke` says, appending one
    /// [`Change::SessionRevoked`] each to the main feed (no audit event: the
    /// account change that asked for it carries its own). Returns how many.
    async fn revoke_for_account(
        &self,
        account: AccountId,
        revoke: Revoke,
        now: OffsetDateTime,
    ) -> Result<u64>;
    /// Revoke (feed) and then delete every session and refresh token of
    /// `account` (it was deleted). Returns how many sessions were deleted.
    async fn delete_for_account(&self, account: AccountId, now: OffsetDateTime) -> Result<u64>;
    /// Whether the session backend answers (part of [`Store::ping`]).
    async fn ping(&self) -> Result<()>;
}

/// [`Store`] that delegates everything to `base`, except the [`CounterStore`]
/// operations, which go to `counters`, and, with [`Layered::with_sessions`],
/// the [`SessionStore`] operations, which go to that session backend. After a
/// successful write that may append to the change feed (revocations, account
/// changes, API key revocations), the optional feed hook runs, so other nodes
/// can be woken up instead of waiting for their next poll.
pub struct Layered {
    base: Arc<dyn Store>,
    counters: Arc<dyn CounterStore>,
    sessions: Arc<dyn SessionStore>,
    external_sessions: Option<Arc<dyn SessionBackend>>,
    on_feed_write: Option<FeedHook>,
}

impl Layered {
    /// Combine `base` with `counters`.
    pub fn new(base: Arc<dyn Store>, counters: Arc<dyn CounterStore>) -> Self {
        Self {
            sessions: base.clone(),
            base,
            counters,
            external_sessions: None,
            on_feed_write: None,
        }
    }

    /// Keep sessions and refresh tokens in `sessions` instead of `base`.
    /// An account update that revokes sessions, or an account deletion, first
    /// commits in `base` (which also revokes or deletes any sessions it still
    /// holds from before the switch) and then revokes or deletes in
    /// `sessions`: the two are not one transaction. When the second step
    /// fails the error is returned, the account change stands, and the
    /// caller may retry (revoking again is a no-op for revoked sessions).
    pub fn with_sessions(mut self, sessions: Arc<dyn SessionBackend>) -> Self {
        self.sessions = sessions.clone();
        self.external_sessions = Some(sessions);
        self
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
        self.base.ping().await?;
        match &self.external_sessions {
            Some(sessions) => sessions.ping().await,
            None => Ok(()),
        }
    }

    fn backend(&self) -> &'static str {
        self.base.backend()
    }
}

/// Implements a store trait for [`Layered`] by handing every method to one
/// field (`base` or `counters`); a method marked `[feed_written]` runs the
/// feed hook after it succeeded.
macro_rules! forward {
    ($trait:ident to $field:ident: $(
        $(#[$m:meta])*
        $([$after:ident])? async fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;
    )*) => {
        #[async_trait]
        impl $trait for Layered {
            $(
                $(#[$m])*
                async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    let r = self.$field.$name($($arg),*).await;
                    $(if r.is_ok() {
                        self.$after();
                    })?
                    r
                }
            )*
        }
    };
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
    async fn account_by_login_skeleton(&self, skeleton: &str) -> Result<Option<Account>> {
        self.base.account_by_login_skeleton(skeleton).await
    }
    async fn prepare_logins(&self) -> Result<Vec<LoginCollision>> {
        self.base.prepare_logins().await
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
        r?;
        if let Some(sessions) = &self.external_sessions
            && revoke != Revoke::Nothing
            && sessions.revoke_for_account(account.id, revoke, now).await? > 0
        {
            self.feed_written();
        }
        Ok(())
    }
    async fn delete_account(
        &self,
        id: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let deleted = self.base.delete_account(id, now, audit).await?;
        if deleted {
            self.feed_written();
            if let Some(sessions) = &self.external_sessions {
                sessions.delete_for_account(id, now).await?;
                self.feed_written();
            }
        }
        Ok(deleted)
    }
    async fn replace_password_hash(
        &self,
        id: AccountId,
        old: &str,
        new: &str,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let swapped = self
            .base
            .replace_password_hash(id, old, new, now, audit)
            .await?;
        if swapped {
            self.feed_written();
        }
        Ok(swapped)
    }
    async fn list_accounts(&self, query: &AccountQuery) -> Result<Vec<Account>> {
        self.base.list_accounts(query).await
    }
}

forward! { SessionStore to sessions:
        async fn create_session(&self, session: &Session, refresh_hash: &[u8; 32], audit: &AuditEvent) -> Result<()>;
        [feed_written] async fn create_session_capped(&self, session: &Session, refresh_hash: &[u8; 32], audit: &AuditEvent, max_live: u32, evicted: &AuditEvent) -> Result<Vec<SessionId>>;
        async fn session(&self, id: SessionId) -> Result<Option<Session>>;
        async fn live_sessions(&self, account: AccountId, now: OffsetDateTime) -> Result<Vec<Session>>;
        [feed_written] async fn rotate_refresh(&self, old_hash: &[u8; 32], new_hash: &[u8; 32], now: OffsetDateTime, ip: Option<&str>, user_agent: Option<&str>) -> Result<Rotation>;
        [feed_written] async fn revoke_session(&self, id: SessionId, now: OffsetDateTime, audit: &AuditEvent) -> Result<bool>;
        [feed_written] async fn revoke_sessions(&self, account: AccountId, revoke: Revoke, now: OffsetDateTime, audit: &AuditEvent) -> Result<u64>;
        async fn reissue_refresh(&self, id: SessionId, new_hash: &[u8; 32], now: OffsetDateTime) -> Result<bool>;
        async fn touch_session(&self, id: SessionId, now: OffsetDateTime) -> Result<()>;
        async fn prune(&self, before: OffsetDateTime, feed_before: OffsetDateTime) -> Result<u64>;
}

forward! { ChangeFeed to base:
        async fn changes_since(&self, after: i64, limit: u32) -> Result<Vec<FeedEntry>>;
        [feed_written] async fn append_changes(&self, changes: &[Change], at: OffsetDateTime, audit: &[AuditEvent]) -> Result<()>;
}

forward! { AuditStore to base:
        async fn append_audit(&self, event: &AuditEvent) -> Result<()>;
        async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>>;
        async fn prune_audit(&self, before: OffsetDateTime) -> Result<u64>;
}

forward! { KeyStore to base:
        async fn signing_keys(&self) -> Result<Vec<StoredKey>>;
        async fn add_signing_key(&self, key: &StoredKey, retire_others: Option<OffsetDateTime>) -> Result<()>;
        async fn setting(&self, name: &str) -> Result<Option<String>>;
        async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String>;
}

forward! { CounterStore to counters:
        async fn attempt_begin(&self, key: &str, now: OffsetDateTime, max: u32) -> Result<AttemptGate>;
        async fn attempt_failed(&self, key: &str, now: OffsetDateTime, max: u32, base_window_secs: u64) -> Result<Option<u64>>;
        async fn attempt_clear(&self, key: &str) -> Result<()>;
}

forward! { MfaStore to base:
        async fn set_pending_totp(&self, account: AccountId, secret: &[u8], now: OffsetDateTime, audit: &AuditEvent) -> Result<()>;
        async fn pending_totp(&self, account: AccountId) -> Result<Option<Vec<u8>>>;
        async fn active_totp(&self, account: AccountId) -> Result<Option<ActiveTotp>>;
        [feed_written] async fn enable_totp(&self, account: AccountId, secret: &[u8], step: i64, recovery_hashes: &[[u8; 32]], now: OffsetDateTime, audit: &AuditEvent) -> Result<bool>;
        [feed_written] async fn disable_totp(&self, account: AccountId, now: OffsetDateTime, audit: &AuditEvent) -> Result<bool>;
        async fn use_totp_step(&self, account: AccountId, step: i64) -> Result<bool>;
        async fn use_recovery_code(&self, account: AccountId, hash: &[u8; 32]) -> Result<Option<u32>>;
        async fn recovery_codes_left(&self, account: AccountId) -> Result<u32>;
        async fn create_mfa_challenge(&self, hash: &[u8; 32], challenge: &MfaChallenge) -> Result<()>;
        async fn begin_mfa_attempt(&self, hash: &[u8; 32], now: OffsetDateTime, max: u32) -> Result<Option<MfaChallenge>>;
        async fn mfa_attempt_failed(&self, hash: &[u8; 32], max: u32) -> Result<u32>;
        async fn take_mfa_challenge(&self, hash: &[u8; 32], now: OffsetDateTime) -> Result<Option<MfaChallenge>>;
        async fn prune_mfa_challenges(&self, before: OffsetDateTime) -> Result<u64>;
}

forward! { ApiKeyStore to base:
        async fn insert_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> Result<()>;
        [feed_written] async fn insert_api_key_with_owner(&self, new_owner: Option<&Account>, key: &ApiKey, audit: &[AuditEvent]) -> Result<()>;
        async fn api_key(&self, id: ApiKeyId) -> Result<Option<ApiKey>>;
        async fn list_api_keys(&self, query: &ApiKeyQuery) -> Result<Vec<ApiKey>>;
        [feed_written] async fn revoke_api_key(&self, id: ApiKeyId, now: OffsetDateTime, audit: &AuditEvent) -> Result<bool>;
        async fn renew_api_key(&self, id: ApiKeyId, expires_at: Option<OffsetDateTime>, audit: &AuditEvent) -> Result<bool>;
        async fn append_api_key_usage(&self, batch: &[ApiKeyUsage], prune: &[ApiKeyId], keep: u32) -> Result<u64>;
        async fn api_key_usage(&self, id: ApiKeyId, limit: u32) -> Result<Vec<ApiKeyUsage>>;
}

forward! { OneTimeTokenStore to base:
        #[allow(clippy::too_many_arguments)]
        async fn issue(&self, kind: TokenKind, hash: &[u8; 32], account: AccountId, issued_at: OffsetDateTime, expires_at: OffsetDateTime, payload: Option<&str>, audit: &AuditEvent) -> Result<()>;
        async fn consume(&self, kind: TokenKind, hash: &[u8; 32], now: OffsetDateTime) -> Result<Option<ConsumedToken>>;
        async fn revoke_for_account(&self, account: AccountId, kinds: &[TokenKind]) -> Result<u64>;
        async fn last_issued_at(&self, kind: TokenKind, account: AccountId) -> Result<Option<OffsetDateTime>>;
        async fn prune_one_time(&self, before: OffsetDateTime) -> Result<u64>;
}

forward! { IdentityStore to base:
        async fn link_identity(&self, identity: &Identity, audit: &AuditEvent) -> Result<()>;
        async fn identity_by_subject(&self, provider: &str, subject: &str) -> Result<Option<Identity>>;
        async fn identities_of(&self, account: AccountId) -> Result<Vec<Identity>>;
        async fn unlink_identity(&self, account: AccountId, id: uuid::Uuid, audit: &AuditEvent) -> Result<bool>;
        async fn put_oauth_state(&self, hash: &[u8; 32], payload: &str, expires_at: OffsetDateTime) -> Result<()>;
        async fn take_oauth_state(&self, hash: &[u8; 32], now: OffsetDateTime) -> Result<Option<String>>;
        async fn prune_oauth_states(&self, before: OffsetDateTime) -> Result<u64>;
}

forward! { PasskeyStore to base:
        async fn insert_passkey(&self, passkey: &Passkey, audit: &AuditEvent) -> Result<()>;
        async fn insert_account_with_passkey(&self, account: &Account, passkey: &Passkey, audit: &[AuditEvent]) -> Result<()>;
        async fn passkeys_of(&self, account: AccountId) -> Result<Vec<Passkey>>;
        async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>>;
        async fn passkey_used(&self, id: uuid::Uuid, credential: &str, backup_state: bool, now: OffsetDateTime) -> Result<bool>;
        async fn rename_passkey(&self, account: AccountId, id: uuid::Uuid, name: &str) -> Result<bool>;
        async fn delete_passkey(&self, account: AccountId, id: uuid::Uuid, audit: &AuditEvent) -> Result<bool>;
}

forward! { ProviderStore to base:
        async fn insert_oauth_client(&self, client: &OAuthClient, audit: &AuditEvent) -> Result<()>;
        async fn oauth_client(&self, client_id: &str) -> Result<Option<OAuthClient>>;
        async fn oauth_clients(&self) -> Result<Vec<OAuthClient>>;
        async fn update_oauth_client(&self, client: &OAuthClient, audit: &AuditEvent) -> Result<bool>;
        async fn delete_oauth_client(&self, client_id: &str, audit: &AuditEvent) -> Result<Option<Vec<AccountId>>>;
        async fn insert_auth_code(&self, code: &AuthCode, audit: &AuditEvent) -> Result<()>;
        async fn use_auth_code(&self, hash: &[u8; 32], session: SessionId, now: OffsetDateTime) -> Result<CodeUse>;
        async fn put_consent(&self, consent: &Consent, audit: &AuditEvent) -> Result<()>;
        async fn consent(&self, account: AccountId, client_id: &str) -> Result<Option<Consent>>;
        async fn consents_of(&self, account: AccountId) -> Result<Vec<Consent>>;
        async fn delete_consent(&self, account: AccountId, client_id: &str, audit: &AuditEvent) -> Result<bool>;
        async fn prune_auth_codes(&self, before: OffsetDateTime) -> Result<u64>;
}

forward! { OrganizationStore to base:
        async fn insert_organization(&self, org: &Organization, owner: AccountId, audit: &AuditEvent) -> Result<()>;
        async fn organization(&self, id: uuid::Uuid) -> Result<Option<Organization>>;
        async fn organization_by_slug(&self, slug: &str) -> Result<Option<Organization>>;
        async fn update_organization(&self, org: &Organization, audit: &AuditEvent) -> Result<bool>;
        [feed_written] async fn delete_organization(&self, id: uuid::Uuid, now: OffsetDateTime, audit: &AuditEvent) -> Result<bool>;
        async fn list_organizations(&self, after: Option<uuid::Uuid>, limit: u32) -> Result<Vec<Organization>>;
        async fn organizations_of(&self, account: AccountId) -> Result<Vec<(Organization, String)>>;
        async fn membership(&self, org: uuid::Uuid, account: AccountId) -> Result<Option<Membership>>;
        async fn members(&self, org: uuid::Uuid) -> Result<Vec<Membership>>;
        [feed_written] async fn set_member_role(&self, org: uuid::Uuid, account: AccountId, role: &str, now: OffsetDateTime, audit: &AuditEvent) -> Result<Option<Membership>>;
        [feed_written] async fn remove_member(&self, org: uuid::Uuid, account: AccountId, now: OffsetDateTime, audit: &AuditEvent) -> Result<bool>;
        async fn custom_roles(&self, org: uuid::Uuid) -> Result<Vec<OrgRole>>;
        async fn insert_role(&self, org: uuid::Uuid, role: &OrgRole, audit: &AuditEvent) -> Result<()>;
        [feed_written] async fn update_role(&self, org: uuid::Uuid, role: &OrgRole, now: OffsetDateTime, audit: &AuditEvent) -> Result<bool>;
        async fn delete_role(&self, org: uuid::Uuid, name: &str, audit: &AuditEvent) -> Result<bool>;
        async fn insert_invitation(&self, invitation: &Invitation, token_hash: &[u8; 32], audit: &AuditEvent) -> Result<()>;
        async fn invitation_by_token(&self, token_hash: &[u8; 32], now: OffsetDateTime) -> Result<Option<Invitation>>;
        async fn pending_invitations(&self, org: uuid::Uuid, now: OffsetDateTime) -> Result<Vec<Invitation>>;
        async fn revoke_invitation(&self, org: uuid::Uuid, id: uuid::Uuid, now: OffsetDateTime, audit: &AuditEvent) -> Result<bool>;
        async fn accept_invitation(&self, token_hash: &[u8; 32], account: AccountId, email_key: &str, now: OffsetDateTime, audit: &AuditEvent) -> Result<Membership>;
        async fn decline_invitation(&self, token_hash: &[u8; 32], now: OffsetDateTime, audit: &AuditEvent) -> Result<bool>;
        async fn set_active_organization(&self, session: SessionId, account: AccountId, org: Option<uuid::Uuid>) -> Result<i64>;
        async fn active_organization(&self, session: SessionId) -> Result<Option<ActiveOrganization>>;
}
