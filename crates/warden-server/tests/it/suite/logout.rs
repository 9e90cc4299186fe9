use crate::common::*;

each_backend!(
    async fn logout_revokes_the_access_and_refresh_token_at_once(b) {
        let app = app(b).await;
        let u = app.user().await;
        assert_eq!(app.me_status(&u.pair.access).await.0, 200);
        let r = app.post_empty("/auth/logout", Some(&u.pair.access)).await;
        r.assert_status(204);
        assert!(r.set_cookie("access").is_some_and(|c| c.contains("Max-Age=0")), "clears the cookie");
        app.get("/auth/me", Some(&u.pair.access)).await.assert_problem(401, "invalid_token");
        app.get("/auth/sessions", Some(&u.pair.access)).await.assert_problem(401, "invalid_token");
        app.refresh(&u.pair.refresh).await.assert_problem(401, "invalid_refresh_token");
        // A second logout with the same token is refused.
        app.post_empty("/auth/logout", Some(&u.pair.access)).await.assert_problem(401, "invalid_token");
    }
);

each_backend!(
    async fn logout_leaves_other_sessions_alone(b) {
        let app = app(b).await;
        let u = app.user().await;
        let other = app.login_pair(&u.login, PASSWORD).await;
        app.post_empty("/auth/logout", Some(&u.pair.access)).await.assert_status(204);
        assert_eq!(app.me_status(&other.access).await.0, 200);
    }
);

each_backend!(
    async fn logout_all_revokes_every_session(b) {
        let app = app(b).await;
        let u = app.user().await;
        let s2 = app.login_pair(&u.login, PASSWORD).await;
        let s3 = app.login_pair(&u.login, PASSWORD).await;
        let stranger = app.user().await;
        app.post_empty("/auth/logout/all", Some(&s2.access)).await.assert_status(204);
        for p in [&u.pair, &s2, &s3] {
            app.get("/auth/me", Some(&p.access)).await.assert_problem(401, "invalid_token");
            app.refresh(&p.refresh).await.assert_problem(401, "invalid_refresh_token");
        }
        assert_eq!(app.me_status(&stranger.pair.access).await.0, 200);
        // A new login works afterwards.
        let p = app.login_pair(&u.login, PASSWORD).await;
        assert_eq!(app.me_status(&p.access).await.0, 200);
    }
);

each_backend!(
    async fn protected_routes_without_credentials_answer_unauthenticated(b) {
        let app = app(b).await;
        app.get("/auth/me", None).await.assert_problem(401, "unauthenticated");
        app.post_empty("/auth/logout", None).await.assert_problem(401, "unauthenticated");
        app.get("/auth/sessions", None).await.assert_problem(401, "unauthenticated");
        let r = app.call("GET", "/auth/me", None, &[("authorization", "Basic dXNlcjpwdw==")]).await;
        r.assert_problem(401, "invalid_token");
    }
);
