//! Passkeys (issue 12) through the real router, with
//! webauthn-rs's software authenticator (`webauthn-authenticator-rs`,
//! `softpasskey`) playing the browser and the authenticator.
//!
//! The soft authenticator cannot store resident keys and never reports a
//! user handle, so [`Soft`] plays the part of a browser with a discoverable
//! credential: it lifts `requireResidentKey` from the creation options,
//! names its own credential in the request options (a browser finds it by
//! itself), and adds the user handle it was registered with to the
//! assertion. The signatures are the authenticator's, unchanged.
//!
//! Part of the router suite: each test runs on memory, SQLite, PostgreSQL
//! and MySQL.

use crate::common::*;
use serde_json::{Value, json};
use std::sync::Arc;
use time::Duration;
use uuid::Uuid;
use warden_core::clock::ManualClock;
use warden_core::store::AuditQuery;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const ORIGIN: &str = "https://auth.example.com";
const T0: i64 = 1_800_000_000;

fn passkey_config(cfg: &mut warden_server::config::Config) {
    cfg.webauthn_rp_id = Some("example.com".into());
    cfg.webauthn_origin = Some(ORIGIN.into());
}

async fn app_at(b: Backend) -> (App, ManualClock) {
    let clock = ManualClock::at_unix(T0);
    let app = app_with_clock(b, Arc::new(clock.clone()), passkey_config).await;
    (app, clock)
}

/// A software authenticator holding one credential.
struct Soft {
    auth: SoftPasskey,
    cred_id: Vec<u8>,
    user: Vec<u8>,
    attachment: &'static str,
}

impl Soft {
    fn new(attachment: &'static str) -> Self {
        Self {
            auth: SoftPasskey::new(true),
            cred_id: Vec::new(),
            user: Vec::new(),
            attachment,
        }
    }

    /// `navigator.credentials.create(options)` at `origin`, as JSON.
    fn create(&mut self, options: &Value, origin: &str) -> Value {
        let mut options = options.clone();
        let sel = options["publicKey"]["authenticatorSelection"]
            .as_object_mut()
            .expect("authenticatorSelection");
        assert_eq!(sel["residentKey"], json!("required"));
        assert_eq!(sel["userVerification"], json!("required"));
        sel.insert("requireResidentKey".into(), json!(false));
        sel.remove("residentKey");
        let ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let user = ccr.public_key.user.id.clone();
        let reg = self
            .auth
            .do_registration(Url::parse(origin).unwrap(), ccr)
            .expect("soft registration");
        self.cred_id = reg.raw_id.clone();
        self.user = user;
        let mut v = serde_json::to_value(&reg).unwrap();
        v["authenticatorAttachment"] = json!(self.attachment);
        v
    }

    /// `navigator.credentials.get(options)` at `origin`, as JSON.
    fn get(&mut self, options: &Value, origin: &str) -> Value {
        assert_eq!(options["publicKey"]["allowCredentials"], json!([]));
        assert!(options.get("mediation").is_none());
        let mut options = options.clone();
        options["publicKey"]["allowCredentials"] =
            json!([{"type": "public-key", "id": b64e(&self.cred_id)}]);
        let rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let mut cred = self
            .auth
            .do_authentication(Url::parse(origin).unwrap(), rcr)
            .expect("soft assertion");
        cred.response.user_handle = Some(self.user.clone());
        let mut v = serde_json::to_value(&cred).unwrap();
        v["authenticatorAttachment"] = json!(self.attachment);
        v
    }
}

/// The passkey routes on the harness app.
trait PasskeyApp {
    async fn add_passkey(&self, token: &str, soft: &mut Soft, name: Option<&str>) -> Resp;
    async fn passkey_login(&self, soft: &mut Soft) -> Resp;
    async fn passkey_signup(&self, login: &str, soft: &mut Soft) -> Resp;
    async fn events(&self, account: &str) -> Vec<Value>;
}

impl PasskeyApp for App {
    /// Register a passkey for a signed-in account; answers the finish response.
    async fn add_passkey(&self, token: &str, soft: &mut Soft, name: Option<&str>) -> Resp {
        let r = self
            .post(
                "/auth/passkeys/register/begin",
                json!({"name": name}),
                Some(token),
            )
            .await;
        r.assert_status(200);
        let b = r.json();
        let credential = soft.create(&b["options"], ORIGIN);
        self.post(
            "/auth/passkeys/register/finish",
            json!({"challenge_id": b["challenge_id"], "credential": credential}),
            Some(token),
        )
        .await
    }

    /// Sign in with a passkey.
    async fn passkey_login(&self, soft: &mut Soft) -> Resp {
        let r = self.post_empty("/auth/passkeys/login/begin", None).await;
        r.assert_status(200);
        let b = r.json();
        let credential = soft.get(&b["options"], ORIGIN);
        self.post(
            "/auth/passkeys/login/finish",
            json!({"challenge_id": b["challenge_id"], "credential": credential}),
            None,
        )
        .await
    }

    /// Passkey-only sign-up; answers the finish response.
    async fn passkey_signup(&self, login: &str, soft: &mut Soft) -> Resp {
        let r = self
            .post("/auth/passkeys/signup/begin", json!({"login": login}), None)
            .await;
        r.assert_status(200);
        let b = r.json();
        let credential = soft.create(&b["options"], ORIGIN);
        self.post(
            "/auth/passkeys/signup/finish",
            json!({"challenge_id": b["challenge_id"], "credential": credential}),
            None,
        )
        .await
    }

    async fn events(&self, account: &str) -> Vec<Value> {
        let id = warden_core::model::AccountId::parse(account).unwrap();
        self.store
            .audit(&AuditQuery {
                account_id: Some(id),
                limit: 200,
                ..AuditQuery::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|e| json!({"event": e.event, "detail": e.detail}))
            .collect()
    }
}

fn amr(r: &Resp) -> Value {
    Pair::from_resp(r).claims()["amr"].clone()
}

each_backend! {
    async fn register_list_and_sign_in(b) {
        let (app, _) = app_at(b).await;
        let user = app.user().await;
        let mut soft = Soft::new("platform");
        let r = app.add_passkey(&user.pair.access, &mut soft, Some("Laptop")).await;
        r.assert_status(201);
        let p = r.json();
        assert_eq!(p["name"], json!("Laptop"));
        assert!(p["last_used_at"].is_null());
        assert!(p["created_at"].is_string());
        assert!(p["backup_eligible"].is_boolean());
        let list = app.get("/auth/passkeys", Some(&user.pair.access)).await;
        list.assert_status(200);
        assert_eq!(list.json().as_array().unwrap().len(), 1);
        assert_eq!(list.json()[0]["id"], p["id"]);

        // Discoverable sign-in: no login name; platform authenticator -> swk.
        let r = app.passkey_login(&mut soft).await;
        assert_eq!(amr(&r), json!(["swk"]));
        assert!(r.set_cookie("warden_access").is_some() || !r.set_cookies().is_empty());
        let pair = Pair::from_resp(&r);
        assert_eq!(pair.claims()["sub"], json!(user.id));
        assert_eq!(app.me_status(&pair.access).await.0, 200);
        let list = app.get("/auth/passkeys", Some(&pair.access)).await.json();
        assert!(list[0]["last_used_at"].is_string());
        // A roaming authenticator (security key, phone) -> hwk.
        let mut key = Soft::new("cross-platform");
        app.add_passkey(&pair.access, &mut key, None).await.assert_status(201);
        let r = app.passkey_login(&mut key).await;
        assert_eq!(amr(&r), json!(["hwk"]));
        let list = app.get("/auth/passkeys", Some(&pair.access)).await.json();
        assert_eq!(list[1]["name"], json!("Passkey"));
        // Rename.
        let id = list[1]["id"].as_str().unwrap();
        let r = app
            .call("PATCH", &format!("/auth/passkeys/{id}"), Some(json!({"name": "YubiKey"})),
                &[("authorization", &format!("Bearer {}", pair.access))])
            .await;
        r.assert_status(200);
        assert_eq!(r.json()["name"], json!("YubiKey"));
        // The audit trail.
        let events = app.events(&user.id).await;
        assert!(events.iter().any(|e| e["event"] == json!("passkey.registered")));
        assert!(events.iter().any(|e| e["event"] == json!("login.success")
            && e["detail"]["method"] == json!("passkey")));
    }
}

each_backend! {
    async fn challenges_are_single_use_bound_and_expiring(b) {
        let (app, clock) = app_at(b).await;
        let user = app.user().await;
        let mut soft = Soft::new("platform");
        app.add_passkey(&user.pair.access, &mut soft, None).await.assert_status(201);

        // Used twice: the second finish is refused.
        let r = app.post_empty("/auth/passkeys/login/begin", None).await.json();
        let credential = soft.get(&r["options"], ORIGIN);
        let body = json!({"challenge_id": r["challenge_id"], "credential": credential});
        app.post("/auth/passkeys/login/finish", body.clone(), None).await.assert_status(200);
        app.post("/auth/passkeys/login/finish", body, None).await.assert_problem(400, "invalid_token");

        // Expired after 5 minutes.
        let r = app.post_empty("/auth/passkeys/login/begin", None).await.json();
        let credential = soft.get(&r["options"], ORIGIN);
        clock.advance(Duration::minutes(5) + Duration::seconds(1));
        app.post("/auth/passkeys/login/finish",
            json!({"challenge_id": r["challenge_id"], "credential": credential}), None)
            .await
            .assert_problem(400, "invalid_token");

        // Bound to its ceremony: a sign-in challenge does not finish a registration.
        let r = app.post_empty("/auth/passkeys/login/begin", None).await.json();
        let mut other = Soft::new("platform");
        let reg = app.post("/auth/passkeys/register/begin", json!({}), Some(&user.pair.access)).await.json();
        let credential = other.create(&reg["options"], ORIGIN);
        app.post("/auth/passkeys/register/finish",
            json!({"challenge_id": r["challenge_id"], "credential": credential}), Some(&user.pair.access))
            .await
            .assert_problem(400, "invalid_token");
        // Unknown and malformed challenge ids.
        app.post("/auth/passkeys/login/finish",
            json!({"challenge_id": "nope", "credential": {}}), None)
            .await
            .assert_problem(400, "invalid_token");
        app.post("/auth/passkeys/login/finish",
            json!({"challenge_id": "x".repeat(500), "credential": {}}), None)
            .await
            .assert_problem(400, "invalid_token");
        // Garbage credential: a 400, never a 500.
        let r = app.post_empty("/auth/passkeys/login/begin", None).await.json();
        app.post("/auth/passkeys/login/finish",
            json!({"challenge_id": r["challenge_id"], "credential": {"id": 7}}), None)
            .await
            .assert_problem(400, "bad_request");
        // Another account's registration challenge.
        let bob = app.user().await;
        let reg = app.post("/auth/passkeys/register/begin", json!({}), Some(&user.pair.access)).await.json();
        let credential = Soft::new("platform").create(&reg["options"], ORIGIN);
        app.post("/auth/passkeys/register/finish",
            json!({"challenge_id": reg["challenge_id"], "credential": credential}), Some(&bob.pair.access))
            .await
            .assert_problem(400, "invalid_token");
    }
}

each_backend! {
    async fn wrong_origin_and_unknown_authenticator_are_refused(b) {
        let (app, _) = app_at(b).await;
        let user = app.user().await;
        // Registration from another origin (same registrable domain, so the
        // authenticator agrees; the server does not).
        let mut soft = Soft::new("platform");
        let r = app.post("/auth/passkeys/register/begin", json!({}), Some(&user.pair.access)).await.json();
        let credential = soft.create(&r["options"], "https://evil.example.com");
        app.post("/auth/passkeys/register/finish",
            json!({"challenge_id": r["challenge_id"], "credential": credential}), Some(&user.pair.access))
            .await
            .assert_problem(400, "bad_request");
        assert!(app.get("/auth/passkeys", Some(&user.pair.access)).await.json().as_array().unwrap().is_empty());

        // Sign-in from another origin.
        app.add_passkey(&user.pair.access, &mut soft, None).await.assert_status(201);
        let r = app.post_empty("/auth/passkeys/login/begin", None).await.json();
        let credential = soft.get(&r["options"], "https://evil.example.com");
        app.post("/auth/passkeys/login/finish",
            json!({"challenge_id": r["challenge_id"], "credential": credential}), None)
            .await
            .assert_problem(401, "invalid_credentials");

        // A credential the server never registered.
        let mut stranger = Soft::new("platform");
        let opts = app.post("/auth/passkeys/signup/begin", json!({"login": unique("ghost")}), None).await.json();
        stranger.create(&opts["options"], ORIGIN); // never finished
        app.passkey_login(&mut stranger).await.assert_problem(401, "invalid_credentials");
        // A known credential presented with another account's user handle.
        let bob = app.user().await;
        soft.user = Uuid::parse_str(&bob.id).unwrap().as_bytes().to_vec();
        app.passkey_login(&mut soft).await.assert_problem(401, "invalid_credentials");
        // The same credential cannot be registered twice (excluded, and refused).
        let events = app.events(&user.id).await;
        assert!(events.iter().any(|e| e["event"] == json!("login.failure")
            && e["detail"]["method"] == json!("passkey")));
    }
}

each_backend! {
    async fn passkey_only_account(b) {
        let (app, _) = app_at(b).await;
        let login = unique("pk");
        let mut soft = Soft::new("platform");
        let r = app.passkey_signup(&login, &mut soft).await;
        assert_eq!(amr(&r), json!(["swk"]));
        assert!(!r.set_cookies().is_empty());
        let pair = Pair::from_resp(&r);
        let me = app.get("/auth/me", Some(&pair.access)).await;
        me.assert_status(200);
        let id = me.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(me.json()["login"], json!(login));
        // Sign in again without a password.
        let r = app.passkey_login(&mut soft).await;
        assert_eq!(Pair::from_resp(&r).claims()["sub"], json!(id));
        // No password works: not even an empty one.
        app.login(&login, PASSWORD).await.assert_problem(401, "invalid_credentials");
        // The only passkey cannot go.
        let list = app.get("/auth/passkeys", Some(&pair.access)).await.json();
        let first = list[0]["id"].as_str().unwrap().to_owned();
        app.delete(&format!("/auth/passkeys/{first}"), Some(&pair.access))
            .await
            .assert_problem(409, "last_sign_in_method");
        app.admin("DELETE", &format!("/auth/admin/accounts/{id}/passkeys/{first}"), None)
            .await
            .assert_problem(409, "last_sign_in_method");
        // With a second one, one may go.
        let mut second = Soft::new("cross-platform");
        app.add_passkey(&pair.access, &mut second, Some("key")).await.assert_status(201);
        app.delete(&format!("/auth/passkeys/{first}"), Some(&pair.access)).await.assert_status(204);
        app.passkey_login(&mut soft).await.assert_problem(401, "invalid_credentials");
        assert_eq!(amr(&app.passkey_login(&mut second).await), json!(["hwk"]));
        let events = app.events(&id).await;
        assert!(events.iter().any(|e| e["event"] == json!("passkey.deleted")
            && e["detail"]["by"] == json!("self")));

        // Sign-up rules: a taken login, bad logins, a taken login at finish time.
        let r = app.post("/auth/passkeys/signup/begin", json!({"login": login.to_uppercase()}), None).await;
        r.assert_problem(409, "login_taken");
        let r = app.post("/auth/passkeys/signup/begin", json!({"login": "a"}), None).await;
        r.assert_problem(422, "validation_failed");
        let r = app.post("/auth/passkeys/signup/begin", json!({"login": unique("ok"), "email": "nope"}), None).await;
        r.assert_problem(422, "validation_failed");
        let late = unique("late");
        let begun = app.post("/auth/passkeys/signup/begin", json!({"login": late}), None).await.json();
        app.register(&late, PASSWORD).await.assert_status(201);
        let credential = Soft::new("platform").create(&begun["options"], ORIGIN);
        app.post("/auth/passkeys/signup/finish",
            json!({"challenge_id": begun["challenge_id"], "credential": credential}), None)
            .await
            .assert_problem(409, "login_taken");
    }
}

each_backend! {
    async fn closed_registration_refuses_passkey_signup(b) {
        let clock = ManualClock::at_unix(T0);
        let app = app_with_clock(b, Arc::new(clock), |cfg| {
            passkey_config(cfg);
            cfg.registration = "closed".into();
        })
        .await;
        app.post("/auth/passkeys/signup/begin", json!({"login": unique("x")}), None)
            .await
            .assert_problem(403, "forbidden");
    }
}

each_backend! {
    async fn ownership_and_admin(b) {
        let (app, _) = app_at(b).await;
        let alice = app.user().await;
        let bob = app.user().await;
        let mut soft = Soft::new("platform");
        let p = app.add_passkey(&alice.pair.access, &mut soft, None).await.json();
        let pid = p["id"].as_str().unwrap();
        // Bob cannot see, rename or delete it.
        assert!(app.get("/auth/passkeys", Some(&bob.pair.access)).await.json().as_array().unwrap().is_empty());
        app.delete(&format!("/auth/passkeys/{pid}"), Some(&bob.pair.access)).await.assert_problem(404, "not_found");
        app.call("PATCH", &format!("/auth/passkeys/{pid}"), Some(json!({"name": "mine"})),
            &[("authorization", &format!("Bearer {}", bob.pair.access))])
            .await
            .assert_problem(404, "not_found");
        app.delete("/auth/passkeys/not-a-uuid", Some(&bob.pair.access)).await.assert_problem(404, "not_found");
        app.get("/auth/passkeys", None).await.assert_problem(401, "unauthenticated");
        // Admin.
        let r = app.admin("GET", &format!("/auth/admin/accounts/{}/passkeys", alice.id), None).await;
        r.assert_status(200);
        assert_eq!(r.json()[0]["id"], json!(pid));
        app.admin("GET", &format!("/auth/admin/accounts/{}/passkeys", Uuid::now_v7()), None)
            .await
            .assert_problem(404, "not_found");
        app.get(&format!("/auth/admin/accounts/{}/passkeys", alice.id), Some(&bob.pair.access))
            .await
            .assert_status(403);
        app.admin("DELETE", &format!("/auth/admin/accounts/{}/passkeys/{pid}", bob.id), None)
            .await
            .assert_problem(404, "not_found");
        app.admin("DELETE", &format!("/auth/admin/accounts/{}/passkeys/{pid}", alice.id), None)
            .await
            .assert_status(204);
        app.passkey_login(&mut soft).await.assert_problem(401, "invalid_credentials");
        let events = app.events(&alice.id).await;
        assert!(events.iter().any(|e| e["event"] == json!("passkey.deleted")
            && e["detail"]["by"] == json!("admin") && e["detail"]["actor"] == json!("admin_secret")));
    }
}

each_backend! {
    async fn blocked_account_and_totp_account(b) {
        let (app, clock) = app_at(b).await;
        // Blocked: refused like a password login.
        let alice = app.user().await;
        let mut soft = Soft::new("platform");
        app.add_passkey(&alice.pair.access, &mut soft, None).await.assert_status(201);
        app.admin("POST", &format!("/auth/admin/accounts/{}/block", alice.id), Some(json!({"reason": "test"})))
            .await
            .assert_status(204);
        app.passkey_login(&mut soft).await.assert_problem(403, "account_blocked");
        let events = app.events(&alice.id).await;
        assert!(events.iter().any(|e| e["event"] == json!("login.failure")
            && e["detail"]["method"] == json!("passkey")
            && e["detail"]["reason"] == json!("account_blocked")));

        // TOTP: the password login asks for the code, the passkey does not.
        let bob = app.user().await;
        let setup = app.post_empty("/auth/mfa/totp/setup", Some(&bob.pair.access)).await.json();
        let secret = b32(setup["secret"].as_str().unwrap());
        let now = clock_unix(&clock);
        let code = warden_core::mfa::generate(&secret, now as u64, 6).unwrap();
        app.post("/auth/mfa/totp/confirm", json!({"code": code}), Some(&bob.pair.access))
            .await
            .assert_status(200);
        assert_eq!(app.login(&bob.login, PASSWORD).await.json()["mfa_required"], json!(true));
        let mut key = Soft::new("platform");
        app.add_passkey(&bob.pair.access, &mut key, None).await.assert_status(201);
        let r = app.passkey_login(&mut key).await;
        assert_eq!(amr(&r), json!(["swk"]));
        assert_eq!(app.me_status(&Pair::from_resp(&r).access).await.0, 200);
    }
}

fn clock_unix(clock: &ManualClock) -> i64 {
    use warden_core::clock::Clock;
    clock.now().unix_timestamp()
}

/// Base 32 (RFC 4648, no padding) to bytes.
fn b32(s: &str) -> Vec<u8> {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHA.iter().position(|a| *a == c).expect("base32") as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn passkeys_off_without_a_domain() {
    // The default public URL is a loopback IP: passkeys work on localhost.
    let cfg = config();
    let s = cfg
        .settings()
        .unwrap()
        .webauthn
        .expect("localhost passkeys");
    assert_eq!(s.rp_id, "localhost");
    assert_eq!(s.origin, "http://localhost:8080");
    // Any other IP: off, and the routes say so.
    let app = app_with(Backend::Memory, |cfg| {
        cfg.public_url = "http://192.0.2.1:8080".into()
    })
    .await;
    app.post_empty("/auth/passkeys/login/begin", None)
        .await
        .assert_problem(403, "forbidden");
    // A public URL with a domain: derived.
    let mut cfg = config();
    cfg.public_url = "https://login.example.org/base".into();
    let s = cfg.settings().unwrap().webauthn.unwrap();
    assert_eq!(
        (s.rp_id.as_str(), s.origin.as_str()),
        ("login.example.org", "https://login.example.org")
    );
    // Explicit and wrong: a one-line start-up error.
    let mut cfg = config();
    cfg.webauthn_rp_id = Some("example.net".into());
    cfg.webauthn_origin = Some("https://auth.example.com".into());
    let e = cfg.settings().unwrap_err();
    assert!(e.contains("WARDEN_WEBAUTHN"), "{e}");
    assert!(!e.contains('\n'));
}

#[tokio::test]
async fn openapi_lists_the_passkey_routes() {
    let app = app_with(Backend::Memory, passkey_config).await;
    let doc = app.get("/openapi.json", None).await.json();
    for path in [
        "/auth/passkeys",
        "/auth/passkeys/{id}",
        "/auth/passkeys/register/begin",
        "/auth/passkeys/register/finish",
        "/auth/passkeys/signup/begin",
        "/auth/passkeys/signup/finish",
        "/auth/passkeys/login/begin",
        "/auth/passkeys/login/finish",
        "/auth/admin/accounts/{id}/passkeys",
        "/auth/admin/accounts/{id}/passkeys/{pid}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
}

mod pages;
