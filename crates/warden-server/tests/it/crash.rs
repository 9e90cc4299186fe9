//! Crash safety (issue 10): a real `warden serve` is killed with SIGKILL in the
//! middle of a load of registrations, logins and refreshes, restarted on the
//! same database, and every request that got a success answer must still be
//! there, with nothing half-written: an answered refresh token still works
//! (24 chains of concurrent refreshes run, so SQLite commits rotations in
//! groups at the kill). SQLite always; PostgreSQL when
//! `WARDEN_TEST_POSTGRES_URL` is set (in a fresh schema).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use sqlx::Connection;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN: &str = "crash-test-admin-secret-0123456789";
const PASSWORD: &str = "correct horse battery staple";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Server {
    base: String,
    proc: Proc,
}

async fn start(db: &str, client: &reqwest::Client) -> Server {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    for (k, _) in std::env::vars() {
        if k.starts_with("WARDEN_") {
            c.env_remove(k);
        }
    }
    let child = c
        .arg("serve")
        .env("WARDEN_BIND", addr.to_string())
        .env("WARDEN_DATABASE_URL", db)
        .env("WARDEN_ADMIN_SECRET", ADMIN)
        .env("WARDEN_ARGON2_MEMORY_KIB", "64")
        .env("WARDEN_ARGON2_ITERATIONS", "1")
        .env("WARDEN_RATE_LIMIT_PER_MINUTE", "0")
        .env("WARDEN_BLOCK_TRIES", "1000")
        .env("WARDEN_COOKIE_SECURE", "false")
        .env("WARDEN_LOG_LEVEL", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let server = Server {
        base: format!("http://{addr}"),
        proc: Proc(child),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
            && r.status() == 200
        {
            return server;
        }
        assert!(Instant::now() < deadline, "server on {addr} did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Option<(u16, Value)> {
    let r = client.post(url).json(&body).send().await.ok()?;
    let status = r.status().as_u16();
    let v = r.json::<Value>().await.unwrap_or(Value::Null);
    Some((status, v))
}

/// What the load saw answered with success.
#[derive(Default)]
struct Seen {
    /// Registered accounts (answered 201).
    accounts: Vec<String>,
    /// Per session: the newest refresh token answered, and whether a refresh with it
    /// was still in flight when the server died.
    sessions: Vec<(String, bool)>,
    /// Refreshes answered 200.
    refreshed: usize,
}

/// Registers, logs in and refreshes each session `refreshes` times, again and
/// again until the server dies (`usize::MAX`: one session, refreshed in a chain
/// until then).
async fn worker(
    client: reqwest::Client,
    base: String,
    n: usize,
    refreshes: usize,
    seen: Arc<Mutex<Seen>>,
) {
    for i in 0.. {
        let login = format!(
            "crash{n}x{i}x{}",
            &uuid::Uuid::now_v7().simple().to_string()[26..]
        );
        match post(
            &client,
            format!("{base}/auth/register"),
            json!({"login": login, "password": PASSWORD}),
        )
        .await
        {
            Some((201, _)) => seen.lock().unwrap().accounts.push(login.clone()),
            Some((s, v)) => panic!("register answered {s}: {v}"),
            None => return,
        }
        let mut refresh = match post(
            &client,
            format!("{base}/auth/login"),
            json!({"login": login, "password": PASSWORD}),
        )
        .await
        {
            Some((200, v)) => v["refresh_token"].as_str().unwrap().to_owned(),
            Some((s, v)) => panic!("login answered {s}: {v}"),
            None => return,
        };
        let slot = {
            let mut s = seen.lock().unwrap();
            s.sessions.push((refresh.clone(), false));
            s.sessions.len() - 1
        };
        for _ in 0..refreshes {
            seen.lock().unwrap().sessions[slot].1 = true;
            match post(
                &client,
                format!("{base}/auth/refresh"),
                json!({"refresh_token": refresh}),
            )
            .await
            {
                Some((200, v)) => {
                    refresh = v["refresh_token"].as_str().unwrap().to_owned();
                    let mut s = seen.lock().unwrap();
                    s.sessions[slot] = (refresh.clone(), false);
                    s.refreshed += 1;
                }
                Some((s, v)) => panic!("refresh answered {s}: {v}"),
                None => return,
            }
        }
    }
}

/// Run the load, SIGKILL the server in the middle, restart it and check.
async fn crash_and_check(db: &str) -> usize {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut total = 0;
    for round in 0..2 {
        let mut server = start(db, &client).await;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut tasks = Vec::new();
        // Six workers of registrations, logins and a few refreshes each, and
        // 24 chains of refreshes, so that rotations commit in groups (SQLite)
        // or in parallel (PostgreSQL) when the kill comes.
        for n in 0..30 {
            tasks.push(tokio::spawn(worker(
                client.clone(),
                server.base.clone(),
                round * 100 + n,
                if n < 6 { 3 } else { usize::MAX },
                seen.clone(),
            )));
        }
        // Kill in the middle of the load: once it has made some progress.
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let progressed = {
                let s = seen.lock().unwrap();
                s.accounts.len() >= 6 && s.refreshed >= 200
            };
            if progressed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.proc.0.kill().unwrap(); // SIGKILL: no shutdown hook runs
        server.proc.0.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        assert!(
            seen.accounts.len() >= 6,
            "round {round}: the load ran ({} accounts)",
            seen.accounts.len()
        );
        assert!(
            seen.refreshed >= 200,
            "round {round}: the refresh chains ran ({} refreshes)",
            seen.refreshed
        );
        total += seen.accounts.len();

        let server = start(db, &client).await;
        let base = &server.base;
        for login in &seen.accounts {
            let r = post(
                &client,
                format!("{base}/auth/login"),
                json!({"login": login, "password": PASSWORD}),
            )
            .await;
            assert!(
                matches!(r, Some((200, _))),
                "round {round}: {login} registered before the crash cannot log in: {r:?}"
            );
        }
        for (token, in_flight) in &seen.sessions {
            let r = post(
                &client,
                format!("{base}/auth/refresh"),
                json!({"refresh_token": token}),
            )
            .await
            .unwrap();
            if *in_flight {
                // The crash hit a refresh with this token: it either never committed
                // (the token still works) or committed (the token is rotated, and
                // presenting it now revokes the session as a reuse).
                assert!(
                    r.0 == 200 || r.1["code"] == json!("refresh_token_reused"),
                    "round {round}: in-flight refresh left {r:?}"
                );
            } else {
                assert_eq!(
                    r.0, 200,
                    "round {round}: an answered refresh token is lost: {}",
                    r.1
                );
            }
        }
        let list = client
            .get(format!("{base}/auth/admin/accounts?limit=200"))
            .header("x-admin-secret", ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(list.status(), 200, "the restarted server answers");
        drop(server);
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_nothing_answered_sqlite() {
    let dir = std::env::temp_dir().join(format!("warden-crash-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("warden.db");
    let db = file.to_str().unwrap().to_owned();
    let total = crash_and_check(&db).await;
    assert!(total > 0);
    // Nothing half-written: the file is consistent, every row's references hold,
    // every account has a password hash and a registration event.
    let url = format!("sqlite://{db}");
    let mut conn = sqlx::sqlite::SqliteConnection::connect(&url).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(broken.is_empty(), "foreign keys broken in {broken:?}");
    whole_accounts(&mut conn).await;
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every account row came with its hash and its registration audit event (one
/// transaction), and every session has a refresh token.
async fn whole_accounts(conn: &mut sqlx::sqlite::SqliteConnection) {
    let no_hash: i64 =
        sqlx::query_scalar("SELECT count(*) FROM accounts WHERE password_hash IS NULL")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(no_hash, 0, "accounts without a password hash");
    let no_event: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM accounts a WHERE NOT EXISTS \
         (SELECT 1 FROM audit e WHERE e.account_id = a.id AND e.event = 'account.registered')",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(no_event, 0, "accounts without their registration event");
    let bare: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id)",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(bare, 0, "sessions without a refresh token");
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!(accounts > 0);
}

warden_testkit::needs!(
    postgres,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sigkill_under_load_loses_nothing_answered_postgres() {
        let name = warden_testkit::sql::fresh_postgres_schema().await;
        let url = warden_testkit::sql::postgres_schema_url(
            &warden_testkit::url(warden_testkit::Backend::Postgres),
            &name,
        );
        let total = crash_and_check(&url).await;
        assert!(total > 0);
        warden_testkit::sql::drop_fresh(warden_testkit::Backend::Postgres, &name).await;
    }
);
