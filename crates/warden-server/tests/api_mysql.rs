//! The router suite of `api.rs` (every test of `suite/`) again, on MySQL /
//! MariaDB: each test gets a fresh database on the server named by
//! `WARDEN_TEST_MYSQL_URL`; without it every test prints "skipped" and passes.
//!
//! The suite's helpers come from `common/mod.rs`; this file shadows the ones
//! that pick a backend (`Backend`, `both!`, `store`, `app`, `app_with`,
//! `app_with_clock`) so that the suite's test bodies run unchanged.
//! A test's database is left behind when it ends; each run drops the
//! databases that earlier runs left (those older than ten minutes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(unused_macros, unused_imports)]
#[path = "common/mod.rs"]
mod base;

#[allow(dead_code, unused_imports)]
mod common {
    pub use super::base::*;
    use sqlx::Connection;
    use sqlx::mysql::MySqlConnection;
    use std::sync::Arc;
    use warden_axum::{AdminSecret, Warden};
    use warden_core::clock::Clock;
    use warden_core::store::{MemoryStore, Store};
    use warden_server::config::Config;

    /// Which store a test runs against (the suite names `Memory` too).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Backend {
        Memory,
        MySql,
    }

    /// One `#[tokio::test]` per suite test, on MySQL.
    macro_rules! both {
        ($(#[$m:meta])* async fn $name:ident($b:ident) $body:block) => {
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn run($b: $crate::common::Backend) $body
                $(#[$m])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    if $crate::common::test_url().is_none() {
                        println!("skipped: WARDEN_TEST_MYSQL_URL not set");
                        return;
                    }
                    run($crate::common::Backend::MySql).await
                }
            }
        };
    }
    pub(crate) use both;

    pub fn test_url() -> Option<String> {
        std::env::var("WARDEN_TEST_MYSQL_URL")
            .ok()
            .filter(|u| !u.is_empty())
    }

    const PREFIX: &str = "wm_";

    /// Drop the databases of earlier runs (their names carry a UUIDv7, whose
    /// time tells their age), once per process.
    async fn drop_stale(conn: &mut MySqlConnection) {
        static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
        DONE.get_or_init(|| async {
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata \
                 WHERE schema_name LIKE 'wm\\_%'",
            )
            .fetch_all(&mut *conn)
            .await
            .expect("list databases");
            let limit = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
            for name in names {
                let Ok(id) = uuid::Uuid::parse_str(&name[PREFIX.len()..]) else {
                    continue;
                };
                let Some(t) = id.get_timestamp() else {
                    continue;
                };
                let (secs, nanos) = t.to_unix();
                let made = std::time::UNIX_EPOCH + std::time::Duration::new(secs, nanos);
                if made < limit {
                    let sql = format!("DROP DATABASE IF EXISTS {name}");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *conn)
                        .await;
                }
            }
        })
        .await;
    }

    /// The URL of a new, empty database.
    async fn fresh_db_url() -> String {
        let base = test_url().expect("WARDEN_TEST_MYSQL_URL");
        let mut conn = MySqlConnection::connect(&base).await.expect("connect");
        drop_stale(&mut conn).await;
        let name = format!("{PREFIX}{}", uuid::Uuid::now_v7().simple());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )))
        .execute(&mut conn)
        .await
        .expect("create database");
        let (path, query) = match base.split_once('?') {
            Some((p, q)) => (p, format!("?{q}")),
            None => (base.as_str(), String::new()),
        };
        let (scheme, rest) = path.split_once("://").expect("a URL");
        let host = rest.split_once('/').map_or(rest, |(h, _)| h);
        format!("{scheme}://{host}/{name}{query}")
    }

    pub async fn store(b: Backend) -> Arc<dyn Store> {
        match b {
            Backend::Memory => Arc::new(MemoryStore::new()),
            Backend::MySql => {
                let url = fresh_db_url().await;
                let opts = warden_store_sql::PgOptions {
                    pool_size: 4,
                    ..warden_store_sql::PgOptions::default()
                };
                warden_server::open_store_with(&url, opts)
                    .await
                    .expect("mysql store")
            }
        }
    }

    pub async fn app(b: Backend) -> App {
        app_with(b, |_| {}).await
    }

    pub async fn app_with(b: Backend, f: impl FnOnce(&mut Config)) -> App {
        let mut cfg = config();
        f(&mut cfg);
        let store = store(b).await;
        app_on(cfg, store).await
    }

    /// An app whose engine reads the given clock.
    pub async fn app_with_clock(
        b: Backend,
        clock: Arc<dyn Clock>,
        f: impl FnOnce(&mut Config),
    ) -> App {
        let mut cfg = config();
        f(&mut cfg);
        let store = store(b).await;
        let auth = warden_core::Auth::with_clock(store.clone(), cfg.settings().unwrap(), clock)
            .await
            .unwrap();
        let mut http = cfg.http().unwrap();
        http.admin_secret = Some(AdminSecret::new(ADMIN_SECRET));
        let warden = Warden::new(auth, http);
        let router = warden_server::app(&cfg, &warden);
        App {
            router,
            warden,
            cfg,
            store,
            peer: None,
        }
    }
}

mod suite;
