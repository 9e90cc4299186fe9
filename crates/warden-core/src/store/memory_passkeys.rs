//! [`PasskeyStore`] of the in-memory store.

use super::*;

#[async_trait]
impl PasskeyStore for MemoryStore {
    async fn insert_passkey(&self, passkey: &Passkey, audit: &AuditEvent) -> Result<()> {
        let mut g = self.inner.lock();
        if !g.accounts.contains_key(&passkey.account_id) {
            return Err(Error::NotFound);
        }
        if g.passkeys
            .iter()
            .any(|p| p.credential_id == passkey.credential_id)
        {
            return Err(passkey_taken());
        }
        g.passkeys.push(passkey.clone());
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn insert_account_with_passkey(
        &self,
        account: &Account,
        passkey: &Passkey,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut g = self.inner.lock();
        if g.accounts.contains_key(&account.id) || passkey.account_id != account.id {
            return Err(Error::Internal("duplicate or mismatched account id".into()));
        }
        g.check_unique(account)?;
        if g.passkeys
            .iter()
            .any(|p| p.credential_id == passkey.credential_id)
        {
            return Err(passkey_taken());
        }
        g.accounts.insert(account.id, account.clone());
        g.passkeys.push(passkey.clone());
        g.audit.extend(audit.iter().cloned());
        Ok(())
    }

    async fn passkeys_of(&self, account: AccountId) -> Result<Vec<Passkey>> {
        let g = self.inner.lock();
        let mut out: Vec<Passkey> = g
            .passkeys
            .iter()
            .filter(|p| p.account_id == account)
            .cloned()
            .collect();
        out.sort_by_key(|p| (p.created_at, p.id));
        Ok(out)
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>> {
        let g = self.inner.lock();
        Ok(g.passkeys
            .iter()
            .find(|p| p.credential_id == credential_id)
            .cloned())
    }

    async fn passkey_used(
        &self,
        id: uuid::Uuid,
        credential: &str,
        backup_state: bool,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(p) = g.passkeys.iter_mut().find(|p| p.id == id) else {
            return Ok(false);
        };
        credential.clone_into(&mut p.credential);
        p.backup_state = backup_state;
        p.last_used_at = Some(now);
        Ok(true)
    }

    async fn rename_passkey(&self, account: AccountId, id: uuid::Uuid, name: &str) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(p) = g
            .passkeys
            .iter_mut()
            .find(|p| p.id == id && p.account_id == account)
        else {
            return Ok(false);
        };
        name.clone_into(&mut p.name);
        Ok(true)
    }

    async fn delete_passkey(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        if !g
            .passkeys
            .iter()
            .any(|p| p.id == id && p.account_id == account)
        {
            return Ok(false);
        }
        if g.sign_in_methods(account) <= 1 {
            return Err(Error::LastSignInMethod);
        }
        g.passkeys
            .retain(|p| !(p.id == id && p.account_id == account));
        g.audit.push(audit.clone());
        Ok(true)
    }
}

/// The error of a credential id that is registered already.
pub(crate) fn passkey_taken() -> Error {
    Error::BadRequest("this passkey is registered already".into())
}
