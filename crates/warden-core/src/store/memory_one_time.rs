//! [`OneTimeTokenStore`] of the in-memory store.

use super::*;

#[async_trait]
impl OneTimeTokenStore for MemoryStore {
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
        let mut g = self.inner.lock();
        if !g.accounts.contains_key(&account) {
            return Err(Error::NotFound);
        }
        g.one_time
            .retain(|_, t| !(t.account_id == account && t.kind == kind));
        g.one_time.insert(
            *hash,
            OneTimeRow {
                kind,
                account_id: account,
                payload: payload.map(str::to_owned),
                issued_at,
                expires_at,
            },
        );
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn consume(
        &self,
        kind: TokenKind,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<ConsumedToken>> {
        let mut g = self.inner.lock();
        if g.one_time.get(hash).is_none_or(|t| t.kind != kind) {
            return Ok(None);
        }
        Ok(g.one_time
            .remove(hash)
            .filter(|t| t.expires_at > now)
            .map(|t| ConsumedToken {
                account_id: t.account_id,
                payload: t.payload,
            }))
    }

    async fn revoke_for_account(&self, account: AccountId, kinds: &[TokenKind]) -> Result<u64> {
        let mut g = self.inner.lock();
        let n = g.one_time.len();
        g.one_time
            .retain(|_, t| !(t.account_id == account && kinds.contains(&t.kind)));
        Ok((n - g.one_time.len()) as u64)
    }

    async fn last_issued_at(
        &self,
        kind: TokenKind,
        account: AccountId,
    ) -> Result<Option<OffsetDateTime>> {
        let g = self.inner.lock();
        Ok(g.one_time
            .values()
            .filter(|t| t.account_id == account && t.kind == kind)
            .map(|t| t.issued_at)
            .max())
    }

    async fn prune_one_time(&self, before: OffsetDateTime) -> Result<u64> {
        let mut g = self.inner.lock();
        let n = g.one_time.len();
        g.one_time.retain(|_, t| t.expires_at >= before);
        Ok((n - g.one_time.len()) as u64)
    }
}
