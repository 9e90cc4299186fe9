use crate::common::*;
use serde_json::json;

each_backend!(
    async fn login_answers_a_token_pair_with_no_store(b) {
        let app = app(b).await;
        let login = unique("pair");
        app.register(&login, PASSWORD).await.assert_status(201);
        let r = app.login(&login, PASSWORD).await;
        r.assert_status(200);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v = r.json();
        assert!(v["access_token"].as_str().unwrap().split('.').count() == 3);
        let rt = v["refresh_token"].as_str().unwrap();
        assert!(rt.len() >= 43, "refresh token has >= 256 bits: {rt}");
        assert_eq!(v["token_type"], json!("Bearer"));
        // Exact values are asserted in `token_pair_lifetimes_are_exact` (see the BUG there).
        assert!((299..=300).contains(&v["expires_in"].as_i64().unwrap()), "{v}");
        assert!((86_399..=86_400).contains(&v["refresh_expires_in"].as_i64().unwrap()), "{v}");
        uuid::Uuid::parse_str(v["session_id"].as_str().unwrap()).unwrap();
        let r = app.post("/auth/login", json!({"login": login, "password": PASSWORD, "remember": true}), None).await;
        assert!((2_591_999..=2_592_000).contains(&r.json()["refresh_expires_in"].as_i64().unwrap()));
    }
);

each_backend!(
    async fn token_pair_lifetimes_are_exact(b) {
        let app = app(b).await;
        let login = unique("exact");
        app.register(&login, PASSWORD).await.assert_status(201);
        let v = app.login(&login, PASSWORD).await.json();
        assert_eq!(v["expires_in"], json!(300));
        let short = v["refresh_expires_in"].as_i64().unwrap();
        assert!((86_399..=86_400).contains(&short), "{short}");
        let r = app.post("/auth/login", json!({"login": login, "password": PASSWORD, "remember": true}), None).await;
        // The session's end is fixed when it is stored; the pair is signed after
        // the write, which on a slower backend can fall in the next second.
        let long = r.json()["refresh_expires_in"].as_i64().unwrap();
        assert!((2_591_999..=2_592_000).contains(&long), "{long}");
        let c = Pair::from_resp(&r).claims();
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 300);
    }
);

each_backend!(
    async fn login_sets_secure_http_only_cookies_by_default(b) {
        let app = app_with(b, |c| c.cookie_secure = true).await;
        let login = unique("cookie");
        app.register(&login, PASSWORD).await.assert_status(201);
        let r = app.login(&login, PASSWORD).await;
        let pair = Pair::from_resp(&r);
        let access = r.set_cookie("access").expect("access cookie");
        let refresh = r.set_cookie("refresh").expect("refresh cookie");
        for c in [&access, &refresh] {
            assert!(c.contains("HttpOnly"), "{c}");
            assert!(c.contains("SameSite=Lax"), "{c}");
            assert!(c.contains("Secure"), "{c}");
        }
        assert!(access.contains("Path=/;") || access.ends_with("Path=/"), "{access}");
        assert!(refresh.contains("Path=/auth/refresh"), "{refresh}");
        assert_eq!(r.cookie_value("access").unwrap(), pair.access);
        assert_eq!(r.cookie_value("refresh").unwrap(), pair.refresh);
        // With cookie_secure = false there is no Secure attribute.
        let app = app_with(b, |c| c.cookie_secure = false).await;
        app.register(&login, PASSWORD).await.assert_status(201);
        let r = app.login(&login, PASSWORD).await;
        assert!(!r.set_cookie("access").unwrap().contains("Secure"));
    }
);

each_backend!(
    async fn wrong_password_and_unknown_login_answer_identically(b) {
        let app = app(b).await;
        let login = unique("same");
        app.register(&login, PASSWORD).await.assert_status(201);
        let wrong = app.login(&login, "not the password at all").await;
        let unknown = app.login(&unique("nobody"), "not the password at all").await;
        wrong.assert_problem(401, "invalid_credentials");
        unknown.assert_problem(401, "invalid_credentials");
        assert_eq!(wrong.status, unknown.status);
        assert_eq!(wrong.body, unknown.body, "bodies must be byte-identical");
        assert_eq!(wrong.header("www-authenticate"), unknown.header("www-authenticate"));
    }
);

each_backend!(
    async fn login_is_case_insensitive(b) {
        let app = app(b).await;
        let login = unique("MiXeD");
        app.register(&login, PASSWORD).await.assert_status(201);
        app.login_pair(&login.to_uppercase(), PASSWORD).await;
        app.login_pair(&login.to_lowercase(), PASSWORD).await;
    }
);

each_backend!(
    async fn login_refuses_a_password_over_128_chars_before_counting_it(b) {
        let app = app_with(b, |c| c.block_tries = 2).await;
        let login = unique("long");
        app.register(&login, PASSWORD).await.assert_status(201);
        let long = "y".repeat(129);
        for _ in 0..5 {
            let r = app.login(&login, &long).await;
            let fields = r.error_fields();
            assert_eq!(fields, vec!["password".to_owned()]);
        }
        // Not counted as failures (never reached the hash): the login still works.
        app.login_pair(&login, PASSWORD).await;
        assert!(!app.audit_all().await.iter().any(|e| e.event == "login.failure"));
    }
);
