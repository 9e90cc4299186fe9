//! [`IdentityStore`] for SQLite and PostgreSQL: one source, compiled as a child
//! module of each backend, which names its store (`Backend`), its row type
//! (`BackendRow`) and how a link checks its account (`ACCOUNT_CHECK`). `link_identity` runs in one transaction that checks the account
//! and inserts the row (the unique `(provider, subject)` key makes a second
//! link fail); `unlink_identity` refuses to remove the last sign-in method
//! (the account row is locked first); `take_oauth_state` is a single `DELETE ... RETURNING`, so a state is used at most once.

use super::{ACCOUNT_CHECK, Backend, BackendRow, commit, get, insert_audit};
use crate::codec::{db_err, from_ts, ts};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{AccountId, AuditEvent};
use warden_core::store::{Identity, IdentityStore};

fn identity_from_row(row: &BackendRow) -> Result<Identity> {
    Ok(Identity {
        id: get(row, "id")?,
        account_id: AccountId(get(row, "account_id")?),
        provider: get(row, "provider")?,
        subject: get(row, "subject")?,
        email: get(row, "email")?,
        created_at: from_ts(get(row, "created_at")?)?,
    })
}

/// A unique violation on insert means the identity is linked already.
fn link_err(e: sqlx::Error) -> Error {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        return Error::IdentityTaken;
    }
    db_err(e)
}

#[async_trait]
impl IdentityStore for Backend {
    async fn link_identity(&self, identity: &Identity, audit: &AuditEvent) -> Result<()> {
        let created = ts(identity.created_at)?;
        let mut tx = self.write().await?;
        let found = sqlx::query(ACCOUNT_CHECK)
            .bind(identity.account_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if found.is_none() {
            return Err(Error::NotFound);
        }
        let taken = sqlx::query("SELECT 1 FROM identities WHERE provider = $1 AND subject = $2")
            .bind(&identity.provider)
            .bind(&identity.subject)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if taken.is_some() {
            return Err(Error::IdentityTaken);
        }
        sqlx::query(
            "INSERT INTO identities (id, account_id, provider, subject, email, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(identity.id)
        .bind(identity.account_id.0)
        .bind(&identity.provider)
        .bind(&identity.subject)
        .bind(identity.email.as_deref())
        .bind(created)
        .execute(&mut *tx)
        .await
        .map_err(link_err)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn identity_by_subject(&self, provider: &str, subject: &str) -> Result<Option<Identity>> {
        let row = sqlx::query(
            "SELECT id, account_id, provider, subject, email, created_at FROM identities WHERE provider = $1 AND subject = $2",
        )
        .bind(provider)
        .bind(subject)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        row.as_ref().map(identity_from_row).transpose()
    }

    async fn identities_of(&self, account: AccountId) -> Result<Vec<Identity>> {
        let rows = sqlx::query(
            "SELECT id, account_id, provider, subject, email, created_at FROM identities WHERE account_id = $1 ORDER BY created_at, id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter().map(identity_from_row).collect()
    }

    async fn unlink_identity(
        &self,
        account: AccountId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        // Lock the account and count what is left (see `sql_passkeys.rs`).
        let Some(methods) = super::passkeys::sign_in_methods(&mut tx, account).await? else {
            return Ok(false);
        };
        let mine = sqlx::query("SELECT 1 FROM identities WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if mine.is_none() {
            return Ok(false);
        }
        if methods <= 1 {
            return Err(Error::LastSignInMethod);
        }
        let done = sqlx::query("DELETE FROM identities WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn put_oauth_state(
        &self,
        hash: &[u8; 32],
        payload: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("INSERT INTO oauth_states (hash, payload, expires_at) VALUES ($1, $2, $3)")
            .bind(&hash[..])
            .bind(payload)
            .bind(ts(expires_at)?)
            .execute(self.pool())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn take_oauth_state(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<String>> {
        let row =
            sqlx::query("DELETE FROM oauth_states WHERE hash = $1 RETURNING payload, expires_at")
                .bind(&hash[..])
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        if from_ts(get(&row, "expires_at")?)? <= now {
            return Ok(None);
        }
        Ok(Some(get(&row, "payload")?))
    }

    async fn prune_oauth_states(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM oauth_states WHERE expires_at < $1")
            .bind(ts(before)?)
            .execute(self.pool())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
