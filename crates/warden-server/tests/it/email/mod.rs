//! Email verification, password reset by mail and email change through the
//! real router (issue 6), on every backend, with the engine on a manual
//! clock and a mailer that records what it is given; plus the real transports:
//! SMTP against an in-process SMTP sink on loopback, and the outbox folder.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;
use time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tower::ServiceExt;
use warden_axum::mail::{QueuedMailer, SmtpMailer, Templates};
use warden_core::clock::ManualClock;
use warden_core::mail::{Mail, Mailer};
use warden_server::config::Config;
use warden_testkit::app::{PASSWORD, Resp};
use warden_testkit::mail::Capture;
use warden_testkit::{Backend, each_backend};

const NEW_PASSWORD: &str = "another fine horse battery";
const T0: i64 = 1_700_000_000;

/// The app of the test kit on a manual clock, with its mail kept.
struct App {
    kit: warden_testkit::app::App,
    clock: ManualClock,
    mails: Capture,
}

impl std::ops::Deref for App {
    type Target = warden_testkit::app::App;
    fn deref(&self) -> &Self::Target {
        &self.kit
    }
}

/// The test kit's configuration with the links' public URL.
fn config(f: impl FnOnce(&mut Config)) -> Config {
    let mut cfg = warden_testkit::app::config();
    cfg.public_url = "https://id.example.com".into();
    f(&mut cfg);
    cfg
}

async fn app_with(b: Backend, f: impl FnOnce(&mut Config)) -> App {
    let clock = ManualClock::at_unix(T0);
    let kit =
        warden_testkit::app::app_with_clock(b, Arc::new(clock.clone()), |c| *c = config(f)).await;
    let mails = Capture::default();
    kit.warden.auth().set_mailer(
        Arc::new(mails.clone()),
        Arc::new(Templates::load(None).unwrap()),
    );
    App { kit, clock, mails }
}

async fn app(b: Backend) -> App {
    app_with(b, |_| {}).await
}

/// `method path` on `router`, with a bearer token and a JSON body if given.
async fn call(
    router: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<_> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let req = warden_testkit::app::request(method, path, body.as_ref(), &headers);
    warden_testkit::app::read(router.clone().oneshot(req).await.unwrap()).await
}

/// The token of the link in a mail body.
fn token_in(body: &str) -> String {
    let start = body.find("token=").expect("no link in the mail") + "token=".len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

impl App {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        call(&self.router, method, path, token, body).await
    }

    async fn register(&self, login: &str, email: Option<&str>) -> Resp {
        let mut body = json!({"login": login, "password": PASSWORD});
        if let Some(e) = email {
            body["email"] = json!(e);
        }
        self.call("POST", "/auth/register", None, Some(body)).await
    }

    async fn login_with(&self, login: &str, password: &str) -> Resp {
        self.call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"login": login, "password": password})),
        )
        .await
    }

    /// Register with an email and sign in; returns the access token.
    async fn user(&self, login: &str, email: &str) -> String {
        self.register(login, Some(email)).await.assert_status(201);
        self.access(login, PASSWORD).await
    }

    async fn access(&self, login: &str, password: &str) -> String {
        let r = self.login_with(login, password).await;
        r.assert_status(200);
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    async fn verify(&self, token: &str) -> Resp {
        self.call(
            "POST",
            "/auth/email/verify",
            None,
            Some(json!({"token": token})),
        )
        .await
    }

    async fn forgot(&self, email: &str) -> Resp {
        self.call(
            "POST",
            "/auth/password/forgot",
            None,
            Some(json!({"email": email})),
        )
        .await
    }

    async fn reset(&self, token: &str, password: &str) -> Resp {
        self.call(
            "POST",
            "/auth/password/reset",
            None,
            Some(json!({"token": token, "new_password": password})),
        )
        .await
    }

    async fn events(&self) -> Vec<(String, Value)> {
        self.audit_all()
            .await
            .into_iter()
            .map(|e| (e.event, e.detail))
            .collect()
    }

    async fn has_event(&self, name: &str) -> bool {
        self.events().await.iter().any(|(n, _)| n == name)
    }
}

each_backend!(async fn verification_link_works_once(b) {
    let app = app(b).await;
    let at = app.user("alice", "Alice@Example.com").await;
    let r = app.call("GET", "/auth/email", Some(&at), None).await;
    r.assert_status(200);
    assert_eq!(
        r.json(),
        json!({"email": "Alice@Example.com", "verified": false})
    );
    assert_eq!(app.mails.count(), 0, "{b:?}: no mail before asked");

    app.call("POST", "/auth/email/verification", Some(&at), None)
        .await
        .assert_status(202);
    let mail = app.mails.last();
    assert_eq!(mail.to, "Alice@Example.com");
    assert_eq!(mail.subject, "Confirm your email address");
    assert!(
        mail.text
            .contains("https://id.example.com/ui/email/verify?token="),
        "{}",
        mail.text
    );
    let token = token_in(&mail.text);
    // Autoescaped HTML: the link is there with its entities.
    let html = mail.html.as_deref().unwrap();
    assert!(html.contains(&format!("{token}\"")), "{html}");
    assert!(html.contains("id.example.com"), "{html}");
    assert_eq!(token.len(), 43);

    app.verify("not-a-token")
        .await
        .assert_problem(400, "invalid_token");
    app.verify(&token).await.assert_status(204);
    app.verify(&token).await.assert_problem(400, "invalid_token");
    let r = app.call("GET", "/auth/email", Some(&at), None).await;
    assert_eq!(r.json()["verified"], json!(true), "{b:?}");
    // Verified: nothing more to send.
    app.call("POST", "/auth/email/verification", Some(&at), None)
        .await
        .assert_problem(400, "bad_request");
    assert!(app.has_event("email.verification_sent").await);
    assert!(app.has_event("email.verified").await);
    // Nothing secret in the audit trail.
    for (_, detail) in app.events().await {
        assert!(!detail.to_string().contains(&token));
    }
});

#[tokio::test]
async fn verification_needs_an_email_and_auth() {
    let app = app(Backend::Memory).await;
    app.register("noemail", None).await.assert_status(201);
    let at = app.access("noemail", PASSWORD).await;
    app.call("POST", "/auth/email/verification", Some(&at), None)
        .await
        .assert_problem(400, "bad_request");
    let r = app.call("GET", "/auth/email", Some(&at), None).await;
    assert_eq!(r.json(), json!({"email": null, "verified": false}));
    app.call("GET", "/auth/email", None, None)
        .await
        .assert_status(401);
    app.call("POST", "/auth/email/verification", None, None)
        .await
        .assert_status(401);
}

each_backend!(async fn expired_verification_token_is_refused(b) {
    let app = app(b).await;
    let at = app.user("bob", "bob@example.com").await;
    app.call("POST", "/auth/email/verification", Some(&at), None)
        .await
        .assert_status(202);
    let token = token_in(&app.mails.last().text);
    app.clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    app.verify(&token).await.assert_problem(400, "invalid_token");
});

each_backend!(async fn cooldown_then_newer_token_voids_older(b) {
    let app = app(b).await;
    let at = app.user("carol", "carol@example.com").await;
    app.call("POST", "/auth/email/verification", Some(&at), None)
        .await
        .assert_status(202);
    let old = token_in(&app.mails.last().text);
    app.clock.advance(Duration::seconds(20));
    let r = app
        .call("POST", "/auth/email/verification", Some(&at), None)
        .await;
    r.assert_problem(429, "too_many_attempts");
    assert_eq!(r.headers.get("retry-after").unwrap(), "40");
    assert_eq!(app.mails.count(), 1);
    app.clock.advance(Duration::seconds(41));
    app.call("POST", "/auth/email/verification", Some(&at), None)
        .await
        .assert_status(202);
    let new = token_in(&app.mails.last().text);
    assert_ne!(old, new);
    app.verify(&old).await.assert_problem(400, "invalid_token");
    app.verify(&new).await.assert_status(204);
});

#[tokio::test]
async fn cooldown_is_configurable() {
    let app = app_with(Backend::Memory, |c| {
        c.email_cooldown = warden_server::config::Dur(Duration::ZERO)
    })
    .await;
    let at = app.user("dan", "dan@example.com").await;
    for _ in 0..3 {
        app.call("POST", "/auth/email/verification", Some(&at), None)
            .await
            .assert_status(202);
    }
    assert_eq!(app.mails.count(), 3);
}

each_backend!(async fn forgot_unknown_email_sends_nothing_and_answers_the_same(b) {
    let app = app(b).await;
    app.user("erin", "erin@example.com").await;
    let r = app.forgot("nobody@example.com").await;
    r.assert_status(202);
    assert_eq!(r.json(), Value::Null);
    let known = app.forgot("ERIN@example.com").await;
    known.assert_status(202);
    assert_eq!(known.json(), r.json());
    let mail = app.mails.wait_for(1).await;
    assert_eq!(mail.to, "erin@example.com");
    assert_eq!(mail.subject, "Reset your password");
    assert!(
        mail.text
            .contains("https://id.example.com/ui/password/reset?token=")
    );
    // Both requests' lookups have ended: no mail is still on its way.
    assert!(app.warden.settle(StdDuration::from_secs(10)).await);
    assert_eq!(
        app.mails.count(),
        1,
        "{b:?}: no mail for the unknown address"
    );
    let requested: Vec<_> = app
        .events()
        .await
        .into_iter()
        .filter(|(n, _)| n == "password.reset_requested")
        .collect();
    assert_eq!(requested.len(), 1);
    assert!(!requested[0].1.to_string().contains("erin@"));
    // Malformed input is answered the same too.
    app.forgot("not an address").await.assert_status(202);
});

each_backend!(async fn reset_sets_the_password_and_revokes_sessions(b) {
    let app = app(b).await;
    let at = app.user("frank", "frank@example.com").await;
    app.call("GET", "/auth/me", Some(&at), None)
        .await
        .assert_status(200);
    app.forgot("frank@example.com").await.assert_status(202);
    let token = token_in(&app.mails.wait_for(1).await.text);
    // Password rules first: the token survives a refused password.
    app.reset(&token, "short")
        .await
        .assert_problem(422, "validation_failed");
    app.reset(&token, NEW_PASSWORD).await.assert_status(204);
    app.reset(&token, "yet another good password")
        .await
        .assert_problem(400, "invalid_token");
    app.call("GET", "/auth/me", Some(&at), None)
        .await
        .assert_status(401);
    app.login_with("frank", PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
    app.access("frank", NEW_PASSWORD).await;
    assert!(app.has_event("password.reset").await);
});

#[tokio::test]
async fn reset_token_expires_and_dies_on_password_change() {
    let app = app(Backend::Sqlite).await;
    app.user("gina", "gina@example.com").await;
    app.forgot("gina@example.com").await.assert_status(202);
    let token = token_in(&app.mails.wait_for(1).await.text);
    app.clock.advance(Duration::minutes(31));
    app.reset(&token, NEW_PASSWORD)
        .await
        .assert_problem(400, "invalid_token");

    app.forgot("gina@example.com").await.assert_status(202);
    let token = token_in(&app.mails.wait_for(2).await.text);
    let at = app.access("gina", PASSWORD).await;
    app.call(
        "POST",
        "/auth/password",
        Some(&at),
        Some(json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
    )
    .await
    .assert_status(204);
    app.reset(&token, "yet another good password")
        .await
        .assert_problem(400, "invalid_token");
}

each_backend!(async fn require_verified_email_flow(b) {
    let app = app_with(b, |c| c.require_verified_email = true).await;
    let r = app.register("hank", None).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.json()["errors"][0]["field"], json!("email"), "{}", r.json());
    let r = app.register("hank", Some("hank@example.com")).await;
    r.assert_status(201);
    assert_eq!(r.json()["account"]["active"], json!(false), "{}", r.json());
    app.login_with("hank", PASSWORD)
        .await
        .assert_problem(403, "account_inactive");
    let mail = app.mails.last();
    assert_eq!(mail.to, "hank@example.com");
    app.verify(&token_in(&mail.text)).await.assert_status(204);
    let at = app.access("hank", PASSWORD).await;
    let r = app.call("GET", "/auth/email", Some(&at), None).await;
    assert_eq!(r.json()["verified"], json!(true));
});

each_backend!(async fn email_change_switches_only_after_confirmation(b) {
    let app = app(b).await;
    let at = app.user("ivy", "ivy@example.com").await;
    app.user("other", "taken@example.com").await;
    let change =
        |email: &str, password: &str| json!({"new_email": email, "password": password});
    app.call(
        "POST",
        "/auth/email/change",
        Some(&at),
        Some(change("new@example.com", "wrong password here")),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    app.call(
        "POST",
        "/auth/email/change",
        Some(&at),
        Some(change("bad", PASSWORD)),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.call(
        "POST",
        "/auth/email/change",
        Some(&at),
        Some(change("TAKEN@example.com", PASSWORD)),
    )
    .await
    .assert_problem(409, "email_taken");
    assert_eq!(app.mails.count(), 0);
    app.call(
        "POST",
        "/auth/email/change",
        Some(&at),
        Some(change("new@example.com", PASSWORD)),
    )
    .await
    .assert_status(202);
    let mail = app.mails.last();
    assert_eq!(mail.to, "new@example.com");
    assert_eq!(mail.subject, "Confirm your new email address");
    let r = app.call("GET", "/auth/email", Some(&at), None).await;
    assert_eq!(
        r.json()["email"],
        json!("ivy@example.com"),
        "{b:?}: not switched yet"
    );
    app.verify(&token_in(&mail.text)).await.assert_status(204);
    let r = app.call("GET", "/auth/email", Some(&at), None).await;
    assert_eq!(
        r.json(),
        json!({"email": "new@example.com", "verified": true})
    );
    assert!(app.has_event("email.change_requested").await);
    assert!(app.has_event("email.changed").await);

    // Taken between the request and the confirmation.
    app.call(
        "POST",
        "/auth/email/change",
        Some(&at),
        Some(change("race@example.com", PASSWORD)),
    )
    .await
    .assert_status(202);
    let token = token_in(&app.mails.last().text);
    app.register("racer", Some("race@example.com"))
        .await
        .assert_status(201);
    app.verify(&token).await.assert_problem(409, "email_taken");
    let r = app.call("GET", "/auth/email", Some(&at), None).await;
    assert_eq!(r.json()["email"], json!("new@example.com"));
});

#[tokio::test]
async fn verify_page_posts_the_token() {
    let app = app(Backend::Memory).await;
    let req = Request::builder()
        .uri("/auth/email/verify?token=abc%22%3Cx")
        .body(Body::empty())
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(body.contains("data-token=\"abc&quot;&lt;x\""), "{body}");
    assert!(body.contains("method:'POST'"));
}

#[tokio::test]
async fn email_routes_are_documented() {
    let app = app(Backend::Memory).await;
    let r = app.call("GET", "/openapi.json", None, None).await;
    r.assert_status(200);
    for path in [
        "/auth/email",
        "/auth/email/verification",
        "/auth/email/verify",
        "/auth/password/forgot",
        "/auth/password/reset",
        "/auth/email/change",
    ] {
        assert!(r.json()["paths"][path].is_object(), "{path} missing");
    }
}

mod transports;
