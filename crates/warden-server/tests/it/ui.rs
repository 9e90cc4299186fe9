//! The hosted pages' public part through the real router: sign-in (with the
//! second-factor step), sign-up, email verification, password reset,
//! sign-out, CSRF and same-origin checks, safe redirects, security headers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use axum::http::StatusCode;
use common::browser::{Browser, local, totp_code, wait_link};
use common::{PASSWORD, app, app_with, each_backend, unique};
use serde_json::json;

fn outbox() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("warden-ui-outbox-{}", uuid::Uuid::now_v7()))
}

each_backend!(async fn sign_in_and_out(backend) {
    let app = app(backend).await;
    let mut b = Browser::new(&app);
    let login = unique("ui");
    let page = b.sign_up_and_in(&login, PASSWORD).await;
    assert!(b.cookies.contains_key("warden_ui"), "{page:?}");
    // The page session is a normal session of the account.
    let r = app
        .post(
            "/auth/login",
            json!({"login": login, "password": PASSWORD}),
            None,
        )
        .await;
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    let sessions = app.get("/auth/sessions", Some(&token)).await.json();
    assert_eq!(sessions.as_array().map(Vec::len), Some(2), "{sessions}");
    // The app behind redirect_to finds the account through the API cookies
    // of the same session.
    let access = b.cookies.get("access").cloned().expect("access cookie");
    let req = axum::http::Request::builder()
        .uri("/auth/me")
        .header("cookie", format!("access={access}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let me = app.send(req).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["login"], json!(login));
    let page = b.submit("/ui/sign-out", &[]).await;
    assert_eq!(page.h1(), "Sign in");
    assert!(!b.cookies.contains_key("access"), "API cookies cleared too");
    assert!(page.contains("You are signed out."));
    assert!(!b.cookies.contains_key("warden_ui"));
    let sessions = app.get("/auth/sessions", Some(&token)).await.json();
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
    // The flash is shown once.
    let again = b.open("/ui/sign-in").await;
    assert!(!again.contains("You are signed out."));
});

each_backend!(async fn wrong_password_shows_an_alert_and_sets_no_session(backend) {
    let app = app(backend).await;
    let mut b = Browser::new(&app);
    let login = unique("ui");
    b.sign_up_and_in(&login, PASSWORD).await;
    let mut other = Browser::new(&app);
    other.open("/ui/sign-in").await;
    let page = other
        .post(
            "/ui/sign-in",
            &[("login", &login), ("password", "not the password")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(page.alert().as_deref(), Some("Invalid login or password."));
    assert_eq!(page.input("login").as_deref(), Some(login.as_str()));
    assert!(!other.cookies.contains_key("warden_ui"));
    let unknown = other
        .post(
            "/ui/sign-in",
            &[("login", "nobody-here"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(unknown.alert(), page.alert());
});

each_backend!(async fn forms_need_the_csrf_field_and_our_origin(backend) {
    let app = app(backend).await;
    let mut b = Browser::new(&app);
    b.open("/ui/sign-up").await;
    let login = unique("csrf");
    let fields = [
        ("login", login.as_str()),
        ("password", PASSWORD),
        ("_csrf", "forged"),
    ];
    let page = b.post("/ui/sign-up", &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.h1(), "Form expired");
    // Without the CSRF cookie, the page's token is worthless too.
    let token = b.csrf.clone().unwrap();
    let mut fresh = Browser::new(&app);
    let page = fresh
        .post(
            "/ui/sign-up",
            &[("login", &login), ("password", PASSWORD), ("_csrf", &token)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            "/auth/login",
            json!({"login": login, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "no account was created");
    // The right token from another site's page is refused by Origin.
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/ui/sign-up")
        .header("host", "127.0.0.1:8080")
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "cookie",
            b.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
        .body(axum::body::Body::from(format!(
            "login={login}&password=a+long+enough+pass&_csrf={token}"
        )))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // And with both, it works.
    let page = b
        .post("/ui/sign-up", &[("login", &login), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
});

each_backend!(async fn sign_up_verify_email_and_sign_in(backend) {
    let dir = outbox();
    let d = dir.display().to_string();
    let app = app_with(backend, |c| {
        c.outbox_dir = d;
        c.require_verified_email = true;
    })
    .await;
    let mut b = Browser::new(&app);
    let page = b.open("/ui/sign-up").await;
    assert_eq!(page.h1(), "Create an account");
    // Field rules are shown next to the field, and nothing is created.
    let page = b
        .post(
            "/ui/sign-up",
            &[("login", "x"), ("email", "bad"), ("password", "short")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text_of("login-error").is_some(), "{}", page.html);
    assert!(page.text_of("password-error").is_some());
    assert!(page.text_of("email-error").is_some());
    let login = unique("new");
    let email = format!("{login}@example.com");
    let page = b
        .submit(
            "/ui/sign-up",
            &[("login", &login), ("email", &email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.h1(), "Check your email", "{}", page.html);
    // Not active before the address is confirmed.
    let page = b.sign_in(&login, PASSWORD).await;
    assert!(
        page.alert().unwrap_or_default().contains("not active"),
        "{}",
        page.html
    );
    let link = wait_link(&dir, None).await;
    assert!(link.contains("/ui/email/verify?token="), "{link}");
    let page = b.open(&local(&link)).await;
    assert_eq!(page.h1(), "Confirm your email");
    let token = page.input("token").unwrap();
    let page = b.post("/ui/email/verify", &[("token", &token)]).await;
    assert!(
        page.contains("Your email address is confirmed."),
        "{}",
        page.html
    );
    // Used once only.
    let page = b.post("/ui/email/verify", &[("token", &token)]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.contains("invalid or has expired"));
    let page = b.sign_in(&login, PASSWORD).await;
    assert!(b.cookies.contains_key("warden_ui"), "{}", page.html);
    let _ = std::fs::remove_dir_all(&dir);
});

each_backend!(async fn forgot_and_reset_password(backend) {
    let dir = outbox();
    let d = dir.display().to_string();
    let app = app_with(backend, |c| c.outbox_dir = d).await;
    let login = unique("reset");
    let email = format!("{login}@example.com");
    let r = app
        .post(
            "/auth/register",
            json!({"login": login, "password": PASSWORD, "email": email}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mut signed = Browser::new(&app);
    signed.sign_in(&login, PASSWORD).await;
    let mut b = Browser::new(&app);
    b.open("/ui/forgot-password").await;
    // An unknown address gets the same answer.
    let page = b
        .submit("/ui/forgot-password", &[("email", "nobody@example.com")])
        .await;
    assert!(
        page.contains("If an account has this address"),
        "{}",
        page.html
    );
    let page = b.submit("/ui/forgot-password", &[("email", &email)]).await;
    assert!(page.contains("If an account has this address"));
    let link = wait_link(&dir, None).await;
    assert!(link.contains("/ui/password/reset?token="), "{link}");
    let page = b.open(&local(&link)).await;
    assert_eq!(page.h1(), "Set a new password");
    let token = page.input("token").unwrap();
    let page = b
        .post(
            "/ui/password/reset",
            &[("token", &token), ("password", "short")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text_of("password-error").is_some(), "{}", page.html);
    let new = "an entirely new passphrase";
    let page = b
        .submit(
            "/ui/password/reset",
            &[("token", &token), ("password", new)],
        )
        .await;
    assert!(page.contains("Your new password is set."), "{}", page.html);
    // Every session ended; the old password is gone; the new one works.
    let page = signed.get("/ui").await;
    assert_eq!(page.location(), Some("/ui/sign-in"), "signed out");
    let page = b.sign_in(&login, PASSWORD).await;
    assert!(page.alert().is_some());
    b.sign_in(&login, new).await;
    assert!(b.cookies.contains_key("warden_ui"));
    // The link works once.
    let page = b
        .post(
            "/ui/password/reset",
            &[("token", &token), ("password", new)],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let _ = std::fs::remove_dir_all(&dir);
});

each_backend!(async fn sign_in_with_the_second_factor(backend) {
    let app = app(backend).await;
    let login = unique("mfa");
    app.post(
        "/auth/register",
        json!({"login": login, "password": PASSWORD}),
        None,
    )
    .await;
    let r = app
        .post(
            "/auth/login",
            json!({"login": login, "password": PASSWORD}),
            None,
        )
        .await;
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    let setup = app
        .post_empty("/auth/mfa/totp/setup", Some(&token))
        .await
        .json();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/auth/mfa/totp/confirm",
            json!({"code": totp_code(&secret, 0)}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut b = Browser::new(&app);
    let page = b.sign_in(&login, PASSWORD).await;
    assert_eq!(page.h1(), "Two-step verification", "{}", page.html);
    assert!(!b.cookies.contains_key("warden_ui"));
    let mfa_token = page.input("mfa_token").unwrap();
    let page = b
        .post(
            "/ui/sign-in/mfa",
            &[("mfa_token", &mfa_token), ("code", "000000")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.text_of("code-error").is_some(), "{}", page.html);
    let page = b
        .post(
            "/ui/sign-in/mfa",
            &[("mfa_token", &mfa_token), ("code", &totp_code(&secret, 1))],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "{}",
        page.alert().unwrap_or(page.html.clone())
    );
    assert_eq!(page.location(), Some("/ui/account"));
    assert!(b.cookies.contains_key("warden_ui"));
    // The step cannot be used again: it answers like a wrong code and
    // opens nothing.
    let before = b.cookies.get("warden_ui").cloned();
    let page = b
        .post(
            "/ui/sign-in/mfa",
            &[("mfa_token", &mfa_token), ("code", &totp_code(&secret, 0))],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(b.cookies.get("warden_ui").cloned(), before);
});

each_backend!(async fn redirects_after_sign_in_stay_on_allowed_targets(backend) {
    let app = app_with(backend, |c| {
        c.redirect_allowlist = "https://app.example.com".into();
    })
    .await;
    let login = unique("redir");
    app.post(
        "/auth/register",
        json!({"login": login, "password": PASSWORD}),
        None,
    )
    .await;
    for (asked, expected) in [
        ("/ui/account/sessions", "/ui/account/sessions"),
        (
            "https://app.example.com/home",
            "https://app.example.com/home",
        ),
        ("https://evil.example/", "/ui/account"),
        ("//evil.example/x", "/ui/account"),
        ("https://app.example.com.evil.example/", "/ui/account"),
        ("javascript:alert(1)", "/ui/account"),
    ] {
        let mut b = Browser::new(&app);
        let q = common::browser::url_encode(asked);
        b.open(&format!("/ui/sign-in?redirect_to={q}")).await;
        let page = b
            .post(
                "/ui/sign-in",
                &[
                    ("login", &login),
                    ("password", PASSWORD),
                    ("redirect_to", asked),
                ],
            )
            .await;
        assert_eq!(page.location(), Some(expected), "redirect_to {asked}");
    }
    // A signed-out visit to an account page comes back after sign-in.
    let mut b = Browser::new(&app);
    let page = b.get("/ui/account/sessions").await;
    assert_eq!(
        page.location(),
        Some("/ui/sign-in?redirect_to=%2Fui%2Faccount%2Fsessions")
    );
});

each_backend!(async fn remember_me_makes_the_cookie_persistent(backend) {
    let app = app(backend).await;
    let login = unique("rem");
    app.post(
        "/auth/register",
        json!({"login": login, "password": PASSWORD}),
        None,
    )
    .await;
    for remember in [false, true] {
        let mut b = Browser::new(&app);
        b.open("/ui/sign-in").await;
        let mut fields = vec![("login", login.as_str()), ("password", PASSWORD)];
        if remember {
            fields.push(("remember", "1"));
        }
        let page = b.post("/ui/sign-in", &fields).await;
        let cookie = page
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("warden_ui="))
            .unwrap()
            .to_owned();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && cookie.contains("Path=/ui")
        );
        assert_eq!(cookie.contains("Max-Age="), remember, "{cookie}");
    }
});

each_backend!(async fn blocking_ends_the_page_session_and_refuses_sign_in(backend) {
    let app = app(backend).await;
    let mut b = Browser::new(&app);
    let login = unique("blk");
    b.sign_up_and_in(&login, PASSWORD).await;
    let page = b.get("/ui").await;
    assert_eq!(page.location(), Some("/ui/account"));
    let page = b.get("/ui/").await;
    assert_eq!(page.location(), Some("/ui"));
    let list = app
        .call(
            "GET",
            &format!("/auth/admin/accounts?search={login}"),
            None,
            &[("x-admin-secret", common::ADMIN_SECRET)],
        )
        .await
        .json();
    let id = list["items"][0]["id"]
        .as_str()
        .or(list[0]["id"].as_str())
        .unwrap()
        .to_owned();
    let r = app
        .call(
            "POST",
            &format!("/auth/admin/accounts/{id}/block"),
            Some(json!({"reason": "spam"})),
            &[("x-admin-secret", common::ADMIN_SECRET)],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let page = b.get("/ui").await;
    assert_eq!(page.location(), Some("/ui/sign-in"));
    let page = b.sign_in(&login, PASSWORD).await;
    assert!(
        page.alert().unwrap_or_default().contains("blocked"),
        "{}",
        page.html
    );
});

each_backend!(async fn pages_carry_security_headers_and_unknown_pages_are_404(backend) {
    let app = app(backend).await;
    let mut b = Browser::new(&app);
    let page = b.get("/ui/sign-in").await;
    let h = |n: &str| {
        page.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(h("content-security-policy").contains("script-src 'self'"));
    assert!(h("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(h("x-frame-options"), "DENY");
    assert_eq!(h("cache-control"), "no-store");
    assert!(h("content-type").starts_with("text/html"));
    assert!(page.html.contains("<html lang=\"en\">"));
    assert!(page.html.contains("<label for=\"login\">Login</label>"));
    let css = b.get("/ui/static/ui.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let page = b.get("/ui/no-such-page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(page.h1(), "Page not found");
    // A forged flash cookie is ignored.
    b.cookies.insert(
        "warden_ui_flash".into(),
        "eyJraW5kIjoibm90aWNlIiwidGV4dCI6Imhp In0.00".into(),
    );
    let page = b.get("/ui/sign-in").await;
    assert!(!page.html.contains("role=\"status\""));
});

each_backend!(async fn pages_can_be_switched_off_moved_and_restyled(backend) {
    let off = app_with(backend, |c| c.ui = false).await;
    let r = off.get("/ui/sign-in", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .contains("problem+json")
    );

    let dir = std::env::temp_dir().join(format!("warden-ui-tpl-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(dir.join("static")).unwrap();
    std::fs::write(
        dir.join("sign_in.html"),
        "{% extends \"base.html\" %}{% block content %}<h1>Welcome to Acme</h1>{% endblock %}",
    )
    .unwrap();
    std::fs::write(dir.join("static/ui.css"), "body{color:#000}").unwrap();
    let d = dir.display().to_string();
    let app = app_with(backend, |c| {
        c.ui_path = "/login-pages".into();
        c.ui_template_dir = Some(d);
    })
    .await;
    let mut b = Browser::new(&app);
    let page = b.get("/login-pages/sign-in").await;
    assert_eq!(page.h1(), "Welcome to Acme");
    assert!(
        page.html.contains("/login-pages/static/ui.css")
            || page.html.contains("&#x2f;login-pages/static/ui.css")
    );
    assert_eq!(
        b.get("/login-pages/static/ui.css").await.html,
        "body{color:#000}"
    );
    assert_eq!(b.get("/ui/sign-in").await.status, StatusCode::NOT_FOUND);

    // A broken override is a configuration error.
    std::fs::write(dir.join("sign_in.html"), "{% block content %}").unwrap();
    let mut cfg = common::config();
    cfg.ui_template_dir = Some(dir.display().to_string());
    assert!(
        warden_server::config::validate(&cfg)
            .unwrap_err()
            .contains("sign_in.html")
    );
    let _ = std::fs::remove_dir_all(&dir);
});

each_backend!(async fn closed_registration_has_no_sign_up_page(backend) {
    let app = app_with(backend, |c| c.registration = "closed".into()).await;
    let mut b = Browser::new(&app);
    let page = b.get("/ui/sign-up").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        !b.get("/ui/sign-in")
            .await
            .html
            .contains("Create an account")
    );
});

// Credential forms share the per-IP rate limit of the JSON routes, and a
// person gets a page (with `Retry-After`), not problem+json.
each_backend!(async fn credential_forms_are_rate_limited_per_ip(backend) {
    let app = app_with(backend, |c| c.rate_limit_per_minute = 3).await;
    let mut b = Browser::new(&app);
    let login = unique("rl");
    let r = app
        .post(
            "/auth/register",
            json!({"login": login, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    b.open("/ui/sign-in").await;
    let mut last = None;
    for _ in 0..6 {
        let page = b
            .post(
                "/ui/sign-in",
                &[("login", &login), ("password", "wrong password!")],
            )
            .await;
        last = Some(page);
    }
    let page = last.unwrap();
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.html);
    assert!(page.headers.get("retry-after").is_some());
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.h1(), "Slow down");
    // The account pages' password checks share it.
    let page = b
        .post(
            "/ui/account/password",
            &[("current_password", "x"), ("new_password", "y")],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
});
