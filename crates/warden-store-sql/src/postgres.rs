//! PostgreSQL, for several Warden nodes on one database: the [`Dialect`],
//! [`PgOptions`] and [`PgStore::connect`]. The schema (`migrations/postgres`)
//! has the tables and columns of SQLite's with native `uuid`, `BOOLEAN` and
//! `BYTEA` columns.
//!
//! Transactions run at READ COMMITTED: a read-modify-write locks its row
//! first (`SELECT ... FOR UPDATE`), whose newest version PostgreSQL reads
//! after waiting for a concurrent writer. Every transaction that appends to
//! the change feed takes one transaction-level advisory lock ([`FEED_LOCK`])
//! as its first statement (see [`crate::backend`]): PostgreSQL sequences
//! alone are not assigned in commit order. Taking it before any row lock
//! means a transaction never waits for it while holding a row lock, so it
//! cannot take part in a deadlock. Waiting for a lock counts against
//! [`PgOptions::statement_timeout`].

use crate::backend::SqlBackend;
use crate::codec::db_err;
use crate::dialect::{Dialect, sqlx_glue};
use crate::sql::{Sql, Syntax, sql};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;
use warden_core::error::{Error, Result};

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

/// The PostgreSQL [`Dialect`].
#[derive(Debug, Clone, Copy)]
pub struct Postgres;

impl Dialect for Postgres {
    type Db = sqlx::Postgres;
    const NAME: &'static str = "postgres";
    const SYNTAX: Syntax = Syntax::Postgres;
    const BEGIN_WRITE: Option<&'static str> = None;

    /// The transaction-level advisory lock [`FEED_LOCK`].
    fn feed_lock() -> Option<&'static Sql> {
        Some(sql!("SELECT pg_advisory_xact_lock(6287397007976121668)"))
    }

    sqlx_glue!(sqlx::Postgres, from_postgres);
}

/// A [`warden_core::store::Store`] on PostgreSQL through a `sqlx` pool.
pub type PgStore = SqlBackend<Postgres>;

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
    let store = SqlBackend {
        group_commit: None,
        pool,
    };
    crate::logins::prepare_at_connect(&store).await?;
    Ok(store)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_lock_takes_feed_lock() {
        let lock = Postgres::feed_lock().map(|s| &s.render(Syntax::Postgres).text);
        assert_eq!(
            lock.map(String::as_str),
            Some(format!("SELECT pg_advisory_xact_lock({FEED_LOCK})").as_str())
        );
    }
}
