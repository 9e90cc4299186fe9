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
async fn synchronous_is_the_chosen_one() {
    use warden_store_sql::sqlite::SqliteSync;
    for (sync, want) in [(SqliteSync::Normal, 1_i64), (SqliteSync::Full, 2)] {
        let db = TempDb::new();
        let store = SqlStore::connect_with(db.0.to_str().unwrap(), sync)
            .await
            .unwrap();
        // Every connection of the pool: hold several at once.
        let mut conns = Vec::new();
        for _ in 0..3 {
            conns.push(store.pool().acquire().await.unwrap());
        }
        for c in &mut conns {
            let got: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **c)
                .await
                .unwrap();
            assert_eq!(got, want, "{sync:?}");
        }
    }
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

/// Migration 0010 rebuilds `sessions` (SQLite cannot drop its foreign key to
/// `accounts`): a database from before keeps its sessions and refresh tokens,
/// the token → session cascade still holds, and the store reads them back.
#[tokio::test]
async fn migration_0010_keeps_sessions_and_their_tokens() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
    use std::str::FromStr;
    use warden_core::model::{AccountId, SessionId};
    use warden_core::store::{Rotation, SessionStore};

    let db = TempDb::new();
    let url = format!("sqlite://{}?mode=rwc", db.0.display());
    let opts = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .foreign_keys(true);
    let pool = SqlitePool::connect_with(opts).await.unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");
    let mut before = sqlx::migrate::Migrator::new(std::path::Path::new(dir))
        .await
        .unwrap();
    let older: Vec<_> = (before.migrations.iter())
        .filter(|m| m.version < 10)
        .cloned()
        .collect();
    assert_eq!(older.len(), 9);
    before.migrations = older.into();
    before.run(&pool).await.unwrap();
    let (account, sid) = (AccountId::new(), SessionId::new());
    let far = 4_000_000_000_000_000_000_i64; // nanoseconds, year 2096
    sqlx::query(
        "INSERT INTO accounts (id, login, login_key, email_verified, active, blocked, \
         mfa_enabled, scopes, properties, password_changed_at, created_at, updated_at) \
         VALUES (?, 'old', 'old', 0, 1, 0, 0, '[]', '{}', 1, 1, 1)",
    )
    .bind(account.0)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO sessions (id, account_id, created_at, last_seen_at, expires_at, \
         long_lived, amr, scopes) VALUES (?, ?, 1, 1, ?, 0, '[\"pwd\"]', '[\"read\"]')",
    )
    .bind(sid.0)
    .bind(account.0)
    .bind(far)
    .execute(&pool)
    .await
    .unwrap();
    let (old_hash, new_hash) = ([7u8; 32], [8u8; 32]);
    sqlx::query("INSERT INTO refresh_tokens (hash, session_id, used_at) VALUES (?, ?, NULL)")
        .bind(&old_hash[..])
        .bind(sid.0)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    // Connecting runs 0010; the session and its token survive it.
    let store = SqlStore::connect(&url).await.unwrap();
    let s = store.session(sid).await.unwrap().expect("kept");
    assert_eq!((s.account_id, s.app.clone()), (account, None));
    assert_eq!(s.scopes, Some(vec!["read".to_owned()]));
    let now = time::OffsetDateTime::now_utc();
    let r = store
        .rotate_refresh(&old_hash, &new_hash, now, None, None)
        .await
        .unwrap();
    assert!(
        matches!(r, Rotation::Rotated(ref x, _) if x.id == sid),
        "{r:?}"
    );
    // refresh_tokens still refers to the new sessions table, with the cascade.
    let parent: String =
        sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_list('refresh_tokens')")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(parent, "sessions");
    let fks: i64 = sqlx::query_scalar("SELECT count(*) FROM pragma_foreign_key_list('sessions')")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fks, 0, "sessions no longer refer to accounts");
    sqlx::query("DELETE FROM sessions WHERE id = ?")
        .bind(sid.0)
        .execute(store.pool())
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM refresh_tokens")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(left, 0, "the tokens went with their session");
}

// One test per conformance check, each on a fresh in-memory database.
warden_testkit::conformance_tests!(sqlite);
