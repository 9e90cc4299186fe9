//! [`MfaStore`] on MySQL / MariaDB (a child module of `mysql`, sharing its
//! helpers). Read-modify-write transactions lock the row they read
//! (`FOR UPDATE`; the account row `LOCK IN SHARE MODE` before inserting rows
//! that reference it); the step compare-and-set is one conditional `UPDATE`.
//! Transactions that append `AccountChanged` take the feed lock first.

use super::{
    MySqlStore, account_exists, challenge_from_row, commit, get, insert_audit, insert_feed, my_err,
};
use crate::codec::{count, ts};
use async_trait::async_trait;
use time::OffsetDateTime;
use warden_core::error::{Error, Result};
use warden_core::model::{AccountId, AuditEvent};
use warden_core::store::{ActiveTotp, Change, MfaChallenge, MfaStore};

#[async_trait]
impl MfaStore for MySqlStore {
    async fn set_pending_totp(
        &self,
        account: AccountId,
        secret: &[u8],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<()> {
        let at = ts(now)?;
        let mut tx = self.write().await?;
        if !account_exists(&mut tx, account).await? {
            return Err(Error::NotFound);
        }
        sqlx::query(
            "INSERT INTO totp_secrets (account_id, secret, last_step, pending, created_at, \
             updated_at) VALUES (?, NULL, NULL, ?, ?, ?) ON DUPLICATE KEY UPDATE \
             pending = VALUES(pending), updated_at = VALUES(updated_at)",
        )
        .bind(account.0)
        .bind(secret)
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(my_err)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn pending_totp(&self, account: AccountId) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT pending FROM totp_secrets WHERE account_id = ?")
            .bind(account.0)
            .fetch_optional(self.pool())
            .await
            .map_err(my_err)?;
        Ok(match row {
            Some(r) => get::<Option<Vec<u8>>>(&r, "pending")?,
            None => None,
        })
    }

    async fn active_totp(&self, account: AccountId) -> Result<Option<ActiveTotp>> {
        let row = sqlx::query(
            "SELECT secret, last_step FROM totp_secrets \
             WHERE account_id = ? AND secret IS NOT NULL",
        )
        .bind(account.0)
        .fetch_optional(self.pool())
        .await
        .map_err(my_err)?;
        row.map(|r| {
            Ok(ActiveTotp {
                secret: get(&r, "secret")?,
                last_step: get(&r, "last_step")?,
            })
        })
        .transpose()
    }

    async fn enable_totp(
        &self,
        account: AccountId,
        secret: &[u8],
        step: i64,
        recovery_hashes: &[[u8; 32]],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let at = ts(now)?;
        let mut tx = self.feed_write().await?;
        // Account first (the row order of every writer), then its secret.
        let flagged =
            sqlx::query("UPDATE accounts SET mfa_enabled = TRUE, updated_at = ? WHERE id = ?")
                .bind(at)
                .bind(account.0)
                .execute(&mut *tx)
                .await
                .map_err(my_err)?;
        if flagged.rows_affected() == 0 {
            return Ok(false);
        }
        let pending =
            sqlx::query("SELECT pending FROM totp_secrets WHERE account_id = ? FOR UPDATE")
                .bind(account.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(my_err)?;
        let pending: Option<Vec<u8>> = match pending {
            Some(r) => get(&r, "pending")?,
            None => None,
        };
        if !pending.is_some_and(|p| warden_core::random::ct_eq(&p, secret)) {
            // Dropping the transaction rolls back the flag.
            return Ok(false);
        }
        sqlx::query(
            "UPDATE totp_secrets SET secret = ?, pending = NULL, last_step = ?, \
             updated_at = ? WHERE account_id = ?",
        )
        .bind(secret)
        .bind(step)
        .bind(at)
        .bind(account.0)
        .execute(&mut *tx)
        .await
        .map_err(my_err)?;
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = ?")
            .bind(account.0)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        for h in recovery_hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (account_id, hash) VALUES (?, ?) \
                 ON DUPLICATE KEY UPDATE hash = hash",
            )
            .bind(account.0)
            .bind(&h[..])
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        }
        insert_feed(&mut tx, &Change::AccountChanged(account), at).await?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn disable_totp(
        &self,
        account: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let at = ts(now)?;
        let mut tx = self.feed_write().await?;
        // Account first (the row order of every writer).
        let cleared = sqlx::query(
            "UPDATE accounts SET mfa_enabled = FALSE, updated_at = ? \
             WHERE id = ? AND mfa_enabled",
        )
        .bind(at)
        .bind(account.0)
        .execute(&mut *tx)
        .await
        .map_err(my_err)?
        .rows_affected()
            == 1;
        sqlx::query("DELETE FROM totp_secrets WHERE account_id = ?")
            .bind(account.0)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = ?")
            .bind(account.0)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        if cleared {
            insert_feed(&mut tx, &Change::AccountChanged(account), at).await?;
            insert_audit(&mut tx, audit).await?;
        }
        commit(tx).await?;
        Ok(cleared)
    }

    async fn use_totp_step(&self, account: AccountId, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE totp_secrets SET last_step = ? WHERE account_id = ? \
             AND secret IS NOT NULL AND (last_step IS NULL OR last_step < ?)",
        )
        .bind(step)
        .bind(account.0)
        .bind(step)
        .execute(self.pool())
        .await
        .map_err(my_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn use_recovery_code(&self, account: AccountId, hash: &[u8; 32]) -> Result<Option<u32>> {
        let mut tx = self.write().await?;
        let gone = sqlx::query("DELETE FROM recovery_codes WHERE account_id = ? AND hash = ?")
            .bind(account.0)
            .bind(&hash[..])
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        if gone.rows_affected() == 0 {
            return Ok(None);
        }
        let left: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE account_id = ?")
                .bind(account.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(my_err)?;
        commit(tx).await?;
        Ok(Some(count(left)))
    }

    async fn recovery_codes_left(&self, account: AccountId) -> Result<u32> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE account_id = ?")
            .bind(account.0)
            .fetch_one(self.pool())
            .await
            .map_err(my_err)?;
        Ok(count(n))
    }

    async fn create_mfa_challenge(&self, hash: &[u8; 32], challenge: &MfaChallenge) -> Result<()> {
        let mut tx = self.write().await?;
        if !account_exists(&mut tx, challenge.account_id).await? {
            return Err(Error::NotFound);
        }
        sqlx::query(
            "INSERT INTO mfa_challenges (hash, account_id, remember, expires_at, attempts) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&hash[..])
        .bind(challenge.account_id.0)
        .bind(challenge.remember)
        .bind(ts(challenge.expires_at)?)
        .bind(i64::from(challenge.attempts))
        .execute(&mut *tx)
        .await
        .map_err(my_err)?;
        commit(tx).await
    }

    async fn begin_mfa_attempt(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
        max: u32,
    ) -> Result<Option<MfaChallenge>> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "SELECT account_id, remember, expires_at, attempts FROM mfa_challenges \
             WHERE hash = ? FOR UPDATE",
        )
        .bind(&hash[..])
        .fetch_optional(&mut *tx)
        .await
        .map_err(my_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut challenge = challenge_from_row(&row)?;
        if challenge.expires_at <= now || challenge.attempts >= max {
            sqlx::query("DELETE FROM mfa_challenges WHERE hash = ?")
                .bind(&hash[..])
                .execute(&mut *tx)
                .await
                .map_err(my_err)?;
            commit(tx).await?;
            return Ok(None);
        }
        sqlx::query("UPDATE mfa_challenges SET attempts = attempts + 1 WHERE hash = ?")
            .bind(&hash[..])
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        commit(tx).await?;
        challenge.attempts = challenge.attempts.saturating_add(1);
        Ok(Some(challenge))
    }

    async fn mfa_attempt_failed(&self, hash: &[u8; 32], max: u32) -> Result<u32> {
        let mut tx = self.write().await?;
        let attempts: Option<i64> =
            sqlx::query_scalar("SELECT attempts FROM mfa_challenges WHERE hash = ? FOR UPDATE")
                .bind(&hash[..])
                .fetch_optional(&mut *tx)
                .await
                .map_err(my_err)?;
        let Some(attempts) = attempts else {
            return Ok(0);
        };
        let left = max.saturating_sub(count(attempts));
        if left == 0 {
            sqlx::query("DELETE FROM mfa_challenges WHERE hash = ?")
                .bind(&hash[..])
                .execute(&mut *tx)
                .await
                .map_err(my_err)?;
        }
        commit(tx).await?;
        Ok(left)
    }

    async fn take_mfa_challenge(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<MfaChallenge>> {
        // Lock, then delete: of concurrent takers only the first finds the row.
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "SELECT account_id, remember, expires_at, attempts FROM mfa_challenges \
             WHERE hash = ? FOR UPDATE",
        )
        .bind(&hash[..])
        .fetch_optional(&mut *tx)
        .await
        .map_err(my_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let challenge = challenge_from_row(&row)?;
        sqlx::query("DELETE FROM mfa_challenges WHERE hash = ?")
            .bind(&hash[..])
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        commit(tx).await?;
        Ok(Some(challenge).filter(|c| c.expires_at > now))
    }

    async fn prune_mfa_challenges(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM mfa_challenges WHERE expires_at < ?")
            .bind(ts(before)?)
            .execute(self.pool())
            .await
            .map_err(my_err)?;
        Ok(done.rows_affected())
    }
}
