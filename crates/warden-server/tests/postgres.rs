//! Router-level smoke test of the app on PostgreSQL, in a fresh schema of the
//! database named by `WARDEN_TEST_POSTGRES_URL` (skipped when it is unset).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(unused_macros, unused_imports)]
mod common;
#[path = "common/sql_smoke.rs"]
mod sql_smoke;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// A schema `w_<uuid>` created on start; `drop()` removes it.
struct TempSchema {
    base: String,
    name: String,
}

impl TempSchema {
    async fn new(base: &str) -> Self {
        let name = format!("w_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(base).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .expect("create schema");
        Self {
            base: base.to_owned(),
            name,
        }
    }

    /// The base URL with `search_path` set to the schema.
    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.base, self.name)
    }

    async fn drop(self) {
        let mut conn = PgConnection::connect(&self.base).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.name
        )))
        .execute(&mut conn)
        .await
        .expect("drop schema");
    }
}

fn test_url() -> Option<String> {
    let url = std::env::var("WARDEN_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        println!("skipped: WARDEN_TEST_POSTGRES_URL not set");
    }
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_register_login_refresh_logout() {
    let Some(base) = test_url() else { return };
    let schema = TempSchema::new(&base).await;
    sql_smoke::register_login_refresh_logout("postgres", &schema.url()).await;
    schema.drop().await;
}

#[tokio::test]
async fn postgres_scheme_is_selected_and_unknown_schemes_refused() {
    let Some(_) = test_url() else { return };
    let mut cfg = sql_smoke::config("postgresql://nobody@127.0.0.1:1/none");
    cfg.database_statement_timeout = warden_server::config::Dur(time::Duration::seconds(1));
    // `postgresql://` is routed to PostgreSQL: nothing listens there.
    let err = warden_server::open_configured_store(&cfg).await.err();
    assert!(
        matches!(err, Some(warden_core::Error::Unavailable(_))),
        "{err:?}"
    );
    let err = warden_server::open_store("mongodb://x").await.err();
    assert!(
        matches!(err, Some(warden_core::Error::BadRequest(_))),
        "{err:?}"
    );
}
