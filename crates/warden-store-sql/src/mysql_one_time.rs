//! [`OneTimeTokenStore`] on MySQL / MariaDB (a child module of `mysql`,
//! sharing its helpers). `issue` runs in a transaction that locks the account
//! row (`FOR UPDATE`, so concurrent issues for one account take turns);
//! `consume` locks the token row and deletes it, so a token is used at most
//! once.

use super::{MySqlStore, commit, get, insert_audit, my_err};
use crate::codec::{from_ts, ts};
use async_trait::async_trait;
use time::OffsetDateTime;
use warden_core::error::{Error, Result};
use warden_core::model::{AccountId, AuditEvent};
use warden_core::store::{ConsumedToken, OneTimeTokenStore, TokenKind};

#[async_trait]
impl OneTimeTokenStore for MySqlStore {
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
        let (issued, expires) = (ts(issued_at)?, ts(expires_at)?);
        let mut tx = self.write().await?;
        let locked = sqlx::query("SELECT 1 FROM accounts WHERE id = ? FOR UPDATE")
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(my_err)?;
        if locked.is_none() {
            return Err(Error::NotFound);
        }
        sqlx::query("DELETE FROM one_time_tokens WHERE account_id = ? AND kind = ?")
            .bind(account.0)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        sqlx::query(
            "INSERT INTO one_time_tokens (hash, kind, account_id, payload, issued_at, \
             expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&hash[..])
        .bind(kind.as_str())
        .bind(account.0)
        .bind(payload)
        .bind(issued)
        .bind(expires)
        .execute(&mut *tx)
        .await
        .map_err(my_err)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn consume(
        &self,
        kind: TokenKind,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<ConsumedToken>> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "SELECT account_id, payload, expires_at FROM one_time_tokens \
             WHERE hash = ? AND kind = ? FOR UPDATE",
        )
        .bind(&hash[..])
        .bind(kind.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(my_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM one_time_tokens WHERE hash = ?")
            .bind(&hash[..])
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        commit(tx).await?;
        if from_ts(get(&row, "expires_at")?)? <= now {
            return Ok(None);
        }
        Ok(Some(ConsumedToken {
            account_id: AccountId(get(&row, "account_id")?),
            payload: get(&row, "payload")?,
        }))
    }

    async fn revoke_for_account(&self, account: AccountId, kinds: &[TokenKind]) -> Result<u64> {
        let mut n = 0;
        for kind in kinds {
            let done = sqlx::query("DELETE FROM one_time_tokens WHERE account_id = ? AND kind = ?")
                .bind(account.0)
                .bind(kind.as_str())
                .execute(self.pool())
                .await
                .map_err(my_err)?;
            n += done.rows_affected();
        }
        Ok(n)
    }

    async fn last_issued_at(
        &self,
        kind: TokenKind,
        account: AccountId,
    ) -> Result<Option<OffsetDateTime>> {
        let row = sqlx::query(
            "SELECT MAX(issued_at) AS at FROM one_time_tokens WHERE account_id = ? AND kind = ?",
        )
        .bind(account.0)
        .bind(kind.as_str())
        .fetch_one(self.pool())
        .await
        .map_err(my_err)?;
        get::<Option<i64>>(&row, "at")?.map(from_ts).transpose()
    }

    async fn prune_one_time(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM one_time_tokens WHERE expires_at < ?")
            .bind(ts(before)?)
            .execute(self.pool())
            .await
            .map_err(my_err)?;
        Ok(done.rows_affected())
    }
}
