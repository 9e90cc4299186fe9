//! Keeping a node current: pulling the change feed into the caches (the
//! revocation set, the account and API-key caches), housekeeping (pruning
//! what has expired) and reloading the signing keys.

use crate::caches::{AccountCache, Revocations};
use crate::error::Result;
use crate::key_cache::ApiKeyState;
use crate::shared::Shared;
use crate::store::{
    AuditStore, Change, ChangeFeed, IdentityStore, KeyStore, MfaStore, OneTimeTokenStore,
    SessionStore,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::Duration;

/// Feed sync and housekeeping. Cheap to clone.
#[derive(Clone)]
pub struct Upkeep {
    pub(crate) feed: Arc<dyn ChangeFeed>,
    pub(crate) sessions: Arc<dyn SessionStore>,
    pub(crate) mfa: Arc<dyn MfaStore>,
    pub(crate) one_time: Arc<dyn OneTimeTokenStore>,
    pub(crate) identities: Arc<dyn IdentityStore>,
    pub(crate) provider: Arc<dyn crate::store::ProviderStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) keys: Arc<dyn KeyStore>,
    pub(crate) orgs: Arc<dyn crate::store::OrganizationStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) revoked: Arc<Revocations>,
    pub(crate) accounts: Arc<AccountCache>,
    pub(crate) api_keys: Arc<ApiKeyState>,
    pub(crate) cursor: Arc<AtomicI64>,
    pub(crate) lock: Arc<tokio::sync::Mutex<()>>,
}

impl Upkeep {
    /// Pull the change feed: revoked sessions join the revocation set and changed
    /// accounts leave the cache. Returns how many entries were applied.
    pub async fn sync(&self) -> Result<usize> {
        let _g = self.lock.lock().await;
        let mut applied = 0;
        loop {
            let after = self.cursor.load(Ordering::Acquire);
            let batch = self.feed.changes_since(after, 1000).await?;
            let Some(last) = batch.last().map(|e| e.seq) else {
                break;
            };
            let s = &self.shared.settings;
            let keep = s.access_ttl + s.leeway;
            for e in &batch {
                match &e.change {
                    Change::SessionRevoked(sid, _) => {
                        self.revoked.insert(*sid, e.at + keep);
                    }
                    Change::AccountChanged(id) => {
                        self.accounts.forget(id);
                        self.api_keys.forget_account(*id);
                    }
                    Change::ApiKeyRevoked(key, _) => {
                        self.api_keys.forget(*key);
                    }
                    Change::OrgClaimsRevoked(sid, _) => {
                        // The epoch the session has now: older org claims are stale.
                        let epoch = match self.orgs.active_organization(*sid).await? {
                            Some(a) => a.epoch,
                            None => i64::MAX,
                        };
                        self.revoked.insert_org_epoch(*sid, epoch, e.at + keep);
                    }
                }
            }
            applied += batch.len();
            self.cursor.store(last, Ordering::Release);
            if batch.len() < 1000 {
                break;
            }
        }
        Ok(applied)
    }

    /// Housekeeping: prune the revocation set, expired sessions, old feed entries,
    /// expired one-time tokens and OAuth states, and audit events past
    /// retention; reload signing keys.
    pub async fn housekeeping(&self) -> Result<()> {
        let now = self.shared.now();
        self.revoked.prune(now);
        let s = &self.shared.settings;
        let keep = s.access_ttl + s.leeway + Duration::minutes(5);
        self.sessions.prune(now - keep, now - keep).await?;
        self.mfa.prune_mfa_challenges(now).await?;
        self.one_time.prune_one_time(now).await?;
        self.identities.prune_oauth_states(now).await?;
        // Used codes stay a while, so that a code presented again still
        // revokes the tokens issued from it.
        self.provider
            .prune_auth_codes(now - Duration::minutes(10))
            .await?;
        let retention = s.audit_retention;
        if retention.is_positive() {
            self.audit.prune_audit(now - retention).await?;
        }
        self.reload_keys().await
    }

    /// Reload signing keys from the store (after `warden keys rotate`).
    pub async fn reload_keys(&self) -> Result<()> {
        let s = &self.shared.settings;
        if s.jwt_alg.is_hmac() {
            return Ok(());
        }
        let keys = self.keys.signing_keys().await?;
        let tokens = &self.shared.tokens;
        let before = tokens.current_kid();
        tokens.reload(s.jwt_alg, &keys, s.secret.as_deref())?;
        if before != tokens.current_kid() {
            tracing::info!(kid = %tokens.current_kid(), "signing key changed");
        }
        Ok(())
    }

    /// Run [`Upkeep::sync`] every `every` and [`Upkeep::housekeeping`] every minute,
    /// until the returned handle is aborted.
    pub fn spawn_background(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let upkeep = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_house = std::time::Instant::now();
            loop {
                tick.tick().await;
                if let Err(e) = upkeep.sync().await {
                    tracing::warn!(error = %e, "change feed sync failed");
                }
                if last_house.elapsed() >= std::time::Duration::from_secs(60) {
                    last_house = std::time::Instant::now();
                    if let Err(e) = upkeep.housekeeping().await {
                        tracing::warn!(error = %e, "housekeeping failed");
                    }
                }
            }
        })
    }
}
