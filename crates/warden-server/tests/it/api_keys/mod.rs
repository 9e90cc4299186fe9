//! API keys through the router (issue 5): routes, rules, usage log, docs and CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};
use tower::ServiceExt;
use warden_core::clock::{Clock, ManualClock};
use warden_server::config::Config;
use warden_testkit::app::{ADMIN_SECRET, PASSWORD, Resp, config};
use warden_testkit::{Backend, each_backend, store};

/// The peer address of every request.
const PEER: &str = "192.0.2.10:5555";

/// The app of the test kit, its requests from [`PEER`].
#[derive(Clone)]
struct App(warden_testkit::app::App);

impl std::ops::Deref for App {
    type Target = warden_testkit::app::App;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<warden_testkit::app::App> for App {
    fn from(kit: warden_testkit::app::App) -> Self {
        Self(kit.with_peer(PEER))
    }
}

async fn app_on(cfg: &Config, store: Arc<dyn warden_core::store::Store>) -> App {
    warden_testkit::app::app_on(cfg.clone(), store).await.into()
}

async fn app_with(b: Backend, f: impl FnOnce(&mut Config)) -> App {
    warden_testkit::app::app_with(b, f).await.into()
}

async fn app(b: Backend) -> App {
    app_with(b, |_| {}).await
}

/// An app whose engine reads a manual clock.
async fn app_with_clock(b: Backend, clock: ManualClock) -> App {
    warden_testkit::app::app_with_clock(b, Arc::new(clock), |_| {})
        .await
        .into()
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
        let bearer;
        let headers: &[(&str, &str)] = match by {
            By::Nobody => &[],
            By::Token(t) => {
                bearer = format!("Bearer {t}");
                &[("authorization", bearer.as_str())]
            }
            By::Key(k) => &[("x-api-key", k)],
            By::Admin => &[("x-admin-secret", ADMIN_SECRET)],
        };
        self.0.call(method, uri, body, headers).await
    }

    /// `DELETE /auth/api-keys/{kid}`.
    async fn revoke(&self, kid: &str, by: By<'_>) -> Resp {
        self.call("DELETE", &format!("/auth/api-keys/{kid}"), by, None)
            .await
    }

    /// `DELETE /auth/admin/api-keys/{kid}`.
    async fn revoke_as_admin(&self, kid: &str) -> Resp {
        self.call(
            "DELETE",
            &format!("/auth/admin/api-keys/{kid}"),
            By::Admin,
            None,
        )
        .await
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
        r.assert_status(201);
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
        r.assert_status(201);
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
        r.assert_status(200);
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// Create a key: (id, key, whole response).
    async fn key(&self, token: &str, body: Value) -> (String, String, Value) {
        let r = self
            .call("POST", "/auth/api-keys", By::Token(token), Some(body))
            .await;
        r.assert_status(201);
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
            r.assert_status(200);
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
        r.assert_status(200);
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

each_backend!(async fn create_use_list_revoke(b) {
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
    me.assert_status(200);
    assert_eq!(me.json()["id"], json!(id));
    assert_eq!(me.json()["login"], json!("alice"));

    // The list never shows a secret.
    let list = app.get("/auth/api-keys", By::Token(&token)).await;
    list.assert_status(200);
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    assert_eq!(list.json()[0]["id"], json!(kid));
    assert_eq!(list.json()[0]["expired"], json!(false));
    assert!(list.json()[0].get("key").is_none());
    assert!(
        !list.text().contains(secret_of(&key)),
        "secret leaked: {}",
        list.text()
    );

    // Revoked: refused on the very next request.
    app.revoke(&kid, By::Token(&token)).await
    .assert_status(204);
    app.get("/auth/me", By::Key(&key))
        .await
        .assert_problem(401, "invalid_api_key");
    assert_eq!(
        app.get("/auth/api-keys", By::Token(&token)).await.json(),
        json!([])
    );
    app.revoke(&kid, By::Token(&token)).await
    .assert_problem(404, "not_found");
    app.call(
        "POST",
        &format!("/auth/api-keys/{kid}/renew"),
        By::Token(&token),
        None,
    )
    .await
    .assert_problem(404, "not_found");
});

each_backend!(async fn revoke_after_cached_use_fails_at_once(b) {
    let app = app(b).await;
    let (_, token) = app.user("carol").await;
    let (kid, key, _) = app.key(&token, json!({"name": "hot"})).await;
    for _ in 0..3 {
        app.get("/auth/me", By::Key(&key)).await.assert_status(200);
    }
    app.revoke(&kid, By::Token(&token)).await
    .assert_status(204);
    app.get("/auth/me", By::Key(&key))
        .await
        .assert_problem(401, "invalid_api_key");
});

each_backend!(async fn other_accounts_keys_are_not_found(b) {
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
            .assert_problem(404, "not_found");
    }
    // Unknown and malformed ids are 404 too.
    app.call("DELETE", "/auth/api-keys/not-an-id", By::Token(&bob), None)
        .await
        .assert_problem(404, "not_found");
    app.call(
        "DELETE",
        &format!("/auth/api-keys/{}", uuid::Uuid::now_v7()),
        By::Token(&alice),
        None,
    )
    .await
    .assert_problem(404, "not_found");
    // Still alive for its owner.
    app.get("/auth/me", By::Key(&key)).await.assert_status(200);
});

// ------------------------------------------------------------------ expiry

each_backend!(async fn expired_key_is_refused_and_can_be_renewed(b) {
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
    app.get("/auth/me", By::Key(&key)).await.assert_status(200);

    clock.advance(time::Duration::days(1) + time::Duration::seconds(1));
    app.get("/auth/me", By::Key(&key))
        .await
        .assert_problem(401, "invalid_api_key");
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
    r.assert_status(200);
    let renewed = r.json();
    assert_eq!(renewed["id"], json!(kid));
    assert!(renewed.get("key").is_none());
    assert_eq!(renewed["expired"], json!(false));
    assert_eq!(
        ts(&renewed["expires_at"]).unix_timestamp(),
        (clock.now() + time::Duration::days(7)).unix_timestamp()
    );
    app.get("/auth/me", By::Key(&key)).await.assert_status(200);

    // Renew without a body: the default lifetime.
    let r = app
        .call(
            "POST",
            &format!("/auth/api-keys/{kid}/renew"),
            By::Token(&token),
            None,
        )
        .await;
    r.assert_status(200);
    assert_eq!(
        ts(&r.json()["expires_at"]).unix_timestamp(),
        (clock.now() + time::Duration::days(15)).unix_timestamp()
    );
});

each_backend!(async fn expiry_rules(b) {
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
    app.get("/auth/me", By::Key(&key)).await.assert_status(200);
    let r = app
        .call(
            "POST",
            &format!("/auth/api-keys/{kid}/renew"),
            By::Token(&token),
            Some(json!({"expires_in_days": 0})),
        )
        .await;
    r.assert_status(200);
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

each_backend!(async fn scopes_never_exceed_the_owners(b) {
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
        .assert_status(200);
    app.get("/auth/admin/accounts", By::Key(&inherit))
        .await
        .assert_status(200);
    app.get("/auth/admin/accounts", By::Key(&reports_key))
        .await
        .assert_problem(403, "forbidden");

    // The owner loses `admin`: at once, no key of theirs has it any more.
    app.call(
        "PATCH",
        &format!("/auth/admin/accounts/{boss}"),
        By::Admin,
        Some(json!({"scopes": ["reports"]})),
    )
    .await
    .assert_status(200);
    for k in [&admin_key, &inherit] {
        app.get("/auth/admin/accounts", By::Key(k))
            .await
            .assert_problem(403, "forbidden");
        app.get("/auth/me", By::Key(k)).await.assert_status(200);
    }
    // Given back: the key's own scope counts again.
    app.call(
        "PATCH",
        &format!("/auth/admin/accounts/{boss}"),
        By::Admin,
        Some(json!({"scopes": ["admin", "reports"]})),
    )
    .await
    .assert_status(200);
    app.get("/auth/admin/accounts", By::Key(&admin_key))
        .await
        .assert_status(200);
});

each_backend!(async fn blocked_inactive_or_deleted_owner_disables_keys_at_once(b) {
        let app = app(b).await;
        let (id, token) = app.user("gina").await;
        let (_, key, _) = app.key(&token, json!({"name": "k"})).await;
        app.get("/auth/me", By::Key(&key)).await.assert_status(200);

        app.call(
            "POST",
            &format!("/auth/admin/accounts/{id}/block"),
            By::Admin,
            Some(json!({"reason": "abuse"})),
        )
        .await
        .assert_status(204);
        app.get("/auth/me", By::Key(&key))
            .await
            .assert_problem(403, "account_blocked");
        app.call(
            "POST",
            &format!("/auth/admin/accounts/{id}/unblock"),
            By::Admin,
            None,
        )
        .await
        .assert_status(204);
        app.get("/auth/me", By::Key(&key)).await.assert_status(200);

        let patch = |active: bool| json!({ "active": active });
        app.call(
            "PATCH",
            &format!("/auth/admin/accounts/{id}"),
            By::Admin,
            Some(patch(false)),
        )
        .await
        .assert_status(200);
        app.get("/auth/me", By::Key(&key))
            .await
            .assert_problem(403, "account_inactive");
        app.call(
            "PATCH",
            &format!("/auth/admin/accounts/{id}"),
            By::Admin,
            Some(patch(true)),
        )
        .await
        .assert_status(200);
        app.get("/auth/me", By::Key(&key)).await.assert_status(200);

        app.call(
            "DELETE",
            &format!("/auth/admin/accounts/{id}"),
            By::Admin,
            None,
        )
        .await
        .assert_status(204);
        app.get("/auth/me", By::Key(&key))
            .await
            .assert_problem(401, "invalid_api_key");
    }
);

mod operations;
mod service;
