//! Path rules and custom methods through a real router.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use axum::Router;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use common::*;
use warden_axum::{
    AuthMethod, CurrentAccount, Identity, PathRules, Principal, Principals, Rule, RulePrincipal,
    Strategy, Warden, async_trait,
};
use warden_core::Error;
use warden_core::model::{AccountId, ClientInfo};

/// `X-Device: <account id>:device-secret` acts as that account with scope `device`;
/// `X-Device: robot:device-secret` is a subject without an account.
struct DeviceKey;

#[async_trait]
impl AuthMethod for DeviceKey {
    async fn authenticate(&self, parts: &Parts, _w: &Warden) -> Result<Option<Identity>, Error> {
        let Some(v) = parts.headers.get("x-device") else {
            return Ok(None);
        };
        let v = v.to_str().map_err(|_| Error::InvalidToken)?;
        let (who, secret) = v.split_once(':').ok_or(Error::InvalidToken)?;
        if !warden_core::random::ct_eq(secret.as_bytes(), b"device-secret") {
            return Err(Error::InvalidToken);
        }
        let id = Identity::new(who).with_scopes(["device"]);
        Ok(Some(match AccountId::parse(who) {
            Some(a) => id.with_account(a),
            None => id,
        }))
    }
}

async fn ruled(RulePrincipal(p): RulePrincipal) -> String {
    p.method().to_owned()
}
async fn maybe_ruled(p: Option<RulePrincipal>) -> String {
    p.map_or_else(|| "anonymous".into(), |p| p.0.method().to_owned())
}
async fn all(
    RulePrincipal(p): RulePrincipal,
    axum::Extension(ps): axum::Extension<Principals>,
) -> String {
    let methods: Vec<&str> = ps.0.iter().map(Principal::method).collect();
    format!("{} {}", p.method(), methods.join("+"))
}
async fn custom(p: Principal) -> String {
    match p {
        Principal::Custom {
            method,
            subject,
            scopes,
            ..
        } => {
            format!("{method} {subject} {}", scopes.join(","))
        }
        other => other.method().to_owned(),
    }
}
async fn account_h(CurrentAccount(a): CurrentAccount) -> String {
    a.login.clone()
}

async fn app(backend: Backend) -> (Warden, Router) {
    let (b, _clock) = builder(backend).await;
    let w = b.method("device", DeviceKey).build().await.unwrap();
    let rules = PathRules::new()
        .rule(
            Rule::new("/api/admin/*")
                .methods(["jwt", "api_key"])
                .scopes(["admin"]),
        )
        .rule(
            Rule::new("/api/both")
                .methods(["jwt", "api_key"])
                .strategy(Strategy::All),
        )
        .rule(Rule::new("/api/keys-only").methods(["api_key"]))
        .rule(Rule::new("/api/device/*").methods(["device"]))
        .rule(Rule::new("/api/device-account").methods(["device"]))
        .rule(Rule::new("/api/public").optional_methods(["jwt"]))
        .rule(Rule::new("/api/*").methods(["jwt", "session", "api_key"]))
        // never reached for /api/...: the rule above matched first
        .rule(Rule::new("/api/keys-too").methods(["api_key"]));
    let app = Router::new()
        .route("/api/admin/stats", get(ruled))
        .route("/api/both", get(all))
        .route("/api/keys-only", get(ruled))
        .route("/api/keys-too", get(ruled))
        .route("/api/device/info", get(custom))
        .route("/api/device-account", get(account_h))
        .route("/api/public", get(maybe_ruled))
        .route("/api/any", get(ruled))
        .route("/unruled", get(maybe_ruled))
        .layer(w.rules_layer(rules))
        .nest("/auth", w.router())
        .with_state(w.clone());
    (w, app)
}

each_backend!(async fn any_takes_the_first_method_that_succeeds(backend) {
    let (w, app) = app(backend).await;
    account(&w, "alice", &[]).await;
    let pair = login(&w, "alice").await;
    let auth = bearer(&pair.access_token);
    let key = api_key(&app, &pair.access_token, &[]).await;
    let res = get_with(&app, "/api/any", &[("authorization", &auth)]).await;
    assert_eq!((res.status, res.text.as_str()), (StatusCode::OK, "jwt"));
    let res = get_with(&app, "/api/any", &[("x-api-key", &key)]).await;
    assert_eq!((res.status, res.text.as_str()), (StatusCode::OK, "api_key"));
    let res = get_with(&app, "/api/any", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "unauthenticated");
    // A bad token and no other credential: its error.
    let res = get_with(&app, "/api/any", &[("authorization", "Bearer x.y.z")]).await;
    assert_eq!(res.code(), "invalid_token");
    // A bad token but a good key: Any is satisfied by the key.
    let res = get_with(
        &app,
        "/api/any",
        &[("authorization", "Bearer x.y.z"), ("x-api-key", &key)],
    )
    .await;
    assert_eq!((res.status, res.text.as_str()), (StatusCode::OK, "api_key"));
});

each_backend!(async fn all_needs_every_method_for_the_same_account(backend) {
    let (w, app) = app(backend).await;
    account(&w, "bob", &[]).await;
    account(&w, "carl", &[]).await;
    let bob = login(&w, "bob").await;
    let carl = login(&w, "carl").await;
    let bob_key = api_key(&app, &bob.access_token, &[]).await;
    let carl_key = api_key(&app, &carl.access_token, &[]).await;
    let auth = bearer(&bob.access_token);
    let res = get_with(&app, "/api/both", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = get_with(&app, "/api/both", &[("x-api-key", &bob_key)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = get_with(
        &app,
        "/api/both",
        &[("authorization", &auth), ("x-api-key", &bob_key)],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.text, "jwt jwt+api_key");
    let res = get_with(
        &app,
        "/api/both",
        &[("authorization", &auth), ("x-api-key", &carl_key)],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
});

each_backend!(async fn optional_methods_admit_anonymous_but_not_bad_credentials(backend) {
    let (w, app) = app(backend).await;
    account(&w, "dora", &[]).await;
    let pair = login(&w, "dora").await;
    let res = get_with(&app, "/api/public", &[]).await;
    assert_eq!(
        (res.status, res.text.as_str()),
        (StatusCode::OK, "anonymous")
    );
    let res = get_with(
        &app,
        "/api/public",
        &[("authorization", &bearer(&pair.access_token))],
    )
    .await;
    assert_eq!((res.status, res.text.as_str()), (StatusCode::OK, "jwt"));
    let res = get_with(&app, "/api/public", &[("authorization", "Bearer bad")]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "invalid_token");
});

each_backend!(async fn first_matching_rule_wins(backend) {
    let (w, app) = app(backend).await;
    account(&w, "eve", &[]).await;
    let pair = login(&w, "eve").await;
    let auth = bearer(&pair.access_token);
    // /api/keys-only takes keys only: a token is not enough.
    let res = get_with(&app, "/api/keys-only", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // /api/keys-too is shadowed by "/api/*", which accepts the token.
    let res = get_with(&app, "/api/keys-too", &[("authorization", &auth)]).await;
    assert_eq!((res.status, res.text.as_str()), (StatusCode::OK, "jwt"));
    // No rule: the request passes untouched, and RulePrincipal says so.
    let res = get_with(&app, "/unruled", &[]).await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.text.contains("rules_layer"));
    // The auth router is not under a rule: it keeps working.
    let res = get_with(&app, "/auth/me", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::OK);
});

each_backend!(async fn rule_scopes_give_403(backend) {
    let (w, app) = app(backend).await;
    account(&w, "root", &["admin"]).await;
    account(&w, "user", &[]).await;
    let root = login(&w, "root").await;
    let user = login(&w, "user").await;
    let res = get_with(
        &app,
        "/api/admin/stats",
        &[("authorization", &bearer(&root.access_token))],
    )
    .await;
    assert_eq!((res.status, res.text.as_str()), (StatusCode::OK, "jwt"));
    let res = get_with(
        &app,
        "/api/admin/stats",
        &[("authorization", &bearer(&user.access_token))],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.code(), "forbidden");
    let res = get_with(&app, "/api/admin/stats", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // A key of the admin without the admin scope is refused.
    let key = api_key(&app, &root.access_token, &[]).await;
    let res = get_with(&app, "/api/admin/stats", &[("x-api-key", &key)]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let key = api_key(&app, &root.access_token, &["admin"]).await;
    let res = get_with(&app, "/api/admin/stats", &[("x-api-key", &key)]).await;
    assert_eq!(res.status, StatusCode::OK);
});

each_backend!(async fn custom_method_in_rules_and_principal(backend) {
    let (w, app) = app(backend).await;
    let res = get_with(
        &app,
        "/api/device/info",
        &[("x-device", "robot:device-secret")],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.text, "device robot device");
    let res = get_with(&app, "/api/device/info", &[("x-device", "robot:wrong")]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "invalid_token");
    let res = get_with(&app, "/api/device/info", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // A JWT does not satisfy a device-only rule.
    account(&w, "fay", &[]).await;
    let pair = login(&w, "fay").await;
    let res = get_with(
        &app,
        "/api/device/info",
        &[("authorization", &bearer(&pair.access_token))],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
});

each_backend!(async fn custom_method_acting_as_an_account_and_blocked_accounts(backend) {
    let (w, app) = app(backend).await;
    let id = account(&w, "gus", &[]).await;
    let cred = format!("{id}:device-secret");
    let res = get_with(&app, "/api/device-account", &[("x-device", &cred)]).await;
    assert_eq!((res.status, res.text.as_str()), (StatusCode::OK, "gus"));
    // Without an account the method cannot be a CurrentAccount.
    let res = get_with(
        &app,
        "/api/device-account",
        &[("x-device", "robot:device-secret")],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // CurrentAccount refuses a blocked account.
    w.auth()
        .accounts()
        .block_account(id, "x", &ClientInfo::default())
        .await
        .unwrap();
    let res = get_with(&app, "/api/device-account", &[("x-device", &cred)]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.code(), "account_blocked");
    w.auth()
        .accounts()
        .unblock_account(id, &ClientInfo::default())
        .await
        .unwrap();
    let patch = warden_core::AccountPatch {
        active: Some(false),
        ..Default::default()
    };
    w.auth()
        .accounts()
        .update_account(id, patch, &ClientInfo::default())
        .await
        .unwrap();
    let res = get_with(&app, "/api/device-account", &[("x-device", &cred)]).await;
    assert_eq!(res.code(), "account_inactive");
});

each_backend!(async fn custom_method_is_tried_by_plain_extractors(backend) {
    // Without rules, Principal/CurrentAccount try the custom methods after the built-ins.
    let (b, _clock) = builder(backend).await;
    let w = b.method("device", DeviceKey).build().await.unwrap();
    let id = account(&w, "hal", &[]).await;
    let app: Router = Router::new()
        .route("/who", get(account_h))
        .route("/p", get(custom))
        .with_state(w.clone());
    let cred = format!("{id}:device-secret");
    let res = get_with(&app, "/who", &[("x-device", &cred)]).await;
    assert_eq!((res.status, res.text.as_str()), (StatusCode::OK, "hal"));
    let res = get_with(&app, "/p", &[("x-device", "robot:device-secret")]).await;
    assert_eq!(res.text, "device robot device");
    // Built-in names cannot be taken.
    let (b, _clock) = builder(backend).await;
    let w = b.method("jwt", DeviceKey).build().await.unwrap();
    assert!(w.method("jwt").is_none());
});

#[test]
fn patterns() {
    let r = Rule::new("/api/admin/*");
    assert!(r.matches("/api/admin"));
    assert!(r.matches("/api/admin/x/y"));
    assert!(!r.matches("/api/administrator"));
    assert!(Rule::new("*").matches("/anything"));
    assert!(Rule::new("/exact").matches("/exact"));
    assert!(!Rule::new("/exact").matches("/exact/more"));
    let rules = PathRules::new()
        .rule(Rule::new("/a/*"))
        .rule(Rule::new("/a/b"));
    assert_eq!(rules.find("/a/b").map(Rule::pattern), Some("/a/*"));
}
