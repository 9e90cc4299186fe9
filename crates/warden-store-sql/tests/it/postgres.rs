//! The conformance suite against PostgreSQL, in a fresh schema of the
//! database named by `WARDEN_TEST_POSTGRES_URL` (ignored when it is unset).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use std::sync::Arc;
use std::time::Duration;
use warden_core::store::{KeyStore, Store, conformance};
use warden_store_sql::{PgOptions, PgStore};

warden_testkit::needs!(
    postgres,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_conforms() {
        let url = warden_testkit::sql::fresh_postgres_url().await;
        let store = PgStore::connect(&url, PgOptions::default()).await.unwrap();
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert!(
            tables >= 12,
            "migrations ran in the test schema ({tables} tables)"
        );
        let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(timeout, "5s");
        let store: Arc<dyn Store> = Arc::new(store);
        assert_eq!(store.backend(), "postgres");
        conformance::run_all(Arc::clone(&store)).await;
        // Twice on the same schema: the suite leaves nothing that breaks a rerun.
        conformance::run_all(store).await;
        // Reconnecting runs the migrations again (a no-op) and keeps the data.
        let reopened = PgStore::connect(&url, PgOptions::default()).await.unwrap();
        assert!(reopened.setting("nonexistent").await.unwrap().is_none());
        assert!(!reopened.signing_keys().await.unwrap().is_empty());
        reopened.pool().close().await;
    }
);

// Feed writers racing on several connections: a reader that polls while
// they run sees every entry exactly once, in `seq` order, never skipping one
// that commits later with a smaller `seq`.
warden_testkit::needs!(
    postgres,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_feed_never_skips() {
        let url = warden_testkit::sql::fresh_postgres_url().await;
        let opts = PgOptions {
            pool_size: 8,
            ..PgOptions::default()
        };
        let store = Arc::new(PgStore::connect(&url, opts).await.unwrap());
        common::feed_never_skips(Arc::clone(&store)).await;
        store.pool().close().await;
    }
);

// `sslmode=require` in the URL gives a TLS connection when the server offers
// TLS (the connection is not verified in this mode), and no connection when
// it does not.
warden_testkit::needs!(
    postgres,
    #[tokio::test]
    async fn postgres_tls_by_sslmode() {
        let base = warden_testkit::url(warden_testkit::Backend::Postgres);
        let mut conn = PgConnection::connect(&base).await.expect("connect");
        let ssl: String = sqlx::query_scalar("SHOW ssl")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let url = warden_testkit::sql::fresh_postgres_url().await;
        // `url` already has a query string.
        let url = format!("{}&sslmode=require", url);
        if ssl != "on" {
            // A server without TLS: `require` refuses to connect in clear.
            let r = PgStore::connect(&url, PgOptions::default()).await;
            assert!(r.is_err(), "sslmode=require connected without TLS");
            return;
        }
        let store = PgStore::connect(&url, PgOptions::default()).await.unwrap();
        let tls: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert!(tls, "connection uses TLS");
        store.ping().await.unwrap();
        store.pool().close().await;
    }
);

// A call stuck behind a lock for longer than `statement_timeout` fails with
// `Unavailable` (a 503), and the store works again once the lock is gone.
warden_testkit::needs!(
    postgres,
    #[tokio::test]
    async fn postgres_statement_timeout_is_unavailable() {
        use warden_core::store::{AttemptGate, CounterStore};
        let url = warden_testkit::sql::fresh_postgres_url().await;
        let opts = PgOptions {
            statement_timeout: Duration::from_millis(300),
            ..PgOptions::default()
        };
        let store = PgStore::connect(&url, opts).await.unwrap();
        let now = time::OffsetDateTime::now_utc();
        assert_eq!(
            store.attempt_begin("k", now, 5).await.unwrap(),
            AttemptGate::Allowed
        );
        let mut other = PgConnection::connect(&url).await.unwrap();
        let mut tx = other.begin().await.unwrap();
        sqlx::query("SELECT 1 FROM counters WHERE key = 'k' FOR UPDATE")
            .execute(&mut *tx)
            .await
            .unwrap();
        let r = store.attempt_begin("k", now, 5).await;
        assert!(
            matches!(r, Err(warden_core::Error::Unavailable(_))),
            "{r:?}"
        );
        tx.rollback().await.unwrap();
        assert_eq!(
            store.attempt_begin("k", now, 5).await.unwrap(),
            AttemptGate::Allowed
        );
        store.pool().close().await;
    }
);

warden_testkit::needs!(
    postgres,
    #[tokio::test]
    async fn postgres_bad_url_is_an_error_not_a_panic() {
        let opts = PgOptions {
            acquire_timeout: Duration::from_secs(2),
            ..PgOptions::default()
        };
        let r = PgStore::connect("postgres://nobody@127.0.0.1:1/none", opts).await;
        assert!(
            matches!(r, Err(warden_core::Error::Unavailable(_))),
            "{r:?}"
        );
    }
);

warden_testkit::needs!(
    postgres,
    #[tokio::test]
    async fn postgres_nul_text_is_never_a_server_error() {
        let url = warden_testkit::sql::fresh_postgres_url().await;
        let store = PgStore::connect(&url, PgOptions::default()).await.unwrap();
        common::nul_text_is_never_a_server_error(&store).await;
        store.pool().close().await;
    }
);

// A database that refuses connections (being closed or restarted: SQLSTATE
// 55000 "not currently accepting connections", sessions terminated) makes
// reads and writes `Unavailable` (a 503 with `Retry-After`), never
// `Internal`; once it accepts connections again the store works.
warden_testkit::needs!(
    postgres,
    #[tokio::test]
    async fn postgres_refusing_database_is_unavailable() {
        use warden_core::store::AccountStore;
        let base = warden_testkit::url(warden_testkit::Backend::Postgres);
        let name = format!("w_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(&base).await.expect("connect");
        let run = |sql: String| sqlx::raw_sql(sqlx::AssertSqlSafe(sql));
        run(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let (path, query) = base
            .split_once('?')
            .map_or((base.as_str(), ""), |(p, q)| (p, q));
        let url = format!(
            "{}/{name}{}{query}",
            path.rsplit_once('/').map_or(path, |(h, _)| h),
            if query.is_empty() { "" } else { "?" }
        );
        let opts = PgOptions {
            acquire_timeout: Duration::from_secs(2),
            ..PgOptions::default()
        };
        let store = PgStore::connect(&url, opts).await.unwrap();
        let a = common::account("refused");
        store.insert_account(&a, &common::event(&a)).await.unwrap();
        run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
            .execute(&mut admin)
            .await
            .unwrap();
        run(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .execute(&mut admin)
        .await
        .unwrap();
        let b = common::account("refused-too");
        let write = store.insert_account(&b, &common::event(&b)).await;
        assert!(
            matches!(write, Err(warden_core::Error::Unavailable(_))),
            "{write:?}"
        );
        let read = store.account_by_id(a.id).await;
        assert!(
            matches!(read, Err(warden_core::Error::Unavailable(_))),
            "{read:?}"
        );
        let again = store.account_by_id(a.id).await;
        assert!(
            matches!(again, Err(warden_core::Error::Unavailable(_))),
            "{again:?}"
        );
        run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
            .execute(&mut admin)
            .await
            .unwrap();
        assert!(store.account_by_id(a.id).await.unwrap().is_some());
        store.pool().close().await;
        run(format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
);

// One test per conformance check, each on a fresh schema.
warden_testkit::conformance_tests!(postgres);
