//! MySQL / MariaDB, for several Warden nodes on one database: the
//! [`Dialect`], [`MySqlOptions`] and [`MySqlStore::connect`]. The schema of
//! `migrations/mysql` has BINARY(16) uuids, BIGINT unix-nanosecond
//! timestamps, VARBINARY keys and InnoDB tables; statements are rendered
//! with `?` placeholders and use no `RETURNING` clause (MySQL has none,
//! MariaDB none on `UPDATE`), so they run on both servers.
//!
//! Every connection runs its transactions at READ COMMITTED, so that locking
//! and non-locking reads both see the newest committed rows, as on
//! PostgreSQL, and InnoDB takes no gap locks for plain reads. A conditional
//! `UPDATE`'s affected-row count tells whether it applied (sqlx sets
//! `CLIENT_FOUND_ROWS`, so a matched row counts even when its values do not
//! change). Feed writers first lock the one row of `feed_lock`:
//! AUTO_INCREMENT values are assigned before commit, so without it a reader
//! could see `seq` 11 before 10 commits and skip 10. Waiting for a row lock
//! is bounded by `innodb_lock_wait_timeout`
//! ([`MySqlOptions::lock_wait_timeout`]); a timed-out wait, a deadlock or a
//! lost connection becomes [`Error::Unavailable`].

use crate::backend::SqlBackend;
use crate::codec::db_err;
use crate::dialect::{Dialect, sqlx_glue};
use crate::sql::{Sql, Syntax, sql};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use std::str::FromStr;
use std::time::Duration;
use warden_core::error::{Error, Result};

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

/// The MySQL / MariaDB [`Dialect`].
#[derive(Debug, Clone, Copy)]
pub struct MySql;

impl Dialect for MySql {
    type Db = sqlx::MySql;
    const NAME: &'static str = "mysql";
    const SYNTAX: Syntax = Syntax::MySql;
    const BEGIN_WRITE: Option<&'static str> = None;

    /// The row lock of the one row of `feed_lock`.
    fn feed_lock() -> Option<&'static Sql> {
        Some(sql!("SELECT id FROM feed_lock WHERE id = 1 {FOR UPDATE}"))
    }

    sqlx_glue!(sqlx::MySql, from_mysql);
}

/// A [`warden_core::store::Store`] on MySQL or MariaDB through a `sqlx` pool.
pub type MySqlStore = SqlBackend<MySql>;

/// Open a pool on `url` (`mysql://user:pass@host:port/db?ssl-mode=...`;
/// `mariadb://` is accepted as a synonym) and run the embedded migrations (a
/// no-op when they already ran; sqlx serializes concurrent migrators with a
/// named lock). The database must exist.
pub async fn connect(url: &str, opts: MySqlOptions) -> Result<MySqlStore> {
    let url = match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_owned(),
    };
    let options = MySqlConnectOptions::from_str(&url).map_err(db_err)?;
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
        .map_err(db_err)?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| Error::Internal(format!("migration: {e}")))?;
    let store = SqlBackend {
        group_commit: None,
        pool,
    };
    crate::logins::prepare_at_connect(&store).await?;
    Ok(store)
}

impl MySqlStore {
    /// Same as the free function [`connect`].
    pub async fn connect(url: &str, opts: MySqlOptions) -> Result<MySqlStore> {
        connect(url, opts).await
    }
}
