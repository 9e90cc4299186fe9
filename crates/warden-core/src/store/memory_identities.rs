//! [`IdentityStore`] of the in-memory store.

use super::*;

#[async_trait]
impl IdentityStore for MemoryStore {
    async fn link_identity(&self, identity: &Identity, audit: &AuditEvent) -> Result<()> {
        let mut g = self.inner.lock();
        if !g.accounts.contains_key(&identity.account_id) {
            return Err(Error::NotFound);
        }
        if g.identities
            .iter()
            .any(|i| i.provider == identity.provider && i.subject == identity.subject)
        {
            return Err(Error::IdentityTaken);
        }
        g.identities.push(identity.clone());
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn identity_by_subject(&self, provider: &str, subject: &str) -> Result<Option<Identity>> {
        let g = self.inner.lock();
        Ok(g.identities
            .iter()
            .find(|i| i.provider == provider && i.subject == subject)
            .cloned())
    }

    async fn identities_of(&self, account: AccountId) -> Result<Vec<Identity>> {
        let g = self.inner.lock();
        let mut out: Vec<Identity> = g
            .identities
            .iter()
            .filter(|i| i.account_id == account)
            .cloned()
            .collect();
        out.sort_by_key(|i| (i.created_at, i.id));
        Ok(out)
    }

    async fn unlink_identity(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        if !g
            .identities
            .iter()
            .any(|i| i.id == id && i.account_id == account)
        {
            return Ok(false);
        }
        if g.sign_in_methods(account) <= 1 {
            return Err(Error::LastSignInMethod);
        }
        g.identities
            .retain(|i| !(i.id == id && i.account_id == account));
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn put_oauth_state(
        &self,
        hash: &[u8; 32],
        payload: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let mut g = self.inner.lock();
        g.oauth_states
            .insert(*hash, (payload.to_owned(), expires_at));
        Ok(())
    }

    async fn take_oauth_state(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<String>> {
        let mut g = self.inner.lock();
        Ok(g.oauth_states
            .remove(hash)
            .filter(|(_, exp)| *exp > now)
            .map(|(p, _)| p))
    }

    async fn prune_oauth_states(&self, before: OffsetDateTime) -> Result<u64> {
        let mut g = self.inner.lock();
        let n = g.oauth_states.len();
        g.oauth_states.retain(|_, (_, exp)| *exp >= before);
        Ok((n - g.oauth_states.len()) as u64)
    }
}
