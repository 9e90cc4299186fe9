//! The conformance suite against MySQL / MariaDB, in a fresh database
//! `w_<uuid>` on the server named by `WARDEN_TEST_MYSQL_URL` (ignored when it
//! is unset), e.g. `mysql://root@127.0.0.1:3306/test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;
use std::sync::Arc;
use std::time::Duration;
use warden_core::store::{KeyStore, Store, conformance};
use warden_store_sql::{MySqlOptions, MySqlStore};

warden_testkit::needs!(
    mysql,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn mysql_conforms() {
        let url = warden_testkit::sql::fresh_mysql_url().await;
        let store = MySqlStore::connect(&url, MySqlOptions::default())
            .await
            .unwrap();
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert!(
            tables >= 14,
            "migrations ran in the test database ({tables} tables)"
        );
        // `tx_isolation` on MariaDB, `transaction_isolation` on MySQL 8.
        let isolation = sqlx::query(
        "SHOW SESSION VARIABLES WHERE Variable_name IN ('tx_isolation', 'transaction_isolation')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
        let isolation: String = sqlx::Row::try_get(&isolation, 1).unwrap();
        assert_eq!(isolation, "READ-COMMITTED");
        let store: Arc<dyn Store> = Arc::new(store);
        assert_eq!(store.backend(), "mysql");
        conformance::run_all(Arc::clone(&store)).await;
        // Twice on the same database: the suite leaves nothing that breaks a rerun.
        conformance::run_all(store).await;
        // Reconnecting (by the `mariadb://` synonym) runs the migrations again (a
        // no-op) and keeps the data.
        let again = url.replacen("mysql://", "mariadb://", 1);
        let reopened = MySqlStore::connect(&again, MySqlOptions::default())
            .await
            .unwrap();
        assert!(reopened.setting("nonexistent").await.unwrap().is_none());
        assert!(!reopened.signing_keys().await.unwrap().is_empty());
        reopened.pool().close().await;
    }
);

// Feed writers racing on several connections: a reader that polls while
// they run sees every entry exactly once, in `seq` order, never skipping one
// that commits later with a smaller `seq`.
warden_testkit::needs!(
    mysql,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn mysql_feed_never_skips() {
        let url = warden_testkit::sql::fresh_mysql_url().await;
        let opts = MySqlOptions {
            pool_size: 8,
            ..MySqlOptions::default()
        };
        let store = Arc::new(MySqlStore::connect(&url, opts).await.unwrap());
        common::feed_never_skips(Arc::clone(&store)).await;
        store.pool().close().await;
    }
);

// A call stuck behind a row lock for longer than the lock wait timeout
// fails with `Unavailable` (a 503), and the store works again once the lock
// is gone.
warden_testkit::needs!(
    mysql,
    #[tokio::test]
    async fn mysql_lock_wait_timeout_is_unavailable() {
        use warden_core::store::{AttemptGate, CounterStore};
        let url = warden_testkit::sql::fresh_mysql_url().await;
        let opts = MySqlOptions {
            lock_wait_timeout: Duration::from_secs(1),
            ..MySqlOptions::default()
        };
        let store = MySqlStore::connect(&url, opts).await.unwrap();
        let now = time::OffsetDateTime::now_utc();
        assert_eq!(
            store.attempt_begin("k", now, 5).await.unwrap(),
            AttemptGate::Allowed
        );
        let mut other = MySqlConnection::connect(&url).await.unwrap();
        let mut tx = other.begin().await.unwrap();
        sqlx::query("SELECT 1 FROM counters WHERE `key` = 'k' FOR UPDATE")
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
    mysql,
    #[tokio::test]
    async fn mysql_bad_url_is_an_error_not_a_panic() {
        let opts = MySqlOptions {
            acquire_timeout: Duration::from_secs(2),
            ..MySqlOptions::default()
        };
        let r = MySqlStore::connect("mysql://nobody@127.0.0.1:1/none", opts).await;
        assert!(
            matches!(r, Err(warden_core::Error::Unavailable(_))),
            "{r:?}"
        );
    }
);

warden_testkit::needs!(
    mysql,
    #[tokio::test]
    async fn mysql_nul_text_is_never_a_server_error() {
        let url = warden_testkit::sql::fresh_mysql_url().await;
        let store = MySqlStore::connect(&url, MySqlOptions::default())
            .await
            .unwrap();
        common::nul_text_is_never_a_server_error(&store).await;
        store.pool().close().await;
    }
);

// One test per conformance check, each on a fresh database.
warden_testkit::conformance_tests!(mysql);
