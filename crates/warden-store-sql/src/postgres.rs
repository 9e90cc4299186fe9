//! The PostgreSQL backend: the same schema and SQL as [`crate::sqlite`] (with
//! native `uuid`, `BOOLEAN` and `BYTEA` columns) and the same value
//! conversions and row mapping, for several Warden nodes on one database.
//!
//! Concurrency (transactions run at PostgreSQL's default READ COMMITTED):
//! - read-modify-write of one row locks it first (`SELECT ... FOR UPDATE`), or
//!   is one atomic statement (`UPDATE ... WHERE ... RETURNING`,
//!   `INSERT ... ON CONFLICT`), whose `WHERE` PostgreSQL re-checks against the
//!   newest row version after waiting for a concurrent writer;
//! - rows are locked in one order (account, then session, then refresh token)
//!   so that writers do not deadlock;
//! - every transaction that appends to the change feed takes one
//!   transaction-level advisory lock ([`FEED_LOCK`]) as its first statement.
//!   Feed writers are thus serialized, so `feed.seq` values become visible in
//!   increasing order and `changes_since(seq)` never skips an entry that
//!   commits later with a smaller `seq` (PostgreSQL sequences alone are not
//!   assigned in commit order). Taking it first, before any row lock, means a
//!   transaction never waits for the advisory lock while holding a row lock,
//!   so the advisory lock cannot take part in a deadlock. Transactions that
//!   do not write the feed (e.g. a normal refresh-token rotation) never take it.

use crate::codec::{
    AccountCols, Counter, count, counter_begin, counter_failed, db_err, feed_change, feed_columns,
    from_ts, from_ts_opt, json_list, json_value, like_escape, ts, ts_opt,
};
use crate::rows::{account_cols, account_insert, row_mapping, session_cols};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, Transaction};
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

#[path = "postgres_mfa.rs"]
mod mfa;

#[path = "postgres_api_keys.rs"]
mod api_keys;

#[path = "postgres_one_time.rs"]
mod one_time;

// The same source is compiled for each backend on purpose (see the file's doc).
#[allow(clippy::duplicate_mod)]
#[path = "sql_identities.rs"]
mod identities;
// The same source is compiled for each backend on purpose (see the file's doc).
#[allow(clippy::duplicate_mod)]
#[path = "sql_passkeys.rs"]
mod passkeys;
type BackendConn = PgConnection;
/// Lock the account row before counting its sign-in methods (`sql_passkeys.rs`).
const ACCOUNT_LOCK: &str = "SELECT password_hash FROM accounts WHERE id = $1 FOR UPDATE";
/// The names `sql_identities.rs` is written against.
type Backend = PgStore;
type BackendRow = PgRow;
/// Keep the account from being deleted while an identity is linked to it.
const ACCOUNT_CHECK: &str = "SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Key of the transaction-level advisory lock that serializes feed writers
/// (`pg_advisory_xact_lock`); the bytes spell `WARDFEED`.
pub const FEED_LOCK: i64 = 0x5741_5244_4645_4544;

/// Pool settings of a [`PgStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgOptions {
    /// Most connections the pool opens.
    pub pool_size: u32,
    /// `statement_timeout` set on every connection (zero: no timeout). Waiting
    /// for a row or advisory lock counts against it.
    pub statement_timeout: Duration,
    /// How long a call waits for a free pooled connection before it fails
    /// with [`Error::Unavailable`].
    pub acquire_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            pool_size: 10,
            statement_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// A [`Store`] on PostgreSQL through a `sqlx` pool.
pub struct PgStore {
    pool: PgPool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("backend", &"postgres")
            .finish_non_exhaustive()
    }
}

/// Open a pool on `url` (`postgres://user:pass@host:port/db?sslmode=...`)
/// and run the embedded migrations (a no-op when they already ran; sqlx
/// serializes concurrent migrators with an advisory lock).
///
/// TLS follows the URL's `sslmode` (`disable`, `prefer` (the default),
/// `require`, `verify-ca`, `verify-full`) with `sslrootcert=` for a private CA
/// (public CAs are built in); tables go to the connection's `search_path`,
/// which `options=-c search_path=NAME` in the URL can set.
pub async fn connect(url: &str, opts: PgOptions) -> Result<PgStore> {
    let options = PgConnectOptions::from_str(url).map_err(db_err)?;
    let timeout_ms = opts.statement_timeout.as_millis().to_string();
    let timeout = timeout_ms.clone();
    let pool = PgPoolOptions::new()
        .max_connections(opts.pool_size.max(1))
        .acquire_timeout(opts.acquire_timeout)
        .after_connect(move |conn, _meta| {
            let timeout = timeout.clone();
            Box::pin(async move { set_statement_timeout(conn, &timeout).await })
        })
        .connect_with(options)
        .await
        .map_err(db_err)?;
    // Migrations (and waiting for another node's migrations) may take longer
    // than a request's statement: they run on one connection without the limit.
    let mut conn = pool.acquire().await.map_err(db_err)?;
    set_statement_timeout(&mut conn, "0")
        .await
        .map_err(db_err)?;
    MIGRATOR
        .run(&mut *conn)
        .await
        .map_err(|e| Error::Internal(format!("migration: {e}")))?;
    set_statement_timeout(&mut conn, &timeout_ms)
        .await
        .map_err(db_err)?;
    drop(conn);
    Ok(PgStore { pool })
}

/// `SET statement_timeout` (milliseconds, `0`: none), with the value bound as
/// a parameter.
async fn set_statement_timeout(conn: &mut PgConnection, ms: &str) -> sqlx::Result<()> {
    sqlx::query("SELECT set_config('statement_timeout', $1, false)")
        .bind(ms)
        .execute(conn)
        .await?;
    Ok(())
}

impl PgStore {
    /// Same as the free function [`connect`].
    pub async fn connect(url: &str, opts: PgOptions) -> Result<PgStore> {
        connect(url, opts).await
    }

    /// The underlying pool (for maintenance tasks and tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Start a transaction that does not write the feed.
    async fn write(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(db_err)
    }

    /// Start a transaction that may write the feed: it holds [`FEED_LOCK`]
    /// from its first statement until it ends.
    async fn feed_write(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FEED_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        Ok(tx)
    }
}

async fn commit(tx: Transaction<'static, Postgres>) -> Result<()> {
    tx.commit().await.map_err(db_err)
}

// ------------------------------------------------------------ row mapping

row_mapping!(PgRow, Postgres);

// ------------------------------------------------------------ shared writes

account_insert!(
    PgConnection,
    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    db_err
);

async fn insert_audit(conn: &mut PgConnection, ev: &AuditEvent) -> Result<()> {
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

/// Append to the feed. Only call it in a transaction from
/// [`PgStore::feed_write`] (which holds [`FEED_LOCK`]).
async fn insert_feed(conn: &mut PgConnection, change: &Change, at: i64) -> Result<()> {
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

/// Revoke the live sessions of `account` (but `except`) at `now`, one feed
/// entry each (in a [`PgStore::feed_write`] transaction).
async fn revoke_live(
    conn: &mut PgConnection,
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
         AND ($3::uuid IS NULL OR id <> $3) RETURNING id",
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

/// Whether the account exists; when it does, its row is locked against
/// deletion (`FOR KEY SHARE`) until the transaction ends, so that rows
/// referencing it can be inserted.
async fn account_exists(conn: &mut PgConnection, id: AccountId) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE")
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    Ok(row.is_some())
}

// ------------------------------------------------------------ accounts

#[async_trait]
impl AccountStore for PgStore {
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
        let mut tx = self.feed_write().await?;
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
        let mut tx = self.feed_write().await?;
        // Lock the account first (the row order of every writer), so that no
        // session can be added to it until this transaction ends.
        let locked = sqlx::query("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if locked.is_none() {
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
            " FROM accounts WHERE ($1::uuid IS NULL OR id > $1) AND ($2::text IS NULL \
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
impl SessionStore for PgStore {
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
        // The common case writes no feed entry, so it does not take the feed
        // lock: rotations of different sessions run in parallel.
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
        // The session row lock serializes every rotation of this session.
        let Some(row) = sqlx::query(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE id = $1 FOR UPDATE"
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
            // Reuse. A used token never becomes current again, so the verdict
            // holds after this transaction ends; the revocation runs in a
            // feed transaction that takes the feed lock before any row lock.
            let ev = event("token.refresh_reused");
            tx.rollback().await.map_err(db_err)?;
            let mut tx = self.feed_write().await?;
            let revoked = sqlx::query(
                "UPDATE sessions SET revoked_at = $1 \
                 WHERE id = $2 AND revoked_at IS NULL RETURNING id",
            )
            .bind(at)
            .bind(sid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
            if revoked.is_some() {
                insert_feed(
                    &mut tx,
                    &Change::SessionRevoked(session.id, session.account_id),
                    at,
                )
                .await?;
                session.revoked_at = Some(now);
            } else {
                // Revoked (or deleted) meanwhile by another writer, which
                // wrote its own feed entry.
                let prior: Option<Option<i64>> =
                    sqlx::query_scalar("SELECT revoked_at FROM sessions WHERE id = $1")
                        .bind(sid)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                session.revoked_at = from_ts_opt(prior.flatten())?.or(Some(now));
            }
            insert_audit(&mut tx, &ev).await?;
            commit(tx).await?;
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
        let mut tx = self.feed_write().await?;
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
            "SELECT 1 FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             FOR UPDATE",
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
impl ChangeFeed for PgStore {
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
impl AuditStore for PgStore {
    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        insert_audit(&mut conn, event).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT at, account_id, event, ip, user_agent, detail FROM audit \
             WHERE ($1::uuid IS NULL OR account_id = $1) AND ($2::bigint IS NULL OR at >= $2) \
             AND ($3::bigint IS NULL OR at < $3) ORDER BY at DESC, id DESC LIMIT $4",
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
impl KeyStore for PgStore {
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
        // Outside a transaction: after the insert (which waits for a
        // concurrent insert of the same name to end), the SELECT is a new
        // statement and sees whichever value committed.
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?;
        get(&row, "value")
    }
}

// ------------------------------------------------------------ counters

/// Load the counter of `key`, creating it if needed, locked until the
/// transaction ends.
async fn lock_counter(conn: &mut PgConnection, key: &str) -> Result<Counter> {
    sqlx::query(
        "INSERT INTO counters (key, failures, in_flight, locks, locked_until) \
         VALUES ($1, 0, 0, 0, NULL) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    let row = sqlx::query(
        "SELECT failures, in_flight, locks, locked_until FROM counters WHERE key = $1 FOR UPDATE",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
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

async fn store_counter(conn: &mut PgConnection, key: &str, c: &Counter) -> Result<()> {
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
impl CounterStore for PgStore {
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
        sqlx::query("DELETE FROM counters WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        conn.ping().await.map_err(db_err)
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}
