use crate::common::*;
use axum::extract::ConnectInfo;
use serde_json::json;
use std::net::SocketAddr;
use tokio::task::JoinSet;

each_backend!(
    async fn lockout_after_five_failures_until_admin_unblock(b) {
        let app = app_with(b, |c| c.block_tries = 5).await;
        let u = app.user().await;
        for i in 0..5 {
            app.login(&u.login, "wrong password!").await.assert_problem(401, "invalid_credentials");
            let _ = i;
        }
        let r = app.login(&u.login, PASSWORD).await;
        r.assert_problem(429, "too_many_attempts");
        let ra: u64 = r.header("retry-after").expect("Retry-After").parse().expect("seconds");
        assert!((1..=60).contains(&ra), "{ra}");
        // The lock is per login, in any case.
        app.login(&u.login.to_uppercase(), PASSWORD).await.assert_problem(429, "too_many_attempts");
        let other = app.user().await;
        app.login_pair(&other.login, PASSWORD).await;
        app.admin("POST", &format!("/auth/admin/accounts/{}/unblock", u.id), None).await.assert_status(204);
        app.login_pair(&u.login, PASSWORD).await;
    }
);

each_backend!(
    async fn a_success_resets_the_failure_count(b) {
        let app = app_with(b, |c| c.block_tries = 3).await;
        let u = app.user().await;
        for _ in 0..2 {
            app.login(&u.login, "wrong password!").await.assert_status(401);
        }
        app.login_pair(&u.login, PASSWORD).await;
        for _ in 0..2 {
            app.login(&u.login, "wrong password!").await.assert_status(401);
        }
        app.login_pair(&u.login, PASSWORD).await;
    }
);

each_backend!(
    async fn parallel_wrong_attempts_cannot_pass_the_count(b) {
        let app = app_with(b, |c| c.block_tries = 5).await;
        let u = app.user().await;
        let mut set = JoinSet::new();
        for _ in 0..50 {
            let app = app.clone();
            let login = u.login.clone();
            set.spawn(async move { app.login(&login, "wrong password!").await });
        }
        let (mut unauthorized, mut locked) = (0, 0);
        while let Some(r) = set.join_next().await {
            let r = r.unwrap();
            match r.status.as_u16() {
                401 => unauthorized += 1,
                429 => locked += 1,
                s => panic!("unexpected {s}: {}", r.text()),
            }
        }
        assert!(unauthorized <= 5, "{unauthorized} wrong attempts were checked");
        assert_eq!(unauthorized + locked, 50);
        app.login(&u.login, PASSWORD).await.assert_problem(429, "too_many_attempts");
    }
);

each_backend!(
    async fn per_ip_rate_limit_answers_429_with_retry_after(b) {
        let app = app_with(b, |c| c.rate_limit_per_minute = 3).await;
        let one = app.with_peer("198.51.100.1:4000");
        let login = unique("rl");
        one.register(&login, PASSWORD).await.assert_status(201);
        one.login_pair(&login, PASSWORD).await;
        one.login(&login, "wrong password!").await.assert_status(401);
        let r = one.login(&login, PASSWORD).await;
        r.assert_problem(429, "too_many_attempts");
        let ra: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!(ra >= 1);
        one.register(&unique("rl2"), PASSWORD).await.assert_problem(429, "too_many_attempts");
        // Another IP has its own budget; unlimited routes are not limited.
        let two = app.with_peer("198.51.100.2:4000");
        two.login_pair(&login, PASSWORD).await;
        let mut req = request("GET", "/healthz", None, &[]);
        req.extensions_mut().insert(ConnectInfo("198.51.100.1:4000".parse::<SocketAddr>().unwrap()));
        assert_eq!(app.send(req).await.status.as_u16(), 200);
        let _ = json!({});
    }
);
