//! Router-level smoke test of the app on MySQL / MariaDB, in a fresh
//! database `w_<uuid>` on the server named by `WARDEN_TEST_MYSQL_URL`
//! (skipped when it is unset), e.g. `mysql://root@127.0.0.1:3306/test`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(unused_macros, unused_imports)]
mod common;
#[path = "common/sql_smoke.rs"]
mod sql_smoke;

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

/// A database `w_<uuid>` created on start; `drop()` removes it.
struct TempDb {
    base: String,
    name: String,
}

impl TempDb {
    async fn new(base: &str) -> Self {
        let name = format!("w_{}", uuid::Uuid::now_v7().simple());
        let mut conn = MySqlConnection::connect(base).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )))
        .execute(&mut conn)
        .await
        .expect("create database");
        Self {
            base: base.to_owned(),
            name,
        }
    }

    /// The base URL with its database replaced by this one.
    fn url(&self) -> String {
        let (path, query) = match self.base.split_once('?') {
            Some((p, q)) => (p, format!("?{q}")),
            None => (self.base.as_str(), String::new()),
        };
        let (scheme, rest) = path.split_once("://").expect("a URL");
        let host = rest.split_once('/').map_or(rest, |(h, _)| h);
        format!("{scheme}://{host}/{}{query}", self.name)
    }

    async fn drop(self) {
        let mut conn = MySqlConnection::connect(&self.base).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {}", self.name)))
            .execute(&mut conn)
            .await
            .expect("drop database");
    }
}

fn test_url() -> Option<String> {
    let url = std::env::var("WARDEN_TEST_MYSQL_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        println!("skipped: WARDEN_TEST_MYSQL_URL not set");
    }
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_register_login_refresh_logout() {
    let Some(base) = test_url() else { return };
    let db = TempDb::new(&base).await;
    sql_smoke::register_login_refresh_logout("mysql", &db.url()).await;
    db.drop().await;
}

#[tokio::test]
async fn mysql_scheme_is_selected() {
    let Some(_) = test_url() else { return };
    let mut cfg = sql_smoke::config("mariadb://nobody@127.0.0.1:1/none");
    cfg.database_statement_timeout = warden_server::config::Dur(time::Duration::seconds(1));
    // `mysql://` and `mariadb://` are routed to MySQL: nothing listens there.
    let err = warden_server::open_configured_store(&cfg).await.err();
    assert!(
        matches!(err, Some(warden_core::Error::Unavailable(_))),
        "{err:?}"
    );
    cfg.database_url = "mysql://nobody@127.0.0.1:1/none".into();
    let err = warden_server::open_configured_store(&cfg).await.err();
    assert!(
        matches!(err, Some(warden_core::Error::Unavailable(_))),
        "{err:?}"
    );
}
