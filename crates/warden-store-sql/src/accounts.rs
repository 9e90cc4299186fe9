//! [`AccountStore`] of [`SqlBackend`].

use crate::backend::{
    SqlBackend, account_exists, insert_account_row, insert_audit, insert_feed, revoke_live,
};
use crate::codec::{AccountCols, like_escape, storable, ts};
use crate::dialect::Dialect;
use crate::rows::{self, account_cols, select};
use crate::sql::sql;
use async_trait::async_trait;
use time::OffsetDateTime;
use warden_core::error::{Error, Result};
use warden_core::model::{Account, AccountId, AuditEvent};
use warden_core::store::{AccountQuery, AccountStore, Change, LoginCollision, Revoke};

#[async_trait]
impl<D: Dialect> AccountStore for SqlBackend<D> {
    async fn insert_account(&self, account: &Account, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        insert_account_row(&mut tx, account).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>> {
        self.q(select!(account_cols, "accounts WHERE id = $1"))
            .bind(id.0)
            .one(rows::account)
            .await
    }

    async fn account_by_login(&self, login_key: &str) -> Result<Option<Account>> {
        if !storable(login_key) {
            return Ok(None);
        }
        self.q(select!(account_cols, "accounts WHERE login_key = $1"))
            .bind(login_key)
            .one(rows::account)
            .await
    }

    async fn account_by_login_skeleton(&self, skeleton: &str) -> Result<Option<Account>> {
        if !storable(skeleton) {
            return Ok(None);
        }
        self.q(select!(account_cols, "accounts WHERE login_skeleton = $1"))
            .bind(skeleton)
            .one(rows::account)
            .await
    }

    async fn prepare_logins(&self) -> Result<Vec<LoginCollision>> {
        crate::logins::prepare_logins(self).await
    }

    async fn account_by_email(&self, email_key: &str) -> Result<Option<Account>> {
        if !storable(email_key) {
            return Ok(None);
        }
        self.q(select!(account_cols, "accounts WHERE email_key = $1"))
            .bind(email_key)
            .one(rows::account)
            .await
    }

    async fn update_account(
        &self,
        account: &Account,
        revoke: Revoke,
        now: OffsetDateTime,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let c = AccountCols::of(account)?;
        let at = ts(now)?;
        let login_key = account.login_key();
        let skeleton = account.login_skeleton();
        let mut tx = self.feed_write().await?;
        // The key and skeleton change only with the login, so a row that kept
        // its old key or has no skeleton (a `LoginCollision`) stays writable.
        // They come before `login = $2`: MySQL evaluates SET left to right.
        let done = tx
            .q(sql!(
                "UPDATE accounts SET \
                 login_key = CASE WHEN login = $2 THEN login_key ELSE $14 END, \
                 login_skeleton = CASE WHEN login = $2 THEN login_skeleton ELSE $16 END, \
                 login = $2, email = $3, email_verified = $4, active = $5, \
                 blocked = $6, block_reason = $7, scopes = $8, properties = $9, \
                 password_hash = $10, password_changed_at = $11, created_at = $12, \
                 updated_at = $13, email_key = $15, kind = $17 WHERE id = $1"
            ))
            .binds((
                account.id.0,
                &account.login,
                &account.email,
                account.email_verified,
                account.active,
                account.blocked,
                &account.block_reason,
                &c.scopes,
                &c.properties,
                &account.password_hash,
                c.password_changed_at,
                c.created_at,
                c.updated_at,
                &login_key,
                &c.email_key,
                &skeleton,
            ))
            .bind(account.kind.as_str())
            .execute()
            .await?;
        if done == 0 {
            return Err(Error::NotFound);
        }
        revoke_live(&mut tx, account.id, revoke, at).await?;
        insert_feed(&mut tx, &Change::AccountChanged(account.id), at).await?;
        for ev in audit {
            insert_audit(&mut tx, ev).await?;
        }
        tx.commit().await
    }

    async fn replace_password_hash(
        &self,
        id: AccountId,
        old: &str,
        new: &str,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let at = ts(now)?;
        let mut tx = self.feed_write().await?;
        let done = tx
            .q(sql!(
                "UPDATE accounts SET password_hash = $3, updated_at = $4 \
                 WHERE id = $1 AND password_hash = $2"
            ))
            .binds((id.0, old, new, at))
            .execute()
            .await?;
        if done == 0 {
            return Ok(false);
        }
        insert_feed(&mut tx, &Change::AccountChanged(id), at).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_account(
        &self,
        id: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let at = ts(now)?;
        let mut tx = self.feed_write().await?;
        // Lock the account first (the row order of every writer), so that no
        // session can be added to it until this transaction ends.
        let locked = tx
            .q(sql!("SELECT 1 FROM accounts WHERE id = $1 {FOR UPDATE}"))
            .bind(id.0)
            .exists()
            .await?;
        if !locked {
            return Ok(false);
        }
        revoke_live(&mut tx, id, Revoke::All, at).await?;
        tx.q(sql!(
            "DELETE FROM refresh_tokens WHERE session_id IN \
             (SELECT id FROM sessions WHERE account_id = $1)"
        ))
        .bind(id.0)
        .execute()
        .await?;
        tx.q(sql!("DELETE FROM sessions WHERE account_id = $1"))
            .bind(id.0)
            .execute()
            .await?;
        tx.q(sql!("DELETE FROM accounts WHERE id = $1"))
            .bind(id.0)
            .execute()
            .await?;
        insert_feed(&mut tx, &Change::AccountChanged(id), at).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_accounts(&self, query: &AccountQuery) -> Result<Vec<Account>> {
        if query.search.as_deref().is_some_and(|s| !storable(s)) {
            // No key holds a NUL: nothing matches.
            return Ok(Vec::new());
        }
        let pattern = query
            .search
            .as_deref()
            .map(|s| format!("%{}%", like_escape(&s.to_lowercase())));
        self.q(sql!(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE ($1::uuid IS NULL OR id > $1) AND ($2::text IS NULL \
                 OR login_key LIKE $2 ESCAPE '!' OR email_key LIKE $2 ESCAPE '!') \
                 ORDER BY id LIMIT $3"
        )))
        .binds((
            query.after.map(|a| a.0),
            pattern.as_deref(),
            i64::from(query.limit),
        ))
        .all(rows::account)
        .await
    }
}

/// Shared by the traits whose rows reference an account.
pub(crate) async fn require_account<D: Dialect>(
    tx: &mut crate::dialect::Tx<D>,
    id: AccountId,
) -> Result<()> {
    if account_exists(tx, id).await? {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}
