//! [`MfaStore`] of the in-memory store.

use super::*;

#[async_trait]
impl MfaStore for MemoryStore {
    async fn set_pending_totp(
        &self,
        account: AccountId,
        secret: &[u8],
        _now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<()> {
        let mut g = self.inner.lock();
        if !g.accounts.contains_key(&account) {
            return Err(Error::NotFound);
        }
        g.totp.entry(account).or_default().pending = Some(secret.to_vec());
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn pending_totp(&self, account: AccountId) -> Result<Option<Vec<u8>>> {
        let g = self.inner.lock();
        Ok(g.totp.get(&account).and_then(|t| t.pending.clone()))
    }

    async fn active_totp(&self, account: AccountId) -> Result<Option<ActiveTotp>> {
        let g = self.inner.lock();
        Ok(g.totp.get(&account).and_then(|t| t.active.clone()))
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
        let mut g = self.inner.lock();
        let pending_matches = g
            .totp
            .get(&account)
            .and_then(|t| t.pending.as_deref())
            .is_some_and(|p| crate::random::ct_eq(p, secret));
        if !pending_matches || !g.accounts.contains_key(&account) {
            return Ok(false);
        }
        g.totp.insert(
            account,
            TotpRow {
                pending: None,
                active: Some(ActiveTotp {
                    secret: secret.to_vec(),
                    last_step: Some(step),
                }),
            },
        );
        g.recovery.insert(account, recovery_hashes.to_vec());
        if let Some(a) = g.accounts.get_mut(&account) {
            a.mfa_enabled = true;
            a.updated_at = now;
        }
        g.push_feed(Change::AccountChanged(account), now);
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn disable_totp(
        &self,
        account: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        g.totp.remove(&account);
        g.recovery.remove(&account);
        let Some(a) = g.accounts.get_mut(&account) else {
            return Ok(false);
        };
        if !a.mfa_enabled {
            return Ok(false);
        }
        a.mfa_enabled = false;
        a.updated_at = now;
        g.push_feed(Change::AccountChanged(account), now);
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn use_totp_step(&self, account: AccountId, step: i64) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(active) = g.totp.get_mut(&account).and_then(|t| t.active.as_mut()) else {
            return Ok(false);
        };
        if active.last_step.is_some_and(|last| last >= step) {
            return Ok(false);
        }
        active.last_step = Some(step);
        Ok(true)
    }

    async fn use_recovery_code(&self, account: AccountId, hash: &[u8; 32]) -> Result<Option<u32>> {
        let mut g = self.inner.lock();
        let Some(codes) = g.recovery.get_mut(&account) else {
            return Ok(None);
        };
        let Some(i) = codes.iter().position(|c| c == hash) else {
            return Ok(None);
        };
        codes.swap_remove(i);
        Ok(Some(u32::try_from(codes.len()).unwrap_or(u32::MAX)))
    }

    async fn recovery_codes_left(&self, account: AccountId) -> Result<u32> {
        let g = self.inner.lock();
        let n = g.recovery.get(&account).map_or(0, Vec::len);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn create_mfa_challenge(&self, hash: &[u8; 32], challenge: &MfaChallenge) -> Result<()> {
        let mut g = self.inner.lock();
        if !g.accounts.contains_key(&challenge.account_id) {
            return Err(Error::NotFound);
        }
        g.mfa_challenges.insert(*hash, challenge.clone());
        Ok(())
    }

    async fn begin_mfa_attempt(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
        max: u32,
    ) -> Result<Option<MfaChallenge>> {
        let mut g = self.inner.lock();
        let Some(c) = g.mfa_challenges.get_mut(hash) else {
            return Ok(None);
        };
        if c.expires_at <= now || c.attempts >= max {
            g.mfa_challenges.remove(hash);
            return Ok(None);
        }
        c.attempts += 1;
        Ok(Some(c.clone()))
    }

    async fn mfa_attempt_failed(&self, hash: &[u8; 32], max: u32) -> Result<u32> {
        let mut g = self.inner.lock();
        let Some(c) = g.mfa_challenges.get(hash) else {
            return Ok(0);
        };
        let left = max.saturating_sub(c.attempts);
        if left == 0 {
            g.mfa_challenges.remove(hash);
        }
        Ok(left)
    }

    async fn take_mfa_challenge(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<MfaChallenge>> {
        let mut g = self.inner.lock();
        Ok(g.mfa_challenges.remove(hash).filter(|c| c.expires_at > now))
    }

    async fn prune_mfa_challenges(&self, before: OffsetDateTime) -> Result<u64> {
        let mut g = self.inner.lock();
        let n = g.mfa_challenges.len();
        g.mfa_challenges.retain(|_, c| c.expires_at >= before);
        Ok((n - g.mfa_challenges.len()) as u64)
    }
}
