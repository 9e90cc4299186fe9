//! [`SessionStore`] of [`SqlBackend`].
//!
//! `rotate_refresh` is in [`crate::rotation`] (with its group commit).

use crate::accounts::require_account;
use crate::backend::{SqlBackend, finish_revoke, insert_audit, insert_feed, revoke_live};
use crate::codec::{app_subject, json_list, json_list_opt, ts, ts_opt};
use crate::dialect::{Dialect, Tx};
use crate::rotation::Rotate;
use crate::rows::{self, select, session_cols};
use crate::sql::sql;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{AccountId, AuditEvent, Session, SessionId};
use warden_core::store::{Change, Revoke, Rotation, SessionStore, evicted_event};

/// Store a new current refresh token of a session.
async fn insert_refresh<D: Dialect>(tx: &mut Tx<D>, hash: &[u8; 32], sid: Uuid) -> Result<()> {
    tx.q(sql!(
        "INSERT INTO refresh_tokens (hash, session_id, used_at) VALUES ($1, $2, NULL)"
    ))
    .binds((hash, sid))
    .run()
    .await
}

/// Insert a session row, its first refresh token and its audit event.
async fn insert_session<D: Dialect>(
    tx: &mut Tx<D>,
    session: &Session,
    refresh_hash: &[u8; 32],
    audit: &AuditEvent,
) -> Result<()> {
    let amr = json_list(&session.amr)?;
    let scopes = json_list_opt(session.scopes.as_deref())?;
    let app = app_subject(session.app.as_ref())?;
    tx.q(sql!(concat!(
        "INSERT INTO sessions (",
        session_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )))
    .binds((
        session.id.0,
        session.account_id.0,
        ts(session.created_at)?,
        ts(session.last_seen_at)?,
        ts(session.expires_at)?,
        &session.ip,
        &session.user_agent,
        session.long,
        &amr,
        ts_opt(session.revoked_at)?,
        &scopes,
        &app,
        &session.client_id,
    ))
    .execute()
    .await?;
    insert_refresh(tx, refresh_hash, session.id.0).await?;
    insert_audit(tx, audit).await
}

/// Lock the account row of a session's owner (`NotFound` when it does not
/// exist). An app subject has no row: its session writers are serialized by
/// the feed lock instead (see `create_session_capped`).
async fn lock_account<D: Dialect>(tx: &mut Tx<D>, account: AccountId) -> Result<()> {
    let found = tx
        .q(sql!("SELECT 1 FROM accounts WHERE id = $1 {FOR UPDATE}"))
        .bind(account.0)
        .exists()
        .await?;
    if found { Ok(()) } else { Err(Error::NotFound) }
}

/// The live sessions of an account at `at`, locked, least recently used first.
async fn live_by_use<D: Dialect>(
    tx: &mut Tx<D>,
    account: AccountId,
    at: i64,
) -> Result<Vec<SessionId>> {
    let rows = tx
        .q(sql!(
            "SELECT id FROM sessions WHERE account_id = $1 AND revoked_at IS NULL \
             AND expires_at > $2 ORDER BY last_seen_at, created_at, id {FOR UPDATE}"
        ))
        .binds((account.0, at))
        .fetch_all()
        .await?;
    rows.iter().map(|r| Ok(SessionId(r.get("id")?))).collect()
}

#[async_trait]
impl<D: Dialect> SessionStore for SqlBackend<D> {
    async fn create_session(
        &self,
        session: &Session,
        refresh_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        if !session.is_app() {
            require_account(&mut tx, session.account_id).await?;
        }
        insert_session(&mut tx, session, refresh_hash, audit).await?;
        tx.commit().await
    }

    async fn create_session_capped(
        &self,
        session: &Session,
        refresh_hash: &[u8; 32],
        audit: &AuditEvent,
        max_live: u32,
        evicted: &AuditEvent,
    ) -> Result<Vec<SessionId>> {
        let max_live = i64::from(max_live.max(1));
        let (account, at) = (session.account_id, ts(session.created_at)?);
        // Under the limit: the account row lock serializes the logins of
        // one account, so the count cannot go stale before the insert. An
        // app subject has no row to lock: its sessions take the feed path
        // at once, whose lock serializes them.
        if !session.is_app() {
            let mut tx = self.write().await?;
            lock_account(&mut tx, account).await?;
            let live = live_by_use(&mut tx, account, at).await?;
            if (live.len() as i64) < max_live {
                insert_session(&mut tx, session, refresh_hash, audit).await?;
                tx.commit().await?;
                return Ok(Vec::new());
            }
            // Over it: evictions append to the feed, so start again in a feed
            // transaction (feed lock first, then the rows, as every feed writer).
            tx.rollback().await?;
        }
        let mut tx = self.feed_write().await?;
        if !session.is_app() {
            lock_account(&mut tx, account).await?;
        }
        let live = live_by_use(&mut tx, account, at).await?;
        let over = (live.len() as i64 + 1 - max_live).max(0) as usize;
        let ids: Vec<SessionId> = live.into_iter().take(over).collect();
        for id in &ids {
            tx.q(sql!("UPDATE sessions SET revoked_at = $1 WHERE id = $2"))
                .binds((at, id.0))
                .execute()
                .await?;
            insert_feed(&mut tx, &Change::SessionRevoked(*id, account), at).await?;
            insert_audit(&mut tx, &evicted_event(evicted, *id)).await?;
        }
        insert_session(&mut tx, session, refresh_hash, audit).await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>> {
        self.q(select!(session_cols, "sessions WHERE id = $1"))
            .bind(id.0)
            .one(rows::session)
            .await
    }

    async fn live_sessions(&self, account: AccountId, now: OffsetDateTime) -> Result<Vec<Session>> {
        self.q(sql!(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
                 ORDER BY created_at DESC, id DESC"
        )))
        .binds((account.0, ts(now)?))
        .all(rows::session)
        .await
    }

    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        now: OffsetDateTime,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<Rotation> {
        self.rotate(Rotate {
            old_hash: *old_hash,
            new_hash: *new_hash,
            now,
            ip: ip.map(str::to_owned),
            user_agent: user_agent.map(str::to_owned),
        })
        .await
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let at = ts(now)?;
        let mut tx = self.feed_write().await?;
        let Some(row) = tx
            .q(sql!(
                "SELECT account_id FROM sessions \
                 WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 {FOR UPDATE}"
            ))
            .binds((id.0, at))
            .fetch_optional()
            .await?
        else {
            return Ok(false);
        };
        let account = AccountId(row.get("account_id")?);
        let update = sql!("UPDATE sessions SET revoked_at = $1 WHERE id = $2");
        let change = Change::SessionRevoked(id, account);
        finish_revoke(tx, update, id.0, at, &change, audit).await
    }

    async fn revoke_sessions(
        &self,
        account: AccountId,
        revoke: Revoke,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<u64> {
        let at = ts(now)?;
        let mut tx = self.feed_write().await?;
        let n = revoke_live(&mut tx, account, revoke, at).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn reissue_refresh(
        &self,
        id: SessionId,
        new_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool> {
        let at = ts(now)?;
        let mut tx = self.write().await?;
        let live = tx
            .q(sql!(
                "SELECT 1 FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 \
                 {FOR UPDATE}"
            ))
            .binds((id.0, at))
            .exists()
            .await?;
        if !live {
            return Ok(false);
        }
        tx.q(sql!(
            "UPDATE refresh_tokens SET used_at = $1 WHERE session_id = $2 AND used_at IS NULL"
        ))
        .binds((at, id.0))
        .execute()
        .await?;
        insert_refresh(&mut tx, new_hash, id.0).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn touch_session(&self, id: SessionId, now: OffsetDateTime) -> Result<()> {
        self.q(sql!("UPDATE sessions SET last_seen_at = $1 WHERE id = $2"))
            .binds((ts(now)?, id.0))
            .run()
            .await
    }

    async fn prune(&self, before: OffsetDateTime, feed_before: OffsetDateTime) -> Result<u64> {
        let (before, feed_before) = (ts(before)?, ts(feed_before)?);
        let mut tx = self.write().await?;
        let tokens = tx
            .q(sql!(
                "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions \
                 WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1))"
            ))
            .bind(before)
            .execute()
            .await?;
        let sessions = tx
            .q(sql!(
                "DELETE FROM sessions \
                 WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1)"
            ))
            .bind(before)
            .execute()
            .await?;
        let feed = tx
            .q(sql!("DELETE FROM feed WHERE at < $1"))
            .bind(feed_before)
            .execute()
            .await?;
        tx.commit().await?;
        Ok(tokens + sessions + feed)
    }
}
