//! [`ApiKeyStore`] of the MySQL / MariaDB backend (tables of
//! `0003_api_keys.sql`).

use super::{
    MySqlStore, account_exists, api_key_from_row, commit, insert_audit, insert_feed, my_err,
    usage_from_row,
};
use crate::codec::{json_list, ts, ts_opt};
use crate::rows::api_key_cols;
use async_trait::async_trait;
use std::collections::HashSet;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{AccountId, ApiKeyId, AuditEvent};
use warden_core::store::{ApiKey, ApiKeyQuery, ApiKeyStore, ApiKeyUsage, Change};

#[async_trait]
impl ApiKeyStore for MySqlStore {
    async fn insert_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> Result<()> {
        let scopes = json_list(&key.scopes)?;
        let mut tx = self.write().await?;
        if !account_exists(&mut tx, key.account_id).await? {
            return Err(Error::NotFound);
        }
        sqlx::query(concat!(
            "INSERT INTO api_keys (",
            api_key_cols!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(key.id.0)
        .bind(key.account_id.0)
        .bind(&key.name)
        .bind(&key.secret_hash[..])
        .bind(&scopes)
        .bind(ts(key.created_at)?)
        .bind(ts_opt(key.expires_at)?)
        .bind(ts_opt(key.revoked_at)?)
        .execute(&mut *tx)
        .await
        .map_err(my_err)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn api_key(&self, id: ApiKeyId) -> Result<Option<ApiKey>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            api_key_cols!(),
            " FROM api_keys WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(my_err)?;
        row.as_ref().map(api_key_from_row).transpose()
    }

    async fn list_api_keys(&self, query: &ApiKeyQuery) -> Result<Vec<ApiKey>> {
        let account = query.account_id.map(|a| a.0);
        let rows = sqlx::query(concat!(
            "SELECT ",
            api_key_cols!(),
            " FROM api_keys WHERE (? IS NULL OR account_id = ?) \
             AND (? OR revoked_at IS NULL) ORDER BY created_at DESC, id DESC LIMIT ?"
        ))
        .bind(account)
        .bind(account)
        .bind(query.include_revoked)
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(my_err)?;
        rows.iter().map(api_key_from_row).collect()
    }

    async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let at = ts(now)?;
        let mut tx = self.feed_write().await?;
        let Some(account) = sqlx::query_scalar::<_, Uuid>(
            "SELECT account_id FROM api_keys WHERE id = ? AND revoked_at IS NULL FOR UPDATE",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(my_err)?
        else {
            return Ok(false);
        };
        sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
            .bind(at)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        insert_feed(&mut tx, &Change::ApiKeyRevoked(id, AccountId(account)), at).await?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn renew_api_key(
        &self,
        id: ApiKeyId,
        expires_at: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let done =
            sqlx::query("UPDATE api_keys SET expires_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(ts_opt(expires_at)?)
                .bind(id.0)
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

    async fn append_api_key_usage(&self, batch: &[ApiKeyUsage], keep: u32) -> Result<u64> {
        if batch.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write().await?;
        // Lock the keys of the batch against deletion (in id order), so that
        // a key deleted meanwhile is skipped rather than failing the insert.
        let mut ids: Vec<Uuid> = batch.iter().map(|u| u.key_id.0).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut present: HashSet<Uuid> = HashSet::new();
        for id in ids {
            let found = sqlx::query("SELECT 1 FROM api_keys WHERE id = ? LOCK IN SHARE MODE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(my_err)?;
            if found.is_some() {
                present.insert(id);
            }
        }
        let mut stored = 0;
        let mut keys: Vec<Uuid> = Vec::new();
        for u in batch.iter().filter(|u| present.contains(&u.key_id.0)) {
            let done = sqlx::query(
                "INSERT INTO api_key_usage (key_id, at, ip, method, path) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(u.key_id.0)
            .bind(ts(u.at)?)
            .bind(&u.ip)
            .bind(&u.method)
            .bind(&u.path)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
            if done.rows_affected() > 0 {
                stored += 1;
                if !keys.contains(&u.key_id.0) {
                    keys.push(u.key_id.0);
                }
            }
        }
        // Keep the newest `keep` rows of each key (MySQL allows no `LIMIT`
        // in an `IN` subquery, nor a subquery on the table being deleted
        // from: the rows past `keep` are found first).
        for key in keys {
            let extra: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM api_key_usage WHERE key_id = ? \
                 ORDER BY at DESC, id DESC LIMIT 18446744073709551615 OFFSET ?",
            )
            .bind(key)
            .bind(i64::from(keep))
            .fetch_all(&mut *tx)
            .await
            .map_err(my_err)?;
            for id in extra {
                sqlx::query("DELETE FROM api_key_usage WHERE id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(my_err)?;
            }
        }
        commit(tx).await?;
        Ok(stored)
    }

    async fn api_key_usage(&self, id: ApiKeyId, limit: u32) -> Result<Vec<ApiKeyUsage>> {
        let rows = sqlx::query(
            "SELECT key_id, at, ip, method, path FROM api_key_usage WHERE key_id = ? \
             ORDER BY at DESC, id DESC LIMIT ?",
        )
        .bind(id.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(my_err)?;
        rows.iter().map(usage_from_row).collect()
    }
}
