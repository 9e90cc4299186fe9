//! [`PasskeyStore`] of [`SqlBackend`]. An insert checks the account (locked,
//! as a removal does) and the credential id; a removal refuses to take the
//! last sign-in method (see [`remove_sign_in_method`]).

use crate::backend::{
    SqlBackend, insert_account_row, insert_audit, remove_sign_in_method, sign_in_methods,
};
use crate::codec::{ts, ts_opt};
use crate::dialect::{Dialect, Tx};
use crate::rows::{self, passkey_cols, select};
use crate::sql::sql;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{Account, AccountId, AuditEvent};
use warden_core::store::{Passkey, PasskeyStore};

fn taken() -> Error {
    Error::BadRequest("this passkey is registered already".into())
}

/// Insert a passkey row, unless its credential id is registered already.
async fn insert_row<D: Dialect>(tx: &mut Tx<D>, p: &Passkey) -> Result<()> {
    let registered = tx
        .q(sql!("SELECT 1 FROM passkeys WHERE credential_id = $1"))
        .bind(&p.credential_id)
        .exists()
        .await?;
    if registered {
        return Err(taken());
    }
    tx.q(sql!(concat!(
        "INSERT INTO passkeys (",
        passkey_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )))
    .binds((
        p.id,
        p.account_id.0,
        &p.credential_id,
        &p.name,
        &p.credential,
        p.backup_eligible,
        p.backup_state,
        ts(p.created_at)?,
        ts_opt(p.last_used_at)?,
    ))
    .run()
    .await
}

#[async_trait]
impl<D: Dialect> PasskeyStore for SqlBackend<D> {
    async fn insert_passkey(&self, passkey: &Passkey, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        if sign_in_methods(&mut tx, passkey.account_id)
            .await?
            .is_none()
        {
            return Err(Error::NotFound);
        }
        insert_row(&mut tx, passkey).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn insert_account_with_passkey(
        &self,
        account: &Account,
        passkey: &Passkey,
        audit: &[AuditEvent],
    ) -> Result<()> {
        if passkey.account_id != account.id {
            return Err(Error::Internal("passkey of another account".into()));
        }
        let mut tx = self.write().await?;
        insert_account_row(&mut tx, account).await?;
        insert_row(&mut tx, passkey).await?;
        for ev in audit {
            insert_audit(&mut tx, ev).await?;
        }
        tx.commit().await
    }

    async fn passkeys_of(&self, account: AccountId) -> Result<Vec<Passkey>> {
        self.q(select!(
            passkey_cols,
            "passkeys WHERE account_id = $1 ORDER BY created_at, id"
        ))
        .bind(account.0)
        .all(rows::passkey)
        .await
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>> {
        self.q(select!(passkey_cols, "passkeys WHERE credential_id = $1"))
            .bind(credential_id)
            .one(rows::passkey)
            .await
    }

    async fn passkey_used(
        &self,
        id: Uuid,
        credential: &str,
        backup_state: bool,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let done = self
            .q(sql!(
                "UPDATE passkeys SET credential = $1, backup_state = $2, last_used_at = $3 \
                 WHERE id = $4"
            ))
            .binds((credential, backup_state, ts(now)?, id))
            .execute()
            .await?;
        Ok(done > 0)
    }

    async fn rename_passkey(&self, account: AccountId, id: Uuid, name: &str) -> Result<bool> {
        let done = self
            .q(sql!(
                "UPDATE passkeys SET name = $1 WHERE id = $2 AND account_id = $3"
            ))
            .binds((name, id, account.0))
            .execute()
            .await?;
        Ok(done > 0)
    }

    async fn delete_passkey(
        &self,
        account: AccountId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mine = sql!("SELECT 1 FROM passkeys WHERE id = $1 AND account_id = $2");
        let delete = sql!("DELETE FROM passkeys WHERE id = $1 AND account_id = $2");
        let tx = self.write().await?;
        remove_sign_in_method(tx, account, id, [mine, delete], audit).await
    }
}
