//! Each extractor through a real router.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::*;
use serde_json::json;
use warden_axum::{
    ApiKeyAuth, Claims, CurrentAccount, CurrentSession, Fresh, Principal, RequireScopes,
    RulePrincipal, Warden,
};
use warden_core::model::ClientInfo;

warden_axum::scopes!(ReportsRead = ["reports:read"]);

async fn account_h(CurrentAccount(a): CurrentAccount) -> String {
    a.login.clone()
}
async fn maybe_account(a: Option<CurrentAccount>) -> String {
    a.map_or_else(
        || "anonymous".to_owned(),
        |CurrentAccount(a)| a.login.clone(),
    )
}
async fn session_h(CurrentSession(s): CurrentSession) -> String {
    s.id.to_string()
}
async fn maybe_session(s: Option<CurrentSession>) -> String {
    s.map_or_else(|| "none".to_owned(), |s| s.0.id.to_string())
}
async fn claims_h(Claims(c): Claims) -> String {
    c.sid.to_string()
}
async fn maybe_claims(c: Option<Claims>) -> String {
    c.map_or_else(|| "none".to_owned(), |c| c.0.sub.to_string())
}
async fn key_h(ApiKeyAuth(k): ApiKeyAuth) -> String {
    k.account.login.clone()
}
async fn maybe_key(k: Option<ApiKeyAuth>) -> String {
    k.map_or_else(|| "none".to_owned(), |k| k.0.account.login.clone())
}
async fn principal_h(p: Principal) -> String {
    p.method().to_owned()
}
async fn maybe_principal(p: Option<Principal>) -> String {
    p.map_or_else(|| "none".to_owned(), |p| p.method().to_owned())
}
async fn fresh_h(Fresh(CurrentAccount(a)): Fresh<CurrentAccount>) -> String {
    format!("fresh {}", a.login)
}
async fn scoped(RequireScopes(p, ..): RequireScopes<ReportsRead>) -> String {
    format!("reports via {}", p.method())
}
async fn ruled(RulePrincipal(p): RulePrincipal) -> String {
    p.method().to_owned()
}

async fn app(backend: Backend) -> (Warden, Router) {
    let (b, _clock) = builder(backend).await;
    let w = b.build().await.unwrap();
    let app = Router::new()
        .route("/account", get(account_h))
        .route("/maybe-account", get(maybe_account))
        .route("/session", get(session_h))
        .route("/maybe-session", get(maybe_session))
        .route("/claims", get(claims_h))
        .route("/maybe-claims", get(maybe_claims))
        .route("/key", get(key_h))
        .route("/maybe-key", get(maybe_key))
        .route("/principal", get(principal_h))
        .route("/maybe-principal", get(maybe_principal))
        .route("/fresh", get(fresh_h))
        .route("/reports", get(scoped))
        .route("/ruled", get(ruled))
        .nest("/auth", w.router())
        .with_state(w.clone());
    (w, app)
}

each_backend!(async fn current_account_accepts_a_token_and_refuses_a_blocked_account(backend) {
    let (w, app) = app(backend).await;
    let id = account(&w, "alice", &[]).await;
    let pair = login(&w, "alice").await;
    let auth = bearer(&pair.access_token);
    let res = get_with(&app, "/account", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.text, "alice");

    let res = get_with(&app, "/account", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "unauthenticated");
    assert_eq!(res.headers["content-type"], "application/problem+json");

    w.auth()
        .accounts()
        .block_account(id, "abuse", &ClientInfo::default())
        .await
        .unwrap();
    // Blocking revokes the sessions: the old token is dead.
    let res = get_with(&app, "/account", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "invalid_token");
});

each_backend!(async fn current_account_refuses_a_blocked_owner_of_a_live_token(backend) {
    // A custom method or API key may still present a blocked account's
    // identity: CurrentAccount checks the account itself.
    let (w, app) = app(backend).await;
    let id = account(&w, "bob", &[]).await;
    let pair = login(&w, "bob").await;
    let key = api_key(&app, &pair.access_token, &[]).await;
    let res = get_with(&app, "/account", &[("x-api-key", &key)]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    w.auth()
        .accounts()
        .block_account(id, "abuse", &ClientInfo::default())
        .await
        .unwrap();
    let res = get_with(&app, "/account", &[("x-api-key", &key)]).await;
    assert!(res.status == StatusCode::FORBIDDEN || res.status == StatusCode::UNAUTHORIZED);
    assert!(
        ["account_blocked", "invalid_api_key"].contains(&res.code()),
        "{}",
        res.text
    );
});

each_backend!(async fn optional_account_is_none_without_credentials_but_rejects_bad_ones(backend) {
    let (w, app) = app(backend).await;
    account(&w, "carol", &[]).await;
    let res = get_with(&app, "/maybe-account", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.text, "anonymous");

    let res = get_with(
        &app,
        "/maybe-account",
        &[("authorization", "Bearer not.a.jwt")],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "invalid_token");

    let res = get_with(&app, "/maybe-account", &[("x-api-key", "wdn_nope")]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "invalid_api_key");

    let pair = login(&w, "carol").await;
    let auth = bearer(&pair.access_token);
    let res = get_with(&app, "/maybe-account", &[("authorization", &auth)]).await;
    assert_eq!(res.text, "carol");
});

each_backend!(async fn optional_claims_session_key_and_principal(backend) {
    let (w, app) = app(backend).await;
    let id = account(&w, "dave", &[]).await;
    for path in [
        "/maybe-claims",
        "/maybe-session",
        "/maybe-key",
        "/maybe-principal",
    ] {
        let res = get_with(&app, path, &[]).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert_eq!(res.text, "none", "{path}");
        let res = get_with(&app, path, &[("authorization", "Bearer bad")]).await;
        if path != "/maybe-key" {
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{path}");
        }
    }
    let pair = login(&w, "dave").await;
    let auth = bearer(&pair.access_token);
    let res = get_with(&app, "/maybe-claims", &[("authorization", &auth)]).await;
    assert_eq!(res.text, id.to_string());
    let res = get_with(&app, "/maybe-principal", &[("authorization", &auth)]).await;
    assert_eq!(res.text, "jwt");
    let key = api_key(&app, &pair.access_token, &[]).await;
    let res = get_with(&app, "/maybe-key", &[("x-api-key", &key)]).await;
    assert_eq!(res.text, "dave");
    let res = get_with(&app, "/key", &[("x-api-key", &key)]).await;
    assert_eq!(res.text, "dave");
    let res = get_with(&app, "/principal", &[("x-api-key", &key)]).await;
    assert_eq!(res.text, "api_key");
    let res = get_with(&app, "/key", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
});

each_backend!(async fn claims_and_current_session(backend) {
    let (w, app) = app(backend).await;
    account(&w, "erin", &[]).await;
    let pair = login(&w, "erin").await;
    let auth = bearer(&pair.access_token);
    let res = get_with(&app, "/claims", &[("authorization", &auth)]).await;
    assert_eq!(res.text, pair.session_id.to_string());
    let res = get_with(&app, "/session", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.text, pair.session_id.to_string());

    // An API key has no session.
    let key = api_key(&app, &pair.access_token, &[]).await;
    let res = get_with(&app, "/session", &[("x-api-key", &key)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    // A logged-out session is refused.
    let res = post_json(&app, "/auth/logout", &[("authorization", &auth)], json!({})).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = get_with(&app, "/session", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "invalid_token");
});

each_backend!(async fn fresh_accepts_a_login_token_and_refuses_a_refreshed_one(backend) {
    let (w, app) = app(backend).await;
    account(&w, "fred", &[]).await;
    let pair = login(&w, "fred").await;
    let auth = bearer(&pair.access_token);
    let res = get_with(&app, "/fresh", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.text, "fresh fred");

    let refreshed = w
        .auth()
        .sessions()
        .refresh(&pair.refresh_token, &ClientInfo::default())
        .await
        .unwrap();
    let auth = bearer(&refreshed.access_token);
    let res = get_with(&app, "/fresh", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "fresh_token_required");

    let res = get_with(&app, "/fresh", &[]).await;
    assert_eq!(res.code(), "unauthenticated");
});

each_backend!(async fn require_scopes_gives_403_without_the_scope(backend) {
    let (w, app) = app(backend).await;
    account(&w, "gina", &["reports:read"]).await;
    account(&w, "hank", &[]).await;
    let ok = login(&w, "gina").await;
    let no = login(&w, "hank").await;
    let res = get_with(
        &app,
        "/reports",
        &[("authorization", &bearer(&ok.access_token))],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.text, "reports via jwt");
    let res = get_with(
        &app,
        "/reports",
        &[("authorization", &bearer(&no.access_token))],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.code(), "forbidden");
    let res = get_with(&app, "/reports", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // A key without the scope is refused too.
    let key = api_key(&app, &ok.access_token, &[]).await;
    let res = get_with(&app, "/reports", &[("x-api-key", &key)]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
});

each_backend!(async fn rule_principal_without_the_layer_names_it(backend) {
    let (w, app) = app(backend).await;
    account(&w, "ivy", &[]).await;
    let pair = login(&w, "ivy").await;
    let res = get_with(
        &app,
        "/ruled",
        &[("authorization", &bearer(&pair.access_token))],
    )
    .await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        res.text.contains("add warden.rules_layer()"),
        "{}",
        res.text
    );
});
