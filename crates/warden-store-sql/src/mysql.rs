//! The MySQL / MariaDB backend: the schema of `migrations/mysql` (BINARY(16)
//! uuids, BIGINT unix-nanosecond timestamps, VARBINARY keys, InnoDB) with the
//! value conversions and row mapping of the other backends, for several
//! Warden nodes on one database. It uses no `RETURNING` clause (MySQL has
//! none, MariaDB none on `UPDATE`), so it runs on both servers.
//!
//! Concurrency (every connection runs its transactions at READ COMMITTED, so
//! that locking and non-locking reads both see the newest committed rows, as
//! on PostgreSQL, and InnoDB takes no gap locks for plain reads):
//! - read-modify-write of a row locks it first (`SELECT ... FOR UPDATE`) or is
//!   one atomic conditional `UPDATE` whose affected-row count tells whether it
//!   applied (sqlx sets `CLIENT_FOUND_ROWS`, so a matched row counts even when
//!   its values do not change);
//! - rows are locked in one order (account, then session, then refresh token);
//! - every transaction that appends to the change feed first locks the one
//!   row of `feed_lock` (`SELECT ... FOR UPDATE`, [`MySqlStore::feed_write`]).
//!   AUTO_INCREMENT values are assigned before commit, so without it a reader
//!   could see `seq` 11 before 10 commits and skip 10; with feed writers
//!   serialized, `seq` values become visible in increasing order. Taking it
//!   before any row lock keeps it out of deadlock cycles.
//!
//! Waiting for a row lock is bounded by `innodb_lock_wait_timeout`
//! ([`MySqlOptions::lock_wait_timeout`]); a timed-out wait, a deadlock or a
//! lost connection becomes [`Error::Unavailable`].

use crate::codec::{
    AccountCols, Counter, count, counter_begin, counter_failed, db_err, feed_change, feed_columns,
    from_ts, from_ts_opt, json_list, json_value, like_escape, ts, ts_opt,
};
use crate::rows::{account_cols, account_insert, row_mapping, session_cols};
use async_trait::async_trait;
use sqlx::mysql::{
    MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlPool, MySqlPoolOptions, MySqlRow,
};
use sqlx::{Connection, MySql, Transaction};
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

#[path = "mysql_mfa.rs"]
mod mfa;

#[path = "mysql_api_keys.rs"]
mod api_keys;

#[path = "mysql_one_time.rs"]
mod one_time;

#[path = "mysql_passkeys.rs"]
mod passkeys;

#[path = "mysql_identities.rs"]
mod identities;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

/// Pool settings of a [`MySqlStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MySqlOptions {
    /// Most connections the pool opens.
    pub pool_size: u32,
    /// `innodb_lock_wait_timeout` of every connection (whole seconds, at
    /// least one): how long a statement waits for a row lock (including the
    /// feed lock) before it fails with [`Error::Unavailable`].
    pub lock_wait_timeout: Duration,
    /// How long a call waits for a free pooled connection before it fails
    /// with [`Error::Unavailable`].
    pub acquire_timeout: Duration,
}

impl Default for MySqlOptions {
    fn default() -> Self {
        Self {
            pool_size: 10,
            lock_wait_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl From<crate::PgOptions> for MySqlOptions {
    /// The same pool size and acquire timeout; the statement timeout becomes
    /// the lock wait timeout (a zero timeout: the server default).
    fn from(pg: crate::PgOptions) -> Self {
        let lock_wait_timeout = if pg.statement_timeout.is_zero() {
            Duration::from_secs(50)
        } else {
            pg.statement_timeout
        };
        Self {
            pool_size: pg.pool_size,
            lock_wait_timeout,
            acquire_timeout: pg.acquire_timeout,
        }
    }
}

/// A [`Store`] on MySQL or MariaDB through a `sqlx` pool.
pub struct MySqlStore {
    pool: MySqlPool,
}

impl std::fmt::Debug for MySqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MySqlStore")
            .field("backend", &"mysql")
            .finish_non_exhaustive()
    }
}

/// Open a pool on `url` (`mysql://user:pass@host:port/db?ssl-mode=...`;
/// `mariadb://` is accepted as a synonym) and run the embedded migrations (a
/// no-op when they already ran; sqlx serializes concurrent migrators with a
/// named lock). The database must exist.
pub async fn connect(url: &str, opts: MySqlOptions) -> Result<MySqlStore> {
    let url = match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_owned(),
    };
    let options = MySqlConnectOptions::from_str(&url).map_err(my_err)?;
    let wait_secs = opts.lock_wait_timeout.as_secs().clamp(1, 1_073_741_824);
    let pool = MySqlPoolOptions::new()
        .max_connections(opts.pool_size.max(1))
        .acquire_timeout(opts.acquire_timeout)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                sqlx::query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("SET SESSION innodb_lock_wait_timeout = ?")
                    .bind(wait_secs)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(my_err)?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| Error::Internal(format!("migration: {e}")))?;
    Ok(MySqlStore { pool })
}

/// Map a `sqlx` error of this backend: duplicate keys on the
/// `accounts_login_key` / `accounts_email_key` indexes (named in the message
/// of error 1062 after `for key`) become `LoginTaken` / `EmailTaken`; lock
/// wait timeouts, deadlocks, interrupted statements, connection limits and
/// lost connections become `Unavailable`; the rest as [`db_err`].
pub(crate) fn my_err(e: sqlx::Error) -> Error {
    if let sqlx::Error::Database(d) = &e
        && let Some(my) = d.try_downcast_ref::<MySqlDatabaseError>()
    {
        if d.is_unique_violation() {
            let msg = my.message();
            let key = msg.rsplit_once(" for key ").map_or(msg, |(_, k)| k);
            if key.contains("login_key") {
                return Error::LoginTaken;
            }
            if key.contains("email_key") {
                return Error::EmailTaken;
            }
            return Error::Internal(e.to_string());
        }
        if is_unavailable(my.number()) {
            return Error::Unavailable(e.to_string());
        }
    }
    db_err(e)
}

/// Server error numbers of a server that cannot answer now: lock wait
/// timeout (1205), deadlock (1213), query interrupted or over its time limit
/// (1317, 1969 MariaDB, 3024 MySQL), too many connections (1040, 1203),
/// shutdown in progress (1053), lost connection (1927 MariaDB, 2006, 2013).
fn is_unavailable(number: u16) -> bool {
    matches!(
        number,
        1040 | 1053 | 1203 | 1205 | 1213 | 1317 | 1927 | 1969 | 2006 | 2013 | 3024
    )
}

impl MySqlStore {
    /// Same as the free function [`connect`].
    pub async fn connect(url: &str, opts: MySqlOptions) -> Result<MySqlStore> {
        connect(url, opts).await
    }

    /// The underlying pool (for maintenance tasks and tests).
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// Start a transaction that does not write the feed.
    async fn write(&self) -> Result<Transaction<'static, MySql>> {
        self.pool.begin().await.map_err(my_err)
    }

    /// Start a transaction that may write the feed: it holds the row lock of
    /// `feed_lock` from its first statement until it ends.
    async fn feed_write(&self) -> Result<Transaction<'static, MySql>> {
        let mut tx = self.pool.begin().await.map_err(my_err)?;
        let locked = sqlx::query("SELECT id FROM feed_lock WHERE id = 1 FOR UPDATE")
            .fetch_optional(&mut *tx)
            .await
            .map_err(my_err)?;
        if locked.is_none() {
            // Without the row nothing would serialize feed writers.
            return Err(Error::Internal(
                "the row of table feed_lock is missing".into(),
            ));
        }
        Ok(tx)
    }
}

async fn commit(tx: Transaction<'static, MySql>) -> Result<()> {
    tx.commit().await.map_err(my_err)
}

// ------------------------------------------------------------ row mapping

row_mapping!(MySqlRow, MySql);

// ------------------------------------------------------------ shared writes

account_insert!(
    MySqlConnection,
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    my_err
);

async fn insert_audit(conn: &mut MySqlConnection, ev: &AuditEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit (at, account_id, event, ip, user_agent, detail) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(ts(ev.at)?)
    .bind(ev.account_id.map(|a| a.0))
    .bind(&ev.event)
    .bind(&ev.ip)
    .bind(&ev.user_agent)
    .bind(json_value(&ev.detail)?)
    .execute(conn)
    .await
    .map_err(my_err)?;
    Ok(())
}

/// Append to the feed. Only call it in a transaction from
/// [`MySqlStore::feed_write`] (which holds the feed lock).
async fn insert_feed(conn: &mut MySqlConnection, change: &Change, at: i64) -> Result<()> {
    let (kind, id, account) = feed_columns(change);
    sqlx::query("INSERT INTO feed (kind, id, account_id, at) VALUES (?, ?, ?, ?)")
        .bind(kind)
        .bind(id)
        .bind(account)
        .bind(at)
        .execute(conn)
        .await
        .map_err(my_err)?;
    Ok(())
}

/// Revoke the live sessions of `account` (but `except`) at `now`, one feed
/// entry each (in a [`MySqlStore::feed_write`] transaction).
async fn revoke_live(
    conn: &mut MySqlConnection,
    account: AccountId,
    revoke: Revoke,
    now: i64,
) -> Result<u64> {
    let except = match revoke {
        Revoke::Nothing => return Ok(0),
        Revoke::All => None,
        Revoke::AllExcept(keep) => Some(keep.0),
    };
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM sessions \
         WHERE account_id = ? AND revoked_at IS NULL AND expires_at > ? \
         AND (? IS NULL OR id <> ?) ORDER BY id FOR UPDATE",
    )
    .bind(account.0)
    .bind(now)
    .bind(except)
    .bind(except)
    .fetch_all(&mut *conn)
    .await
    .map_err(my_err)?;
    for sid in &ids {
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ?")
            .bind(now)
            .bind(sid)
            .execute(&mut *conn)
            .await
            .map_err(my_err)?;
        insert_feed(conn, &Change::SessionRevoked(SessionId(*sid), account), now).await?;
    }
    Ok(ids.len() as u64)
}

/// Whether the account exists; when it does, its row is share-locked against
/// deletion until the transaction ends, so that rows referencing it can be
/// inserted.
async fn account_exists(conn: &mut MySqlConnection, id: AccountId) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM accounts WHERE id = ? LOCK IN SHARE MODE")
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(my_err)?;
    Ok(row.is_some())
}

// ------------------------------------------------------------ accounts

#[async_trait]
impl AccountStore for MySqlStore {
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
            " FROM accounts WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(my_err)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn account_by_login(&self, login_key: &str) -> Result<Option<Account>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE login_key = ?"
        ))
        .bind(login_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(my_err)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn account_by_email(&self, email_key: &str) -> Result<Option<Account>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE email_key = ?"
        ))
        .bind(email_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(my_err)?;
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
        let mut tx = self.feed_write().await?;
        let done = sqlx::query(
            "UPDATE accounts SET login = ?, email = ?, email_verified = ?, active = ?, \
             blocked = ?, block_reason = ?, scopes = ?, properties = ?, \
             password_hash = ?, password_changed_at = ?, created_at = ?, updated_at = ?, \
             login_key = ?, email_key = ? WHERE id = ?",
        )
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
        .bind(account.id.0)
        .execute(&mut *tx)
        .await
        .map_err(my_err)?;
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
        let mut tx = self.feed_write().await?;
        // Lock the account first (the row order of every writer), so that no
        // session can be added to it until this transaction ends.
        let locked = sqlx::query("SELECT 1 FROM accounts WHERE id = ? FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(my_err)?;
        if locked.is_none() {
            return Ok(false);
        }
        revoke_live(&mut tx, id, Revoke::All, at).await?;
        sqlx::query(
            "DELETE FROM refresh_tokens WHERE session_id IN \
             (SELECT id FROM sessions WHERE account_id = ?)",
        )
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(my_err)?;
        sqlx::query("DELETE FROM sessions WHERE account_id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        sqlx::query("DELETE FROM accounts WHERE id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
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
        let after = query.after.map(|a| a.0);
        // `ESCAPE CHAR(92)`: a backslash, whatever `NO_BACKSLASH_ESCAPES` says.
        let rows = sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE (? IS NULL OR id > ?) AND (? IS NULL \
             OR login_key LIKE ? ESCAPE CHAR(92) OR email_key LIKE ? ESCAPE CHAR(92)) \
             ORDER BY id LIMIT ?"
        ))
        .bind(after)
        .bind(after)
        .bind(&pattern)
        .bind(&pattern)
        .bind(&pattern)
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(my_err)?;
        rows.iter().map(account_from_row).collect()
    }
}

// ------------------------------------------------------------ sessions

#[async_trait]
impl SessionStore for MySqlStore {
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
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
        .map_err(my_err)?;
        sqlx::query("INSERT INTO refresh_tokens (hash, session_id, used_at) VALUES (?, ?, NULL)")
            .bind(&refresh_hash[..])
            .bind(session.id.0)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(my_err)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn live_sessions(&self, account: AccountId, now: OffsetDateTime) -> Result<Vec<Session>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE account_id = ? AND revoked_at IS NULL AND expires_at > ? \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(account.0)
        .bind(ts(now)?)
        .fetch_all(&self.pool)
        .await
        .map_err(my_err)?;
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
        // The common case writes no feed entry, so it does not take the feed
        // lock: rotations of different sessions run in parallel.
        let mut tx = self.write().await?;
        let Some(token) = sqlx::query("SELECT session_id FROM refresh_tokens WHERE hash = ?")
            .bind(&old_hash[..])
            .fetch_optional(&mut *tx)
            .await
            .map_err(my_err)?
        else {
            return Ok(Rotation::Invalid);
        };
        let sid: Uuid = get(&token, "session_id")?;
        // The session row lock serializes every rotation of this session.
        let Some(row) = sqlx::query(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE id = ? FOR UPDATE"
        ))
        .bind(sid)
        .fetch_optional(&mut *tx)
        .await
        .map_err(my_err)?
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
        let swapped =
            sqlx::query("UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL")
                .bind(at)
                .bind(&old_hash[..])
                .execute(&mut *tx)
                .await
                .map_err(my_err)?
                .rows_affected()
                == 1;
        if !swapped {
            // Reuse. A used token never becomes current again, so the verdict
            // holds after this transaction ends; the revocation runs in a
            // feed transaction that takes the feed lock before any row lock.
            let ev = event("token.refresh_reused");
            tx.rollback().await.map_err(my_err)?;
            let mut tx = self.feed_write().await?;
            let prior: Option<Option<i64>> =
                sqlx::query_scalar("SELECT revoked_at FROM sessions WHERE id = ? FOR UPDATE")
                    .bind(sid)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(my_err)?;
            match prior {
                Some(None) => {
                    sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ?")
                        .bind(at)
                        .bind(sid)
                        .execute(&mut *tx)
                        .await
                        .map_err(my_err)?;
                    insert_feed(
                        &mut tx,
                        &Change::SessionRevoked(session.id, session.account_id),
                        at,
                    )
                    .await?;
                    session.revoked_at = Some(now);
                }
                // Revoked (or deleted) meanwhile by another writer, which
                // wrote its own feed entry.
                other => {
                    session.revoked_at = from_ts_opt(other.flatten())?.or(Some(now));
                }
            }
            insert_audit(&mut tx, &ev).await?;
            commit(tx).await?;
            return Ok(Rotation::Reused(session));
        }
        sqlx::query("INSERT INTO refresh_tokens (hash, session_id, used_at) VALUES (?, ?, NULL)")
            .bind(&new_hash[..])
            .bind(sid)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        sqlx::query("UPDATE sessions SET last_seen_at = ?, ip = ?, user_agent = ? WHERE id = ?")
            .bind(at)
            .bind(ip)
            .bind(user_agent)
            .bind(sid)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
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
        let mut tx = self.feed_write().await?;
        let Some(account) = sqlx::query_scalar::<_, Uuid>(
            "SELECT account_id FROM sessions \
             WHERE id = ? AND revoked_at IS NULL AND expires_at > ? FOR UPDATE",
        )
        .bind(id.0)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(my_err)?
        else {
            return Ok(false);
        };
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ?")
            .bind(at)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        insert_feed(&mut tx, &Change::SessionRevoked(id, AccountId(account)), at).await?;
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
        let mut tx = self.feed_write().await?;
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
            "SELECT 1 FROM sessions WHERE id = ? AND revoked_at IS NULL AND expires_at > ? \
             FOR UPDATE",
        )
        .bind(id.0)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(my_err)?;
        if live.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE refresh_tokens SET used_at = ? WHERE session_id = ? AND used_at IS NULL",
        )
        .bind(at)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(my_err)?;
        sqlx::query("INSERT INTO refresh_tokens (hash, session_id, used_at) VALUES (?, ?, NULL)")
            .bind(&new_hash[..])
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?;
        commit(tx).await?;
        Ok(true)
    }

    async fn touch_session(&self, id: SessionId, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id = ?")
            .bind(ts(now)?)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(my_err)?;
        Ok(())
    }

    async fn prune(&self, before: OffsetDateTime, feed_before: OffsetDateTime) -> Result<u64> {
        let (before, feed_before) = (ts(before)?, ts(feed_before)?);
        let mut tx = self.write().await?;
        let tokens = sqlx::query(
            "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions \
             WHERE expires_at < ? OR (revoked_at IS NOT NULL AND revoked_at < ?))",
        )
        .bind(before)
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(my_err)?
        .rows_affected();
        let sessions = sqlx::query(
            "DELETE FROM sessions \
             WHERE expires_at < ? OR (revoked_at IS NOT NULL AND revoked_at < ?)",
        )
        .bind(before)
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(my_err)?
        .rows_affected();
        let feed = sqlx::query("DELETE FROM feed WHERE at < ?")
            .bind(feed_before)
            .execute(&mut *tx)
            .await
            .map_err(my_err)?
            .rows_affected();
        commit(tx).await?;
        Ok(tokens + sessions + feed)
    }
}

// ------------------------------------------------------------ feed and audit

#[async_trait]
impl ChangeFeed for MySqlStore {
    async fn changes_since(&self, after: i64, limit: u32) -> Result<Vec<FeedEntry>> {
        let rows = sqlx::query(
            "SELECT seq, kind, id, account_id, at FROM feed WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(my_err)?;
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
impl AuditStore for MySqlStore {
    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(my_err)?;
        insert_audit(&mut conn, event).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let account = query.account_id.map(|a| a.0);
        let (from, to) = (ts_opt(query.from)?, ts_opt(query.to)?);
        let rows = sqlx::query(
            "SELECT at, account_id, event, ip, user_agent, detail FROM audit \
             WHERE (? IS NULL OR account_id = ?) AND (? IS NULL OR at >= ?) \
             AND (? IS NULL OR at < ?) ORDER BY at DESC, id DESC LIMIT ?",
        )
        .bind(account)
        .bind(account)
        .bind(from)
        .bind(from)
        .bind(to)
        .bind(to)
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(my_err)?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn prune_audit(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM audit WHERE at < ?")
            .bind(ts(before)?)
            .execute(&self.pool)
            .await
            .map_err(my_err)?;
        Ok(done.rows_affected())
    }
}

// ------------------------------------------------------------ keys and settings

#[async_trait]
impl KeyStore for MySqlStore {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        let rows = sqlx::query(
            "SELECT kid, alg, private_der, created_at, retired_at FROM signing_keys \
             ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(my_err)?;
        rows.iter().map(signing_key_from_row).collect()
    }

    async fn add_signing_key(
        &self,
        key: &StoredKey,
        retire_others: Option<OffsetDateTime>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        if let Some(at) = retire_others {
            sqlx::query("UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL")
                .bind(ts(at)?)
                .execute(&mut *tx)
                .await
                .map_err(my_err)?;
        }
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_der, created_at, retired_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_der)
        .bind(ts(key.created_at)?)
        .bind(ts_opt(key.retired_at)?)
        .execute(&mut *tx)
        .await
        .map_err(my_err)?;
        commit(tx).await
    }

    async fn setting(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(my_err)?;
        row.as_ref().map(|r| get(r, "value")).transpose()
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        // Outside a transaction (autocommit): after the insert (which waits
        // for a concurrent insert of the same name to end), the SELECT is a
        // new statement and sees whichever value committed.
        let mut conn = self.pool.acquire().await.map_err(my_err)?;
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = name",
        )
        .bind(name)
        .bind(value)
        .execute(&mut *conn)
        .await
        .map_err(my_err)?;
        let row = sqlx::query("SELECT value FROM settings WHERE name = ?")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .map_err(my_err)?;
        get(&row, "value")
    }
}

// ------------------------------------------------------------ counters

/// Load the counter of `key`, creating it if needed, locked until the
/// transaction ends.
async fn lock_counter(conn: &mut MySqlConnection, key: &str) -> Result<Counter> {
    sqlx::query(
        "INSERT INTO counters (`key`, failures, in_flight, locks, locked_until) \
         VALUES (?, 0, 0, 0, NULL) ON DUPLICATE KEY UPDATE `key` = `key`",
    )
    .bind(key)
    .execute(&mut *conn)
    .await
    .map_err(my_err)?;
    let row = sqlx::query(
        "SELECT failures, in_flight, locks, locked_until FROM counters WHERE `key` = ? FOR UPDATE",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(my_err)?;
    let Some(row) = row else {
        // Cleared between the two statements: start from zero (the upsert
        // in `store_counter` creates it again).
        return Ok(Counter::default());
    };
    Ok(Counter {
        failures: count(get(&row, "failures")?),
        in_flight: count(get(&row, "in_flight")?),
        locks: count(get(&row, "locks")?),
        locked_until: from_ts_opt(get(&row, "locked_until")?)?,
    })
}

async fn store_counter(conn: &mut MySqlConnection, key: &str, c: &Counter) -> Result<()> {
    sqlx::query(
        "INSERT INTO counters (`key`, failures, in_flight, locks, locked_until) \
         VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE \
         failures = VALUES(failures), in_flight = VALUES(in_flight), \
         locks = VALUES(locks), locked_until = VALUES(locked_until)",
    )
    .bind(key)
    .bind(i64::from(c.failures))
    .bind(i64::from(c.in_flight))
    .bind(i64::from(c.locks))
    .bind(ts_opt(c.locked_until)?)
    .execute(conn)
    .await
    .map_err(my_err)?;
    Ok(())
}

#[async_trait]
impl CounterStore for MySqlStore {
    async fn attempt_begin(&self, key: &str, now: OffsetDateTime, max: u32) -> Result<AttemptGate> {
        let mut tx = self.write().await?;
        let mut c = lock_counter(&mut tx, key).await?;
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
        let mut c = lock_counter(&mut tx, key).await?;
        let locked = counter_failed(&mut c, now, max, base_window_secs);
        store_counter(&mut tx, key, &c).await?;
        commit(tx).await?;
        Ok(locked)
    }

    async fn attempt_clear(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM counters WHERE `key` = ?")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(my_err)?;
        Ok(())
    }
}

#[async_trait]
impl Store for MySqlStore {
    async fn ping(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(my_err)?;
        conn.ping().await.map_err(my_err)
    }

    fn backend(&self) -> &'static str {
        "mysql"
    }
}
