//! [`ApiKeyStore`] of [`SqlBackend`] (tables of `0003_api_keys.sql`).

use crate::accounts::require_account;
use crate::backend::{
    SqlBackend, commit_if_changed, finish_revoke, insert_account_row, insert_audit, insert_feed,
};
use crate::codec::{from_json_list, json_list, ts, ts_opt};
use crate::dialect::{Dialect, Tx};
use crate::rows::{self, api_key_cols, select};
use crate::sql::{Sql, sql};
use async_trait::async_trait;
use std::sync::OnceLock;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{Account, AccountId, ApiKeyId, AuditEvent};
use warden_core::store::{ApiKey, ApiKeyQuery, ApiKeyStore, ApiKeyUsage, Change};

#[async_trait]
impl<D: Dialect> ApiKeyStore for SqlBackend<D> {
    async fn insert_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        require_account(&mut tx, key.account_id).await?;
        insert_key_row(&mut tx, key).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn insert_api_key_with_owner(
        &self,
        new_owner: Option<&Account>,
        key: &ApiKey,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut tx = self.feed_write().await?;
        match new_owner {
            Some(a) if a.id != key.account_id => {
                return Err(Error::Internal("the new owner is not the key's".into()));
            }
            Some(a) => insert_account_row(&mut tx, a).await?,
            None => widen_scopes(&mut tx, key.account_id, &key.scopes, ts(key.created_at)?).await?,
        }
        insert_key_row(&mut tx, key).await?;
        for ev in audit {
            insert_audit(&mut tx, ev).await?;
        }
        tx.commit().await
    }

    async fn api_key(&self, id: ApiKeyId) -> Result<Option<ApiKey>> {
        self.q(select!(api_key_cols, "api_keys WHERE id = $1"))
            .bind(id.0)
            .one(rows::api_key)
            .await
    }

    async fn list_api_keys(&self, query: &ApiKeyQuery) -> Result<Vec<ApiKey>> {
        self.q(sql!(concat!(
            "SELECT ",
            api_key_cols!(),
            " FROM api_keys WHERE ($1::uuid IS NULL OR account_id = $1) \
                 AND ($2 OR revoked_at IS NULL) ORDER BY created_at DESC, id DESC LIMIT $3"
        )))
        .binds((
            query.account_id.map(|a| a.0),
            query.include_revoked,
            i64::from(query.limit),
        ))
        .all(rows::api_key)
        .await
    }

    async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let at = ts(now)?;
        let mut tx = self.feed_write().await?;
        let Some(row) = tx
            .q(sql!(
                "SELECT account_id FROM api_keys WHERE id = $1 AND revoked_at IS NULL {FOR UPDATE}"
            ))
            .bind(id.0)
            .fetch_optional()
            .await?
        else {
            return Ok(false);
        };
        let account = AccountId(row.get("account_id")?);
        let update = sql!("UPDATE api_keys SET revoked_at = $1 WHERE id = $2");
        let change = Change::ApiKeyRevoked(id, account);
        finish_revoke(tx, update, id.0, at, &change, audit).await
    }

    async fn renew_api_key(
        &self,
        id: ApiKeyId,
        expires_at: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = tx
            .q(sql!(
                "UPDATE api_keys SET expires_at = $1 WHERE id = $2 AND revoked_at IS NULL"
            ))
            .binds((ts_opt(expires_at)?, id.0))
            .execute()
            .await?;
        commit_if_changed(tx, done, audit).await
    }

    async fn append_api_key_usage(
        &self,
        batch: &[ApiKeyUsage],
        prune: &[ApiKeyId],
        keep: u32,
    ) -> Result<u64> {
        if batch.is_empty() && prune.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write().await?;
        // Lock the keys of the batch against deletion (in id order), so that
        // a key deleted meanwhile is skipped rather than failing the insert.
        let mut ids: Vec<Uuid> = batch.iter().map(|u| u.key_id.0).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut present = Vec::with_capacity(ids.len());
        for id in ids {
            let found = tx
                .q(sql!("SELECT 1 FROM api_keys WHERE id = $1 {FOR KEY SHARE}"))
                .bind(id)
                .exists()
                .await?;
            if found {
                present.push(id);
            }
        }
        let rows: Vec<(&ApiKeyUsage, i64)> = batch
            .iter()
            .filter(|u| present.contains(&u.key_id.0))
            .map(|u| Ok((u, ts(u.at)?)))
            .collect::<Result<_>>()?;
        let mut stored = 0;
        let mut rest = rows.as_slice();
        while !rest.is_empty() {
            let (sql, n) = insert_usage(rest.len());
            let (now, later) = rest.split_at(n);
            let mut insert = tx.q(sql);
            for (u, at) in now {
                insert = insert.binds((u.key_id.0, *at, &u.ip, &u.method, &u.path));
            }
            stored += insert.execute().await?;
            rest = later;
        }
        let mut prune: Vec<Uuid> = prune.iter().map(|k| k.0).collect();
        prune.sort_unstable();
        prune.dedup();
        for key in prune {
            prune_usage(&mut tx, key, keep).await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn api_key_usage(&self, id: ApiKeyId, limit: u32) -> Result<Vec<ApiKeyUsage>> {
        self.q(sql!(
            "SELECT key_id, at, ip, method, path FROM api_key_usage WHERE key_id = $1 \
                 ORDER BY at DESC, id DESC LIMIT $2"
        ))
        .binds((id.0, i64::from(limit)))
        .all(rows::usage)
        .await
    }
}

/// Sizes of the usage INSERTs: `1 << i` rows for `i` below this, at most 8
/// rows (40 parameters; SQLite looks a parameter up by a scan of the
/// statement's parameters, so a larger statement costs more per row).
const INSERT_SIZES: usize = 4;

/// The INSERT of the most usage rows, at most `rows` (at least one), and how
/// many it takes: a batch is written by a few statements of a few sizes, each
/// rendered and prepared once.
fn insert_usage(rows: usize) -> (&'static Sql, usize) {
    static SQL: [OnceLock<Sql>; INSERT_SIZES] = [const { OnceLock::new() }; INSERT_SIZES];
    let i = (rows.max(1).ilog2() as usize).min(INSERT_SIZES - 1);
    let sql = SQL[i].get_or_init(|| {
        let values: Vec<String> = (0..1usize << i)
            .map(|r| {
                let p = r * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5
                )
            })
            .collect();
        let text = format!(
            "INSERT INTO api_key_usage (key_id, at, ip, method, path) VALUES {}",
            values.join(", ")
        );
        // One template per size, kept for the process's life like a `sql!` literal.
        Sql::new(Box::leak(text.into_boxed_str()))
    });
    (sql, 1 << i)
}

/// Keep the newest `keep` usage rows of a key: find the first row past them,
/// then delete it and the older ones (MySQL allows neither a `LIMIT` in an
/// `IN` subquery nor a subquery on the deleted table).
async fn prune_usage<D: Dialect>(tx: &mut Tx<D>, key: Uuid, keep: u32) -> Result<()> {
    let first_old = tx
        .q(sql!(
            "SELECT at, id FROM api_key_usage WHERE key_id = $1 \
             ORDER BY at DESC, id DESC LIMIT 1 OFFSET $2"
        ))
        .binds((key, i64::from(keep)))
        .fetch_optional()
        .await?;
    let Some(row) = first_old else {
        return Ok(());
    };
    let (at, id): (i64, i64) = (row.get("at")?, row.get("id")?);
    tx.q(sql!(
        "DELETE FROM api_key_usage WHERE key_id = $1 \
         AND (at < $2 OR (at = $2 AND id <= $3))"
    ))
    .binds((key, at, id))
    .execute()
    .await?;
    Ok(())
}

/// Insert a key row.
async fn insert_key_row<D: Dialect>(tx: &mut Tx<D>, key: &ApiKey) -> Result<()> {
    let scopes = json_list(&key.scopes)?;
    tx.q(sql!(concat!(
        "INSERT INTO api_keys (",
        api_key_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )))
    .binds((
        key.id.0,
        key.account_id.0,
        &key.name,
        &key.secret_hash,
        &scopes,
        ts(key.created_at)?,
        ts_opt(key.expires_at)?,
        ts_opt(key.revoked_at)?,
    ))
    .execute()
    .await?;
    Ok(())
}

/// Add `scopes` to the stored scopes of an account (locked first); a change
/// is written to the feed. `NotFound` when the account is absent.
async fn widen_scopes<D: Dialect>(
    tx: &mut Tx<D>,
    id: AccountId,
    scopes: &[String],
    at: i64,
) -> Result<()> {
    let row = tx
        .q(sql!(
            "SELECT scopes FROM accounts WHERE id = $1 {FOR UPDATE}"
        ))
        .bind(id.0)
        .fetch_optional()
        .await?
        .ok_or(Error::NotFound)?;
    let mut held = from_json_list(&row.get::<String>("scopes")?)?;
    let before = held.len();
    held.extend(scopes.iter().cloned());
    held.sort();
    held.dedup();
    if held.len() == before {
        return Ok(());
    }
    tx.q(sql!(
        "UPDATE accounts SET scopes = $2, updated_at = $3 WHERE id = $1"
    ))
    .binds((id.0, &json_list(&held)?, at))
    .execute()
    .await?;
    insert_feed(tx, &Change::AccountChanged(id), at).await
}
