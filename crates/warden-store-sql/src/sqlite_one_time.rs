//! [`OneTimeTokenStore`] on SQLite (a child module of `sqlite`, sharing its
//! helpers). `issue` runs in a `BEGIN IMMEDIATE` transaction; `consume` is a
//! single `DELETE ... RETURNING`, so a token is used at most once.

use super::{SqlStore, account_exists, commit, get, insert_audit};
use crate::codec::{db_err, from_ts, ts};
use async_trait::async_trait;
use time::OffsetDateTime;
use warden_core::error::{Error, Result};
use warden_core::model::{AccountId, AuditEvent};
use warden_core::store::{ConsumedToken, OneTimeTokenStore, TokenKind};

#[async_trait]
impl OneTimeTokenStore for SqlStore {
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
        if !account_exists(&mut tx, account).await? {
            return Err(Error::NotFound);
        }
        sqlx::query("DELETE FROM one_time_tokens WHERE account_id = $1 AND kind = $2")
            .bind(account.0)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO one_time_tokens (hash, kind, account_id, payload, issued_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&hash[..])
        .bind(kind.as_str())
        .bind(account.0)
        .bind(payload)
        .bind(issued)
        .bind(expires)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn consume(
        &self,
        kind: TokenKind,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<ConsumedToken>> {
        let row = sqlx::query(
            "DELETE FROM one_time_tokens WHERE hash = $1 AND kind = $2 \
             RETURNING account_id, payload, expires_at",
        )
        .bind(&hash[..])
        .bind(kind.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
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
            let done =
                sqlx::query("DELETE FROM one_time_tokens WHERE account_id = $1 AND kind = $2")
                    .bind(account.0)
                    .bind(kind.as_str())
                    .execute(self.pool())
                    .await
                    .map_err(db_err)?;
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
            "SELECT MAX(issued_at) AS at FROM one_time_tokens \
             WHERE account_id = $1 AND kind = $2",
        )
        .bind(account.0)
        .bind(kind.as_str())
        .fetch_one(self.pool())
        .await
        .map_err(db_err)?;
        get::<Option<i64>>(&row, "at")?.map(from_ts).transpose()
    }

    async fn prune_one_time(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM one_time_tokens WHERE expires_at < $1")
            .bind(ts(before)?)
            .execute(self.pool())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
