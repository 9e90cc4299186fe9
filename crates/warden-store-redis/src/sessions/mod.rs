//! [`RedisSessionStore`]: sessions and refresh tokens in Redis.

mod codec;
mod scripts;

use crate::{Redis, unavailable};
use async_trait::async_trait;
use codec::{Keys, decode, decode_flat, hex, index_nanos, millis, sid_of};
use scripts::Scripts;
use std::collections::HashMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use warden_core::Error;
use warden_core::error::Result;
use warden_core::model::{AccountId, AuditEvent, Session, SessionId};
use warden_core::store::{
    ActiveOrg, Change, Revoke, Rotation, SessionBackend, SessionStore, Store,
};

/// How long an ended session stays readable (and its refresh tokens
/// recognised as reuses) before Redis drops it by itself, by default.
pub const DEFAULT_RETENTION: Duration = Duration::days(7);

/// Sessions pruned per script run.
const PRUNE_BATCH: i64 = 500;

/// [`SessionStore`] in Redis (FastSecure's `RedisSessionStore`), for
/// [`warden_core::store::Layered::with_sessions`]: accounts, audit and the
/// change feed stay in the main store given to [`Redis::sessions`].
///
/// Keys (under the prefix): `s:<sid>` the session (a hash: its serde JSON
/// plus the fields a refresh changes), `rt:<hash>` a refresh token (`sid`,
/// `used`), `st:<sid>` the tokens of a session, `as:<account>` the sessions
/// of an account, and `ends`, a sorted set of session ends for pruning.
/// Every key but `ends` expires `retention` after its session's end, so
/// nothing lingers even if pruning never runs; `prune` removes ended
/// sessions earlier.
///
/// Each write is one Lua script, so a rotation is an atomic compare-and-swap:
/// of concurrent rotations of one token exactly one gets
/// [`Rotation::Rotated`], and a token presented again revokes its session.
/// The scripts name keys they compute, so a single Redis (or a primary with
/// replicas) is required, not Redis Cluster.
///
/// **Audit and revocations.** After its script ran, a write appends its audit
/// event and, when it revoked sessions, one [`Change::SessionRevoked`] each
/// to the main store in one transaction of that store
/// ([`warden_core::store::ChangeFeed::append_changes`]), so every node's
/// revocation set learns of it through the one change feed (woken up by the
/// Redis feed hook as before). The two writes are not one transaction: if
/// the main store fails after the script, the error is returned
/// ([`Error::Unavailable`], HTTP 503), the session change stands in Redis
/// (a revoked session cannot be refreshed), and its audit event and feed
/// entry are missing: other nodes then accept the session's access tokens
/// until they expire.
#[derive(Clone)]
pub struct RedisSessionStore {
    redis: Redis,
    main: Arc<dyn Store>,
    keys: Keys,
    retention: Duration,
    scripts: Arc<Scripts>,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.keys.prefix)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Sessions and refresh tokens in this Redis; accounts, audit events and
    /// the change feed in `main` (the store they are layered over).
    pub fn sessions(&self, main: Arc<dyn Store>) -> RedisSessionStore {
        RedisSessionStore {
            keys: Keys {
                prefix: self.prefix.to_string(),
            },
            redis: self.clone(),
            main,
            retention: DEFAULT_RETENTION,
            scripts: Arc::new(Scripts::new()),
        }
    }
}

impl RedisSessionStore {
    /// Keep ended sessions this long (at least a minute) before Redis drops
    /// them ([`DEFAULT_RETENTION`] by default).
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention.max(Duration::minutes(1));
        self
    }

    fn conn(&self) -> redis::aio::ConnectionManager {
        self.redis.conn.clone()
    }

    async fn hash_of(&self, id: SessionId) -> Result<HashMap<String, String>> {
        redis::cmd("HGETALL")
            .arg(self.keys.session(id))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    /// Write the audit events and feed entries of a change made in Redis.
    async fn record(
        &self,
        changes: &[Change],
        at: OffsetDateTime,
        audit: &[AuditEvent],
    ) -> Result<()> {
        if changes.is_empty() && audit.is_empty() {
            return Ok(());
        }
        let r = self.main.append_changes(changes, at, audit).await;
        if let Err(e) = &r {
            tracing::warn!(error = %e, changes = changes.len(),
                "session change made in redis, its audit/feed entries not written");
        }
        r
    }

    async fn revoke_where(
        &self,
        account: AccountId,
        keep: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<Change>> {
        let ids: Vec<String> = self
            .scripts
            .revoke_account
            .key(self.keys.account(account))
            .key(self.keys.ends())
            .arg(&self.keys.prefix)
            .arg(keep.map(|k| k.0.to_string()).unwrap_or_default())
            .arg(index_nanos(now))
            .arg(millis(now))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        ids.iter()
            .map(|s| Ok(Change::SessionRevoked(sid_of(s)?, account)))
            .collect()
    }

    /// Store a new session (one script); with `max_live` > 0, revoke the
    /// least recently used other live sessions of its account beyond it.
    /// Returns their ids.
    async fn create(
        &self,
        session: &Session,
        refresh_hash: &[u8; 32],
        max_live: u32,
    ) -> Result<Vec<SessionId>> {
        if !session.is_app() && self.main.account_by_id(session.account_id).await?.is_none() {
            return Err(Error::NotFound);
        }
        let end = session
            .revoked_at
            .map_or(session.expires_at, |r| r.min(session.expires_at));
        let mut inv = self.scripts.create.prepare_invoke();
        inv.key(self.keys.session(session.id))
            .key(self.keys.token(refresh_hash))
            .key(self.keys.tokens_of(session.id))
            .key(self.keys.account(session.account_id))
            .key(self.keys.ends())
            .arg(session.id.0.to_string())
            .arg(hex(refresh_hash))
            .arg(millis(session.expires_at.max(end) + self.retention))
            .arg(millis(end))
            .arg(&self.keys.prefix)
            .arg(index_nanos(session.created_at))
            .arg(millis(session.created_at))
            .arg(max_live);
        for (k, v) in codec::fields(session)? {
            inv.arg(k).arg(v);
        }
        let ids: Vec<String> = inv
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        ids.iter().map(|s| sid_of(s)).collect()
    }

    fn revoke_plan(revoke: Revoke) -> Option<Option<SessionId>> {
        match revoke {
            Revoke::Nothing => None,
            Revoke::All => Some(None),
            Revoke::AllExcept(keep) => Some(Some(keep)),
        }
    }
}

fn rotation_event(
    name: &str,
    session: &Session,
    now: OffsetDateTime,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> AuditEvent {
    AuditEvent {
        at: now,
        account_id: Some(session.account_id),
        event: name.to_owned(),
        ip: ip.map(str::to_owned),
        user_agent: user_agent.map(str::to_owned),
        detail: serde_json::json!({ "session_id": session.id }),
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create_session(
        &self,
        session: &Session,
        refresh_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> Result<()> {
        self.create(session, refresh_hash, 0).await?;
        self.record(&[], audit.at, std::slice::from_ref(audit))
            .await
    }

    async fn create_session_capped(
        &self,
        session: &Session,
        refresh_hash: &[u8; 32],
        audit: &AuditEvent,
        max_live: u32,
        evicted: &AuditEvent,
    ) -> Result<Vec<SessionId>> {
        let ids = self.create(session, refresh_hash, max_live.max(1)).await?;
        let changes: Vec<Change> = ids
            .iter()
            .map(|id| Change::SessionRevoked(*id, session.account_id))
            .collect();
        let mut events = vec![audit.clone()];
        events.extend(
            ids.iter()
                .map(|id| warden_core::store::evicted_event(evicted, *id)),
        );
        self.record(&changes, audit.at, &events).await?;
        Ok(ids)
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>> {
        decode(&self.hash_of(id).await?)
    }

    async fn live_sessions(&self, account: AccountId, now: OffsetDateTime) -> Result<Vec<Session>> {
        let mut c = self.conn();
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.account(account))
            .query_async(&mut c)
            .await
            .map_err(unavailable)?;
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HGETALL").arg(self.keys.session(sid_of(id)?));
        }
        let hashes: Vec<HashMap<String, String>> = if ids.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut c).await.map_err(unavailable)?
        };
        let mut out = Vec::new();
        for h in &hashes {
            if let Some(s) = decode(h)?
                && s.account_id == account
                && s.is_live(now)
            {
                out.push(s);
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        now: OffsetDateTime,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<Rotation> {
        let (set, del) = codec::changed_fields(now, ip, user_agent);
        let mut inv = self.scripts.rotate.prepare_invoke();
        inv.key(self.keys.token(old_hash))
            .key(self.keys.token(new_hash))
            .key(self.keys.ends())
            .arg(&self.keys.prefix)
            .arg(index_nanos(now))
            .arg(millis(now))
            .arg(hex(new_hash))
            .arg(set.len());
        for (k, v) in set {
            inv.arg(k).arg(v);
        }
        for d in del {
            inv.arg(d);
        }
        let (verdict, _sid, flat): (i64, String, Vec<String>) = inv
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let session = match verdict {
            1 | 2 => decode_flat(flat)?
                .ok_or_else(|| Error::Internal("redis session: rotated an empty session".into()))?,
            _ => return Ok(Rotation::Invalid),
        };
        if verdict == 2 {
            let ev = rotation_event("token.refresh_reused", &session, now, ip, user_agent);
            let change = Change::SessionRevoked(session.id, session.account_id);
            self.record(&[change], now, &[ev]).await?;
            return Ok(Rotation::Reused(session));
        }
        let ev = rotation_event("token.refresh", &session, now, ip, user_agent);
        self.record(&[], now, &[ev]).await?;
        // The organization a session acts for is kept in the main store.
        Ok(Rotation::Rotated(session, ActiveOrg::Unread))
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let account: String = self
            .scripts
            .revoke_one
            .key(self.keys.session(id))
            .key(self.keys.ends())
            .arg(id.0.to_string())
            .arg(index_nanos(now))
            .arg(millis(now))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        if account.is_empty() {
            return Ok(false);
        }
        let change = Change::SessionRevoked(id, codec::account_of(&account)?);
        self.record(&[change], now, std::slice::from_ref(audit))
            .await?;
        Ok(true)
    }

    async fn revoke_sessions(
        &self,
        account: AccountId,
        revoke: Revoke,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<u64> {
        let changes = match Self::revoke_plan(revoke) {
            None => Vec::new(),
            Some(keep) => self.revoke_where(account, keep, now).await?,
        };
        self.record(&changes, now, std::slice::from_ref(audit))
            .await?;
        Ok(changes.len() as u64)
    }

    async fn reissue_refresh(
        &self,
        id: SessionId,
        new_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool> {
        let done: i64 = self
            .scripts
            .reissue
            .key(self.keys.session(id))
            .key(self.keys.tokens_of(id))
            .key(self.keys.token(new_hash))
            .arg(&self.keys.prefix)
            .arg(index_nanos(now))
            .arg(id.0.to_string())
            .arg(hex(new_hash))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(done == 1)
    }

    async fn touch_session(&self, id: SessionId, now: OffsetDateTime) -> Result<()> {
        self.scripts
            .set_if_exists
            .key(self.keys.session(id))
            .arg("seen")
            .arg(codec::nanos(now))
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn prune(&self, before: OffsetDateTime, feed_before: OffsetDateTime) -> Result<u64> {
        let mut deleted = 0u64;
        loop {
            let (seen, n): (i64, i64) = self
                .scripts
                .prune
                .key(self.keys.ends())
                .arg(&self.keys.prefix)
                .arg(format!("({}", millis(before)))
                .arg(PRUNE_BATCH)
                .invoke_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
            deleted += n.max(0) as u64;
            if seen < PRUNE_BATCH {
                break;
            }
        }
        Ok(deleted + self.main.prune(before, feed_before).await?)
    }
}

#[async_trait]
impl SessionBackend for RedisSessionStore {
    async fn revoke_for_account(
        &self,
        account: AccountId,
        revoke: Revoke,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let Some(keep) = Self::revoke_plan(revoke) else {
            return Ok(0);
        };
        let changes = self.revoke_where(account, keep, now).await?;
        self.record(&changes, now, &[]).await?;
        Ok(changes.len() as u64)
    }

    async fn delete_for_account(&self, account: AccountId, now: OffsetDateTime) -> Result<u64> {
        self.revoke_for_account(account, Revoke::All, now).await?;
        self.scripts
            .delete_account
            .key(self.keys.account(account))
            .key(self.keys.ends())
            .arg(&self.keys.prefix)
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map(|n| n.max(0) as u64)
            .map_err(unavailable)
    }

    async fn ping(&self) -> Result<()> {
        self.redis.ping().await
    }
}
