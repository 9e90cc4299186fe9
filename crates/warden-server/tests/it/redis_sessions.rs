//! `WARDEN_SESSION_STORE=redis` through the real router: the server's own
//! store wiring (`open_configured_store`) on SQLite, PostgreSQL and MySQL,
//! each with its sessions in Redis. Login, refresh, reuse detection, logout,
//! logout of all sessions, the session list, and the audit events and feed
//! entries those writes leave in the database.

use crate::common::*;
use serde_json::json;
use warden_core::store::Change;

/// The app of `WARDEN_SESSION_STORE=redis` on a fresh database of `b` and a
/// fresh Redis key prefix; also returns the prefix.
async fn redis_app(b: Backend) -> (App, String) {
    let prefix = format!("warden-test:{}:", uuid::Uuid::now_v7().simple());
    let mut cfg = config();
    cfg.database_url = match b {
        Backend::Postgres => warden_testkit::sql::fresh_postgres_url().await,
        Backend::MySql => warden_testkit::sql::fresh_mysql_url().await,
        _ => "sqlite::memory:".into(),
    };
    cfg.redis_url = Some(warden_testkit::url(Backend::Redis));
    cfg.redis_prefix = prefix.clone();
    cfg.session_store = "redis".into();
    cfg.validate().unwrap();
    let store = warden_server::open_configured_store(&cfg).await.unwrap();
    (app_on(cfg, store).await, prefix)
}

/// Whether the session's hash is in Redis.
async fn in_redis(prefix: &str, session_id: &str) -> bool {
    let client = redis::Client::open(warden_testkit::url(Backend::Redis)).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let n: i64 = redis::cmd("EXISTS")
        .arg(format!("{prefix}s:{session_id}"))
        .query_async(&mut c)
        .await
        .unwrap();
    n == 1
}

async fn revoked_in_feed(app: &App) -> Vec<String> {
    let mut out = Vec::new();
    for e in app.store.changes_since(0, 10_000).await.unwrap() {
        if let Change::SessionRevoked(sid, _) = e.change {
            out.push(sid.0.to_string());
        }
    }
    out
}

async fn sessions_in_redis_through_the_router(b: Backend) {
    let (app, prefix) = redis_app(b).await;
    let u = app.user().await;
    assert!(
        in_redis(&prefix, &u.pair.session_id).await,
        "the session is in Redis"
    );

    // Refresh rotates; the first token again is a reuse that ends the session.
    let p1 = Pair::from_resp(&app.refresh(&u.pair.refresh).await);
    assert_eq!(p1.session_id, u.pair.session_id);
    assert_ne!(p1.refresh, u.pair.refresh);
    assert_eq!(app.me_status(&p1.access).await.0, 200);
    app.refresh(&u.pair.refresh)
        .await
        .assert_problem(401, "refresh_token_reused");
    for t in [&u.pair.access, &p1.access] {
        app.get("/auth/me", Some(t))
            .await
            .assert_problem(401, "invalid_token");
    }
    app.refresh(&p1.refresh)
        .await
        .assert_problem(401, "invalid_refresh_token");

    // Two more sessions: the list comes from Redis, newest first.
    let s2 = app.login_pair(&u.login, PASSWORD).await;
    let s3 = app.login_pair(&u.login, PASSWORD).await;
    let list = app.get("/auth/sessions", Some(&s3.access)).await;
    list.assert_status(200);
    let ids: Vec<String> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![s3.session_id.clone(), s2.session_id.clone()]);

    // Logout ends one session only.
    app.post_empty("/auth/logout", Some(&s2.access))
        .await
        .assert_status(204);
    app.get("/auth/me", Some(&s2.access))
        .await
        .assert_problem(401, "invalid_token");
    app.refresh(&s2.refresh)
        .await
        .assert_problem(401, "invalid_refresh_token");
    let s3 = Pair::from_resp(&app.refresh(&s3.refresh).await);
    assert_eq!(app.me_status(&s3.access).await.0, 200);

    // Logout of all sessions.
    let s4 = app.login_pair(&u.login, PASSWORD).await;
    app.post_empty("/auth/logout/all", Some(&s3.access))
        .await
        .assert_status(204);
    for p in [&s3, &s4] {
        app.get("/auth/me", Some(&p.access))
            .await
            .assert_problem(401, "invalid_token");
        app.refresh(&p.refresh)
            .await
            .assert_problem(401, "invalid_refresh_token");
    }

    // A password change ends the other sessions (an account write that
    // revokes sessions kept in Redis).
    let s5 = app.login_pair(&u.login, PASSWORD).await;
    let s6 = app.login_pair(&u.login, PASSWORD).await;
    let new_password = "another correct horse battery";
    app.post(
        "/auth/password",
        json!({"current_password": PASSWORD, "new_password": new_password}),
        Some(&s5.access),
    )
    .await
    .assert_status(204);
    app.refresh(&s6.refresh)
        .await
        .assert_problem(401, "invalid_refresh_token");
    assert_eq!(
        app.me_status(&s5.access).await.0,
        200,
        "the changing session stays"
    );

    // Every revocation reached the database feed, every change the audit log.
    let revoked = revoked_in_feed(&app).await;
    for sid in [
        &u.pair.session_id,
        &s2.session_id,
        &s3.session_id,
        &s4.session_id,
        &s6.session_id,
    ] {
        assert!(revoked.contains(sid), "{sid} in the feed: {revoked:?}");
    }
    let names: Vec<String> = app.audit_all().await.into_iter().map(|e| e.event).collect();
    for n in [
        "login.success",
        "token.refresh",
        "token.refresh_reused",
        "logout",
    ] {
        assert!(names.iter().any(|e| e == n), "audit {n}: {names:?}");
    }
    warden_testkit::redis_cleanup(&prefix).await;
}

needs!(
    redis,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_sessions_on_sqlite() {
        sessions_in_redis_through_the_router(Backend::Sqlite).await;
    }
);

needs!(
    postgres + redis,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_sessions_on_postgres() {
        sessions_in_redis_through_the_router(Backend::Postgres).await;
    }
);

needs!(
    mysql + redis,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_sessions_on_mysql() {
        sessions_in_redis_through_the_router(Backend::MySql).await;
    }
);

needs!(
    redis,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_refreshes_with_redis_sessions_succeed_once() {
        let (app, prefix) = redis_app(Backend::Sqlite).await;
        let u = app.user().await;
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let app = app.clone();
            let t = u.pair.refresh.clone();
            set.spawn(async move { app.refresh(&t).await.status.as_u16() });
        }
        let mut ok = 0;
        while let Some(s) = set.join_next().await {
            let s = s.unwrap();
            assert!(s == 200 || s == 401, "{s}");
            ok += usize::from(s == 200);
        }
        assert_eq!(ok, 1, "exactly one refresh wins");
        warden_testkit::redis_cleanup(&prefix).await;
    }
);

#[test]
fn session_store_redis_needs_a_redis_url() {
    let mut cfg = config();
    cfg.session_store = "redis".into();
    let e = cfg.validate().unwrap_err();
    assert!(e.contains("WARDEN_REDIS_URL"), "{e}");
    cfg.session_store = "cookies".into();
    assert!(cfg.validate().unwrap_err().contains("database or redis"));
}

needs!(
    redis,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn builder_session_store_keeps_sessions_in_redis() {
        // The library's way: WardenBuilder::session_store over the app's store.
        let redis = warden_testkit::redis();
        let prefix = redis.prefix().to_owned();
        let cfg = config();
        let main = warden_testkit::store(Backend::Sqlite).await;
        let warden = warden_axum::WardenBuilder::from_config(&cfg)
            .unwrap()
            .store(main.clone())
            .session_store(move |m| std::sync::Arc::new(redis.sessions(m)))
            .build()
            .await
            .unwrap();
        let router = warden_server::app(&cfg, &warden);
        let app = App {
            router,
            warden,
            cfg,
            store: main,
            peer: None,
        };
        let u = app.user().await;
        assert!(
            in_redis(&prefix, &u.pair.session_id).await,
            "the session is in Redis"
        );
        let p = Pair::from_resp(&app.refresh(&u.pair.refresh).await);
        app.refresh(&u.pair.refresh)
            .await
            .assert_problem(401, "refresh_token_reused");
        app.refresh(&p.refresh)
            .await
            .assert_problem(401, "invalid_refresh_token");
        assert!(
            revoked_in_feed(&app).await.contains(&u.pair.session_id),
            "feed in the main store"
        );
        warden_testkit::redis_cleanup(&prefix).await;
    }
);
