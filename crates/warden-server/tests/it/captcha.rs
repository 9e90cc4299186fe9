//! The optional human check (captcha) against a fake `siteverify` endpoint on
//! loopback: register, login after a failure, forgot-password; refused and
//! low-score answers (422 `captcha`), an unreachable provider (503).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use tower::ServiceExt;
use warden_server::config::Config;

use crate::common;

const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "captcha-test-secret";

/// A fake siteverify: `good` passes, `low` passes with score 0.1, `broken`
/// answers 500, anything else (or a wrong secret) fails.
async fn fake_siteverify() -> String {
    async fn verify(
        axum::Form(f): axum::Form<HashMap<String, String>>,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        if f.get("secret").map(String::as_str) != Some(SECRET) {
            return axum::Json(json!({"success": false, "error-codes": ["invalid-input-secret"]}))
                .into_response();
        }
        match f.get("response").map(String::as_str) {
            Some("good") => {
                axum::Json(json!({"success": true, "hostname": "test"})).into_response()
            }
            Some("low") => axum::Json(json!({"success": true, "score": 0.1})).into_response(),
            Some("broken") => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            _ => axum::Json(json!({"success": false})).into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, Router::new().route("/siteverify", post(verify)))
            .await
            .unwrap();
    });
    format!("http://{addr}/siteverify")
}

fn config(url: &str) -> Config {
    Config {
        database_url: "sqlite::memory:".into(),
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        rate_limit_per_minute: 0,
        cookie_secure: false,
        admin_secret: Some("captcha-admin-secret-0123456789abcdef".into()),
        captcha_provider: "recaptcha".into(),
        captcha_secret: Some(SECRET.into()),
        captcha_verify_url: Some(url.into()),
        ..Config::default()
    }
}

async fn app(cfg: &Config) -> Router {
    let store = warden_server::open_store(&cfg.database_url).await.unwrap();
    let (warden, _) = warden_server::build_warden(cfg, store).await.unwrap();
    warden_server::app(cfg, &warden)
}

async fn post_json(router: &Router, path: &str, body: Value) -> (u16, Value) {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[track_caller]
fn captcha_refused(r: &(u16, Value)) {
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["errors"][0]["field"], json!("captcha"), "{}", r.1);
}

#[tokio::test]
async fn register_needs_a_passed_check() {
    let url = fake_siteverify().await;
    let router = app(&config(&url)).await;
    let body =
        |captcha: Option<&str>| json!({"login": "alice", "password": PASSWORD, "captcha": captcha});
    captcha_refused(&post_json(&router, "/auth/register", body(None)).await);
    captcha_refused(&post_json(&router, "/auth/register", body(Some("bad"))).await);
    // reCAPTCHA v3: a score under WARDEN_CAPTCHA_MIN_SCORE (0.5) is refused.
    captcha_refused(&post_json(&router, "/auth/register", body(Some("low"))).await);
    assert_eq!(
        post_json(&router, "/auth/register", body(Some("good")))
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn login_needs_the_check_after_a_failure() {
    let url = fake_siteverify().await;
    let router = app(&config(&url)).await;
    let r = post_json(
        &router,
        "/auth/register",
        json!({"login": "bob", "password": PASSWORD, "captcha": "good"}),
    )
    .await;
    assert_eq!(r.0, 201, "{}", r.1);
    let login = |password: &str, captcha: Option<&str>| json!({"login": "bob", "password": password, "captcha": captcha});
    // No check before a failure.
    assert_eq!(
        post_json(&router, "/auth/login", login(PASSWORD, None))
            .await
            .0,
        200
    );
    assert_eq!(
        post_json(&router, "/auth/login", login("wrong password!", None))
            .await
            .0,
        401
    );
    captcha_refused(&post_json(&router, "/auth/login", login(PASSWORD, None)).await);
    captcha_refused(&post_json(&router, "/auth/login", login(PASSWORD, Some("bad"))).await);
    assert_eq!(
        post_json(&router, "/auth/login", login(PASSWORD, Some("good")))
            .await
            .0,
        200
    );
    // A success clears it.
    assert_eq!(
        post_json(&router, "/auth/login", login(PASSWORD, None))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn forgot_needs_a_passed_check() {
    let url = fake_siteverify().await;
    let router = app(&config(&url)).await;
    captcha_refused(
        &post_json(
            &router,
            "/auth/password/forgot",
            json!({"email": "a@example.com"}),
        )
        .await,
    );
    let r = post_json(
        &router,
        "/auth/password/forgot",
        json!({"email": "a@example.com", "captcha": "good"}),
    )
    .await;
    assert_eq!(r.0, 202, "{}", r.1);
}

#[tokio::test]
async fn unreachable_provider_is_503() {
    let url = fake_siteverify().await;
    let router = app(&config(&url)).await;
    let r = post_json(
        &router,
        "/auth/register",
        json!({"login": "carol", "password": PASSWORD, "captcha": "broken"}),
    )
    .await;
    assert_eq!(r.0, 503, "{}", r.1);
    assert_eq!(r.1["code"], json!("captcha_unavailable"));

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let router = app(&config(&format!("http://127.0.0.1:{port}/siteverify"))).await;
    let r = post_json(
        &router,
        "/auth/register",
        json!({"login": "carol", "password": PASSWORD, "captcha": "good"}),
    )
    .await;
    assert_eq!(r.0, 503, "{}", r.1);
    assert_eq!(r.1["code"], json!("captcha_unavailable"));
}

#[tokio::test]
async fn captcha_settings_are_validated() {
    let mut cfg = config("http://127.0.0.1:1/siteverify");
    cfg.captcha_secret = None;
    assert!(cfg.captcha().is_err());
    let mut cfg = config("http://127.0.0.1:1/siteverify");
    cfg.captcha_provider = "friendlycaptcha".into();
    assert!(cfg.captcha().is_err());
    let mut cfg = config("http://127.0.0.1:1/siteverify");
    cfg.captcha_min_score = 1.5;
    assert!(cfg.captcha().is_err());
    for p in ["hcaptcha", "turnstile", "recaptcha"] {
        let mut cfg = config("");
        cfg.captcha_provider = p.into();
        cfg.captcha_verify_url = None;
        assert!(cfg.captcha().unwrap().is_some());
    }
    let mut cfg = config("");
    cfg.captcha_provider = String::new();
    assert!(cfg.captcha().unwrap().is_none());
}

/// The hosted pages show the provider's widget (with its origins in the CSP)
/// and pass its answer on: no answer → field error, nothing created.
#[tokio::test]
async fn hosted_pages_show_the_widget_and_check_its_answer() {
    let url = fake_siteverify().await;
    let mut cfg = config(&url);
    cfg.captcha_site_key = Some("site-key-123".into());
    let store = warden_server::open_store(&cfg.database_url).await.unwrap();
    let app = common::app_on(cfg, store).await;
    let mut b = common::browser::Browser::new(&app);
    let page = b.get("/ui/sign-up").await;
    assert!(
        page.html
            .contains("class=\"g-recaptcha\" data-sitekey=\"site-key-123\"")
    );
    let csp = page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self' https://www.google.com"),
        "{csp}"
    );
    assert!(csp.contains("frame-src https://www.google.com"), "{csp}");
    let fields = [("login", "widgetuser"), ("password", PASSWORD)];
    let page = b.post("/ui/sign-up", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text_of("captcha-error").is_some(), "{}", page.html);
    let page = b
        .post(
            "/ui/sign-up",
            &[fields[0], fields[1], ("g-recaptcha-response", "bad")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = b
        .post(
            "/ui/sign-up",
            &[fields[0], fields[1], ("g-recaptcha-response", "good")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    // Forgot-password needs it too.
    b.get("/ui/forgot-password").await;
    let page = b
        .post("/ui/forgot-password", &[("email", "a@example.com")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
}
