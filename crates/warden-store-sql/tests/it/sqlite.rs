//! The conformance suite against SQLite: a fresh file database and `:memory:`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;
use warden_core::store::{KeyStore, Store, conformance};
use warden_store_sql::SqlStore;

/// A fresh database file under the temp dir, removed (with WAL files) on drop.
struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new() -> Self {
        let name = format!("warden-conformance-{}.db", uuid::Uuid::now_v7().simple());
        Self(std::env::temp_dir().join(name))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_conforms() {
    let db = TempDb::new();
    let url = format!("sqlite://{}?mode=rwc", db.0.display());
    let store: Arc<dyn Store> = Arc::new(SqlStore::connect(&url).await.unwrap());
    conformance::run_all(Arc::clone(&store)).await;
    // Twice on the same database: the suite leaves nothing that breaks a rerun.
    conformance::run_all(store).await;
    // Reopening runs the migrations again (a no-op) and keeps the data.
    let reopened = SqlStore::connect(&url).await.unwrap();
    assert!(reopened.setting("nonexistent").await.unwrap().is_none());
    assert!(!reopened.signing_keys().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_plain_path_conforms() {
    let db = TempDb::new();
    let path = db.0.to_str().unwrap().to_owned();
    let store: Arc<dyn Store> = Arc::new(SqlStore::connect(&path).await.unwrap());
    conformance::run_all(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_memory_conforms() {
    let store: Arc<dyn Store> = Arc::new(SqlStore::connect("sqlite::memory:").await.unwrap());
    conformance::run_all(store).await;
}

#[tokio::test]
async fn journal_mode_is_wal_for_files() {
    let db = TempDb::new();
    let store = SqlStore::connect(db.0.to_str().unwrap()).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(sync, 1, "NORMAL");
}

#[tokio::test]
async fn bad_url_is_an_error_not_a_panic() {
    let r = SqlStore::connect("sqlite:///nonexistent-dir-warden/x/y.db?mode=ro").await;
    assert!(r.is_err());
}

#[tokio::test]
async fn sqlite_nul_text_is_never_a_server_error() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    common::nul_text_is_never_a_server_error(&store).await;
}

// One test per conformance check, each on a fresh in-memory database.
warden_testkit::conformance_tests!(sqlite);
