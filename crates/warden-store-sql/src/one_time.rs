//! [`OneTimeTokenStore`] of [`SqlBackend`]. `issue` runs in a transaction
//! that locks the account row (`{FOR NO KEY UPDATE}`: concurrent issues for
//! one account take turns, while rows referencing the account can still be
//! inserted); `consume` locks the token row and deletes it, so a token is
//! used at most once.

use crate::backend::{SqlBackend, insert_audit};
use crate::codec::{from_ts, ts};
use crate::dialect::Dialect;
use crate::sql::sql;
use async_trait::async_trait;
use time::OffsetDateTime;
use warden_core::error::{Error, Result};
use warden_core::model::{AccountId, AuditEvent};
use warden_core::store::{ConsumedToken, OneTimeTokenStore, TokenKind};

#[async_trait]
impl<D: Dialect> OneTimeTokenStore for SqlBackend<D> {
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
        let locked = tx
            .q(sql!(
                "SELECT 1 FROM accounts WHERE id = $1 {FOR NO KEY UPDATE}"
            ))
            .bind(account.0)
            .exists()
            .await?;
        if !locked {
            return Err(Error::NotFound);
        }
        tx.q(sql!(
            "DELETE FROM one_time_tokens WHERE account_id = $1 AND kind = $2"
        ))
        .binds((account.0, kind.as_str()))
        .execute()
        .await?;
        tx.q(sql!(
            "INSERT INTO one_time_tokens (hash, kind, account_id, payload, issued_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .binds((hash, kind.as_str(), account.0, payload, issued, expires))
        .execute()
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn consume(
        &self,
        kind: TokenKind,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<ConsumedToken>> {
        let mut tx = self.write().await?;
        let Some(row) = tx
            .q(sql!(
                "SELECT account_id, payload, expires_at FROM one_time_tokens \
                 WHERE hash = $1 AND kind = $2 {FOR UPDATE}"
            ))
            .binds((hash, kind.as_str()))
            .fetch_optional()
            .await?
        else {
            return Ok(None);
        };
        tx.q(sql!(
            "DELETE FROM one_time_tokens WHERE hash = $1 AND kind = $2"
        ))
        .binds((hash, kind.as_str()))
        .execute()
        .await?;
        tx.commit().await?;
        if from_ts(row.get("expires_at")?)? <= now {
            return Ok(None);
        }
        Ok(Some(ConsumedToken {
            account_id: AccountId(row.get("account_id")?),
            payload: row.get("payload")?,
        }))
    }

    async fn revoke_for_account(&self, account: AccountId, kinds: &[TokenKind]) -> Result<u64> {
        let mut n = 0;
        for kind in kinds {
            n += self
                .q(sql!(
                    "DELETE FROM one_time_tokens WHERE account_id = $1 AND kind = $2"
                ))
                .binds((account.0, kind.as_str()))
                .execute()
                .await?;
        }
        Ok(n)
    }

    async fn last_issued_at(
        &self,
        kind: TokenKind,
        account: AccountId,
    ) -> Result<Option<OffsetDateTime>> {
        let row = self
            .q(sql!(
                "SELECT MAX(issued_at) AS at FROM one_time_tokens \
                 WHERE account_id = $1 AND kind = $2"
            ))
            .binds((account.0, kind.as_str()))
            .fetch_one()
            .await?;
        row.get::<Option<i64>>("at")?.map(from_ts).transpose()
    }

    async fn prune_one_time(&self, before: OffsetDateTime) -> Result<u64> {
        self.q(sql!("DELETE FROM one_time_tokens WHERE expires_at < $1"))
            .bind(ts(before)?)
            .execute()
            .await
    }
}
