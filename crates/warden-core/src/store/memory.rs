//! In-memory store: for tests, examples and single-process use. Nothing persists.

use super::*;
use crate::error::Error;
use crate::model::normalize_email;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};

struct TokenRow {
    session: SessionId,
    used: bool,
}

#[derive(Default)]
struct Inner {
    accounts: BTreeMap<AccountId, Account>,
    sessions: HashMap<SessionId, Session>,
    tokens: HashMap<[u8; 32], TokenRow>,
    feed: Vec<FeedEntry>,
    seq: i64,
    audit: Vec<AuditEvent>,
    keys: Vec<StoredKey>,
    settings: HashMap<String, String>,
    counters: HashMap<String, crate::limits::AttemptCounter>,
    api_keys: HashMap<crate::model::ApiKeyId, ApiKey>,
    api_key_usage: HashMap<crate::model::ApiKeyId, Vec<ApiKeyUsage>>,
    totp: HashMap<AccountId, TotpRow>,
    recovery: HashMap<AccountId, Vec<[u8; 32]>>,
    mfa_challenges: HashMap<[u8; 32], MfaChallenge>,
    one_time: HashMap<[u8; 32], OneTimeRow>,
    identities: Vec<Identity>,
    oauth_states: HashMap<[u8; 32], (String, OffsetDateTime)>,
    passkeys: Vec<Passkey>,
    oauth_clients: HashMap<String, OAuthClient>,
    auth_codes: HashMap<[u8; 32], AuthCode>,
    consents: HashMap<(AccountId, String), Consent>,
    orgs: memory_organizations::OrgData,
}

struct OneTimeRow {
    kind: TokenKind,
    account_id: AccountId,
    payload: Option<String>,
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

#[derive(Default)]
struct TotpRow {
    pending: Option<Vec<u8>>,
    active: Option<ActiveTotp>,
}

impl Inner {
    fn push_feed(&mut self, change: Change, at: OffsetDateTime) {
        self.seq += 1;
        self.feed.push(FeedEntry {
            seq: self.seq,
            change,
            at,
        });
    }

    fn check_unique(&self, account: &Account) -> Result<()> {
        let login = account.login_key();
        let skeleton = account.login_skeleton();
        let email = account.email.as_deref().map(normalize_email);
        for other in self.accounts.values() {
            if other.id == account.id {
                continue;
            }
            if other.login_key() == login || other.login_skeleton() == skeleton {
                return Err(Error::LoginTaken);
            }
            if let (Some(e), Some(o)) = (&email, other.email.as_deref())
                && *e == normalize_email(o)
            {
                return Err(Error::EmailTaken);
            }
        }
        Ok(())
    }

    /// How many ways to sign in the account has (password, identities, passkeys).
    fn sign_in_methods(&self, account: AccountId) -> usize {
        let password = self
            .accounts
            .get(&account)
            .is_some_and(|a| a.password_hash.is_some());
        usize::from(password)
            + self
                .identities
                .iter()
                .filter(|i| i.account_id == account)
                .count()
            + self
                .passkeys
                .iter()
                .filter(|p| p.account_id == account)
                .count()
    }

    fn revoke_where(
        &mut self,
        account: AccountId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> u64 {
        let mut revoked = Vec::new();
        for s in self.sessions.values_mut() {
            if s.account_id == account && Some(s.id) != except && s.is_live(now) {
                s.revoked_at = Some(now);
                revoked.push(s.id);
            }
        }
        let n = revoked.len() as u64;
        for id in revoked {
            self.push_feed(Change::SessionRevoked(id, account), now);
        }
        n
    }

    fn insert_session(
        &mut self,
        session: &Session,
        refresh_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> Result<()> {
        if !session.is_app() && !self.accounts.contains_key(&session.account_id) {
            return Err(Error::NotFound);
        }
        self.sessions.insert(session.id, session.clone());
        let row = TokenRow {
            session: session.id,
            used: false,
        };
        self.tokens.insert(*refresh_hash, row);
        self.audit.push(audit.clone());
        Ok(())
    }
}

/// A store kept in process memory behind one mutex.
///
/// ```
/// use warden_core::store::{MemoryStore, Store};
/// let store = MemoryStore::new();
/// assert_eq!(store.backend(), "memory");
/// ```
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(needle)
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn insert_account(&self, account: &Account, audit: &AuditEvent) -> Result<()> {
        let mut g = self.inner.lock();
        if g.accounts.contains_key(&account.id) {
            return Err(Error::Internal("duplicate account id".into()));
        }
        g.check_unique(account)?;
        g.accounts.insert(account.id, account.clone());
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>> {
        Ok(self.inner.lock().accounts.get(&id).cloned())
    }

    async fn account_by_login(&self, login_key: &str) -> Result<Option<Account>> {
        let g = self.inner.lock();
        Ok(g.accounts
            .values()
            .find(|a| a.login_key() == login_key)
            .cloned())
    }

    async fn account_by_login_skeleton(&self, skeleton: &str) -> Result<Option<Account>> {
        let g = self.inner.lock();
        Ok(g.accounts
            .values()
            .find(|a| a.login_skeleton() == skeleton)
            .cloned())
    }

    /// Nothing to do: this store computes keys and skeletons from the logins.
    async fn prepare_logins(&self) -> Result<Vec<LoginCollision>> {
        Ok(Vec::new())
    }

    async fn account_by_email(&self, email_key: &str) -> Result<Option<Account>> {
        let g = self.inner.lock();
        Ok(g.accounts
            .values()
            .find(|a| a.email.as_deref().map(normalize_email).as_deref() == Some(email_key))
            .cloned())
    }

    async fn update_account(
        &self,
        account: &Account,
        revoke: Revoke,
        now: OffsetDateTime,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut g = self.inner.lock();
        if !g.accounts.contains_key(&account.id) {
            return Err(Error::NotFound);
        }
        g.check_unique(account)?;
        let mut row = account.clone();
        if let Some(stored) = g.accounts.get(&account.id) {
            row.mfa_enabled = stored.mfa_enabled;
        }
        g.accounts.insert(account.id, row);
        match revoke {
            Revoke::Nothing => 0,
            Revoke::All => g.revoke_where(account.id, None, now),
            Revoke::AllExcept(keep) => g.revoke_where(account.id, Some(keep), now),
        };
        g.push_feed(Change::AccountChanged(account.id), now);
        g.audit.extend(audit.iter().cloned());
        Ok(())
    }

    async fn replace_password_hash(
        &self,
        id: AccountId,
        old: &str,
        new: &str,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(a) = g
            .accounts
            .get_mut(&id)
            .filter(|a| a.password_hash.as_deref() == Some(old))
        else {
            return Ok(false);
        };
        a.password_hash = Some(new.to_owned());
        a.updated_at = now;
        g.push_feed(Change::AccountChanged(id), now);
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn delete_account(
        &self,
        id: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        if g.accounts.remove(&id).is_none() {
            return Ok(false);
        }
        g.revoke_where(id, None, now);
        let gone: Vec<SessionId> = g
            .sessions
            .values()
            .filter(|s| s.account_id == id)
            .map(|s| s.id)
            .collect();
        for sid in &gone {
            g.sessions.remove(sid);
        }
        g.tokens.retain(|_, t| !gone.contains(&t.session));
        g.consents.retain(|(a, _), _| *a != id);
        g.auth_codes.retain(|_, c| c.account_id != id);
        let keys: Vec<_> = g
            .api_keys
            .values()
            .filter(|k| k.account_id == id)
            .map(|k| k.id)
            .collect();
        for k in &keys {
            g.api_keys.remove(k);
            g.api_key_usage.remove(k);
        }
        g.identities.retain(|i| i.account_id != id);
        g.passkeys.retain(|p| p.account_id != id);
        g.totp.remove(&id);
        g.recovery.remove(&id);
        g.mfa_challenges.retain(|_, c| c.account_id != id);
        g.one_time.retain(|_, t| t.account_id != id);
        g.identities.retain(|i| i.account_id != id);
        g.orgs.members.retain(|(_, a), _| *a != id);
        g.push_feed(Change::AccountChanged(id), now);
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn list_accounts(&self, query: &AccountQuery) -> Result<Vec<Account>> {
        let g = self.inner.lock();
        let needle = query.search.as_deref().map(str::to_lowercase);
        let start = match query.after {
            Some(after) => std::ops::Bound::Excluded(after),
            None => std::ops::Bound::Unbounded,
        };
        Ok(g.accounts
            .range((start, std::ops::Bound::Unbounded))
            .map(|(_, a)| a)
            .filter(|a| match &needle {
                None => true,
                Some(n) => {
                    contains_ci(&a.login, n)
                        || a.email.as_deref().is_some_and(|e| contains_ci(e, n))
                }
            })
            .take(query.limit as usize)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create_session(
        &self,
        session: &Session,
        refresh_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> Result<()> {
        self.inner
            .lock()
            .insert_session(session, refresh_hash, audit)
    }

    async fn create_session_capped(
        &self,
        session: &Session,
        refresh_hash: &[u8; 32],
        audit: &AuditEvent,
        max_live: u32,
        evicted: &AuditEvent,
    ) -> Result<Vec<SessionId>> {
        let mut g = self.inner.lock();
        if !session.is_app() && !g.accounts.contains_key(&session.account_id) {
            return Err(Error::NotFound);
        }
        let now = session.created_at;
        let mut live: Vec<&Session> = (g.sessions.values())
            .filter(|s| s.account_id == session.account_id && s.is_live(now))
            .collect();
        live.sort_by_key(|s| (s.last_seen_at, s.created_at, s.id));
        let over = (live.len() + 1).saturating_sub(max_live.max(1) as usize);
        let ids: Vec<SessionId> = live.iter().take(over).map(|s| s.id).collect();
        for id in &ids {
            if let Some(s) = g.sessions.get_mut(id) {
                s.revoked_at = Some(now);
            }
            g.push_feed(Change::SessionRevoked(*id, session.account_id), now);
            g.audit.push(evicted_event(evicted, *id));
        }
        g.insert_session(session, refresh_hash, audit)?;
        Ok(ids)
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>> {
        Ok(self.inner.lock().sessions.get(&id).cloned())
    }

    async fn live_sessions(&self, account: AccountId, now: OffsetDateTime) -> Result<Vec<Session>> {
        let g = self.inner.lock();
        let mut v: Vec<Session> = g
            .sessions
            .values()
            .filter(|s| s.account_id == account && s.is_live(now))
            .cloned()
            .collect();
        v.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(v)
    }

    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        now: OffsetDateTime,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<Rotation> {
        let mut g = self.inner.lock();
        let Some((sid, used)) = g.tokens.get(old_hash).map(|t| (t.session, t.used)) else {
            return Ok(Rotation::Invalid);
        };
        let Some(session) = g.sessions.get(&sid).cloned() else {
            return Ok(Rotation::Invalid);
        };
        if !session.is_live(now) {
            return Ok(Rotation::Invalid);
        }
        let audit = |event: &str| AuditEvent {
            at: now,
            account_id: Some(session.account_id),
            event: event.to_owned(),
            ip: ip.map(str::to_owned),
            user_agent: user_agent.map(str::to_owned),
            detail: serde_json::json!({ "session_id": sid }),
        };
        if used {
            let mut revoked = session.clone();
            revoked.revoked_at = Some(now);
            g.sessions.insert(sid, revoked.clone());
            g.push_feed(Change::SessionRevoked(sid, session.account_id), now);
            let ev = audit("token.refresh_reused");
            g.audit.push(ev);
            return Ok(Rotation::Reused(revoked));
        }
        if let Some(t) = g.tokens.get_mut(old_hash) {
            t.used = true;
        }
        g.tokens.insert(
            *new_hash,
            TokenRow {
                session: sid,
                used: false,
            },
        );
        let mut updated = session.clone();
        updated.last_seen_at = now;
        updated.ip = ip.map(str::to_owned);
        updated.user_agent = user_agent.map(str::to_owned);
        g.sessions.insert(sid, updated.clone());
        let ev = audit("token.refresh");
        g.audit.push(ev);
        let org = g.active_organization(sid);
        Ok(Rotation::Rotated(updated, ActiveOrg::Read(org)))
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(s) = g.sessions.get_mut(&id) else {
            return Ok(false);
        };
        if !s.is_live(now) {
            return Ok(false);
        }
        s.revoked_at = Some(now);
        let account = s.account_id;
        g.push_feed(Change::SessionRevoked(id, account), now);
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn revoke_sessions(
        &self,
        account: AccountId,
        revoke: Revoke,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<u64> {
        let mut g = self.inner.lock();
        let n = match revoke {
            Revoke::Nothing => 0,
            Revoke::All => g.revoke_where(account, None, now),
            Revoke::AllExcept(keep) => g.revoke_where(account, Some(keep), now),
        };
        g.audit.push(audit.clone());
        Ok(n)
    }

    async fn reissue_refresh(
        &self,
        id: SessionId,
        new_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        if !g.sessions.get(&id).is_some_and(|s| s.is_live(now)) {
            return Ok(false);
        }
        for t in g.tokens.values_mut().filter(|t| t.session == id) {
            t.used = true;
        }
        g.tokens.insert(
            *new_hash,
            TokenRow {
                session: id,
                used: false,
            },
        );
        Ok(true)
    }

    async fn touch_session(&self, id: SessionId, now: OffsetDateTime) -> Result<()> {
        if let Some(s) = self.inner.lock().sessions.get_mut(&id) {
            s.last_seen_at = now;
        }
        Ok(())
    }

    async fn prune(&self, before: OffsetDateTime, feed_before: OffsetDateTime) -> Result<u64> {
        let mut g = self.inner.lock();
        let dead: Vec<SessionId> = g
            .sessions
            .values()
            .filter(|s| s.expires_at < before || s.revoked_at.is_some_and(|r| r < before))
            .map(|s| s.id)
            .collect();
        for id in &dead {
            g.sessions.remove(id);
        }
        let before_tokens = g.tokens.len();
        g.tokens.retain(|_, t| !dead.contains(&t.session));
        let feed_len = g.feed.len();
        g.feed.retain(|e| e.at >= feed_before);
        Ok((dead.len() + before_tokens - g.tokens.len() + feed_len - g.feed.len()) as u64)
    }
}

#[async_trait]
impl ChangeFeed for MemoryStore {
    async fn changes_since(&self, after: i64, limit: u32) -> Result<Vec<FeedEntry>> {
        let g = self.inner.lock();
        Ok(g.feed
            .iter()
            .filter(|e| e.seq > after)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn append_changes(
        &self,
        changes: &[Change],
        at: OffsetDateTime,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut g = self.inner.lock();
        for c in changes {
            g.push_feed(c.clone(), at);
        }
        g.audit.extend(audit.iter().cloned());
        Ok(())
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        self.inner.lock().audit.push(event.clone());
        Ok(())
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let g = self.inner.lock();
        Ok(g.audit
            .iter()
            .rev()
            .filter(|e| query.account_id.is_none_or(|a| e.account_id == Some(a)))
            .filter(|e| query.from.is_none_or(|f| e.at >= f))
            .filter(|e| query.to.is_none_or(|t| e.at < t))
            .take(query.limit as usize)
            .cloned()
            .collect())
    }

    async fn prune_audit(&self, before: OffsetDateTime) -> Result<u64> {
        let mut g = self.inner.lock();
        let n = g.audit.len();
        g.audit.retain(|e| e.at >= before);
        Ok((n - g.audit.len()) as u64)
    }
}

#[async_trait]
impl KeyStore for MemoryStore {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        Ok(self.inner.lock().keys.clone())
    }

    async fn add_signing_key(
        &self,
        key: &StoredKey,
        retire_others: Option<OffsetDateTime>,
    ) -> Result<()> {
        let mut g = self.inner.lock();
        if let Some(at) = retire_others {
            for k in g.keys.iter_mut().filter(|k| k.retired_at.is_none()) {
                k.retired_at = Some(at);
            }
        }
        g.keys.push(key.clone());
        Ok(())
    }

    async fn setting(&self, name: &str) -> Result<Option<String>> {
        Ok(self.inner.lock().settings.get(name).cloned())
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        let mut g = self.inner.lock();
        Ok(g.settings
            .entry(name.to_owned())
            .or_insert_with(|| value.to_owned())
            .clone())
    }
}

#[async_trait]
impl CounterStore for MemoryStore {
    async fn attempt_begin(&self, key: &str, now: OffsetDateTime, max: u32) -> Result<AttemptGate> {
        let mut g = self.inner.lock();
        let c = g.counters.entry(key.to_owned()).or_default();
        Ok(c.begin(now, max))
    }

    async fn attempt_failed(
        &self,
        key: &str,
        now: OffsetDateTime,
        max: u32,
        base_window_secs: u64,
    ) -> Result<Option<u64>> {
        let mut g = self.inner.lock();
        let c = g.counters.entry(key.to_owned()).or_default();
        Ok(c.failed(now, max, base_window_secs))
    }

    async fn attempt_clear(&self, key: &str) -> Result<()> {
        self.inner.lock().counters.remove(key);
        Ok(())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> Result<()> {
        Ok(())
    }
    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[path = "memory_api_keys.rs"]
mod memory_api_keys;

#[path = "memory_one_time.rs"]
mod memory_one_time;

#[path = "memory_identities.rs"]
mod memory_identities;

#[path = "memory_passkeys.rs"]
mod memory_passkeys;

#[path = "memory_mfa.rs"]
mod memory_mfa;

#[path = "memory_organizations.rs"]
mod memory_organizations;
#[path = "memory_provider.rs"]
mod memory_provider;
