//! The SQLite backend.
//!
//! Every write that touches more than one row runs in one transaction started
//! with `BEGIN IMMEDIATE`: it takes SQLite's write lock up front (waiting up to
//! the busy timeout), so two writers never both read a row and then race to
//! update it, and a deferred read lock is never upgraded (the upgrade is what
//! fails with `SQLITE_BUSY` without waiting). Reads run outside transactions
//! and, in WAL mode, never block on writers.

use crate::codec::{
    AccountCols, Counter, count, counter_begin, counter_failed, db_err, feed_change, feed_columns,
    from_ts, from_ts_opt, json_list, json_value, like_escape, ts, ts_opt,
};
use crate::rows::{account_cols, account_insert, row_mapping, session_cols};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{Account, AccountId, AuditEvent, Session, SessionId, StoredKey};
use warden_core::store::{
    AccountQuery, AccountStore, AttemptGate, AuditQuery, AuditStore, Change, ChangeFeed,
    CounterStore, FeedEntry, KeyStore, Revoke, Rotation, SessionStore, Store,
};

#[path = "sqlite_mfa.rs"]
mod mfa;

#[path = "sqlite_api_keys.rs"]
mod api_keys;

#[path = "sqlite_one_time.rs"]
mod one_time;

// The same source is compiled for each backend on purpose (see the file's doc).
#[allow(clippy::duplicate_mod)]
#[path = "sql_identities.rs"]
mod identities;
// The same source is compiled for each backend on purpose (see the file's doc).
#[allow(clippy::duplicate_mod)]
#[path = "sql_passkeys.rs"]
mod passkeys;
type BackendConn = SqliteConnection;
/// Lock the account row before counting its sign-in methods (`sql_passkeys.rs`).
const ACCOUNT_LOCK: &str = "SELECT password_hash FROM accounts WHERE id = $1";
/// The names `sql_identities.rs` is written against.
type Backend = SqlStore;
type BackendRow = SqliteRow;
/// SQLite serializes writers with `BEGIN IMMEDIATE`: no row lock needed.
const ACCOUNT_CHECK: &str = "SELECT 1 FROM accounts WHERE id = $1";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for SQLite's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections of a file database pool.
const MAX_CONNECTIONS: u32 = 8;

/// A [`Store`] on SQLite through a `sqlx` pool.
pub struct SqlStore {
    pool: SqlitePool,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &"sqlite")
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Open (and migrate) a database. Accepts `sqlite://path?mode=rwc`,
    /// `sqlite::memory:` or a plain file path (created if missing).
    ///
    /// File databases use WAL journaling, `synchronous=NORMAL`, foreign keys and
    /// a 5 s busy timeout. An in-memory database lives in one connection that the
    /// pool never closes, so every query sees the same database.
    pub async fn connect(url: &str) -> Result<SqlStore> {
        let memory = url == ":memory:" || url.contains(":memory:") || url.contains("mode=memory");
        let options = if url == ":memory:" {
            SqliteConnectOptions::from_str("sqlite::memory:").map_err(db_err)?
        } else if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(db_err)?
        } else {
            SqliteConnectOptions::new()
                .filename(url)
                .create_if_missing(true)
        };
        let options = options
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);
        let (options, pool) = if memory {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
            (options, pool)
        } else {
            let pool = SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS);
            (options.journal_mode(SqliteJournalMode::Wal), pool)
        };
        let pool = pool.connect_with(options).await.map_err(db_err)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| Error::Internal(format!("migration: {e}")))?;
        Ok(SqlStore { pool })
    }

    /// The underlying pool (for maintenance tasks and tests).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Start a write transaction holding SQLite's write lock.
    async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }
}

async fn commit(tx: Transaction<'static, Sqlite>) -> Result<()> {
    tx.commit().await.map_err(db_err)
}

// ------------------------------------------------------------ row mapping

row_mapping!(SqliteRow, Sqlite);

// ------------------------------------------------------------ shared writes

account_insert!(
    SqliteConnection,
    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    db_err
);

async fn insert_audit(conn: &mut SqliteConnection, ev: &AuditEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit (at, account_id, event, ip, user_agent, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ts(ev.at)?)
    .bind(ev.account_id.map(|a| a.0))
    .bind(&ev.event)
    .bind(&ev.ip)
    .bind(&ev.user_agent)
    .bind(json_value(&ev.detail)?)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn insert_feed(conn: &mut SqliteConnection, change: &Change, at: i64) -> Result<()> {
    let (kind, id, account) = feed_columns(change);
    sqlx::query("INSERT INTO feed (kind, id, account_id, at) VALUES ($1, $2, $3, $4)")
        .bind(kind)
        .bind(id)
        .bind(account)
        .bind(at)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Revoke the live sessions of `account` (but `except`) at `now`, one feed entry each.
async fn revoke_live(
    conn: &mut SqliteConnection,
    account: AccountId,
    revoke: Revoke,
    now: i64,
) -> Result<u64> {
    let except = match revoke {
        Revoke::Nothing => return Ok(0),
        Revoke::All => None,
        Revoke::AllExcept(keep) => Some(keep.0),
    };
    let rows = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE account_id = $2 AND revoked_at IS NULL AND expires_at > $1 \
         AND ($3 IS NULL OR id <> $3) RETURNING id",
    )
    .bind(now)
    .bind(account.0)
    .bind(except)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for row in &rows {
        let sid = SessionId(get(row, "id")?);
        insert_feed(conn, &Change::SessionRevoked(sid, account), now).await?;
    }
    Ok(rows.len() as u64)
}

async fn account_exists(conn: &mut SqliteConnection, id: AccountId) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM accounts WHERE id = $1")
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    Ok(row.is_some())
}

// ------------------------------------------------------------ accounts

#[async_trait]
impl AccountStore for SqlStore {
    async fn insert_account(&self, account: &Account, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        insert_account_row(&mut tx, account).await?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn account_by_login(&self, login_key: &str) -> Result<Option<Account>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE login_key = $1"
        ))
        .bind(login_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn account_by_email(&self, email_key: &str) -> Result<Option<Account>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE email_key = $1"
        ))
        .bind(email_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn update_account(
        &self,
        account: &Account,
        revoke: Revoke,
        now: OffsetDateTime,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let c = AccountCols::of(account)?;
        let at = ts(now)?;
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE accounts SET login = $2, email = $3, email_verified = $4, active = $5, \
             blocked = $6, block_reason = $7, scopes = $8, properties = $9, \
             password_hash = $10, password_changed_at = $11, created_at = $12, updated_at = $13, \
             login_key = $14, email_key = $15 WHERE id = $1",
        )
        .bind(account.id.0)
        .bind(&account.login)
        .bind(&account.email)
        .bind(account.email_verified)
        .bind(account.active)
        .bind(account.blocked)
        .bind(&account.block_reason)
        .bind(&c.scopes)
        .bind(&c.properties)
        .bind(&account.password_hash)
        .bind(c.password_changed_at)
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(account.login_key())
        .bind(&c.email_key)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        revoke_live(&mut tx, account.id, revoke, at).await?;
        insert_feed(&mut tx, &Change::AccountChanged(account.id), at).await?;
        for ev in audit {
            insert_audit(&mut tx, ev).await?;
        }
        commit(tx).await
    }

    async fn delete_account(
        &self,
        id: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let at = ts(now)?;
        let mut tx = self.write().await?;
        if !account_exists(&mut tx, id).await? {
            return Ok(false);
        }
        revoke_live(&mut tx, id, Revoke::All, at).await?;
        sqlx::query(
            "DELETE FROM refresh_tokens WHERE session_id IN \
             (SELECT id FROM sessions WHERE account_id = $1)",
        )
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("DELETE FROM accounts WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        insert_feed(&mut tx, &Change::AccountChanged(id), at).await?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn list_accounts(&self, query: &AccountQuery) -> Result<Vec<Account>> {
        let pattern = query
            .search
            .as_deref()
            .map(|s| format!("%{}%", like_escape(&s.to_lowercase())));
        let rows = sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE ($1 IS NULL OR id > $1) AND ($2 IS NULL \
             OR login_key LIKE $2 ESCAPE '\\' OR email_key LIKE $2 ESCAPE '\\') \
             ORDER BY id LIMIT $3"
        ))
        .bind(query.after.map(|a| a.0))
        .bind(pattern)
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(account_from_row).collect()
    }
}

// ------------------------------------------------------------ sessions

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(
        &self,
        session: &Session,
        refresh_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> Result<()> {
        let amr = json_list(&session.amr)?;
        let mut tx = self.write().await?;
        if !account_exists(&mut tx, session.account_id).await? {
            return Err(Error::NotFound);
        }
        sqlx::query(concat!(
            "INSERT INTO sessions (",
            session_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(session.id.0)
        .bind(session.account_id.0)
        .bind(ts(session.created_at)?)
        .bind(ts(session.last_seen_at)?)
        .bind(ts(session.expires_at)?)
        .bind(&session.ip)
        .bind(&session.user_agent)
        .bind(session.long)
        .bind(&amr)
        .bind(ts_opt(session.revoked_at)?)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("INSERT INTO refresh_tokens (hash, session_id, used_at) VALUES ($1, $2, NULL)")
            .bind(&refresh_hash[..])
            .bind(session.id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn live_sessions(&self, account: AccountId, now: OffsetDateTime) -> Result<Vec<Session>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(account.0)
        .bind(ts(now)?)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(session_from_row).collect()
    }

    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        now: OffsetDateTime,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<Rotation> {
        let at = ts(now)?;
        let mut tx = self.write().await?;
        let Some(token) = sqlx::query("SELECT session_id FROM refresh_tokens WHERE hash = $1")
            .bind(&old_hash[..])
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
        else {
            return Ok(Rotation::Invalid);
        };
        let sid: Uuid = get(&token, "session_id")?;
        let Some(row) = sqlx::query(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE id = $1"
        ))
        .bind(sid)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        else {
            return Ok(Rotation::Invalid);
        };
        let mut session = session_from_row(&row)?;
        if !session.is_live(now) {
            return Ok(Rotation::Invalid);
        }
        let event = |name: &str| AuditEvent {
            at: now,
            account_id: Some(session.account_id),
            event: name.to_owned(),
            ip: ip.map(str::to_owned),
            user_agent: user_agent.map(str::to_owned),
            detail: serde_json::json!({ "session_id": session.id }),
        };
        // Compare-and-swap: only a current token is marked used.
        let swapped = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL",
        )
        .bind(at)
        .bind(&old_hash[..])
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected()
            == 1;
        if !swapped {
            let ev = event("token.refresh_reused");
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(at)
                .bind(sid)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            insert_feed(
                &mut tx,
                &Change::SessionRevoked(session.id, session.account_id),
                at,
            )
            .await?;
            insert_audit(&mut tx, &ev).await?;
            commit(tx).await?;
            session.revoked_at = Some(now);
            return Ok(Rotation::Reused(session));
        }
        sqlx::query("INSERT INTO refresh_tokens (hash, session_id, used_at) VALUES ($1, $2, NULL)")
            .bind(&new_hash[..])
            .bind(sid)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1, ip = $2, user_agent = $3 WHERE id = $4",
        )
        .bind(at)
        .bind(ip)
        .bind(user_agent)
        .bind(sid)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let ev = event("token.refresh");
        insert_audit(&mut tx, &ev).await?;
        commit(tx).await?;
        session.last_seen_at = now;
        session.ip = ip.map(str::to_owned);
        session.user_agent = user_agent.map(str::to_owned);
        Ok(Rotation::Rotated(session))
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let at = ts(now)?;
        let mut tx = self.write().await?;
        let Some(row) = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE id = $2 AND revoked_at IS NULL AND expires_at > $1 RETURNING account_id",
        )
        .bind(at)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        else {
            return Ok(false);
        };
        let account = AccountId(get(&row, "account_id")?);
        insert_feed(&mut tx, &Change::SessionRevoked(id, account), at).await?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn revoke_sessions(
        &self,
        account: AccountId,
        revoke: Revoke,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<u64> {
        let at = ts(now)?;
        let mut tx = self.write().await?;
        let n = revoke_live(&mut tx, account, revoke, at).await?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
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
        let live = sqlx::query(
            "SELECT 1 FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(id.0)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if live.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE session_id = $2 AND used_at IS NULL",
        )
        .bind(at)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("INSERT INTO refresh_tokens (hash, session_id, used_at) VALUES ($1, $2, NULL)")
            .bind(&new_hash[..])
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        commit(tx).await?;
        Ok(true)
    }

    async fn touch_session(&self, id: SessionId, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(ts(now)?)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn prune(&self, before: OffsetDateTime, feed_before: OffsetDateTime) -> Result<u64> {
        let (before, feed_before) = (ts(before)?, ts(feed_before)?);
        let mut tx = self.write().await?;
        let tokens = sqlx::query(
            "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions \
             WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1))",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        let sessions = sqlx::query(
            "DELETE FROM sessions \
             WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        let feed = sqlx::query("DELETE FROM feed WHERE at < $1")
            .bind(feed_before)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        commit(tx).await?;
        Ok(tokens + sessions + feed)
    }
}

// ------------------------------------------------------------ feed and audit

#[async_trait]
impl ChangeFeed for SqlStore {
    async fn changes_since(&self, after: i64, limit: u32) -> Result<Vec<FeedEntry>> {
        let rows = sqlx::query(
            "SELECT seq, kind, id, account_id, at FROM feed WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(FeedEntry {
                    seq: get(row, "seq")?,
                    change: feed_change(
                        &get::<String>(row, "kind")?,
                        get(row, "id")?,
                        get(row, "account_id")?,
                    )?,
                    at: from_ts(get(row, "at")?)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        insert_audit(&mut conn, event).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT at, account_id, event, ip, user_agent, detail FROM audit \
             WHERE ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR at >= $2) \
             AND ($3 IS NULL OR at < $3) ORDER BY at DESC, id DESC LIMIT $4",
        )
        .bind(query.account_id.map(|a| a.0))
        .bind(ts_opt(query.from)?)
        .bind(ts_opt(query.to)?)
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn prune_audit(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM audit WHERE at < $1")
            .bind(ts(before)?)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}

// ------------------------------------------------------------ keys and settings

#[async_trait]
impl KeyStore for SqlStore {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        let rows = sqlx::query(
            "SELECT kid, alg, private_der, created_at, retired_at FROM signing_keys \
             ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(signing_key_from_row).collect()
    }

    async fn add_signing_key(
        &self,
        key: &StoredKey,
        retire_others: Option<OffsetDateTime>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        if let Some(at) = retire_others {
            sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
                .bind(ts(at)?)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_der, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_der)
        .bind(ts(key.created_at)?)
        .bind(ts_opt(key.retired_at)?)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        commit(tx).await
    }

    async fn setting(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(|r| get(r, "value")).transpose()
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let stored = get(&row, "value")?;
        commit(tx).await?;
        Ok(stored)
    }
}

// ------------------------------------------------------------ counters

async fn load_counter(conn: &mut SqliteConnection, key: &str) -> Result<Counter> {
    let row =
        sqlx::query("SELECT failures, in_flight, locks, locked_until FROM counters WHERE key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await
            .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(Counter::default());
    };
    Ok(Counter {
        failures: count(get(&row, "failures")?),
        in_flight: count(get(&row, "in_flight")?),
        locks: count(get(&row, "locks")?),
        locked_until: from_ts_opt(get(&row, "locked_until")?)?,
    })
}

async fn store_counter(conn: &mut SqliteConnection, key: &str, c: &Counter) -> Result<()> {
    sqlx::query(
        "INSERT INTO counters (key, failures, in_flight, locks, locked_until) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET \
         failures = excluded.failures, in_flight = excluded.in_flight, \
         locks = excluded.locks, locked_until = excluded.locked_until",
    )
    .bind(key)
    .bind(i64::from(c.failures))
    .bind(i64::from(c.in_flight))
    .bind(i64::from(c.locks))
    .bind(ts_opt(c.locked_until)?)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl CounterStore for SqlStore {
    async fn attempt_begin(&self, key: &str, now: OffsetDateTime, max: u32) -> Result<AttemptGate> {
        let mut tx = self.write().await?;
        let mut c = load_counter(&mut tx, key).await?;
        let gate = counter_begin(&mut c, now, max);
        store_counter(&mut tx, key, &c).await?;
        commit(tx).await?;
        Ok(gate)
    }

    async fn attempt_failed(
        &self,
        key: &str,
        now: OffsetDateTime,
        max: u32,
        base_window_secs: u64,
    ) -> Result<Option<u64>> {
        let mut tx = self.write().await?;
        let mut c = load_counter(&mut tx, key).await?;
        let locked = counter_failed(&mut c, now, max, base_window_secs);
        store_counter(&mut tx, key, &c).await?;
        commit(tx).await?;
        Ok(locked)
    }

    async fn attempt_clear(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM counters WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
