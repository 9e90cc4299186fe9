//! API keys through the router (issue 5): routes, rules, usage log, docs and CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};
use tower::ServiceExt;
use warden_axum::{AdminSecret, Warden};
use warden_core::clock::{Clock, ManualClock};
use warden_core::store::{MemoryStore, Store};
use warden_server::config::Config;

const ADMIN: &str = "api-keys-test-admin-secret-0123456789";
const PASSWORD: &str = "correct horse battery staple";
const PEER: &str = "192.0.2.10:5555";

#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    Sqlite,
}

/// Run a test body against the memory store and against SQLite.
macro_rules! both {
    ($name:ident, |$b:ident| $body:block) => {
        mod $name {
            use super::*;
            async fn run($b: Backend) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                run(Backend::Memory).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite).await
            }
        }
    };
}

fn config() -> Config {
    Config {
        database_url: "sqlite::memory:".into(),
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        rate_limit_per_minute: 0,
        cookie_secure: false,
        admin_secret: Some(ADMIN.into()),
        ..Config::default()
    }
}

async fn store(b: Backend) -> Arc<dyn Store> {
    match b {
        Backend::Memory => Arc::new(MemoryStore::new()),
        Backend::Sqlite => warden_server::open_store("sqlite::memory:").await.unwrap(),
    }
}

#[derive(Clone)]
struct App {
    router: Router,
    warden: Warden,
}

async fn app_on(cfg: &Config, store: Arc<dyn Store>) -> App {
    let (warden, _) = warden_server::build_warden(cfg, store).await.unwrap();
    App {
        router: warden_server::app(cfg, &warden),
        warden,
    }
}

async fn app_with(b: Backend, f: impl FnOnce(&mut Config)) -> App {
    let mut cfg = config();
    f(&mut cfg);
    app_on(&cfg, store(b).await).await
}

async fn app(b: Backend) -> App {
    app_with(b, |_| {}).await
}

/// An app whose engine reads a manual clock.
async fn app_with_clock(b: Backend, clock: ManualClock) -> App {
    let cfg = config();
    let clock: Arc<dyn Clock> = Arc::new(clock);
    let auth = warden_core::Auth::with_clock(store(b).await, cfg.settings().unwrap(), clock)
        .await
        .unwrap();
    let mut http = cfg.http().unwrap();
    http.admin_secret = Some(AdminSecret::new(ADMIN));
    let warden = Warden::new(auth, http);
    App {
        router: warden_server::app(&cfg, &warden),
        warden,
    }
}

struct Resp {
    status: StatusCode,
    text: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
    #[track_caller]
    fn status(&self, want: u16) -> &Self {
        assert_eq!(self.status.as_u16(), want, "body: {}", self.text);
        self
    }
    #[track_caller]
    fn problem(&self, status: u16, code: &str) {
        self.status(status);
        assert_eq!(self.json()["code"], json!(code), "{}", self.text);
    }
    #[track_caller]
    fn error_fields(&self) -> Vec<String> {
        self.problem(422, "validation_failed");
        self.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Credentials of a request.
#[derive(Clone, Copy)]
enum By<'a> {
    Nobody,
    Token(&'a str),
    Key(&'a str),
    Admin,
}

impl App {
    async fn call(&self, method: &str, uri: &str, by: By<'_>, body: Option<Value>) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        req = match by {
            By::Nobody => req,
            By::Token(t) => req.header("authorization", format!("Bearer {t}")),
            By::Key(k) => req.header("x-api-key", k),
            By::Admin => req.header("x-admin-secret", ADMIN),
        };
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let mut req = req.body(body).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(PEER.parse::<SocketAddr>().unwrap()));
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, uri: &str, by: By<'_>) -> Resp {
        self.call("GET", uri, by, None).await
    }

    /// Register (self-service) and log in: (account id, access token).
    async fn user(&self, login: &str) -> (String, String) {
        let r = self
            .call(
                "POST",
                "/auth/register",
                By::Nobody,
                Some(json!({"login": login, "password": PASSWORD})),
            )
            .await;
        r.status(201);
        let id = r.json()["account"]["id"].as_str().unwrap().to_owned();
        (id, self.login(login).await)
    }

    /// An account created by an admin with scopes, logged in.
    async fn user_with_scopes(&self, login: &str, scopes: &[&str]) -> (String, String) {
        let r = self
            .call(
                "POST",
                "/auth/admin/accounts",
                By::Admin,
                Some(json!({"login": login, "password": PASSWORD, "scopes": scopes})),
            )
            .await;
        r.status(201);
        let id = r.json()["id"].as_str().unwrap().to_owned();
        (id, self.login(login).await)
    }

    async fn login(&self, login: &str) -> String {
        let r = self
            .call(
                "POST",
                "/auth/login",
                By::Nobody,
                Some(json!({"login": login, "password": PASSWORD})),
            )
            .await;
        r.status(200);
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// Create a key: (id, key, whole response).
    async fn key(&self, token: &str, body: Value) -> (String, String, Value) {
        let r = self
            .call("POST", "/auth/api-keys", By::Token(token), Some(body))
            .await;
        r.status(201);
        let v = r.json();
        (
            v["id"].as_str().unwrap().to_owned(),
            v["key"].as_str().unwrap().to_owned(),
            v,
        )
    }

    /// Poll a usage route until `done` holds (the writer runs off the request path).
    async fn usage_until(
        &self,
        uri: &str,
        by: By<'_>,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let r = self.get(uri, by).await;
            r.status(200);
            let v = r.json().as_array().unwrap().clone();
            if done(&v) {
                return v;
            }
            assert!(
                start.elapsed() < StdDuration::from_secs(5),
                "usage never matched: {v:?}"
            );
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }

    async fn audit(&self, account: &str) -> Vec<Value> {
        let r = self
            .get(
                &format!("/auth/admin/audit?account_id={account}&limit=1000"),
                By::Admin,
            )
            .await;
        r.status(200);
        r.json().as_array().unwrap().clone()
    }
}

fn secret_of(key: &str) -> &str {
    &key[key.len() - 43..]
}

fn ts(v: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        v.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

// ------------------------------------------------------------------ lifecycle

both!(create_use_list_revoke, |b| {
    let app = app(b).await;
    let (id, token) = app.user("alice").await;
    let (kid, key, v) = app.key(&token, json!({"name": "ci"})).await;

    // Format: wdn_<22-char id>_<43-char secret>, URL-safe base64.
    assert!(key.starts_with("wdn_"), "{key}");
    assert_eq!(key.len(), 70);
    assert_eq!(&key[26..27], "_");
    assert!(
        key[4..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert_eq!(v["name"], json!("ci"));
    assert_eq!(v["scopes"], json!([]));
    let ttl = ts(&v["expires_at"]) - ts(&v["created_at"]);
    assert_eq!(ttl, time::Duration::days(15), "default expiry");

    // A key authenticates like a bearer token: /auth/me answers the owner.
    let me = app.get("/auth/me", By::Key(&key)).await;
    me.status(200);
    assert_eq!(me.json()["id"], json!(id));
    assert_eq!(me.json()["login"], json!("alice"));

    // The list never shows a secret.
    let list = app.get("/auth/api-keys", By::Token(&token)).await;
    list.status(200);
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    assert_eq!(list.json()[0]["id"], json!(kid));
    assert_eq!(list.json()[0]["expired"], json!(false));
    assert!(list.json()[0].get("key").is_none());
    assert!(
        !list.text.contains(secret_of(&key)),
        "secret leaked: {}",
        list.text
    );

    // Revoked: refused on the very next request.
    app.call(
        "DELETE",
        &format!("/auth/api-keys/{kid}"),
        By::Token(&token),
        None,
    )
    .await
    .status(204);
    app.get("/auth/me", By::Key(&key))
        .await
        .problem(401, "invalid_api_key");
    assert_eq!(
        app.get("/auth/api-keys", By::Token(&token)).await.json(),
        json!([])
    );
    app.call(
        "DELETE",
        &format!("/auth/api-keys/{kid}"),
        By::Token(&token),
        None,
    )
    .await
    .problem(404, "not_found");
    app.call(
        "POST",
        &format!("/auth/api-keys/{kid}/renew"),
        By::Token(&token),
        None,
    )
    .await
    .problem(404, "not_found");
});

both!(revoke_after_cached_use_fails_at_once, |b| {
    let app = app(b).await;
    let (_, token) = app.user("carol").await;
    let (kid, key, _) = app.key(&token, json!({"name": "hot"})).await;
    for _ in 0..3 {
        app.get("/auth/me", By::Key(&key)).await.status(200);
    }
    app.call(
        "DELETE",
        &format!("/auth/api-keys/{kid}"),
        By::Token(&token),
        None,
    )
    .await
    .status(204);
    app.get("/auth/me", By::Key(&key))
        .await
        .problem(401, "invalid_api_key");
});

both!(other_accounts_keys_are_not_found, |b| {
    let app = app(b).await;
    let (_, alice) = app.user("alice").await;
    let (_, bob) = app.user("bob").await;
    let (kid, key, _) = app.key(&alice, json!({"name": "mine"})).await;

    assert_eq!(
        app.get("/auth/api-keys", By::Token(&bob)).await.json(),
        json!([])
    );
    for (method, path) in [
        ("DELETE", format!("/auth/api-keys/{kid}")),
        ("POST", format!("/auth/api-keys/{kid}/renew")),
        ("GET", format!("/auth/api-keys/{kid}/usage")),
    ] {
        app.call(method, &path, By::Token(&bob), None)
            .await
            .problem(404, "not_found");
    }
    // Unknown and malformed ids are 404 too.
    app.call("DELETE", "/auth/api-keys/not-an-id", By::Token(&bob), None)
        .await
        .problem(404, "not_found");
    app.call(
        "DELETE",
        &format!("/auth/api-keys/{}", uuid::Uuid::now_v7()),
        By::Token(&alice),
        None,
    )
    .await
    .problem(404, "not_found");
    // Still alive for its owner.
    app.get("/auth/me", By::Key(&key)).await.status(200);
});

// ------------------------------------------------------------------ expiry

both!(expired_key_is_refused_and_can_be_renewed, |b| {
    let clock = ManualClock::at_unix(1_800_000_000);
    let app = app_with_clock(b, clock.clone()).await;
    let (id, token) = app.user("dave").await;
    let (kid, key, v) = app
        .key(&token, json!({"name": "short", "expires_in_days": 1}))
        .await;
    assert_eq!(
        ts(&v["expires_at"]) - ts(&v["created_at"]),
        time::Duration::days(1)
    );
    app.get("/auth/me", By::Key(&key)).await.status(200);

    clock.advance(time::Duration::days(1) + time::Duration::seconds(1));
    app.get("/auth/me", By::Key(&key))
        .await
        .problem(401, "invalid_api_key");
    let rejected: Vec<Value> = app
        .audit(&id)
        .await
        .into_iter()
        .filter(|e| e["event"] == json!("api_key.rejected"))
        .collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["detail"]["reason"], json!("expired"));
    assert_eq!(rejected[0]["detail"]["key_id"], json!(kid));

    // Listed as expired; renewing counts from now.
    let token = app.login("dave").await;
    let list = app.get("/auth/api-keys", By::Token(&token)).await.json();
    assert_eq!(list[0]["expired"], json!(true));
    let r = app
        .call(
            "POST",
            &format!("/auth/api-keys/{kid}/renew"),
            By::Token(&token),
            Some(json!({"expires_in_days": 7})),
        )
        .await;
    r.status(200);
    let renewed = r.json();
    assert_eq!(renewed["id"], json!(kid));
    assert!(renewed.get("key").is_none());
    assert_eq!(renewed["expired"], json!(false));
    assert_eq!(
        ts(&renewed["expires_at"]).unix_timestamp(),
        (clock.now() + time::Duration::days(7)).unix_timestamp()
    );
    app.get("/auth/me", By::Key(&key)).await.status(200);

    // Renew without a body: the default lifetime.
    let r = app
        .call(
            "POST",
            &format!("/auth/api-keys/{kid}/renew"),
            By::Token(&token),
            None,
        )
        .await;
    r.status(200);
    assert_eq!(
        ts(&r.json()["expires_at"]).unix_timestamp(),
        (clock.now() + time::Duration::days(15)).unix_timestamp()
    );
});

both!(expiry_rules, |b| {
    let app = app(b).await;
    let (_, token) = app.user("erin").await;
    for bad in [json!(0), json!(3651), json!(-1), json!("x")] {
        let r = app
            .call(
                "POST",
                "/auth/api-keys",
                By::Token(&token),
                Some(json!({"name": "k", "expires_in_days": bad})),
            )
            .await;
        assert_eq!(r.error_fields(), vec!["expires_in_days"], "{bad}");
    }
    let (_, _, v) = app
        .key(&token, json!({"name": "long", "expires_in_days": 3650}))
        .await;
    assert_eq!(
        ts(&v["expires_at"]) - ts(&v["created_at"]),
        time::Duration::days(3650)
    );
    for bad in [
        json!(""),
        json!("   "),
        json!("x".repeat(101)),
        json!("a\nb"),
    ] {
        let r = app
            .call(
                "POST",
                "/auth/api-keys",
                By::Token(&token),
                Some(json!({"name": bad})),
            )
            .await;
        assert_eq!(r.error_fields(), vec!["name"]);
    }
    let (kid, _, _) = app.key(&token, json!({"name": "renewable"})).await;
    let uri = format!("/auth/api-keys/{kid}/renew");
    let r = app
        .call(
            "POST",
            &uri,
            By::Token(&token),
            Some(json!({"expires_in_days": 0})),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["expires_in_days"]);
    let r = app
        .call(
            "POST",
            &uri,
            By::Token(&token),
            Some(json!({"expires_in_days": -3})),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["expires_in_days"]);
    let mut req = Request::post(&uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from("{nope"))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(PEER.parse::<SocketAddr>().unwrap()));
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Without expiry only when allowed.
    let app = app_with(b, |c| c.api_key_allow_no_expiry = true).await;
    let (_, token) = app.user("erin").await;
    let (kid, key, v) = app
        .key(&token, json!({"name": "forever", "expires_in_days": 0}))
        .await;
    assert_eq!(v["expires_at"], Value::Null);
    app.get("/auth/me", By::Key(&key)).await.status(200);
    let r = app
        .call(
            "POST",
            &format!("/auth/api-keys/{kid}/renew"),
            By::Token(&token),
            Some(json!({"expires_in_days": 0})),
        )
        .await;
    r.status(200);
    assert_eq!(r.json()["expires_at"], Value::Null);
});

#[tokio::test]
async fn default_ttl_comes_from_config_and_is_validated() {
    let app = app_with(Backend::Memory, |c| c.api_key_ttl_days = 2).await;
    let (_, token) = app.user("fred").await;
    let (_, _, v) = app.key(&token, json!({"name": "k"})).await;
    assert_eq!(
        ts(&v["expires_at"]) - ts(&v["created_at"]),
        time::Duration::days(2)
    );

    let mut cfg = config();
    cfg.api_key_ttl_days = 0;
    assert!(
        cfg.settings().is_err(),
        "no expiry by default needs the opt-in"
    );
    cfg.api_key_allow_no_expiry = true;
    assert!(cfg.settings().is_ok());
    cfg.api_key_ttl_days = 3651;
    assert!(cfg.settings().is_err());
    let mut cfg = config();
    cfg.api_key_usage_keep = 2_000_000;
    assert!(cfg.settings().is_err());
    let d = Config::default();
    assert_eq!(
        (
            d.api_key_ttl_days,
            d.api_key_allow_no_expiry,
            d.api_key_query,
            d.api_key_usage_keep
        ),
        (15, false, false, 1000)
    );
}

// ------------------------------------------------------------------ scopes and owner

both!(scopes_never_exceed_the_owners, |b| {
    let app = app(b).await;
    let (boss, token) = app.user_with_scopes("boss", &["admin", "reports"]).await;

    // A scope the owner lacks: 422 on `scopes`.
    let r = app
        .call(
            "POST",
            "/auth/api-keys",
            By::Token(&token),
            Some(json!({"name": "k", "scopes": ["admin", "root"]})),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["scopes"]);

    let (_, inherit, v) = app.key(&token, json!({"name": "all"})).await;
    assert_eq!(
        v["scopes"],
        json!(["admin", "reports"]),
        "default: the owner's scopes"
    );
    let (_, admin_key, _) = app
        .key(&token, json!({"name": "adm", "scopes": ["admin"]}))
        .await;
    let (_, reports_key, v) = app
        .key(
            &token,
            json!({"name": "rep", "scopes": ["reports", "reports"]}),
        )
        .await;
    assert_eq!(v["scopes"], json!(["reports"]));

    // The admin scope of a key opens the admin routes; a key without it does not.
    app.get("/auth/admin/accounts", By::Key(&admin_key))
        .await
        .status(200);
    app.get("/auth/admin/accounts", By::Key(&inherit))
        .await
        .status(200);
    app.get("/auth/admin/accounts", By::Key(&reports_key))
        .await
        .problem(403, "forbidden");

    // The owner loses `admin`: at once, no key of theirs has it any more.
    app.call(
        "PATCH",
        &format!("/auth/admin/accounts/{boss}"),
        By::Admin,
        Some(json!({"scopes": ["reports"]})),
    )
    .await
    .status(200);
    for k in [&admin_key, &inherit] {
        app.get("/auth/admin/accounts", By::Key(k))
            .await
            .problem(403, "forbidden");
        app.get("/auth/me", By::Key(k)).await.status(200);
    }
    // Given back: the key's own scope counts again.
    app.call(
        "PATCH",
        &format!("/auth/admin/accounts/{boss}"),
        By::Admin,
        Some(json!({"scopes": ["admin", "reports"]})),
    )
    .await
    .status(200);
    app.get("/auth/admin/accounts", By::Key(&admin_key))
        .await
        .status(200);
});

both!(
    blocked_inactive_or_deleted_owner_disables_keys_at_once,
    |b| {
        let app = app(b).await;
        let (id, token) = app.user("gina").await;
        let (_, key, _) = app.key(&token, json!({"name": "k"})).await;
        app.get("/auth/me", By::Key(&key)).await.status(200);

        app.call(
            "POST",
            &format!("/auth/admin/accounts/{id}/block"),
            By::Admin,
            Some(json!({"reason": "abuse"})),
        )
        .await
        .status(204);
        app.get("/auth/me", By::Key(&key))
            .await
            .problem(403, "account_blocked");
        app.call(
            "POST",
            &format!("/auth/admin/accounts/{id}/unblock"),
            By::Admin,
            None,
        )
        .await
        .status(204);
        app.get("/auth/me", By::Key(&key)).await.status(200);

        let patch = |active: bool| json!({ "active": active });
        app.call(
            "PATCH",
            &format!("/auth/admin/accounts/{id}"),
            By::Admin,
            Some(patch(false)),
        )
        .await
        .status(200);
        app.get("/auth/me", By::Key(&key))
            .await
            .problem(403, "account_inactive");
        app.call(
            "PATCH",
            &format!("/auth/admin/accounts/{id}"),
            By::Admin,
            Some(patch(true)),
        )
        .await
        .status(200);
        app.get("/auth/me", By::Key(&key)).await.status(200);

        app.call(
            "DELETE",
            &format!("/auth/admin/accounts/{id}"),
            By::Admin,
            None,
        )
        .await
        .status(204);
        app.get("/auth/me", By::Key(&key))
            .await
            .problem(401, "invalid_api_key");
    }
);

// ------------------------------------------------------------------ credentials

both!(a_key_cannot_manage_keys_or_sessions, |b| {
    let app = app(b).await;
    let (_, token) = app.user("hank").await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    let calls: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/auth/api-keys".into(),
            Some(json!({"name": "minted"})),
        ),
        ("GET", "/auth/api-keys".into(), None),
        ("DELETE", format!("/auth/api-keys/{kid}"), None),
        ("POST", format!("/auth/api-keys/{kid}/renew"), None),
        ("GET", format!("/auth/api-keys/{kid}/usage"), None),
        ("POST", "/auth/logout".into(), None),
        ("POST", "/auth/logout/all".into(), None),
        ("GET", "/auth/sessions".into(), None),
        (
            "POST",
            "/auth/fresh".into(),
            Some(json!({"password": PASSWORD})),
        ),
        (
            "POST",
            "/auth/password".into(),
            Some(json!({"current_password": PASSWORD, "new_password": "another long password"})),
        ),
        (
            "POST",
            "/auth/login/change".into(),
            Some(json!({"new_login": "hank2"})),
        ),
    ];
    for (method, path, body) in calls {
        let r = app.call(method, &path, By::Key(&key), body).await;
        assert_eq!(r.status.as_u16(), 401, "{method} {path}: {}", r.text);
        assert_eq!(
            r.json()["code"],
            json!("unauthenticated"),
            "{method} {path}"
        );
    }
    // Nothing happened.
    let list = app.get("/auth/api-keys", By::Token(&token)).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    app.get("/auth/me", By::Key(&key)).await.status(200);
    app.get("/auth/me", By::Token(&token)).await.status(200);
});

both!(malformed_unknown_and_wrong_keys_are_invalid_api_key, |b| {
    let app = app(b).await;
    let (_, token) = app.user("iris").await;
    let (_, key, _) = app.key(&token, json!({"name": "k"})).await;
    let wrong_secret = format!("{}{}", &key[..27], "A".repeat(43));
    let unknown_id = format!("wdn_{}{}", "A".repeat(22), &key[26..]);
    for bad in [
        "nope".to_owned(),
        "wdn_".to_owned(),
        key[..69].to_owned(),
        format!("{key}x"),
        wrong_secret,
        unknown_id,
    ] {
        app.get("/auth/me", By::Key(&bad))
            .await
            .problem(401, "invalid_api_key");
    }
    // An Authorization header is judged on its own, whatever the key says.
    let mut req = Request::get("/auth/me")
        .header("authorization", format!("Bearer {token}"))
        .header("x-api-key", "nope")
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(PEER.parse::<SocketAddr>().unwrap()));
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.get("/auth/me", By::Key(&key)).await.status(200);
});

both!(query_parameter_only_when_enabled, |b| {
    let app = app(b).await;
    let (_, token) = app.user("jane").await;
    let (_, key, _) = app.key(&token, json!({"name": "k"})).await;
    app.get(&format!("/auth/me?api_key={key}"), By::Nobody)
        .await
        .problem(401, "unauthenticated");

    let app = app_with(b, |c| c.api_key_query = true).await;
    let (_, token) = app.user("jane").await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    let me = app
        .get(&format!("/auth/me?x=1&api_key={key}"), By::Nobody)
        .await;
    me.status(200);
    assert_eq!(me.json()["login"], json!("jane"));
    app.get("/auth/me?api_key=wdn_bogus", By::Nobody)
        .await
        .problem(401, "invalid_api_key");
    // The usage log records the path only, never the query string (the key).
    let usage = app
        .usage_until(
            &format!("/auth/api-keys/{kid}/usage"),
            By::Token(&token),
            |v| !v.is_empty(),
        )
        .await;
    assert_eq!(usage[0]["path"], json!("/auth/me"));
    assert!(
        !serde_json::to_string(&usage)
            .unwrap()
            .contains(secret_of(&key))
    );
});

// ------------------------------------------------------------------ usage log

both!(usage_log_records_each_use_newest_first, |b| {
    let app = app(b).await;
    let (_, token) = app.user_with_scopes("kim", &["admin"]).await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    let uri = format!("/auth/api-keys/{kid}/usage");
    assert_eq!(app.get(&uri, By::Token(&token)).await.json(), json!([]));

    app.get("/auth/me", By::Key(&key)).await.status(200);
    app.usage_until(&uri, By::Token(&token), |v| v.len() == 1)
        .await;
    app.get("/auth/admin/accounts?limit=5", By::Key(&key))
        .await
        .status(200);
    let usage = app
        .usage_until(&uri, By::Token(&token), |v| v.len() == 2)
        .await;
    assert_eq!(usage[0]["method"], json!("GET"));
    assert_eq!(usage[0]["path"], json!("/auth/admin/accounts"));
    assert_eq!(usage[0]["ip"], json!("192.0.2.10"));
    assert_eq!(usage[1]["path"], json!("/auth/me"));
    assert!(ts(&usage[0]["at"]) >= ts(&usage[1]["at"]));
    let one = app
        .get(&format!("{uri}?limit=1"), By::Token(&token))
        .await
        .json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    app.get(&format!("{uri}?limit=0"), By::Token(&token))
        .await
        .problem(422, "validation_failed");

    // A failed use (bad secret) is not a use of the key.
    let wrong = format!("{}{}", &key[..27], "A".repeat(43));
    app.get("/auth/me", By::Key(&wrong)).await.status(401);
    // The admin sees the same log.
    let admin = app
        .usage_until(
            &format!("/auth/admin/api-keys/{kid}/usage"),
            By::Admin,
            |v| v.len() == 2,
        )
        .await;
    assert_eq!(admin, usage);
});

both!(usage_is_capped_per_key, |b| {
    let app = app_with(b, |c| c.api_key_usage_keep = 3).await;
    let (_, token) = app.user_with_scopes("lena", &["admin"]).await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    let (kid2, key2, _) = app.key(&token, json!({"name": "other"})).await;
    app.get("/auth/me", By::Key(&key2)).await.status(200);
    for _ in 0..6 {
        app.get("/auth/me", By::Key(&key)).await.status(200);
    }
    app.get("/auth/admin/audit?limit=1", By::Key(&key))
        .await
        .status(200);
    let usage = app
        .usage_until(
            &format!("/auth/api-keys/{kid}/usage?limit=1000"),
            By::Token(&token),
            |v| {
                v.first()
                    .is_some_and(|u| u["path"] == json!("/auth/admin/audit"))
            },
        )
        .await;
    assert_eq!(usage.len(), 3, "{usage:?}");
    assert_eq!(usage[1]["path"], json!("/auth/me"));
    let other = app
        .usage_until(
            &format!("/auth/api-keys/{kid2}/usage"),
            By::Token(&token),
            |v| !v.is_empty(),
        )
        .await;
    assert_eq!(other.len(), 1, "each key has its own log");
});

#[tokio::test]
async fn usage_keep_zero_records_nothing() {
    let app = app_with(Backend::Sqlite, |c| c.api_key_usage_keep = 0).await;
    let (_, token) = app.user("mona").await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    app.get("/auth/me", By::Key(&key)).await.status(200);
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    let r = app
        .get(&format!("/auth/api-keys/{kid}/usage"), By::Token(&token))
        .await;
    assert_eq!(r.json(), json!([]));
}

// ------------------------------------------------------------------ admin

both!(admin_routes_list_revoke_and_read_usage_of_any_key, |b| {
    let app = app(b).await;
    let (alice_id, alice) = app.user("alice").await;
    let (bob_id, bob) = app.user("bob").await;
    let (a_kid, a_key, _) = app.key(&alice, json!({"name": "a"})).await;
    let (b_kid, _, _) = app.key(&bob, json!({"name": "b"})).await;

    let all = app.get("/auth/admin/api-keys", By::Admin).await;
    all.status(200);
    let ids: Vec<String> = all
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![b_kid.clone(), a_kid.clone()], "newest first");
    assert!(!all.text.contains(secret_of(&a_key)));

    let only = app
        .get(
            &format!("/auth/admin/api-keys?account_id={alice_id}"),
            By::Admin,
        )
        .await
        .json();
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["account_id"], json!(alice_id));
    app.get("/auth/admin/api-keys?account_id=nope", By::Admin)
        .await
        .problem(422, "validation_failed");
    app.get("/auth/admin/api-keys?limit=5000", By::Admin)
        .await
        .problem(422, "validation_failed");

    // Not for ordinary accounts, by token or by key.
    app.get("/auth/admin/api-keys", By::Token(&bob))
        .await
        .problem(403, "forbidden");
    app.get("/auth/admin/api-keys", By::Key(&a_key))
        .await
        .problem(403, "forbidden");
    app.get("/auth/admin/api-keys", By::Nobody)
        .await
        .problem(401, "unauthenticated");

    app.get("/auth/me", By::Key(&a_key)).await.status(200);
    let usage = app
        .usage_until(
            &format!("/auth/admin/api-keys/{a_kid}/usage"),
            By::Admin,
            |v| v.iter().any(|r| r["path"] == json!("/auth/me")),
        )
        .await;
    // Newest first: the /auth/me use came last.
    assert_eq!(usage[0]["path"], json!("/auth/me"));

    app.call(
        "DELETE",
        &format!("/auth/admin/api-keys/{a_kid}"),
        By::Admin,
        None,
    )
    .await
    .status(204);
    app.get("/auth/me", By::Key(&a_key))
        .await
        .problem(401, "invalid_api_key");
    app.call(
        "DELETE",
        &format!("/auth/admin/api-keys/{a_kid}"),
        By::Admin,
        None,
    )
    .await
    .problem(404, "not_found");
    app.get(
        &format!("/auth/admin/api-keys/{}/usage", uuid::Uuid::now_v7()),
        By::Admin,
    )
    .await
    .problem(404, "not_found");
    let listed = app
        .get(
            &format!("/auth/admin/api-keys?account_id={alice_id}"),
            By::Admin,
        )
        .await
        .json();
    assert!(
        listed[0]["revoked_at"].is_string(),
        "admins see revoked keys"
    );
    let audit = app.audit(&alice_id).await;
    let revoked = audit
        .iter()
        .find(|e| e["event"] == json!("api_key.revoked"))
        .unwrap();
    assert_eq!(revoked["detail"]["by"], json!("admin"));
    let _ = bob_id;
});

both!(audit_events_never_hold_the_key, |b| {
    let app = app(b).await;
    let (id, token) = app.user("nina").await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    app.call(
        "POST",
        &format!("/auth/api-keys/{kid}/renew"),
        By::Token(&token),
        None,
    )
    .await
    .status(200);
    app.call(
        "DELETE",
        &format!("/auth/api-keys/{kid}"),
        By::Token(&token),
        None,
    )
    .await
    .status(204);
    for _ in 0..3 {
        app.get("/auth/me", By::Key(&key))
            .await
            .problem(401, "invalid_api_key");
    }
    let audit = app.audit(&id).await;
    let names: Vec<&str> = audit.iter().map(|e| e["event"].as_str().unwrap()).collect();
    for want in [
        "api_key.created",
        "api_key.renewed",
        "api_key.revoked",
        "api_key.rejected",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let rejected: Vec<&Value> = audit
        .iter()
        .filter(|e| e["event"] == json!("api_key.rejected"))
        .collect();
    assert_eq!(
        rejected.len(),
        1,
        "repeated rejections are audited once a minute"
    );
    assert_eq!(rejected[0]["detail"]["reason"], json!("revoked"));
    assert_eq!(rejected[0]["ip"], json!("192.0.2.10"));
    let text = serde_json::to_string(&audit).unwrap();
    assert!(!text.contains(secret_of(&key)) && !text.contains(&key));
});

// ------------------------------------------------------------------ cluster

both!(a_revoke_reaches_other_nodes_through_the_feed, |b| {
    let cfg = config();
    let shared = store(b).await;
    let node_a = app_on(&cfg, shared.clone()).await;
    let node_b = app_on(&cfg, shared).await;
    let (_, token) = node_a.user("olga").await;
    let (kid, key, _) = node_a.key(&token, json!({"name": "k"})).await;
    node_a.get("/auth/me", By::Key(&key)).await.status(200);
    node_b.get("/auth/me", By::Key(&key)).await.status(200);

    node_b
        .call(
            "DELETE",
            &format!("/auth/api-keys/{kid}"),
            By::Token(&token),
            None,
        )
        .await
        .status(204);
    node_b
        .get("/auth/me", By::Key(&key))
        .await
        .problem(401, "invalid_api_key");
    // Node A still has the verified record cached (for at most 30 s) ...
    node_a.get("/auth/me", By::Key(&key)).await.status(200);
    // ... until its next feed sync drops it.
    node_a.warden.auth().upkeep().sync().await.unwrap();
    node_a
        .get("/auth/me", By::Key(&key))
        .await
        .problem(401, "invalid_api_key");
});

// ------------------------------------------------------------------ docs

#[tokio::test]
async fn docs_list_api_key_routes_unless_hidden() {
    let app = app(Backend::Sqlite).await;
    let doc = app.get("/openapi.json", By::Nobody).await;
    doc.status(200);
    for p in [
        "\"/auth/api-keys\"",
        "\"/auth/api-keys/{id}\"",
        "\"/auth/api-keys/{id}/renew\"",
        "\"/auth/api-keys/{id}/usage\"",
        "\"/auth/admin/api-keys\"",
        "\"/auth/admin/api-keys/{id}\"",
        "\"/auth/admin/api-keys/{id}/usage\"",
        "\"/auth/admin/accounts\"",
        "X-API-Key",
    ] {
        assert!(doc.text.contains(p), "{p} missing from the docs");
    }
    assert!(app.get("/docs/", By::Nobody).await.status.is_success());

    let hidden = app_with(Backend::Sqlite, |c| c.hide_docs = true).await;
    let doc = hidden.get("/openapi.json", By::Nobody).await;
    doc.status(200);
    assert!(doc.text.contains("\"/auth/me\""), "other routes stay");
    for p in [
        "/auth/api-keys",
        "/auth/admin",
        "ApiKey",
        "api-keys",
        "X-API-Key",
    ] {
        assert!(!doc.text.contains(p), "{p} should be hidden");
    }
    assert!(hidden.get("/docs/", By::Nobody).await.status.is_success());
    // Hidden from the docs, still served.
    let (_, token) = hidden.user("pia").await;
    hidden
        .get("/auth/api-keys", By::Token(&token))
        .await
        .status(200);

    let off = app_with(Backend::Sqlite, |c| c.docs = false).await;
    off.get("/openapi.json", By::Nobody).await.status(404);
    off.get("/docs", By::Nobody).await.status(404);
    off.get("/docs/", By::Nobody).await.status(404);
}

// ------------------------------------------------------------------ CLI

#[test]
fn cli_creates_lists_renews_and_revokes_keys() {
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("warden-api-keys-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("w.db").display());
    let run = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
        for (k, _) in std::env::vars() {
            if k.starts_with("WARDEN_") {
                c.env_remove(k);
            }
        }
        let out = c
            .env("WARDEN_DATABASE_URL", &url)
            .env("WARDEN_ARGON2_MEMORY_KIB", "64")
            .env("WARDEN_ARGON2_ITERATIONS", "1")
            .env("WARDEN_LOG_LEVEL", "error")
            .stdin(Stdio::null())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, _, err) = run(&[
        "account",
        "create",
        "quinn",
        "--password",
        PASSWORD,
        "--scope",
        "reports",
    ]);
    assert!(ok, "{err}");

    let (ok, _, err) = run(&[
        "api-key", "create", "quinn", "--name", "ci", "--scope", "admin",
    ]);
    assert!(!ok, "a scope the account lacks is refused");
    assert!(err.contains("scopes"), "{err}");

    let (ok, out, err) = run(&[
        "api-key",
        "create",
        "quinn",
        "--name",
        "ci",
        "--expires-in-days",
        "3",
    ]);
    assert!(ok, "{err}");
    let key = out.trim();
    assert!(
        key.starts_with("wdn_") && key.len() == 70,
        "stdout is the key: {out}"
    );
    assert!(err.contains("shown once"), "{err}");

    let (ok, out, err) = run(&["api-key", "list", "--account", "quinn"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("name=\"ci\"") && out.contains("scopes=[reports]"),
        "{out}"
    );
    assert!(!out.contains(&key[27..]), "no secret in the list");
    let id = out.split_whitespace().next().unwrap().to_owned();

    let (ok, out, err) = run(&["api-key", "renew", &id, "--expires-in-days", "9"]);
    assert!(ok, "{err}");
    assert!(out.contains(&id) && out.contains("expires"), "{out}");

    let (ok, out, err) = run(&["api-key", "revoke", &id]);
    assert!(ok, "{err}");
    assert!(out.contains("revoked"), "{out}");
    let (ok, _, _) = run(&["api-key", "revoke", &id]);
    assert!(!ok, "already revoked");
    let (ok, out, _) = run(&["api-key", "list"]);
    assert!(ok);
    assert!(out.contains("revoked"), "{out}");
    let (ok, _, _) = run(&["api-key", "revoke", "not-an-id"]);
    assert!(!ok);
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------------ application routes

#[tokio::test]
async fn application_routes_take_keys_and_count_one_use_per_request() {
    use warden_axum::{AdminCaller, CurrentAccount, Principal};
    let base = app(Backend::Memory).await;
    let (id, token) = base.user_with_scopes("rita", &["admin"]).await;
    let (kid, key, _) = base.key(&token, json!({"name": "app"})).await;
    async fn both(CurrentAccount(a): CurrentAccount, _: AdminCaller, p: Principal) -> String {
        let via = match p {
            Principal::ApiKey(_) => "key",
            Principal::Token(_) => "token",
            _ => "other",
        };
        format!("{} {via}", a.login)
    }
    let router: Router = Router::new()
        .route("/app/both", axum::routing::get(both))
        .nest("/auth", base.warden.router())
        .with_state(base.warden.clone());
    let app = App {
        router,
        warden: base.warden.clone(),
    };
    let r = app.get("/app/both", By::Key(&key)).await;
    r.status(200);
    assert_eq!(r.text, "rita key");
    let r = app.get("/app/both", By::Token(&token)).await;
    r.status(200);
    assert_eq!(r.text, "rita token");
    let usage = app
        .usage_until(
            &format!("/auth/api-keys/{kid}/usage"),
            By::Token(&token),
            |v| !v.is_empty(),
        )
        .await;
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    let usage_later = app
        .get(&format!("/auth/api-keys/{kid}/usage"), By::Token(&token))
        .await
        .json();
    assert_eq!(usage.len(), 1, "{usage:?}");
    assert_eq!(usage_later.as_array().unwrap().len(), 1, "{usage_later}");
    assert_eq!(usage[0]["path"], json!("/app/both"));
    let _ = id;
}
