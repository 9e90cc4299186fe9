//! [`IdentityStore`] on MySQL / MariaDB (a child module of `mysql`, sharing its
//! helpers). `link_identity` runs in one transaction that checks the account
//! and inserts the row (the unique `(provider, subject)` key makes a second
//! link fail); `take_oauth_state` locks the row and deletes it, so a state is used at most once.

use super::{MySqlStore, commit, get, insert_audit, my_err};
use crate::codec::{from_ts, ts};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{AccountId, AuditEvent};
use warden_core::store::{Identity, IdentityStore};

fn identity_from_row(row: &sqlx::mysql::MySqlRow) -> Result<Identity> {
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
    my_err(e)
}

#[async_trait]
impl IdentityStore for MySqlStore {
    async fn link_identity(&self, identity: &Identity, audit: &AuditEvent) -> Result<()> {
        let created = ts(identity.created_at)?;
        let mut tx = self.write().await?;
        let found = sqlx::query("SELECT 1 FROM accounts WHERE id = ? LOCK IN SHARE MODE")
            .bind(identity.account_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(my_err)?;
        if found.is_none() {
            return Err(Error::NotFound);
        }
        let taken = sqlx::query("SELECT 1 FROM identities WHERE provider = ? AND subject = ?")
            .bind(&identity.provider)
            .bind(&identity.subject)
            .fetch_optional(&mut *tx)
            .await
            .map_err(my_err)?;
        if taken.is_some() {
            return Err(Error::IdentityTaken);
        }
        sqlx::query(
            "INSERT INTO identities (id, account_id, provider, subject, email, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
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
            "SELECT id, account_id, provider, subject, email, created_at FROM identities WHERE provider = ? AND subject = ?",
        )
        .bind(provider)
        .bind(subject)
        .fetch_optional(self.pool())
        .await
        .map_err(my_err)?;
        row.as_ref().map(identity_from_row).transpose()
    }

    async fn identities_of(&self, account: AccountId) -> Result<Vec<Identity>> {
        let rows = sqlx::query(
            "SELECT id, account_id, provider, subject, email, created_at FROM identities WHERE account_id = ? ORDER BY created_at, id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(my_err)?;
        rows.iter().map(identity_from_row).collect()
    }

    async fn unlink_identity(
        &self,
        account: AccountId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        // Lock the account and count what is left (see `mysql_passkeys.rs`).
        let Some(methods) = super::passkeys::sign_in_methods(&mut tx, account).await? else {
            return Ok(false);
        };
        let mine = sqlx::query("SELECT 1 FROM identities WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(my_err)?;
        if mine.is_none() {
            return Ok(false);
        }
        if methods <= 1 {
            return Err(Error::LastSignInMethod);
        }
        let done = sqlx::query("DELETE FROM identities WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account.0)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
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
        sqlx::query("INSERT INTO oauth_states (hash, payload, expires_at) VALUES (?, ?, ?)")
            .bind(&hash[..])
            .bind(payload)
            .bind(ts(expires_at)?)
            .execute(self.pool())
            .await
            .map_err(my_err)?;
        Ok(())
    }

    async fn take_oauth_state(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<String>> {
        let mut tx = self.write().await?;
        let row =
            sqlx::query("SELECT payload, expires_at FROM oauth_states WHERE hash = ? FOR UPDATE")
                .bind(&hash[..])
                .fetch_optional(&mut *tx)
                .await
                .map_err(my_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM oauth_states WHERE hash = ?")
            .bind(&hash[..])
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        commit(tx).await?;
        if from_ts(get(&row, "expires_at")?)? <= now {
            return Ok(None);
        }
        Ok(Some(get(&row, "payload")?))
    }

    async fn prune_oauth_states(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM oauth_states WHERE expires_at < ?")
            .bind(ts(before)?)
            .execute(self.pool())
            .await
            .map_err(my_err)?;
        Ok(done.rows_affected())
    }
}
