//! Router-level smoke test of the app on MySQL / MariaDB, in a fresh
//! database `w_<uuid>` on the server named by `WARDEN_TEST_MYSQL_URL`
//! (skipped when it is unset), e.g. `mysql://root@127.0.0.1:3306/test`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(unused_macros, unused_imports)]
mod common;

use common::*;
use serde_json::json;
use sqlx::Connection;
use sqlx::mysql::MySqlConnection;
use tokio::task::JoinSet;
use warden_server::config::Config;

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

fn my_config(url: &str) -> Config {
    Config {
        database_url: url.to_owned(),
        database_pool_size: 8,
        cookie_secure: false,
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        argon2_parallelism: 1,
        admin_secret: Some(ADMIN_SECRET.into()),
        rate_limit_per_minute: 0,
        ..Config::default()
    }
}

/// An app (one "node") on the configured MySQL store.
async fn my_app(url: &str) -> App {
    let cfg = my_config(url);
    let store = warden_server::open_configured_store(&cfg).await.unwrap();
    assert_eq!(store.backend(), "mysql");
    app_on(cfg, store).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_register_login_refresh_logout() {
    let Some(base) = test_url() else { return };
    let db = TempDb::new(&base).await;
    let app = my_app(&db.url()).await;

    let ready = app.get("/readyz", None).await;
    ready.assert_status(200);
    assert_eq!(ready.json()["store"], json!("mysql"));

    // register → login → me
    let login = unique("my");
    app.register(&login, PASSWORD).await.assert_status(201);
    app.register(&login.to_uppercase(), PASSWORD)
        .await
        .assert_problem(409, "login_taken");
    let p0 = app.login_pair(&login, PASSWORD).await;
    let me = app.get("/auth/me", Some(&p0.access)).await;
    me.assert_status(200);
    assert_eq!(me.json()["login"], json!(login));

    // refresh → reuse of the old token revokes the session
    let p1 = Pair::from_resp(&app.refresh(&p0.refresh).await);
    assert_eq!(p1.session_id, p0.session_id);
    assert_eq!(app.me_status(&p1.access).await.0, 200);
    app.refresh(&p0.refresh)
        .await
        .assert_problem(401, "refresh_token_reused");
    for t in [&p0.access, &p1.access] {
        app.get("/auth/me", Some(t))
            .await
            .assert_problem(401, "invalid_token");
    }
    app.refresh(&p1.refresh)
        .await
        .assert_problem(401, "invalid_refresh_token");

    // A second node on the same database learns of a logout on the first
    // through the change feed.
    let node_b = my_app(&db.url()).await;
    let p2 = app.login_pair(&login, PASSWORD).await;
    assert_eq!(
        node_b.me_status(&p2.access).await.0,
        200,
        "B accepts A's token"
    );
    app.post_empty("/auth/logout", Some(&p2.access))
        .await
        .assert_status(204);
    app.get("/auth/me", Some(&p2.access))
        .await
        .assert_problem(401, "invalid_token");
    app.refresh(&p2.refresh)
        .await
        .assert_problem(401, "invalid_refresh_token");
    node_b.warden.auth().sync().await.unwrap();
    node_b
        .get("/auth/me", Some(&p2.access))
        .await
        .assert_problem(401, "invalid_token");

    // 20 concurrent refreshes with one token: exactly one wins.
    let p3 = app.login_pair(&login, PASSWORD).await;
    let mut set = JoinSet::new();
    for i in 0..20 {
        let node = if i % 2 == 0 {
            app.clone()
        } else {
            node_b.clone()
        };
        let t = p3.refresh.clone();
        set.spawn(async move { node.refresh(&t).await });
    }
    let mut ok = 0;
    let mut codes = Vec::new();
    while let Some(r) = set.join_next().await {
        let r = r.unwrap();
        if r.status.as_u16() == 200 {
            ok += 1;
        } else {
            assert_eq!(r.status.as_u16(), 401, "{}", r.text());
            codes.push(r.json()["code"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(ok, 1, "exactly one refresh may win; losers: {codes:?}");

    app.store.ping().await.unwrap();
    db.drop().await;
}

#[tokio::test]
async fn mysql_scheme_is_selected() {
    let Some(_) = test_url() else { return };
    let mut cfg = my_config("mariadb://nobody@127.0.0.1:1/none");
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
