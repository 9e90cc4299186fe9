//! The examples' apps, built the same way and driven in-process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

#[allow(dead_code)]
#[path = "../../examples/minimal.rs"]
mod minimal;

#[allow(dead_code)]
#[path = "../../examples/sqlite_rules.rs"]
mod sqlite_rules;

#[allow(dead_code)]
#[path = "../../examples/custom_method.rs"]
mod custom_method;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use warden_axum::Warden;

#[tokio::test]
async fn minimal_register_login_hello() {
    let w = Warden::builder()
        .memory()
        .settings(settings())
        .build()
        .await
        .unwrap();
    let app = minimal::app(&w);
    let res = get_with(&app, "/hello", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = post_json(
        &app,
        "/auth/register",
        &[],
        json!({"login": "alice", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let res = post_json(
        &app,
        "/auth/login",
        &[],
        json!({"login": "alice", "password": PASSWORD}),
    )
    .await;
    let token = res.body["access_token"].as_str().unwrap().to_owned();
    let res = get_with(&app, "/hello", &[("authorization", &bearer(&token))]).await;
    assert_eq!(
        (res.status, res.text.as_str()),
        (StatusCode::OK, "hello alice")
    );
}

#[tokio::test]
async fn sqlite_rules_app() {
    let w = sqlite_rules::builder("sqlite::memory:")
        .await
        .unwrap()
        .settings(settings())
        .build()
        .await
        .unwrap();
    let app = sqlite_rules::app(&w);
    account(&w, "root", &["admin"]).await;
    account(&w, "bob", &[]).await;
    let root = login(&w, "root").await;
    let bob = login(&w, "bob").await;

    // public feed, personal with a token
    let res = get_with(&app, "/api/feed", &[]).await;
    assert_eq!(res.text, "public feed");
    let res = get_with(
        &app,
        "/api/feed",
        &[("authorization", &bearer(&bob.access_token))],
    )
    .await;
    assert_eq!(res.text, "your feed (jwt)");

    // admin area: scope checked
    let res = get_with(
        &app,
        "/api/admin/stats",
        &[("authorization", &bearer(&bob.access_token))],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = get_with(
        &app,
        "/api/admin/stats",
        &[("authorization", &bearer(&root.access_token))],
    )
    .await;
    assert_eq!(res.text, "admin area, via jwt");

    // cookie session reaches /api/* and, for an admin, the admin area
    let res = post_json(
        &app,
        "/auth/session/login",
        &[],
        json!({"login": "root", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let cookie = res.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let res = get_with(&app, "/api/profile", &[("cookie", &cookie)]).await;
    assert_eq!(res.text, "profile of root");
    let res = get_with(&app, "/api/admin/stats", &[("cookie", &cookie)]).await;
    assert_eq!(res.text, "admin area, via session");

    // sync needs a token and a key of the same account
    let key = api_key(&app, &bob.access_token, &[]).await;
    let res = get_with(&app, "/api/sync", &[("x-api-key", &key)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = get_with(
        &app,
        "/api/sync",
        &[
            ("x-api-key", &key),
            ("authorization", &bearer(&bob.access_token)),
        ],
    )
    .await;
    assert_eq!(res.text, "syncing for bob");
    let res = get_with(&app, "/api/profile", &[("x-api-key", &key)]).await;
    assert_eq!(res.text, "profile of bob");
    let res = get_with(&app, "/api/profile", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn custom_method_app() {
    let w = custom_method::builder("s3cret-service-token")
        .settings(settings())
        .build()
        .await
        .unwrap();
    let app = custom_method::app(&w);
    let res = get_with(
        &app,
        "/internal/metrics",
        &[("x-service-token", "s3cret-service-token")],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.text, "metrics for internal-service (service_token)");
    let res = get_with(&app, "/internal/metrics", &[("x-service-token", "wrong")]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = get_with(&app, "/internal/metrics", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // An account's token without the scope: 403; with it: allowed.
    account(&w, "ops", &["metrics:read"]).await;
    account(&w, "dev", &[]).await;
    let ops = login(&w, "ops").await;
    let dev = login(&w, "dev").await;
    let res = get_with(
        &app,
        "/internal/metrics",
        &[("authorization", &bearer(&dev.access_token))],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = get_with(
        &app,
        "/internal/metrics",
        &[("authorization", &bearer(&ops.access_token))],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.text.starts_with("metrics for account"));
}
