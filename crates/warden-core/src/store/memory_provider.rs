//! [`ProviderStore`] of the in-memory store.

use super::*;

#[async_trait]
impl ProviderStore for MemoryStore {
    async fn insert_oauth_client(&self, client: &OAuthClient, audit: &AuditEvent) -> Result<()> {
        let mut g = self.inner.lock();
        g.oauth_clients
            .insert(client.client_id.clone(), client.clone());
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn oauth_client(&self, client_id: &str) -> Result<Option<OAuthClient>> {
        Ok(self.inner.lock().oauth_clients.get(client_id).cloned())
    }

    async fn oauth_clients(&self) -> Result<Vec<OAuthClient>> {
        let g = self.inner.lock();
        let mut out: Vec<OAuthClient> = g.oauth_clients.values().cloned().collect();
        out.sort_by(|a, b| (a.created_at, &a.client_id).cmp(&(b.created_at, &b.client_id)));
        Ok(out)
    }

    async fn update_oauth_client(&self, client: &OAuthClient, audit: &AuditEvent) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(row) = g.oauth_clients.get_mut(&client.client_id) else {
            return Ok(false);
        };
        *row = client.clone();
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn delete_oauth_client(
        &self,
        client_id: &str,
        audit: &AuditEvent,
    ) -> Result<Option<Vec<AccountId>>> {
        let mut g = self.inner.lock();
        if g.oauth_clients.remove(client_id).is_none() {
            return Ok(None);
        }
        g.auth_codes.retain(|_, c| c.client_id != client_id);
        let mut accounts: Vec<AccountId> = (g.consents.keys())
            .filter(|(_, c)| c == client_id)
            .map(|(a, _)| *a)
            .collect();
        accounts.sort();
        g.consents.retain(|(_, c), _| c != client_id);
        g.audit.push(audit.clone());
        Ok(Some(accounts))
    }

    async fn insert_auth_code(&self, code: &AuthCode, audit: &AuditEvent) -> Result<()> {
        let mut g = self.inner.lock();
        if !g.oauth_clients.contains_key(&code.client_id)
            || !g.accounts.contains_key(&code.account_id)
        {
            return Err(Error::NotFound);
        }
        g.auth_codes.insert(code.hash, code.clone());
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn use_auth_code(
        &self,
        hash: &[u8; 32],
        session: SessionId,
        now: OffsetDateTime,
    ) -> Result<CodeUse> {
        let mut g = self.inner.lock();
        let Some(code) = g.auth_codes.get_mut(hash) else {
            return Ok(CodeUse::Invalid);
        };
        if code.used_at.is_some() {
            return Ok(CodeUse::Reused(code.clone()));
        }
        if code.expires_at <= now {
            return Ok(CodeUse::Invalid);
        }
        code.used_at = Some(now);
        code.session_id = Some(session);
        Ok(CodeUse::Fresh(code.clone()))
    }

    async fn put_consent(&self, consent: &Consent, audit: &AuditEvent) -> Result<()> {
        let mut g = self.inner.lock();
        if !g.oauth_clients.contains_key(&consent.client_id)
            || !g.accounts.contains_key(&consent.account_id)
        {
            return Err(Error::NotFound);
        }
        let key = (consent.account_id, consent.client_id.clone());
        g.consents.insert(key, consent.clone());
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn consent(&self, account: AccountId, client_id: &str) -> Result<Option<Consent>> {
        let g = self.inner.lock();
        Ok(g.consents.get(&(account, client_id.to_owned())).cloned())
    }

    async fn consents_of(&self, account: AccountId) -> Result<Vec<Consent>> {
        let g = self.inner.lock();
        let mut out: Vec<Consent> = (g.consents.values())
            .filter(|c| c.account_id == account)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.granted_at, &a.client_id).cmp(&(b.granted_at, &b.client_id)));
        Ok(out)
    }

    async fn delete_consent(
        &self,
        account: AccountId,
        client_id: &str,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        if g.consents
            .remove(&(account, client_id.to_owned()))
            .is_none()
        {
            return Ok(false);
        }
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn prune_auth_codes(&self, before: OffsetDateTime) -> Result<u64> {
        let mut g = self.inner.lock();
        let n = g.auth_codes.len();
        g.auth_codes.retain(|_, c| c.expires_at >= before);
        Ok((n - g.auth_codes.len()) as u64)
    }
}
