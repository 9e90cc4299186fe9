//! Two real `warden serve` processes on one PostgreSQL schema and one Redis:
//! revocations cross nodes within a second, the lockout budget is shared, and
//! a Redis outage turns logins into 503 while token checks go on; the nodes
//! recover by themselves when Redis returns.
//!
//! Runs only when both `WARDEN_TEST_POSTGRES_URL` and `WARDEN_TEST_REDIS_URL`
//! are set. The Redis of the test is a private `redis-server` child on a free
//! port (so killing it touches nothing else); the shared one only gates the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "two-nodes-admin-secret";

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

/// A private `redis-server` on a fixed port.
struct PrivateRedis {
    port: u16,
    proc: Option<Proc>,
}

impl PrivateRedis {
    fn start(port: u16) -> Self {
        let mut r = Self { port, proc: None };
        r.restart();
        r
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        self.proc = Some(Proc(child));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "private redis did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        self.proc = None;
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

/// A schema `w_<uuid>` of the test database, dropped at the end.
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

struct Node {
    addr: SocketAddr,
    _proc: Option<Proc>,
}

impl Node {
    async fn start(db: &str, redis: &str, prefix: &str) -> Self {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
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
            .env("WARDEN_REDIS_URL", redis)
            .env("WARDEN_REDIS_PREFIX", prefix)
            .env("WARDEN_ADMIN_SECRET", ADMIN)
            .env("WARDEN_ARGON2_MEMORY_KIB", "64")
            .env("WARDEN_ARGON2_ITERATIONS", "1")
            .env("WARDEN_RATE_LIMIT_PER_MINUTE", "0")
            .env("WARDEN_BLOCK_TRIES", "5")
            // Polling alone would take 10 s: revocations within 1 s prove the
            // Redis wake-ups.
            .env("WARDEN_SYNC_INTERVAL", "10s")
            .env("WARDEN_LOG_LEVEL", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let node = Self {
            addr,
            _proc: Some(Proc(child)),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = node.try_call("GET", "/healthz", None, None).await {
                return node;
            }
            assert!(Instant::now() < deadline, "node on {addr} did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> std::io::Result<(u16, Value)> {
        let mut s = tokio::net::TcpStream::connect(self.addr).await?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(t) = bearer {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(&body);
        s.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await?;
        let text = String::from_utf8_lossy(&raw);
        let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad response {head:?}")))?;
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let payload = if chunked {
            let mut out = String::new();
            let mut rest = rest;
            while let Some((size, tail)) = rest.split_once("\r\n") {
                let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                if n == 0 || tail.len() < n {
                    break;
                }
                out.push_str(&tail[..n]);
                rest = tail[n..].trim_start_matches("\r\n");
            }
            out
        } else {
            rest.to_owned()
        };
        Ok((
            status,
            serde_json::from_str(&payload).unwrap_or(Value::Null),
        ))
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> (u16, Value) {
        tokio::time::timeout(
            Duration::from_secs(15),
            self.try_call(method, path, body, bearer),
        )
        .await
        .expect("answer within 15 s")
        .expect("http")
    }

    async fn register(&self, login: &str, password: &str) {
        let (status, body) = self
            .call(
                "POST",
                "/auth/register",
                Some(&json!({"login": login, "password": password})),
                None,
            )
            .await;
        assert_eq!(status, 201, "register {login}: {body}");
    }

    async fn login(&self, login: &str, password: &str) -> (u16, Value) {
        self.call(
            "POST",
            "/auth/login",
            Some(&json!({"login": login, "password": password})),
            None,
        )
        .await
    }

    async fn me(&self, access: &str) -> u16 {
        self.call("GET", "/auth/me", None, Some(access)).await.0
    }
}

fn token(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
        .to_owned()
}

/// Poll until `/auth/me` with `access` answers 401 on `node`; the time it took.
async fn refused_within(node: &Node, access: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let status = node.me(access).await;
        if status == 401 {
            return start.elapsed();
        }
        assert_eq!(status, 200, "token check");
        assert!(
            start.elapsed() < limit,
            "token still accepted after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

warden_testkit::needs!(
    postgres + redis,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_nodes_share_revocations_lockout_and_survive_redis_outage() {
        let pg = warden_testkit::url(warden_testkit::Backend::Postgres);
        let _ = warden_testkit::url(warden_testkit::Backend::Redis);
        let overall = tokio::time::timeout(Duration::from_secs(120), async {
            let mut redis = PrivateRedis::start(free_port());
            let schema = TempSchema::new(&pg).await;
            let prefix = format!("warden-test:{}:", uuid::Uuid::now_v7().simple());
            // A migrates the schema first; B finds it ready.
            let a = Node::start(&schema.url(), &redis.url(), &prefix).await;
            let b = Node::start(&schema.url(), &redis.url(), &prefix).await;
            scenario(&a, &b, &mut redis).await;
            drop((a, b));
            schema.drop().await;
        })
        .await;
        assert!(overall.is_ok(), "two-node test took over 120 s");
    }
);

async fn scenario(a: &Node, b: &Node, redis: &mut PrivateRedis) {
    let pw = "two nodes password";

    // Register on A, login on B, refresh on A, logout on B: A refuses at once.
    a.register("alice", pw).await;
    let (status, pair) = b.login("alice", pw).await;
    assert_eq!(status, 200, "login on B: {pair}");
    let (status, pair) = a
        .call(
            "POST",
            "/auth/refresh",
            Some(&json!({"refresh_token": token(&pair, "refresh_token")})),
            None,
        )
        .await;
    assert_eq!(status, 200, "refresh on A: {pair}");
    let access = token(&pair, "access_token");
    assert_eq!(a.me(&access).await, 200);
    assert_eq!(b.me(&access).await, 200);
    let (status, _) = b.call("POST", "/auth/logout", None, Some(&access)).await;
    assert_eq!(status, 204, "logout on B");
    let took = refused_within(a, &access, Duration::from_secs(1)).await;
    println!("A refused the token {took:?} after the logout on B");

    // 20 parallel wrong passwords over both nodes: at most 5 password checks.
    a.register("bob", pw).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let addr = if i % 2 == 0 { a.addr } else { b.addr };
        set.spawn(async move {
            // A handle on the same process (no child of its own).
            let node = Node { addr, _proc: None };
            node.login("bob", "wrong password!").await.0
        });
    }
    let (mut unauthorized, mut locked) = (0, 0);
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            401 => unauthorized += 1,
            429 => locked += 1,
            other => panic!("wrong password answered {other}"),
        }
    }
    println!("wrong passwords: {unauthorized} x 401, {locked} x 429");
    assert!(
        (1..=5).contains(&unauthorized),
        "{unauthorized} password checks"
    );
    assert_eq!(unauthorized + locked, 20);
    // Locked on both nodes, even with the right password.
    assert_eq!(a.login("bob", pw).await.0, 429);
    assert_eq!(b.login("bob", pw).await.0, 429);

    // Redis outage: token checks go on, logins answer 503, never unlimited.
    a.register("carol", pw).await;
    let (status, kept) = a.login("carol", pw).await;
    assert_eq!(status, 200);
    let kept = token(&kept, "access_token");
    let (status, gone) = a.login("carol", pw).await;
    assert_eq!(status, 200);
    let gone = token(&gone, "access_token");
    redis.kill();
    for node in [a, b] {
        let (status, body) = node.login("carol", pw).await;
        assert_eq!(status, 503, "login without counters: {body}");
        let (status, _) = node.login("carol", "wrong password!").await;
        assert_eq!(status, 503, "wrong password without counters");
        assert_eq!(node.me(&kept).await, 200, "token check without redis");
    }
    // A logout during the outage reaches the database feed.
    let (status, _) = b.call("POST", "/auth/logout", None, Some(&gone)).await;
    assert_eq!(status, 204, "logout during the outage");

    // Redis returns (empty): both nodes recover by themselves.
    redis.restart();
    for node in [a, b] {
        let start = Instant::now();
        loop {
            let (status, body) = node.login("carol", pw).await;
            if status == 200 {
                break;
            }
            assert_eq!(status, 503, "while reconnecting: {body}");
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "logins still refused 10 s after redis returned"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The node that missed the wake-up caught up when it resubscribed (its
    // own poll would take up to 10 s).
    let took = refused_within(a, &gone, Duration::from_secs(5)).await;
    println!("A refused the token logged out during the outage {took:?} after recovery");
    assert_eq!(a.me(&kept).await, 200);
}
