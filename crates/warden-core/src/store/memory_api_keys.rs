//! [`ApiKeyStore`] of the in-memory store.

use super::*;
use crate::model::ApiKeyId;

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn insert_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> Result<()> {
        let mut g = self.inner.lock();
        if !g.accounts.contains_key(&key.account_id) {
            return Err(Error::NotFound);
        }
        if g.api_keys.contains_key(&key.id) {
            return Err(Error::Internal("duplicate API key id".into()));
        }
        g.api_keys.insert(key.id, key.clone());
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn insert_api_key_with_owner(
        &self,
        new_owner: Option<&Account>,
        key: &ApiKey,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut g = self.inner.lock();
        if g.api_keys.contains_key(&key.id) {
            return Err(Error::Internal("duplicate API key id".into()));
        }
        match new_owner {
            Some(a) => {
                if a.id != key.account_id {
                    return Err(Error::Internal("the new owner is not the key's".into()));
                }
                if g.accounts.contains_key(&a.id) {
                    return Err(Error::Internal("duplicate account id".into()));
                }
                g.check_unique(a)?;
                g.accounts.insert(a.id, a.clone());
            }
            None => {
                let owner = g.accounts.get_mut(&key.account_id).ok_or(Error::NotFound)?;
                let before = owner.scopes.len();
                owner.scopes.extend(key.scopes.iter().cloned());
                owner.scopes.sort();
                owner.scopes.dedup();
                if owner.scopes.len() != before {
                    owner.updated_at = key.created_at;
                    g.push_feed(Change::AccountChanged(key.account_id), key.created_at);
                }
            }
        }
        g.api_keys.insert(key.id, key.clone());
        g.audit.extend(audit.iter().cloned());
        Ok(())
    }

    async fn api_key(&self, id: ApiKeyId) -> Result<Option<ApiKey>> {
        Ok(self.inner.lock().api_keys.get(&id).cloned())
    }

    async fn list_api_keys(&self, query: &ApiKeyQuery) -> Result<Vec<ApiKey>> {
        let g = self.inner.lock();
        let mut v: Vec<ApiKey> = g
            .api_keys
            .values()
            .filter(|k| query.account_id.is_none_or(|a| k.account_id == a))
            .filter(|k| query.include_revoked || k.revoked_at.is_none())
            .cloned()
            .collect();
        v.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        v.truncate(query.limit as usize);
        Ok(v)
    }

    async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(k) = g.api_keys.get_mut(&id) else {
            return Ok(false);
        };
        if k.revoked_at.is_some() {
            return Ok(false);
        }
        k.revoked_at = Some(now);
        let account = k.account_id;
        g.push_feed(Change::ApiKeyRevoked(id, account), now);
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn renew_api_key(
        &self,
        id: ApiKeyId,
        expires_at: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(k) = g.api_keys.get_mut(&id) else {
            return Ok(false);
        };
        if k.revoked_at.is_some() {
            return Ok(false);
        }
        k.expires_at = expires_at;
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn append_api_key_usage(
        &self,
        batch: &[ApiKeyUsage],
        prune: &[ApiKeyId],
        keep: u32,
    ) -> Result<u64> {
        let mut g = self.inner.lock();
        let mut stored = 0;
        for u in batch {
            if !g.api_keys.contains_key(&u.key_id) {
                continue;
            }
            // Oldest first, a record after those of the same time (insertion
            // order breaks ties); usually the end.
            let log = g.api_key_usage.entry(u.key_id).or_default();
            let at = log.partition_point(|x| x.at <= u.at);
            log.insert(at, u.clone());
            stored += 1;
        }
        for id in prune {
            if let Some(log) = g.api_key_usage.get_mut(id) {
                let excess = log.len().saturating_sub(keep as usize);
                log.drain(..excess);
            }
        }
        Ok(stored)
    }

    async fn api_key_usage(&self, id: ApiKeyId, limit: u32) -> Result<Vec<ApiKeyUsage>> {
        let g = self.inner.lock();
        Ok(g.api_key_usage
            .get(&id)
            .map(|log| log.iter().rev().take(limit as usize).cloned().collect())
            .unwrap_or_default())
    }
}
