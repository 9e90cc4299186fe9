//! SQLite, the embedded default: the [`Dialect`] and [`SqlStore::connect`].
//!
//! Every write transaction starts with `BEGIN IMMEDIATE`: it takes SQLite's
//! write lock up front (waiting up to the busy timeout), so writers are
//! serialized (no row locks, no feed lock needed) and a deferred read lock
//! is never upgraded (the upgrade is what fails with `SQLITE_BUSY` without
//! waiting). Reads run outside transactions and, in WAL mode, never block on
//! writers.

use crate::backend::SqlBackend;
use crate::codec::db_err;
use crate::dialect::{Dialect, sqlx_glue};
use crate::rotation::GroupCommit;
use crate::sql::{Sql, Syntax};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;
use warden_core::error::{Error, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for SQLite's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections of a file database pool.
const MAX_CONNECTIONS: u32 = 8;

/// When a commit reaches the disk (SQLite's `synchronous` in WAL mode).
///
/// ```
/// use warden_store_sql::sqlite::SqliteSync;
/// assert_eq!(SqliteSync::parse("full"), Some(SqliteSync::Full));
/// assert_eq!(SqliteSync::parse("off"), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// `synchronous=NORMAL`: a commit is in the WAL file when it is answered,
    /// so it survives the process being killed; the WAL is synced at
    /// checkpoints, so a power loss or an OS crash can lose the newest commits
    /// (never corrupt the database).
    #[default]
    Normal,
    /// `synchronous=FULL`: the WAL is synced at every commit (once per group
    /// commit of refreshes) before it is answered, so an answered write
    /// survives a power loss too; each commit costs an fsync.
    Full,
}

impl SqliteSync {
    /// `normal` or `full` (the `WARDEN_SQLITE_SYNCHRONOUS` values).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "normal" => Some(Self::Normal),
            "full" => Some(Self::Full),
            _ => None,
        }
    }
}

/// The SQLite [`Dialect`].
#[derive(Debug, Clone, Copy)]
pub struct Sqlite;

impl Dialect for Sqlite {
    type Db = sqlx::Sqlite;
    const NAME: &'static str = "sqlite";
    const SYNTAX: Syntax = Syntax::Sqlite;
    const BEGIN_WRITE: Option<&'static str> = Some("BEGIN IMMEDIATE");

    fn feed_lock() -> Option<&'static Sql> {
        None
    }

    sqlx_glue!(sqlx::Sqlite, from_sqlite);
}

/// A [`warden_core::store::Store`] on SQLite through a `sqlx` pool.
pub type SqlStore = SqlBackend<Sqlite>;

impl SqlStore {
    /// Open (and migrate) a database. Accepts `sqlite://path?mode=rwc`,
    /// `sqlite::memory:` or a plain file path (created if missing).
    ///
    /// File databases use WAL journaling, `synchronous=NORMAL`, foreign keys and
    /// a 5 s busy timeout. An in-memory database lives in one connection that the
    /// pool never closes, so every query sees the same database.
    pub async fn connect(url: &str) -> Result<SqlStore> {
        Self::connect_with(url, SqliteSync::default()).await
    }

    /// [`SqlStore::connect`] with the given durability of a commit.
    pub async fn connect_with(url: &str, sync: SqliteSync) -> Result<SqlStore> {
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
            .synchronous(match sync {
                SqliteSync::Normal => SqliteSynchronous::Normal,
                SqliteSync::Full => SqliteSynchronous::Full,
            });
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
        let store = SqlBackend {
            group_commit: Some(GroupCommit::start::<Sqlite>(pool.clone())),
            pool,
        };
        crate::logins::prepare_at_connect(&store).await?;
        Ok(store)
    }
}
