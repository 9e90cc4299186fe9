//! [`MfaStore`] of [`SqlBackend`]. Read-modify-write transactions lock the
//! row they read; the step compare-and-set is one conditional `UPDATE`;
//! transactions that append `AccountChanged` take the feed lock first and
//! then lock the account before its secret (the row order of every writer).

use crate::accounts::require_account;
use crate::backend::{SqlBackend, insert_audit, insert_feed};
use crate::codec::{count, json_list_opt, ts};
use crate::dialect::{Dialect, Stmt, Tx};
use crate::rows;
use crate::sql::{Sql, sql};
use async_trait::async_trait;
use time::OffsetDateTime;
use warden_core::error::Result;
use warden_core::model::{AccountId, AuditEvent};
use warden_core::store::{ActiveTotp, Change, MfaChallenge, MfaStore};

/// Lock an MFA challenge by its hash.
async fn lock_challenge<D: Dialect>(
    tx: &mut Tx<D>,
    hash: &[u8; 32],
) -> Result<Option<MfaChallenge>> {
    tx.q(sql!(
        "SELECT account_id, remember, expires_at, attempts, scopes FROM mfa_challenges \
             WHERE hash = $1 {FOR UPDATE}"
    ))
    .bind(hash)
    .one(rows::challenge)
    .await
}

async fn delete_challenge<D: Dialect>(tx: &mut Tx<D>, hash: &[u8; 32]) -> Result<()> {
    tx.q(sql!("DELETE FROM mfa_challenges WHERE hash = $1"))
        .bind(hash)
        .run()
        .await
}

async fn delete_totp<D: Dialect>(tx: &mut Tx<D>, account: AccountId) -> Result<()> {
    tx.q(sql!("DELETE FROM totp_secrets WHERE account_id = $1"))
        .bind(account.0)
        .execute()
        .await?;
    tx.q(sql!("DELETE FROM recovery_codes WHERE account_id = $1"))
        .bind(account.0)
        .run()
        .await
}

#[async_trait]
impl<D: Dialect> MfaStore for SqlBackend<D> {
    async fn set_pending_totp(
        &self,
        account: AccountId,
        secret: &[u8],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<()> {
        let at = ts(now)?;
        let mut tx = self.write().await?;
        require_account(&mut tx, account).await?;
        tx.q(sql!(
            "INSERT INTO totp_secrets (account_id, secret, last_step, pending, created_at, \
             updated_at) VALUES ($1, NULL, NULL, $2, $3, $3) ON CONFLICT (account_id) \
             DO UPDATE SET pending = excluded.pending, updated_at = excluded.updated_at"
        ))
        .binds((account.0, secret, at))
        .execute()
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn pending_totp(&self, account: AccountId) -> Result<Option<Vec<u8>>> {
        let row = self
            .q(sql!(
                "SELECT pending FROM totp_secrets WHERE account_id = $1"
            ))
            .bind(account.0)
            .fetch_optional()
            .await?;
        Ok(match row {
            Some(r) => r.get::<Option<Vec<u8>>>("pending")?,
            None => None,
        })
    }

    async fn active_totp(&self, account: AccountId) -> Result<Option<ActiveTotp>> {
        let row = self
            .q(sql!(
                "SELECT secret, last_step FROM totp_secrets \
                 WHERE account_id = $1 AND secret IS NOT NULL"
            ))
            .bind(account.0)
            .fetch_optional()
            .await?;
        row.map(|r| {
            Ok(ActiveTotp {
                secret: r.get("secret")?,
                last_step: r.get("last_step")?,
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
        let flagged = tx
            .q(sql!(
                "UPDATE accounts SET mfa_enabled = TRUE, updated_at = $1 WHERE id = $2"
            ))
            .binds((at, account.0))
            .execute()
            .await?;
        if flagged == 0 {
            return Ok(false);
        }
        let pending = tx
            .q(sql!(
                "SELECT pending FROM totp_secrets WHERE account_id = $1 {FOR UPDATE}"
            ))
            .bind(account.0)
            .fetch_optional()
            .await?;
        let pending: Option<Vec<u8>> = match pending {
            Some(r) => r.get("pending")?,
            None => None,
        };
        if !pending.is_some_and(|p| warden_core::random::ct_eq(&p, secret)) {
            // Dropping the transaction rolls back the flag.
            return Ok(false);
        }
        tx.q(sql!(
            "UPDATE totp_secrets SET secret = $1, pending = NULL, last_step = $2, \
             updated_at = $3 WHERE account_id = $4"
        ))
        .binds((secret, step, at, account.0))
        .execute()
        .await?;
        tx.q(sql!("DELETE FROM recovery_codes WHERE account_id = $1"))
            .bind(account.0)
            .execute()
            .await?;
        for h in recovery_hashes {
            tx.q(sql!(
                "INSERT INTO recovery_codes (account_id, hash) VALUES ($1, $2) \
                 ON CONFLICT (account_id, hash) DO NOTHING"
            ))
            .binds((account.0, h))
            .execute()
            .await?;
        }
        insert_feed(&mut tx, &Change::AccountChanged(account), at).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
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
        let cleared = tx
            .q(sql!(
                "UPDATE accounts SET mfa_enabled = FALSE, updated_at = $1 \
                 WHERE id = $2 AND mfa_enabled"
            ))
            .binds((at, account.0))
            .execute()
            .await?
            == 1;
        delete_totp(&mut tx, account).await?;
        if cleared {
            insert_feed(&mut tx, &Change::AccountChanged(account), at).await?;
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(cleared)
    }

    async fn use_totp_step(&self, account: AccountId, step: i64) -> Result<bool> {
        let done = self
            .q(sql!(
                "UPDATE totp_secrets SET last_step = $1 WHERE account_id = $2 \
                 AND secret IS NOT NULL AND (last_step IS NULL OR last_step < $1)"
            ))
            .binds((step, account.0))
            .execute()
            .await?;
        Ok(done == 1)
    }

    async fn use_recovery_code(&self, account: AccountId, hash: &[u8; 32]) -> Result<Option<u32>> {
        let mut tx = self.write().await?;
        let gone = tx
            .q(sql!(
                "DELETE FROM recovery_codes WHERE account_id = $1 AND hash = $2"
            ))
            .binds((account.0, hash))
            .execute()
            .await?;
        if gone == 0 {
            return Ok(None);
        }
        let left = recovery_left(tx.q(recovery_left_sql()), account).await?;
        tx.commit().await?;
        Ok(Some(left))
    }

    async fn recovery_codes_left(&self, account: AccountId) -> Result<u32> {
        recovery_left(self.q(recovery_left_sql()), account).await
    }

    async fn create_mfa_challenge(&self, hash: &[u8; 32], challenge: &MfaChallenge) -> Result<()> {
        let scopes = json_list_opt(challenge.scopes.as_deref())?;
        let mut tx = self.write().await?;
        require_account(&mut tx, challenge.account_id).await?;
        tx.q(sql!(
            "INSERT INTO mfa_challenges (hash, account_id, remember, expires_at, attempts, \
             scopes) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .binds((
            hash,
            challenge.account_id.0,
            challenge.remember,
            ts(challenge.expires_at)?,
            i64::from(challenge.attempts),
            &scopes,
        ))
        .execute()
        .await?;
        tx.commit().await
    }

    async fn begin_mfa_attempt(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
        max: u32,
    ) -> Result<Option<MfaChallenge>> {
        let mut tx = self.write().await?;
        let Some(mut challenge) = lock_challenge(&mut tx, hash).await? else {
            return Ok(None);
        };
        if challenge.expires_at <= now || challenge.attempts >= max {
            delete_challenge(&mut tx, hash).await?;
            tx.commit().await?;
            return Ok(None);
        }
        tx.q(sql!(
            "UPDATE mfa_challenges SET attempts = attempts + 1 WHERE hash = $1"
        ))
        .bind(hash)
        .execute()
        .await?;
        tx.commit().await?;
        challenge.attempts = challenge.attempts.saturating_add(1);
        Ok(Some(challenge))
    }

    async fn mfa_attempt_failed(&self, hash: &[u8; 32], max: u32) -> Result<u32> {
        let mut tx = self.write().await?;
        let Some(challenge) = lock_challenge(&mut tx, hash).await? else {
            return Ok(0);
        };
        let left = max.saturating_sub(challenge.attempts);
        if left == 0 {
            delete_challenge(&mut tx, hash).await?;
        }
        tx.commit().await?;
        Ok(left)
    }

    async fn take_mfa_challenge(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<MfaChallenge>> {
        // Lock, then delete: of concurrent takers only the first finds the row.
        let mut tx = self.write().await?;
        let Some(challenge) = lock_challenge(&mut tx, hash).await? else {
            return Ok(None);
        };
        delete_challenge(&mut tx, hash).await?;
        tx.commit().await?;
        Ok(Some(challenge).filter(|c| c.expires_at > now))
    }

    async fn prune_mfa_challenges(&self, before: OffsetDateTime) -> Result<u64> {
        self.q(sql!("DELETE FROM mfa_challenges WHERE expires_at < $1"))
            .bind(ts(before)?)
            .execute()
            .await
    }
}

/// Counts the recovery codes of an account: run it with [`recovery_left`].
fn recovery_left_sql() -> &'static Sql {
    sql!("SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = $1")
}

/// How many recovery codes the account has left.
async fn recovery_left<D: Dialect>(s: Stmt<'_, '_, D>, account: AccountId) -> Result<u32> {
    let n: i64 = s.bind(account.0).fetch_one().await?.get("n")?;
    Ok(count(n))
}
