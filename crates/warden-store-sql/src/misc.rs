//! [`ChangeFeed`], [`AuditStore`], [`KeyStore`] and [`CounterStore`] of
//! [`SqlBackend`].

use crate::backend::{SqlBackend, audit_sql, audit_stmt, insert_audit, insert_feed};
use crate::codec::{count, feed_change, from_ts, from_ts_opt, json_value, ts, ts_opt};
use crate::dialect::{Dialect, Tx};
use crate::rows;
use crate::sql::sql;
use async_trait::async_trait;
use std::borrow::Cow;
use time::OffsetDateTime;
use warden_core::error::Result;
use warden_core::limits::AttemptCounter;
use warden_core::model::{AuditEvent, StoredKey};
use warden_core::store::{
    AttemptGate, AuditQuery, AuditStore, Change, ChangeFeed, CounterStore, FeedEntry, KeyStore,
};

#[async_trait]
impl<D: Dialect> ChangeFeed for SqlBackend<D> {
    async fn changes_since(&self, after: i64, limit: u32) -> Result<Vec<FeedEntry>> {
        let rows = self
            .q(sql!(
                "SELECT seq, kind, id, account_id, at FROM feed WHERE seq > $1 ORDER BY seq LIMIT $2"
            ))
            .binds((after, i64::from(limit)))
            .fetch_all()
            .await?;
        rows.iter()
            .map(|row| {
                Ok(FeedEntry {
                    seq: row.get("seq")?,
                    change: feed_change(
                        &row.get::<String>("kind")?,
                        row.get("id")?,
                        row.get("account_id")?,
                    )?,
                    at: from_ts(row.get("at")?)?,
                })
            })
            .collect()
    }

    async fn append_changes(
        &self,
        changes: &[Change],
        at: OffsetDateTime,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut tx = if changes.is_empty() {
            self.write().await?
        } else {
            self.feed_write().await?
        };
        let at = ts(at)?;
        for change in changes {
            insert_feed(&mut tx, change, at).await?;
        }
        for ev in audit {
            insert_audit(&mut tx, ev).await?;
        }
        tx.commit().await
    }
}

#[async_trait]
impl<D: Dialect> AuditStore for SqlBackend<D> {
    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        let detail = json_value(&event.detail)?;
        audit_stmt(self.q(audit_sql()), event, &detail)?.run().await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.q(sql!(
            "SELECT at, account_id, event, ip, user_agent, detail FROM audit \
                 WHERE ($1::uuid IS NULL OR account_id = $1) AND ($2::bigint IS NULL OR at >= $2) \
                 AND ($3::bigint IS NULL OR at < $3) ORDER BY at DESC, id DESC LIMIT $4"
        ))
        .binds((
            query.account_id.map(|a| a.0),
            ts_opt(query.from)?,
            ts_opt(query.to)?,
            i64::from(query.limit),
        ))
        .all(rows::audit)
        .await
    }

    async fn prune_audit(&self, before: OffsetDateTime) -> Result<u64> {
        self.q(sql!("DELETE FROM audit WHERE at < $1"))
            .bind(ts(before)?)
            .execute()
            .await
    }
}

#[async_trait]
impl<D: Dialect> KeyStore for SqlBackend<D> {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        self.q(sql!(
            "SELECT kid, alg, private_der, created_at, retired_at FROM signing_keys \
                 ORDER BY created_at, kid"
        ))
        .all(rows::signing_key)
        .await
    }

    async fn add_signing_key(
        &self,
        key: &StoredKey,
        retire_others: Option<OffsetDateTime>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        if let Some(at) = retire_others {
            tx.q(sql!(
                "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL"
            ))
            .bind(ts(at)?)
            .execute()
            .await?;
        }
        tx.q(sql!(
            "INSERT INTO signing_keys (kid, alg, private_der, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5)"
        ))
        .binds((
            &key.kid,
            &key.alg,
            &key.private_der,
            ts(key.created_at)?,
            ts_opt(key.retired_at)?,
        ))
        .execute()
        .await?;
        tx.commit().await
    }

    async fn setting(&self, name: &str) -> Result<Option<String>> {
        let row = self
            .q(sql!("SELECT value FROM settings WHERE name = $1"))
            .bind(name)
            .fetch_optional()
            .await?;
        row.map(|r| r.get("value")).transpose()
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        // Two autocommit statements: after the insert (which waits for a
        // concurrent insert of the same name to end), the SELECT is a new
        // statement and sees whichever value committed.
        self.q(sql!(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
        ))
        .binds((name, value))
        .execute()
        .await?;
        self.q(sql!("SELECT value FROM settings WHERE name = $1"))
            .bind(name)
            .fetch_one()
            .await?
            .get("value")
    }
}

/// The stored form of a counter key: PostgreSQL text cannot hold NUL, so a
/// NUL (which no login key holds) becomes U+FFFD on every database.
fn counter_key(key: &str) -> Cow<'_, str> {
    if key.contains('\0') {
        Cow::Owned(key.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(key)
    }
}

/// Load the counter of `key`, creating it if needed, locked until the
/// transaction ends.
async fn lock_counter<D: Dialect>(tx: &mut Tx<D>, key: &str) -> Result<AttemptCounter> {
    tx.q(sql!(
        "INSERT INTO counters (\"key\", failures, in_flight, locks, locked_until) \
         VALUES ($1, 0, 0, 0, NULL) ON CONFLICT (\"key\") DO NOTHING"
    ))
    .bind(key)
    .execute()
    .await?;
    let row = tx
        .q(sql!(
            "SELECT failures, in_flight, locks, locked_until FROM counters WHERE \"key\" = $1 \
             {FOR UPDATE}"
        ))
        .bind(key)
        .fetch_optional()
        .await?;
    let Some(row) = row else {
        // Cleared between the two statements: start from zero (the upsert
        // in `store_counter` creates it again).
        return Ok(AttemptCounter::default());
    };
    Ok(AttemptCounter {
        failures: count(row.get("failures")?),
        in_flight: count(row.get("in_flight")?),
        locks: count(row.get("locks")?),
        locked_until: from_ts_opt(row.get("locked_until")?)?,
    })
}

async fn store_counter<D: Dialect>(tx: &mut Tx<D>, key: &str, c: &AttemptCounter) -> Result<()> {
    tx.q(sql!(
        "INSERT INTO counters (\"key\", failures, in_flight, locks, locked_until) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (\"key\") DO UPDATE SET \
         failures = excluded.failures, in_flight = excluded.in_flight, \
         locks = excluded.locks, locked_until = excluded.locked_until"
    ))
    .binds((
        key,
        i64::from(c.failures),
        i64::from(c.in_flight),
        i64::from(c.locks),
        ts_opt(c.locked_until)?,
    ))
    .run()
    .await
}

#[async_trait]
impl<D: Dialect> CounterStore for SqlBackend<D> {
    async fn attempt_begin(&self, key: &str, now: OffsetDateTime, max: u32) -> Result<AttemptGate> {
        let key = counter_key(key);
        let mut tx = self.write().await?;
        let mut c = lock_counter(&mut tx, &key).await?;
        let gate = c.begin(now, max);
        store_counter(&mut tx, &key, &c).await?;
        tx.commit().await?;
        Ok(gate)
    }

    async fn attempt_failed(
        &self,
        key: &str,
        now: OffsetDateTime,
        max: u32,
        base_window_secs: u64,
    ) -> Result<Option<u64>> {
        let key = counter_key(key);
        let mut tx = self.write().await?;
        let mut c = lock_counter(&mut tx, &key).await?;
        let locked = c.failed(now, max, base_window_secs);
        store_counter(&mut tx, &key, &c).await?;
        tx.commit().await?;
        Ok(locked)
    }

    async fn attempt_clear(&self, key: &str) -> Result<()> {
        self.q(sql!("DELETE FROM counters WHERE \"key\" = $1"))
            .bind(counter_key(key).as_ref())
            .run()
            .await
    }
}
