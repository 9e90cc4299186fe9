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

#[allow(dead_code)]
#[path = "../../examples/app_tokens.rs"]
mod app_tokens;

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

/// The app-tokens example end to end: the app checks its own user's
/// password, Warden issues and rotates the tokens, a rotated refresh token
/// presented again revokes the session, freshness guards the password
/// change, the app's denylist refuses one access token, logout ends the
/// session, and an app token is no account token.
#[tokio::test]
async fn app_tokens_example_login_refresh_fresh_denylist_logout() {
    let denied = app_tokens::Denylist::default();
    let w = Warden::builder()
        .memory()
        .settings(settings())
        .token_denylist(denied.clone())
        .build()
        .await
        .unwrap();
    let users = app_tokens::demo_users(&w).await.unwrap();
    let app = app_tokens::app(&w, users, denied).merge(
        axum::Router::new()
            .nest("/auth", w.router())
            .with_state(w.clone()),
    );
    let login_body = json!({"username": "ann", "password": "ann has a long password"});

    // Wrong password, unknown user: the same 401.
    for body in [
        json!({"username": "ann", "password": "not her password"}),
        json!({"username": "nobody", "password": "ann has a long password"}),
    ] {
        let res = post_json(&app, "/app/login", &[], body).await;
        assert_eq!(
            (res.status, res.code()),
            (StatusCode::UNAUTHORIZED, "invalid_credentials")
        );
    }
    let res = post_json(&app, "/app/login", &[], login_body.clone()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let access = res.body["access_token"].as_str().unwrap().to_owned();
    let refresh = res.body["refresh_token"].as_str().unwrap().to_owned();
    assert!(refresh.starts_with("wart_"), "{refresh}");
    let claims = jwt_payload(&access);
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["sub_kind"], "app");
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["scope"], "notes:read notes:write");
    assert_eq!(claims["fresh"], true);

    let auth = bearer(&access);
    let res = get_with(&app, "/app/notes", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["user"], "user-1");
    assert_eq!(res.body["tenant"], "acme");
    // Never an account: /auth/me refuses it.
    let res = get_with(&app, "/auth/me", &[("authorization", &auth)]).await;
    assert_eq!(
        (res.status, res.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );

    // Refresh rotates (not fresh); the old refresh token again revokes the session.
    let res = post_json(&app, "/app/refresh", &[], json!({"refresh_token": refresh})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let rotated = res.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt_payload(&rotated)["fresh"], false);
    assert_eq!(jwt_payload(&rotated)["tenant"], "acme");
    let rotated_auth = bearer(&rotated);
    let res = post_json(
        &app,
        "/app/password",
        &[("authorization", &rotated_auth)],
        json!({"password": "a new long password"}),
    )
    .await;
    assert_eq!(
        (res.status, res.code()),
        (StatusCode::UNAUTHORIZED, "fresh_token_required")
    );
    let res = post_json(&app, "/app/refresh", &[], json!({"refresh_token": refresh})).await;
    assert_eq!(
        (res.status, res.code()),
        (StatusCode::UNAUTHORIZED, "refresh_token_reused")
    );
    let res = get_with(&app, "/app/notes", &[("authorization", &rotated_auth)]).await;
    assert_eq!(
        (res.status, res.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );

    // A new session; the denylist refuses one access token, refresh goes on.
    let res = post_json(&app, "/app/login", &[], login_body.clone()).await;
    let access = res.body["access_token"].as_str().unwrap().to_owned();
    let refresh = res.body["refresh_token"].as_str().unwrap().to_owned();
    let auth = bearer(&access);
    let res = post_json(
        &app,
        "/app/revoke-access",
        &[("authorization", &auth)],
        json!({}),
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    let res = get_with(&app, "/app/notes", &[("authorization", &auth)]).await;
    assert_eq!(
        (res.status, res.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    let res = post_json(&app, "/app/refresh", &[], json!({"refresh_token": refresh})).await;
    let access = res.body["access_token"].as_str().unwrap().to_owned();
    let auth = bearer(&access);
    let res = get_with(&app, "/app/notes", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);

    // Fresh again with the password, then the password change ends every session.
    let res = post_json(
        &app,
        "/app/fresh",
        &[("authorization", &auth)],
        json!({"password": "ann has a long password"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let fresh = res.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt_payload(&fresh)["fresh"], true);
    let fresh_auth = bearer(&fresh);
    let res = post_json(
        &app,
        "/app/password",
        &[("authorization", &fresh_auth)],
        json!({"password": "a new long password"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    let res = get_with(&app, "/app/notes", &[("authorization", &fresh_auth)]).await;
    assert_eq!(
        (res.status, res.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    let res = post_json(&app, "/app/login", &[], login_body).await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );

    // Logout with the new password's session.
    let res = post_json(
        &app,
        "/app/login",
        &[],
        json!({"username": "ann", "password": "a new long password"}),
    )
    .await;
    let access = res.body["access_token"].as_str().unwrap().to_owned();
    let refresh = res.body["refresh_token"].as_str().unwrap().to_owned();
    let auth = bearer(&access);
    let res = post_json(&app, "/app/logout", &[("authorization", &auth)], json!({})).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    let res = get_with(&app, "/app/notes", &[("authorization", &auth)]).await;
    assert_eq!(
        (res.status, res.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    let res = post_json(&app, "/app/refresh", &[], json!({"refresh_token": refresh})).await;
    assert_eq!(
        (res.status, res.code()),
        (StatusCode::UNAUTHORIZED, "invalid_refresh_token")
    );

    // The JWKS is served for services that verify offline.
    let res = get_with(&app, "/.well-known/jwks.json", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(!res.body["keys"].as_array().unwrap().is_empty());
}
