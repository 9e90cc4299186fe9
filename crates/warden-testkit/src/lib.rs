//! Warden's test kit: the backends a test runs on, one app harness, and the
//! macros that turn one test body into one test per backend.
//!
//! * [`each_backend!`] turns `async fn name(b) { .. }` into the tests
//!   `name::memory`, `name::sqlite`, `name::postgres` and `name::mysql`; the
//!   body gets the [`Backend`] and opens its store with [`store`] (or an app
//!   with [`app::app`], feature `server`).
//! * [`conformance_tests!`] expands the store conformance suite to one test
//!   per check for one backend, so a failure names its check.
//! * [`needs!`] marks a hand-written test that needs an external backend.
//!
//! PostgreSQL, MySQL and Redis are reached through `WARDEN_TEST_POSTGRES_URL`,
//! `WARDEN_TEST_MYSQL_URL` and `WARDEN_TEST_REDIS_URL`. A backend whose URL is
//! unset at build time has its tests `#[ignore]`d (the test run reports them
//! as ignored, never as passed). With `CI` set they are never ignored: a
//! missing or unreachable backend fails the test.
//!
//! Every PostgreSQL test gets a fresh schema and every MySQL test a fresh
//! database, so tests run in parallel; what earlier runs left behind is
//! dropped after ten minutes.

#![forbid(unsafe_code)]

use std::sync::Arc;
use warden_core::store::{Layered, MemoryStore, Store};

#[cfg(feature = "server")]
pub mod app;
mod macros;
#[cfg(feature = "server")]
pub mod mail;
pub mod oidc;
pub mod sql;

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The in-memory reference store.
    Memory,
    /// SQLite, in memory.
    Sqlite,
    /// PostgreSQL, a fresh schema of `WARDEN_TEST_POSTGRES_URL`.
    Postgres,
    /// MySQL / MariaDB, a fresh database on `WARDEN_TEST_MYSQL_URL`.
    MySql,
    /// The in-memory store with its counters in Redis (`WARDEN_TEST_REDIS_URL`)
    /// and the Redis feed hook.
    Redis,
}

impl Backend {
    /// The environment variable that names the backend's server, if it needs one.
    pub fn env_var(self) -> Option<&'static str> {
        match self {
            Self::Memory | Self::Sqlite => None,
            Self::Postgres => Some("WARDEN_TEST_POSTGRES_URL"),
            Self::MySql => Some("WARDEN_TEST_MYSQL_URL"),
            Self::Redis => Some("WARDEN_TEST_REDIS_URL"),
        }
    }

    /// The name [`Store::backend`] answers for this backend's store.
    pub fn store_name(self) -> &'static str {
        match self {
            Self::Memory | Self::Redis => "memory",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }
}

/// The URL of an external backend's server.
///
/// # Panics
///
/// When its variable is unset: the test was not ignored, so either `CI` is
/// set or the URL was unset after the build; a missing backend fails.
pub fn url(b: Backend) -> String {
    let Some(var) = b.env_var() else {
        return "sqlite::memory:".to_owned();
    };
    match std::env::var(var) {
        Ok(u) if !u.is_empty() => u,
        _ => fail(&format!(
            "{var} is not set: this {b:?} test must run (CI is set, or the variable was \
             unset after the build); start the server and set {var}"
        )),
    }
}

/// Fail the running test.
#[track_caller]
fn fail(msg: &str) -> ! {
    #[allow(clippy::panic)]
    {
        panic!("{msg}")
    }
}

/// Unwrap a set-up step of the harness, failing the test with its error.
#[track_caller]
pub(crate) fn must<T, E: std::fmt::Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => fail(&format!("{what}: {e:?}")),
    }
}

/// A fresh, empty store of backend `b` (migrations run).
pub async fn store(b: Backend) -> Arc<dyn Store> {
    match b {
        Backend::Memory => Arc::new(MemoryStore::new()),
        Backend::Sqlite => Arc::new(must(
            warden_store_sql::SqlStore::connect("sqlite::memory:").await,
            "sqlite store",
        )),
        Backend::Postgres => {
            let url = sql::fresh_postgres_url().await;
            Arc::new(must(
                warden_store_sql::PgStore::connect(&url, pool_options()).await,
                "postgres store",
            ))
        }
        Backend::MySql => {
            let url = sql::fresh_mysql_url().await;
            Arc::new(must(
                warden_store_sql::MySqlStore::connect(&url, pool_options().into()).await,
                "mysql store",
            ))
        }
        Backend::Redis => {
            let redis = redis();
            must(redis.ping().await, "redis ping");
            Arc::new(
                Layered::new(Arc::new(MemoryStore::new()), Arc::new(redis.counters()))
                    .with_feed_hook(redis.feed_hook()),
            )
        }
    }
}

/// The pool settings of a test store: four connections, the default timeouts.
pub fn pool_options() -> warden_store_sql::PgOptions {
    warden_store_sql::PgOptions {
        pool_size: 4,
        ..warden_store_sql::PgOptions::default()
    }
}

/// A Redis connection under a fresh key prefix `warden-test:<uuid>:`.
pub fn redis() -> warden_store_redis::Redis {
    let prefix = format!("warden-test:{}:", uuid::Uuid::now_v7().simple());
    must(
        warden_store_redis::Redis::connect(&url(Backend::Redis), &prefix),
        "redis connect",
    )
}

/// `base` with its sessions in Redis (a fresh key prefix), the Redis
/// counters and the Redis feed hook: the store of `WARDEN_SESSION_STORE=redis`.
pub fn with_redis_sessions(base: Arc<dyn Store>) -> Arc<dyn Store> {
    let redis = redis();
    Arc::new(
        Layered::new(base.clone(), Arc::new(redis.counters()))
            .with_sessions(Arc::new(redis.sessions(base)))
            .with_feed_hook(redis.feed_hook()),
    )
}

/// A fresh store of `b` with its sessions in Redis ([`with_redis_sessions`]).
pub async fn store_with_redis_sessions(b: Backend) -> Arc<dyn Store> {
    let store = with_redis_sessions(store(b).await);
    must(store.ping().await, "redis sessions ping");
    store
}

/// Delete the Redis keys under `prefix`.
pub async fn redis_cleanup(prefix: &str) {
    let client = must(redis::Client::open(url(Backend::Redis)), "redis client");
    let mut c = must(
        client.get_multiplexed_async_connection().await,
        "redis connection",
    );
    let keys: Vec<String> = must(
        redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut c)
            .await,
        "redis KEYS",
    );
    for k in keys {
        let _: i64 = must(
            redis::cmd("DEL").arg(k).query_async(&mut c).await,
            "redis DEL",
        );
    }
}

#[doc(hidden)]
pub use tokio as __tokio;
#[doc(hidden)]
pub use warden_core as __core;
