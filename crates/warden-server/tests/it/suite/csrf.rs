use crate::common::*;

each_backend!(
    async fn cookie_authenticated_logout_needs_a_csrf_header(b) {
        let app = app(b).await;
        let u = app.user().await;
        let cookie = format!("access={}", u.pair.access);
        app.call("POST", "/auth/logout", None, &[("cookie", &cookie)]).await.assert_problem(403, "forbidden");
        assert_eq!(app.me_status(&u.pair.access).await.0, 200, "refused logout did nothing");
        // GET with the cookie alone is fine.
        app.call("GET", "/auth/me", None, &[("cookie", &cookie)]).await.assert_status(200);
        app.call("POST", "/auth/logout", None, &[("cookie", &cookie), ("x-requested-with", "XMLHttpRequest")]).await.assert_status(204);
        app.get("/auth/me", Some(&u.pair.access)).await.assert_problem(401, "invalid_token");
    }
);

each_backend!(
    async fn double_submit_csrf_token_must_match_the_cookie(b) {
        let app = app(b).await;
        let u = app.user().await;
        let r = app.login(&u.login, PASSWORD).await;
        let pair = Pair::from_resp(&r);
        let csrf = r.cookie_value("csrf").expect("csrf cookie");
        assert!(!r.set_cookie("csrf").unwrap().contains("HttpOnly"), "readable by scripts");
        let cookie = format!("access={}; csrf={csrf}", pair.access);
        let r = app.call("POST", "/auth/logout", None, &[("cookie", &cookie), ("x-csrf-token", "not-the-token")]).await;
        r.assert_problem(403, "forbidden");
        let r = app.call("POST", "/auth/logout", None, &[("cookie", &format!("access={}", pair.access)), ("x-csrf-token", &csrf)]).await;
        r.assert_problem(403, "forbidden");
        assert_eq!(app.me_status(&pair.access).await.0, 200);
        app.call("POST", "/auth/logout", None, &[("cookie", &cookie), ("x-csrf-token", &csrf)]).await.assert_status(204);
        app.get("/auth/me", Some(&pair.access)).await.assert_problem(401, "invalid_token");
    }
);

each_backend!(
    async fn bearer_requests_need_no_csrf_header(b) {
        let app = app(b).await;
        let u = app.user().await;
        app.post_empty("/auth/logout", Some(&u.pair.access)).await.assert_status(204);
    }
);
