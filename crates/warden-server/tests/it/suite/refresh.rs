use crate::common::*;
use serde_json::json;
use tokio::task::JoinSet;

each_backend!(
    async fn refresh_rotates_and_reuse_revokes_the_session(b) {
        let app = app(b).await;
        let u = app.user().await;
        let r1 = app.refresh(&u.pair.refresh).await;
        assert_eq!(r1.header("cache-control"), Some("no-store"));
        let p1 = Pair::from_resp(&r1);
        assert_ne!(p1.refresh, u.pair.refresh, "refresh token rotates");
        assert_eq!(p1.session_id, u.pair.session_id, "same session");
        assert_eq!(app.me_status(&p1.access).await.0, 200);
        let p2 = Pair::from_resp(&app.refresh(&p1.refresh).await);
        // The first token again: reuse.
        app.refresh(&u.pair.refresh).await.assert_problem(401, "refresh_token_reused");
        // The whole session is gone: its access tokens and the newest refresh token.
        for t in [&u.pair.access, &p1.access, &p2.access] {
            app.get("/auth/me", Some(t)).await.assert_problem(401, "invalid_token");
        }
        app.refresh(&p2.refresh).await.assert_problem(401, "invalid_refresh_token");
    }
);

each_backend!(
    async fn reuse_does_not_touch_other_sessions(b) {
        let app = app(b).await;
        let u = app.user().await;
        let other = app.login_pair(&u.login, PASSWORD).await;
        Pair::from_resp(&app.refresh(&u.pair.refresh).await);
        app.refresh(&u.pair.refresh).await.assert_problem(401, "refresh_token_reused");
        assert_eq!(app.me_status(&other.access).await.0, 200);
        Pair::from_resp(&app.refresh(&other.refresh).await);
    }
);

each_backend!(
    async fn garbage_refresh_token_is_refused(b) {
        let app = app(b).await;
        app.user().await;
        for t in ["garbage", "", "wrt_", &format!("wrt_{}", "A".repeat(43)), &"x".repeat(5000)] {
            app.refresh(t).await.assert_problem(401, "invalid_refresh_token");
        }
        // No token at all.
        app.post("/auth/refresh", json!({}), None).await.assert_problem(401, "invalid_refresh_token");
        app.post_empty("/auth/refresh", None).await.assert_problem(401, "invalid_refresh_token");
    }
);

each_backend!(
    async fn refresh_by_cookie_needs_a_csrf_header(b) {
        let app = app(b).await;
        let u = app.user().await;
        let cookie = format!("refresh={}", u.pair.refresh);
        let r = app.call("POST", "/auth/refresh", None, &[("cookie", &cookie)]).await;
        r.assert_problem(403, "forbidden");
        let r = app.call("POST", "/auth/refresh", None, &[("cookie", &cookie), ("x-requested-with", "XMLHttpRequest")]).await;
        let p = Pair::from_resp(&r);
        assert_ne!(p.refresh, u.pair.refresh);
        assert_eq!(r.cookie_value("refresh").unwrap(), p.refresh, "the cookie is rotated too");
        assert_eq!(app.me_status(&p.access).await.0, 200);
    }
);

each_backend!(
    async fn refreshed_access_token_is_not_fresh(b) {
        let app = app(b).await;
        let u = app.user().await;
        assert_eq!(u.pair.claims()["fresh"], json!(true));
        let p = Pair::from_resp(&app.refresh(&u.pair.refresh).await);
        let c = p.claims();
        assert_eq!(c["fresh"], json!(false));
        assert_eq!(c["amr"], json!(["pwd"]));
        assert_eq!(c["sid"], json!(u.pair.session_id));
        assert_eq!(p.json["expires_in"], json!(300));
    }
);

each_backend!(
    async fn concurrent_refreshes_with_one_token_succeed_once(b) {
        let app = app(b).await;
        let u = app.user().await;
        let mut set = JoinSet::new();
        for _ in 0..20 {
            let app = app.clone();
            let t = u.pair.refresh.clone();
            set.spawn(async move { app.refresh(&t).await });
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
    }
);
