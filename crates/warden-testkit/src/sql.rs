//! Throw-away PostgreSQL schemas and MySQL databases, one per test.
//!
//! Their names carry a UUIDv7 (`wt_<uuid>`), whose time tells their age: the
//! first fresh schema or database of a process drops those that earlier runs
//! left behind more than ten minutes ago. Others' schemas are never touched.

use crate::{Backend, must, url};
use sqlx::Connection;
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The name prefix of the schemas and databases made here.
pub const PREFIX: &str = "wt_";

/// A fresh name `wt_<uuidv7>`.
pub fn fresh_name() -> String {
    format!("{PREFIX}{}", uuid::Uuid::now_v7().simple())
}

/// Whether `name` was made here more than ten minutes ago.
fn stale(name: &str) -> bool {
    let Some(id) = name
        .strip_prefix(PREFIX)
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
    else {
        return false;
    };
    let Some(t) = id.get_timestamp() else {
        return false;
    };
    let (secs, nanos) = t.to_unix();
    let made = UNIX_EPOCH + Duration::new(secs, nanos);
    made + Duration::from_secs(600) < SystemTime::now()
}

async fn drop_stale_schemas(conn: &mut PgConnection) {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let names: Vec<String> = must(
            sqlx::query_scalar(
                "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)",
            )
            .bind(PREFIX)
            .fetch_all(&mut *conn)
            .await,
            "list schemas",
        );
        for name in names.into_iter().filter(|n| stale(n)) {
            let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE");
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await;
        }
    })
    .await;
}

/// `base` with its `search_path` set to `schema`.
pub fn postgres_schema_url(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// A new, empty schema on `WARDEN_TEST_POSTGRES_URL`; its name.
pub async fn fresh_postgres_schema() -> String {
    let base = url(Backend::Postgres);
    let mut conn = must(PgConnection::connect(&base).await, "connect to PostgreSQL");
    drop_stale_schemas(&mut conn).await;
    let name = fresh_name();
    must(
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await,
        "create schema",
    );
    name
}

/// A URL of `WARDEN_TEST_POSTGRES_URL` whose `search_path` is a new, empty schema.
pub async fn fresh_postgres_url() -> String {
    let name = fresh_postgres_schema().await;
    postgres_schema_url(&url(Backend::Postgres), &name)
}

async fn drop_stale_databases(conn: &mut MySqlConnection) {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let names: Vec<String> = must(
            sqlx::query_scalar(
                "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata \
                 WHERE schema_name LIKE 'wt\\_%'",
            )
            .fetch_all(&mut *conn)
            .await,
            "list databases",
        );
        for name in names.into_iter().filter(|n| stale(n)) {
            let sql = format!("DROP DATABASE IF EXISTS {name}");
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await;
        }
    })
    .await;
}

/// `base` (a `mysql://` URL) with its database replaced by `db`.
pub fn mysql_db_url(base: &str, db: &str) -> String {
    let (path, query) = match base.split_once('?') {
        Some((p, q)) => (p, format!("?{q}")),
        None => (base, String::new()),
    };
    let (scheme, rest) = path.split_once("://").unwrap_or(("mysql", path));
    let host = rest.split_once('/').map_or(rest, |(h, _)| h);
    format!("{scheme}://{host}/{db}{query}")
}

/// A new, empty database (utf8mb4, binary collation) on
/// `WARDEN_TEST_MYSQL_URL`; its name.
pub async fn fresh_mysql_db() -> String {
    let base = url(Backend::MySql);
    let mut conn = must(MySqlConnection::connect(&base).await, "connect to MySQL");
    drop_stale_databases(&mut conn).await;
    let name = fresh_name();
    must(
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )))
        .execute(&mut conn)
        .await,
        "create database",
    );
    name
}

/// The URL of a new, empty database on `WARDEN_TEST_MYSQL_URL`.
pub async fn fresh_mysql_url() -> String {
    let name = fresh_mysql_db().await;
    mysql_db_url(&url(Backend::MySql), &name)
}

/// Drop schema (PostgreSQL) or database (MySQL) `name` made by this module.
pub async fn drop_fresh(b: Backend, name: &str) {
    if !name.starts_with(PREFIX) {
        return;
    }
    match b {
        Backend::Postgres => {
            let mut conn = must(
                PgConnection::connect(&url(b)).await,
                "connect to PostgreSQL",
            );
            let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE");
            must(
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await,
                "drop schema",
            );
        }
        Backend::MySql => {
            let mut conn = must(MySqlConnection::connect(&url(b)).await, "connect to MySQL");
            let sql = format!("DROP DATABASE IF EXISTS {name}");
            must(
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await,
                "drop database",
            );
        }
        _ => {}
    }
}
