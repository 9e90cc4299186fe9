//! The TOTP second factor through the real router (issue 4), on every
//! backend, with the engine on a manual clock (the test kit's app).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use std::sync::Arc;
use time::Duration;
use warden_core::clock::{Clock, ManualClock};
use warden_core::mfa;
use warden_server::config::Config;
use warden_testkit::app::{ADMIN_SECRET, PASSWORD, Resp};
use warden_testkit::{Backend, each_backend};

/// A TOTP step boundary.
const T0: i64 = 1_700_000_010;

/// The app of the test kit on a manual clock.
struct App {
    kit: warden_testkit::app::App,
    clock: ManualClock,
}

impl std::ops::Deref for App {
    type Target = warden_testkit::app::App;
    fn deref(&self) -> &Self::Target {
        &self.kit
    }
}

async fn app_with(b: Backend, f: impl FnOnce(&mut Config)) -> App {
    let clock = ManualClock::at_unix(T0);
    let kit = warden_testkit::app::app_with_clock(b, Arc::new(clock.clone()), f).await;
    App { kit, clock }
}

async fn app(b: Backend) -> App {
    app_with(b, |_| {}).await
}

impl App {
    /// `method path` with a bearer token and a JSON body if given; admin
    /// paths carry the admin secret.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<_> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        if path.contains("/admin/") {
            headers.push(("x-admin-secret", ADMIN_SECRET));
        }
        self.kit.call(method, path, body, &headers).await
    }

    fn unix(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    fn code(&self, secret: &[u8], offset: i64) -> String {
        mfa::generate(secret, (self.unix() + offset) as u64, 6).unwrap()
    }

    /// Register `login` and sign in; returns (account id, access token).
    async fn user(&self, login: &str) -> (String, String) {
        let r = self
            .call(
                "POST",
                "/auth/register",
                None,
                Some(json!({"login": login, "password": PASSWORD})),
            )
            .await;
        r.assert_status(201);
        let id = r.json()["account"]["id"].as_str().unwrap().to_owned();
        let r = self.login(login).await;
        r.assert_status(200);
        (id, r.str("access_token"))
    }

    async fn login(&self, login: &str) -> Resp {
        self.call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"login": login, "password": PASSWORD})),
        )
        .await
    }

    /// Setup and confirm; returns the secret, the recovery codes and the
    /// confirming code. The clock moves on one step.
    async fn enrol(&self, token: &str) -> (Vec<u8>, Vec<String>, String) {
        let r = self
            .call("POST", "/auth/mfa/totp/setup", Some(token), None)
            .await;
        r.assert_status(200);
        let secret = decode(&r.str("secret"));
        let code = self.code(&secret, 0);
        let r = self
            .call(
                "POST",
                "/auth/mfa/totp/confirm",
                Some(token),
                Some(json!({ "code": code })),
            )
            .await;
        r.assert_status(200);
        let codes: Vec<String> =
            serde_json::from_value(r.json()["recovery_codes"].clone()).unwrap();
        self.clock.advance(Duration::seconds(30));
        (secret, codes, code)
    }

    /// Password login of an MFA account: the `mfa_token`.
    async fn mfa_token(&self, login: &str) -> String {
        let r = self.login(login).await;
        r.assert_status(200);
        assert_eq!(r.json()["mfa_required"], json!(true), "{}", r.json());
        assert_eq!(r.json()["methods"], json!(["totp", "recovery_code"]));
        assert!(r.json().get("access_token").is_none());
        assert_eq!(
            r.set_cookies().len(),
            0,
            "no cookies before the second factor"
        );
        r.str("mfa_token")
    }

    async fn finish(&self, mfa_token: &str, code: &str) -> Resp {
        self.call(
            "POST",
            "/auth/login/mfa",
            None,
            Some(json!({"mfa_token": mfa_token, "code": code})),
        )
        .await
    }

    async fn mfa_enabled(&self, token: &str) -> bool {
        let r = self.call("GET", "/auth/me", Some(token), None).await;
        r.assert_status(200);
        r.json()["mfa_enabled"].as_bool().unwrap()
    }
}

fn decode(secret_b32: &str) -> Vec<u8> {
    let secret = base32_decode(secret_b32);
    assert_eq!(secret.len(), 20);
    secret
}

/// RFC 4648 base 32 without padding.
fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHA.iter().position(|a| *a == c).expect("base32") as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

each_backend!(async fn whole_login_flow(b) {
    let app = app(b).await;
    let (id, token) = app.user("alice").await;
    assert!(!app.mfa_enabled(&token).await);

    let r = app
        .call("POST", "/auth/mfa/totp/setup", Some(&token), None)
        .await;
    r.assert_status(200);
    let uri = r.str("otpauth_uri");
    assert!(uri.starts_with("otpauth://totp/Warden:alice?"), "{uri}");
    assert!(uri.contains(&format!("secret={}", r.str("secret"))));
    assert!(uri.contains("issuer=Warden"));
    assert!(r.str("qr_svg").contains("<svg"));
    let secret = decode(&r.str("secret"));

    // Wrong code: 401 invalid_mfa_code, still off.
    let r = app
        .call(
            "POST",
            "/auth/mfa/totp/confirm",
            Some(&token),
            Some(json!({"code": app.code(&secret, 150)})),
        )
        .await;
    r.assert_problem(401, "invalid_mfa_code");
    assert!(!app.mfa_enabled(&token).await);
    assert!(app.login("alice").await.json().get("access_token").is_some());

    // Right code: ten recovery codes, on.
    let confirm_code = app.code(&secret, 0);
    let r = app
        .call(
            "POST",
            "/auth/mfa/totp/confirm",
            Some(&token),
            Some(json!({"code": confirm_code})),
        )
        .await;
    r.assert_status(200);
    let codes = r.json()["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(codes.len(), 10);
    assert!(app.mfa_enabled(&token).await);
    let r = app
        .call("GET", &format!("/auth/admin/accounts/{id}"), None, None)
        .await;
    r.assert_status(200);
    assert_eq!(r.json()["mfa_enabled"], json!(true));

    // Login: the MFA step, no tokens; the confirming code is spent.
    let mfa_token = app.mfa_token("alice").await;
    app.finish(&mfa_token, &confirm_code)
        .await
        .assert_problem(401, "invalid_mfa_code");
    app.clock.advance(Duration::seconds(30));
    let r = app.finish(&mfa_token, &app.code(&secret, 0)).await;
    r.assert_status(200);
    assert_eq!(r.set_cookies().len(), 3, "access, refresh and CSRF cookies");
    assert_eq!(r.str("token_type"), "Bearer");
    let access = r.str("access_token");
    let claims = app.warden.auth().sessions().authenticate(&access).await.unwrap();
    assert_eq!(claims.amr, vec!["pwd".to_owned(), "otp".to_owned()]);
    assert_eq!(claims.sub.to_string(), id);
    app.call("GET", "/auth/me", Some(&access), None)
        .await
        .assert_status(200);
    // The refreshed token keeps the amr of the session.
    let r = app
        .call(
            "POST",
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": r.str("refresh_token")})),
        )
        .await;
    r.assert_status(200);
    let claims = app
        .warden
        .auth()
        .sessions()
        .authenticate(&r.str("access_token"))
        .await
        .unwrap();
    assert_eq!(claims.amr, vec!["pwd".to_owned(), "otp".to_owned()]);

    // Single use.
    app.clock.advance(Duration::seconds(30));
    app.finish(&mfa_token, &app.code(&secret, 0))
        .await
        .assert_problem(401, "invalid_mfa_code");

    // Audit, through the admin route.
    let r = app
        .call(
            "GET",
            &format!("/auth/admin/audit?account_id={id}&limit=100"),
            None,
            None,
        )
        .await;
    r.assert_status(200);
    let events: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    for want in ["mfa.setup", "mfa.enabled", "mfa.failure", "login.success"] {
        assert!(events.iter().any(|e| e == want), "{want} not in {events:?}");
    }
    let audit = r.json();
    let otp_login = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "login.success" && e["detail"]["amr"] == json!(["pwd", "otp"]));
    assert!(otp_login.is_some(), "{}", r.json());
});

each_backend!(async fn replay_is_refused(b) {
    let app = app(b).await;
    let (_, token) = app.user("bob").await;
    let (secret, _, _) = app.enrol(&token).await;
    let code = app.code(&secret, 0);
    let t = app.mfa_token("bob").await;
    app.finish(&t, &code).await.assert_status(200);
    let t = app.mfa_token("bob").await;
    app.finish(&t, &code).await.assert_problem(401, "invalid_mfa_code");
    app.clock.advance(Duration::seconds(20));
    app.finish(&t, &code).await.assert_problem(401, "invalid_mfa_code");
});

each_backend!(async fn skew_one_step_yes_two_steps_no(b) {
    let app = app(b).await;
    let (_, token) = app.user("carol").await;
    let (secret, _, _) = app.enrol(&token).await;
    app.clock.advance(Duration::seconds(600));
    for offset in [-60, 60] {
        let t = app.mfa_token("carol").await;
        app.finish(&t, &app.code(&secret, offset))
            .await
            .assert_problem(401, "invalid_mfa_code");
    }
    let t = app.mfa_token("carol").await;
    app.finish(&t, &app.code(&secret, -30)).await.assert_status(200);
    let t = app.mfa_token("carol").await;
    app.finish(&t, &app.code(&secret, 30)).await.assert_status(200);
});

each_backend!(async fn three_wrong_codes_kill_the_mfa_token(b) {
    let app = app(b).await;
    let (_, token) = app.user("dave").await;
    let (secret, _, _) = app.enrol(&token).await;
    let t = app.mfa_token("dave").await;
    let right = app.code(&secret, 0);
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    for _ in 0..3 {
        app.finish(&t, &wrong)
            .await
            .assert_problem(401, "invalid_mfa_code");
    }
    app.finish(&t, &right)
        .await
        .assert_problem(401, "invalid_mfa_code");
    // The login starts over.
    let t = app.mfa_token("dave").await;
    app.finish(&t, &right).await.assert_status(200);
});

each_backend!(async fn mfa_token_expires_after_five_minutes(b) {
    let app = app(b).await;
    let (_, token) = app.user("erin").await;
    let (secret, _, _) = app.enrol(&token).await;
    let t = app.mfa_token("erin").await;
    app.clock.advance(Duration::seconds(5 * 60 + 1));
    app.finish(&t, &app.code(&secret, 0))
        .await
        .assert_problem(401, "invalid_mfa_code");
    app.finish("wmf_nonsense", "123456")
        .await
        .assert_problem(401, "invalid_mfa_code");
});

each_backend!(async fn recovery_code_reuse_refused(b) {
    let app = app(b).await;
    let (_, token) = app.user("frank").await;
    let (_, codes, _) = app.enrol(&token).await;
    let t = app.mfa_token("frank").await;
    let r = app.finish(&t, &codes[3]).await;
    r.assert_status(200);
    let claims = app
        .warden
        .auth()
        .sessions()
        .authenticate(&r.str("access_token"))
        .await
        .unwrap();
    assert_eq!(claims.amr, vec!["pwd".to_owned(), "otp".to_owned()]);
    let t = app.mfa_token("frank").await;
    app.finish(&t, &codes[3])
        .await
        .assert_problem(401, "invalid_mfa_code");
    app.finish(&t, &codes[4]).await.assert_status(200);
});

each_backend!(async fn setup_twice_replaces_pending_secret(b) {
    let app = app(b).await;
    let (_, token) = app.user("grace").await;
    let first = app
        .call("POST", "/auth/mfa/totp/setup", Some(&token), None)
        .await;
    let second = app
        .call("POST", "/auth/mfa/totp/setup", Some(&token), None)
        .await;
    assert_ne!(first.str("secret"), second.str("secret"));
    let (first, second) = (decode(&first.str("secret")), decode(&second.str("secret")));
    app.call(
        "POST",
        "/auth/mfa/totp/confirm",
        Some(&token),
        Some(json!({"code": app.code(&first, 0)})),
    )
    .await
    .assert_problem(401, "invalid_mfa_code");
    assert!(!app.mfa_enabled(&token).await);
    app.call(
        "POST",
        "/auth/mfa/totp/confirm",
        Some(&token),
        Some(json!({"code": app.code(&second, 0)})),
    )
    .await
    .assert_status(200);
    assert!(app.mfa_enabled(&token).await);
    // Enabled: setup again is refused.
    app.call("POST", "/auth/mfa/totp/setup", Some(&token), None)
        .await
        .assert_problem(400, "bad_request");
});

each_backend!(async fn delete_needs_the_password(b) {
    let app = app(b).await;
    let (id, token) = app.user("heidi").await;
    app.enrol(&token).await;
    app.call(
        "DELETE",
        "/auth/mfa/totp",
        Some(&token),
        Some(json!({"password": "not the password"})),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    assert!(app.mfa_enabled(&token).await);
    let r = app
        .call(
            "DELETE",
            "/auth/mfa/totp",
            Some(&token),
            Some(json!({ "password": PASSWORD })),
        )
        .await;
    r.assert_status(204);
    assert!(!app.mfa_enabled(&token).await);
    let r = app.login("heidi").await;
    r.assert_status(200);
    assert!(r.json().get("mfa_required").is_none());
    let claims = app
        .warden
        .auth()
        .sessions()
        .authenticate(&r.str("access_token"))
        .await
        .unwrap();
    assert_eq!(claims.amr, vec!["pwd".to_owned()]);
    let account = warden_core::model::AccountId::parse(&id).unwrap();
    assert!(app.store.active_totp(account).await.unwrap().is_none());
    assert_eq!(app.store.recovery_codes_left(account).await.unwrap(), 0);
});

each_backend!(async fn admin_route_turns_mfa_off(b) {
    let app = app(b).await;
    let (id, token) = app.user("ivan").await;
    app.enrol(&token).await;
    let account = warden_core::model::AccountId::parse(&id).unwrap();
    assert!(app.store.active_totp(account).await.unwrap().is_some());
    app.call(
        "DELETE",
        &format!("/auth/admin/accounts/{id}/mfa"),
        None,
        None,
    )
    .await
    .assert_status(204);
    assert!(app.store.active_totp(account).await.unwrap().is_none());
    assert_eq!(app.store.recovery_codes_left(account).await.unwrap(), 0);
    assert!(!app.mfa_enabled(&token).await);
    assert!(!app.warden.auth().mfa().mfa_status(account).await.unwrap());
    let r = app.login("ivan").await;
    assert!(r.json().get("access_token").is_some(), "{}", r.json());
});

each_backend!(async fn routes_need_a_token(b) {
    let app = app(b).await;
    app.call("POST", "/auth/mfa/totp/setup", None, None)
        .await
        .assert_problem(401, "unauthenticated");
    app.call(
        "POST",
        "/auth/mfa/totp/confirm",
        None,
        Some(json!({"code": "123456"})),
    )
    .await
    .assert_problem(401, "unauthenticated");
    app.call(
        "DELETE",
        "/auth/mfa/totp",
        None,
        Some(json!({"password": PASSWORD})),
    )
    .await
    .assert_problem(401, "unauthenticated");
    // Confirm without a setup.
    let (_, token) = app.user("judy").await;
    app.call(
        "POST",
        "/auth/mfa/totp/confirm",
        Some(&token),
        Some(json!({"code": "123456"})),
    )
    .await
    .assert_problem(400, "bad_request");
});

#[tokio::test]
async fn otp_disabled_hides_the_enrolment_routes() {
    let app = app_with(Backend::Sqlite, |c| c.otp_enabled = false).await;
    let (_, token) = app.user("kim").await;
    app.call("POST", "/auth/mfa/totp/setup", Some(&token), None)
        .await
        .assert_problem(404, "not_found");
    app.call(
        "DELETE",
        "/auth/mfa/totp",
        Some(&token),
        Some(json!({"password": PASSWORD})),
    )
    .await
    .assert_problem(404, "not_found");
    let doc = app.call("GET", "/openapi.json", None, None).await;
    doc.assert_status(200);
    let doc = doc.json();
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.keys().any(|p| p.contains("/mfa/totp")));
    // Accounts that enrolled before still finish their logins.
    app.finish("wmf_nonsense", "123456")
        .await
        .assert_problem(401, "invalid_mfa_code");
}

#[tokio::test]
async fn openapi_lists_the_mfa_routes() {
    let app = app(Backend::Memory).await;
    let doc = app.call("GET", "/openapi.json", None, None).await;
    doc.assert_status(200);
    let doc = doc.json();
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/auth/mfa/totp/setup",
        "/auth/mfa/totp/confirm",
        "/auth/mfa/totp",
        "/auth/login/mfa",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
}

#[tokio::test]
async fn issuer_comes_from_config() {
    let app = app_with(Backend::Memory, |c| c.otp_issuer = "Acme Corp".into()).await;
    let (_, token) = app.user("liam").await;
    let r = app
        .call("POST", "/auth/mfa/totp/setup", Some(&token), None)
        .await;
    r.assert_status(200);
    let uri = r.str("otpauth_uri");
    assert!(uri.starts_with("otpauth://totp/Acme%20Corp:liam?"), "{uri}");
    assert!(uri.contains("issuer=Acme%20Corp"));
}

#[tokio::test]
async fn encryption_key_config_is_validated() {
    let mut cfg = warden_testkit::app::config();
    cfg.encryption_key = Some("c2hvcnQ=".into());
    assert!(
        cfg.settings()
            .unwrap_err()
            .contains("WARDEN_ENCRYPTION_KEY")
    );
    cfg.encryption_key = Some("not base64 at all!".into());
    assert!(cfg.settings().is_err());
    cfg.encryption_key = Some(warden_core::mfa::EncryptionKey::generate().to_base64());
    assert!(cfg.settings().unwrap().encryption_key.is_some());
    cfg.otp_issuer = "a:b".into();
    assert!(cfg.settings().is_err());
    cfg.otp_issuer = "Warden".into();
    cfg.otp_block_tries = 0;
    assert!(cfg.settings().is_err());
}

#[tokio::test]
async fn generated_key_is_stored_once() {
    let store = warden_server::open_store("sqlite::memory:").await.unwrap();
    let cfg = warden_testkit::app::config();
    warden_server::build_warden(&cfg, store.clone())
        .await
        .unwrap();
    let first = store.setting("encryption_key").await.unwrap().unwrap();
    warden_server::build_warden(&cfg, store.clone())
        .await
        .unwrap();
    assert_eq!(
        store.setting("encryption_key").await.unwrap().unwrap(),
        first
    );
    assert!(warden_core::mfa::EncryptionKey::from_base64(&first).is_ok());
}

each_backend!(async fn wrong_codes_across_tokens_answer_429(b) {
    let app = app(b).await;
    let (_, token) = app.user("mona").await;
    let (secret, _, _) = app.enrol(&token).await;
    let right = app.code(&secret, 0);
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    for tries in [3, 2] {
        let t = app.mfa_token("mona").await;
        for _ in 0..tries {
            app.finish(&t, &wrong)
                .await
                .assert_problem(401, "invalid_mfa_code");
        }
    }
    let t = app.mfa_token("mona").await;
    let r = app.finish(&t, &right).await;
    r.assert_problem(429, "too_many_attempts");
    assert!(r.headers.contains_key("retry-after"));
    app.clock.advance(Duration::seconds(61));
    app.finish(&t, &app.code(&secret, 0)).await.assert_status(200);
});
