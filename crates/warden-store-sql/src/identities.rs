//! [`IdentityStore`] of [`SqlBackend`]. `link_identity` checks the account
//! (share-locked against deletion) and inserts the row in one transaction
//! (the unique `(provider, subject)` key makes a second link fail);
//! `unlink_identity` refuses to remove the last sign-in method (the account
//! row is locked first, see [`remove_sign_in_method`]); `take_oauth_state` locks
//! the row and deletes it, so a state is used at most once.

use crate::accounts::require_account;
use crate::backend::{SqlBackend, insert_audit, remove_sign_in_method};
use crate::codec::{from_ts, storable, ts};
use crate::dialect::Dialect;
use crate::rows::{self, identity_cols, select};
use crate::sql::sql;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{AccountId, AuditEvent};
use warden_core::store::{Identity, IdentityStore};

#[async_trait]
impl<D: Dialect> IdentityStore for SqlBackend<D> {
    async fn link_identity(&self, identity: &Identity, audit: &AuditEvent) -> Result<()> {
        let created = ts(identity.created_at)?;
        let mut tx = self.write().await?;
        require_account(&mut tx, identity.account_id).await?;
        let taken = tx
            .q(sql!(
                "SELECT 1 FROM identities WHERE provider = $1 AND subject = $2"
            ))
            .binds((&identity.provider, &identity.subject))
            .exists()
            .await?;
        if taken {
            return Err(Error::IdentityTaken);
        }
        tx.q(sql!(concat!(
            "INSERT INTO identities (",
            identity_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        )))
        .binds((
            identity.id,
            identity.account_id.0,
            &identity.provider,
            &identity.subject,
            &identity.email,
            created,
        ))
        .execute()
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn identity_by_subject(&self, provider: &str, subject: &str) -> Result<Option<Identity>> {
        if !storable(provider) || !storable(subject) {
            return Ok(None);
        }
        self.q(select!(
            identity_cols,
            "identities WHERE provider = $1 AND subject = $2"
        ))
        .binds((provider, subject))
        .one(rows::identity)
        .await
    }

    async fn identities_of(&self, account: AccountId) -> Result<Vec<Identity>> {
        self.q(select!(
            identity_cols,
            "identities WHERE account_id = $1 ORDER BY created_at, id"
        ))
        .bind(account.0)
        .all(rows::identity)
        .await
    }

    async fn unlink_identity(
        &self,
        account: AccountId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mine = sql!("SELECT 1 FROM identities WHERE id = $1 AND account_id = $2");
        let delete = sql!("DELETE FROM identities WHERE id = $1 AND account_id = $2");
        let tx = self.write().await?;
        remove_sign_in_method(tx, account, id, [mine, delete], audit).await
    }

    async fn put_oauth_state(
        &self,
        hash: &[u8; 32],
        payload: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        self.q(sql!(
            "INSERT INTO oauth_states (hash, payload, expires_at) VALUES ($1, $2, $3)"
        ))
        .binds((hash, payload, ts(expires_at)?))
        .run()
        .await
    }

    async fn take_oauth_state(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<String>> {
        let mut tx = self.write().await?;
        let Some(row) = tx
            .q(sql!(
                "SELECT payload, expires_at FROM oauth_states WHERE hash = $1 {FOR UPDATE}"
            ))
            .bind(hash)
            .fetch_optional()
            .await?
        else {
            return Ok(None);
        };
        tx.q(sql!("DELETE FROM oauth_states WHERE hash = $1"))
            .bind(hash)
            .execute()
            .await?;
        tx.commit().await?;
        if from_ts(row.get("expires_at")?)? <= now {
            return Ok(None);
        }
        Ok(Some(row.get("payload")?))
    }

    async fn prune_oauth_states(&self, before: OffsetDateTime) -> Result<u64> {
        self.q(sql!("DELETE FROM oauth_states WHERE expires_at < $1"))
            .bind(ts(before)?)
            .execute()
            .await
    }
}
