use crate::common::*;
use axum::body::Body;
use axum::http::Request;
use serde_json::json;

each_backend!(
    async fn register_answers_201_with_the_account_shape(b) {
        let app = app(b).await;
        let login = unique("Alice");
        let r = app
            .post("/auth/register", json!({"login": login, "password": PASSWORD, "email": format!("{login}@example.com"), "properties": {"plan": "free"}}), None)
            .await;
        r.assert_status(201);
        assert!(r.header("content-type").unwrap().starts_with("application/json"));
        let a = r.json()["account"].clone();
        let id = uuid::Uuid::parse_str(a["id"].as_str().unwrap()).expect("id is a UUID");
        assert_eq!(id.get_version_num(), 7, "UUID v7");
        assert_eq!(a["login"], json!(login));
        assert_eq!(a["email"], json!(format!("{login}@example.com")));
        assert_eq!(a["email_verified"], json!(false));
        assert_eq!(a["active"], json!(true));
        assert_eq!(a["blocked"], json!(false));
        assert_eq!(a["mfa_enabled"], json!(false));
        assert_eq!(a["scopes"], json!([]));
        assert_eq!(a["properties"], json!({"plan": "free"}));
        let created = a["created_at"].as_str().unwrap();
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339).expect("created_at RFC 3339");
        assert!(a.get("password_hash").is_none() && !r.text().contains("argon2"), "no hash leaks: {a}");
    }
);

each_backend!(
    async fn register_rejects_logins_that_break_the_rules(b) {
        let app = app(b).await;
        let long = "a".repeat(65);
        for bad in ["ab", long.as_str(), "has space", "semi;colon", "slash/x", "quote\"x", ""] {
            let r = app.register(bad, PASSWORD).await;
            let fields = r.error_fields();
            assert!(fields.contains(&"login".to_owned()), "login {bad:?}: {fields:?}");
        }
        // The boundaries are accepted.
        app.register(&format!("a{}", &unique("b")[..2]), PASSWORD).await.assert_status(201);
        let max = format!("{}{}", unique("m"), "x".repeat(64)).chars().take(64).collect::<String>();
        app.register(&max, PASSWORD).await.assert_status(201);
    }
);

each_backend!(
    async fn register_rejects_passwords_that_break_the_rules(b) {
        let app = app(b).await;
        let login = unique("pwrules");
        let long = "x".repeat(129);
        for bad in ["seven77", long.as_str(), "password1", "Password1", "12345678", login.as_str()] {
            let r = app.register(&login, bad).await;
            let fields = r.error_fields();
            assert_eq!(fields, vec!["password".to_owned()], "password {bad:?}");
        }
        // Password equal to the login in another case is refused too.
        let r = app.register(&login, &login.to_uppercase()).await;
        assert_eq!(r.error_fields(), vec!["password".to_owned()]);
        // 8 and 128 characters are accepted.
        app.register(&unique("p8"), "zq8#kLm2").await.assert_status(201);
        app.register(&unique("p128"), &"zq8#kLm2".repeat(16)).await.assert_status(201);
    }
);

each_backend!(
    async fn register_reports_every_broken_field(b) {
        let app = app(b).await;
        let r = app.post("/auth/register", json!({"login": "x", "password": "short", "email": "not-an-email"}), None).await;
        let mut f = r.error_fields();
        f.sort();
        assert_eq!(f, vec!["email".to_owned(), "login".to_owned(), "password".to_owned()]);
    }
);

each_backend!(
    async fn register_refuses_a_login_differing_only_in_case(b) {
        let app = app(b).await;
        let login = unique("CaseUser");
        app.register(&login, PASSWORD).await.assert_status(201);
        app.register(&login.to_lowercase(), PASSWORD).await.assert_problem(409, "login_taken");
        app.register(&login.to_uppercase(), PASSWORD).await.assert_problem(409, "login_taken");
    }
);

each_backend!(
    async fn register_refuses_a_taken_email(b) {
        let app = app(b).await;
        let email = format!("{}@example.com", unique("mail"));
        let r = app.post("/auth/register", json!({"login": unique("e1"), "password": PASSWORD, "email": email}), None).await;
        r.assert_status(201);
        let r = app
            .post("/auth/register", json!({"login": unique("e2"), "password": PASSWORD, "email": email.to_uppercase()}), None)
            .await;
        r.assert_problem(409, "email_taken");
    }
);

each_backend!(
    async fn register_answers_400_for_malformed_json(b) {
        let app = app(b).await;
        let req = Request::post("/auth/register").header("content-type", "application/json").body(Body::from("{\"login\": ")).unwrap();
        app.send(req).await.assert_problem(400, "bad_request");
    }
);

each_backend!(
    async fn register_answers_400_for_a_wrong_content_type(b) {
        let app = app(b).await;
        let body = serde_json::to_vec(&json!({"login": unique("ct"), "password": PASSWORD})).unwrap();
        let req = Request::post("/auth/register").header("content-type", "text/plain").body(Body::from(body.clone())).unwrap();
        app.send(req).await.assert_problem(400, "bad_request");
        let req = Request::post("/auth/register").body(Body::from(body)).unwrap();
        app.send(req).await.assert_problem(400, "bad_request");
    }
);

each_backend!(
    async fn register_answers_422_for_a_missing_field(b) {
        let app = app(b).await;
        let r = app.post("/auth/register", json!({"login": unique("nofield")}), None).await;
        assert_eq!(r.error_fields(), vec!["password".to_owned()]);
        let r = app.post("/auth/register", json!({"login": 5, "password": PASSWORD}), None).await;
        r.assert_problem(422, "validation_failed");
    }
);

each_backend!(
    async fn register_answers_413_for_a_body_over_64_kib(b) {
        let app = app(b).await;
        let big = "x".repeat(65 * 1024);
        let r = app.post("/auth/register", json!({"login": unique("big"), "password": PASSWORD, "properties": {"blob": big}}), None).await;
        r.assert_problem(413, "payload_too_large");
        // Just under the limit is read (and then judged on its fields).
        let ok = "x".repeat(60 * 1024);
        let r = app.post("/auth/register", json!({"login": unique("big"), "password": PASSWORD, "properties": {"blob": ok}}), None).await;
        r.assert_status(201);
    }
);

each_backend!(
    async fn registration_closed_answers_403(b) {
        let app = app_with(b, |c| c.registration = "closed".into()).await;
        app.register(&unique("closed"), PASSWORD).await.assert_problem(403, "forbidden");
    }
);
