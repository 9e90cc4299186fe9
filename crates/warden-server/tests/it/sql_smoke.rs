//! Router-level smoke test of the app on the SQL servers: each test makes its
//! own throw-away PostgreSQL schema or MySQL database and runs
//! [`register_login_refresh_logout`] on it through `open_configured_store`.

use crate::common::*;
use serde_json::json;
use tokio::task::JoinSet;
use warden_server::config::Config;

/// Test configuration on `url`: cheap Argon2, no rate limit, a known admin secret.
pub fn config(url: &str) -> Config {
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

/// An app (one "node") on the store named by `url`, which must be `backend`.
pub async fn node(backend: &str, url: &str) -> App {
    let cfg = config(url);
    let store = warden_server::open_configured_store(&cfg).await.unwrap();
    assert_eq!(store.backend(), backend);
    app_on(cfg, store).await
}

/// register → login → me → refresh → reuse detected → logout seen by a second
/// node through the feed, and 20 concurrent refreshes with exactly one winner.
pub async fn register_login_refresh_logout(backend: &str, url: &str) {
    let app = node(backend, url).await;

    let ready = app.get("/readyz", None).await;
    ready.assert_status(200);
    assert_eq!(ready.json()["store"], json!(backend));

    // register → login → me
    let login = unique(backend);
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
    let node_b = node(backend, url).await;
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
    node_b.warden.auth().upkeep().sync().await.unwrap();
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
}

each_backend!([postgres, mysql] async fn register_login_refresh_logout_on_a_server(b) {
    let (name, url) = match b {
        Backend::Postgres => {
            let name = warden_testkit::sql::fresh_postgres_schema().await;
            let base = warden_testkit::url(b);
            let url = warden_testkit::sql::postgres_schema_url(&base, &name);
            (name, url)
        }
        _ => {
            let name = warden_testkit::sql::fresh_mysql_db().await;
            let url = warden_testkit::sql::mysql_db_url(&warden_testkit::url(b), &name);
            (name, url)
        }
    };
    register_login_refresh_logout(b.store_name(), &url).await;
    warden_testkit::sql::drop_fresh(b, &name).await;
});

#[tokio::test]
async fn postgres_scheme_is_selected_and_unknown_schemes_refused() {
    let mut cfg = config("postgresql://nobody@127.0.0.1:1/none");
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

#[tokio::test]
async fn mysql_scheme_is_selected() {
    let mut cfg = config("mariadb://nobody@127.0.0.1:1/none");
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

/// `WARDEN_SQLITE_SYNCHRONOUS` takes `normal` and `full` (any case); anything
/// else stops start-up naming the setting (the pragma each sets is checked
/// in warden-store-sql's `synchronous_is_the_chosen_one`).
#[tokio::test]
async fn sqlite_synchronous_is_checked() {
    let dir = std::env::temp_dir().join(format!("warden-sync-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    for value in ["normal", "FULL"] {
        let mut cfg = config(dir.join(format!("{value}.db")).to_str().unwrap());
        cfg.sqlite_synchronous = value.into();
        let store = warden_server::open_configured_store(&cfg).await.unwrap();
        store.ping().await.unwrap();
    }
    let mut cfg = config(dir.join("bad.db").to_str().unwrap());
    cfg.sqlite_synchronous = "off".into();
    let err = warden_server::open_configured_store(&cfg).await.err();
    assert!(
        matches!(&err, Some(warden_core::Error::BadRequest(m)) if m.contains("WARDEN_SQLITE_SYNCHRONOUS")),
        "{err:?}"
    );
    assert!(!dir.join("bad.db").exists(), "nothing opened");
    let _ = std::fs::remove_dir_all(&dir);
}
