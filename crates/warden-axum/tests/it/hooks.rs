//! Application hooks through a real router.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use axum::Router;
use axum::http::StatusCode;
use common::*;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use warden_core::Error;

each_backend!(async fn before_register_vetoes_and_enriches(backend) {
    let (b, _clock) = builder(backend).await;
    let w = b
        .hook_before_register(|mut input, _client| async move {
            if input.login.starts_with("admin") {
                return Err(Error::Forbidden("this login is reserved".into()));
            }
            if input.email.is_none() {
                return Err(Error::field("email", "is required here"));
            }
            input.properties = Some(json!({"plan": "free"}));
            Ok(input)
        })
        .build()
        .await
        .unwrap();
    let app: Router = Router::new()
        .nest("/auth", w.router())
        .with_state(w.clone());
    let res = post_json(
        &app,
        "/auth/register",
        &[],
        json!({"login": "admin2", "password": PASSWORD, "email": "a@example.com"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.code(), "forbidden");
    assert_eq!(res.body["detail"], "this login is reserved");
    let res = post_json(
        &app,
        "/auth/register",
        &[],
        json!({"login": "bob", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.code(), "validation_failed");
    assert_eq!(res.body["errors"][0]["field"], "email");
    let res = post_json(
        &app,
        "/auth/register",
        &[],
        json!({"login": "bob", "password": PASSWORD, "email": "b@example.com"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(res.body["account"]["properties"]["plan"], "free");
});

each_backend!(async fn extra_claims_go_into_access_tokens(backend) {
    let (b, _clock) = builder(backend).await;
    let w = b
        .hook_extra_claims(|account, session| async move {
            let mut m = serde_json::Map::new();
            m.insert("tenant".into(), json!(format!("t-{}", account.login)));
            m.insert("sid".into(), json!("overridden?")); // reserved: ignored
            m.insert("long".into(), json!(session.long));
            Ok(m)
        })
        .build()
        .await
        .unwrap();
    let id = account(&w, "carol", &[]).await;
    let app: Router = Router::new()
        .nest("/auth", w.router())
        .with_state(w.clone());
    let res = post_json(
        &app,
        "/auth/login",
        &[],
        json!({"login": "carol", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    let token = res.body["access_token"].as_str().unwrap();
    let payload = jwt_payload(token);
    assert_eq!(payload["tenant"], "t-carol");
    assert_eq!(payload["long"], false);
    assert_eq!(payload["sid"], res.body["session_id"]);
    assert_eq!(payload["sub"], id.to_string());
    // The token still verifies, and refresh keeps the claim.
    let claims = w.auth().sessions().authenticate(token).await.unwrap();
    assert_eq!(claims.extra["tenant"], "t-carol");
    let refresh = res.body["refresh_token"].as_str().unwrap();
    let res = post_json(
        &app,
        "/auth/refresh",
        &[],
        json!({"refresh_token": refresh}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        jwt_payload(res.body["access_token"].as_str().unwrap())["tenant"],
        "t-carol"
    );
});

each_backend!(async fn after_login_is_called_and_can_refuse(backend) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let (b, _clock) = builder(backend).await;
    let w = b
        .hook_after_login(move |account, _session, _client| {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                if account.login == "mallory" {
                    return Err(Error::Forbidden("not today".into()));
                }
                Ok(())
            }
        })
        .build()
        .await
        .unwrap();
    account(&w, "dave", &[]).await;
    let mallory = account(&w, "mallory", &[]).await;
    let app: Router = Router::new()
        .nest("/auth", w.router())
        .with_state(w.clone());
    let res = post_json(
        &app,
        "/auth/login",
        &[],
        json!({"login": "dave", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let res = post_json(
        &app,
        "/auth/login",
        &[],
        json!({"login": "mallory", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.code(), "forbidden");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // The refused login left no live session.
    assert!(w.auth().sessions().list(mallory).await.unwrap().is_empty());
});

/// Counts its calls; refuses nothing.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>);

#[warden_axum::async_trait]
impl warden_core::hooks::TokenDenylist for Counting {
    async fn is_revoked(&self, _: &warden_core::token::SubjectClaims) -> warden_core::Result<bool> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(false)
    }
}

// The denylist is asked once per request, however many token extractors
// the handler has, for account and app-subject tokens; never without a token.
each_backend!(async fn token_denylist_is_asked_once_per_request(backend) {
    use axum::routing::get;
    use warden_axum::{Claims, CurrentAccount, CurrentSubject, Fresh};
    let (b, _clock) = builder(backend).await;
    let calls = Counting::default();
    let w = b.token_denylist(calls.clone()).build().await.unwrap();
    async fn account_route(
        _: Claims,
        _: CurrentAccount,
        _: Fresh<CurrentSubject>,
        _: CurrentSubject,
    ) -> &'static str {
        "ok"
    }
    async fn subject_route(_: Fresh<CurrentSubject>, _: CurrentSubject) -> &'static str {
        "ok"
    }
    let app: Router = Router::new()
        .route("/account", get(account_route))
        .route("/subject", get(subject_route))
        .nest("/auth", w.router())
        .with_state(w.clone());
    account(&w, "dora", &[]).await;
    let pair = login(&w, "dora").await;
    let res = get_with(
        &app,
        "/account",
        &[("authorization", &bearer(&pair.access_token))],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(calls.0.load(Ordering::SeqCst), 1);
    let app_pair = w
        .auth()
        .app_tokens()
        .issue(
            warden_core::AppGrant::new("dora-in-the-app"),
            &warden_core::model::ClientInfo::default(),
        )
        .await
        .unwrap();
    let auth = bearer(&app_pair.access_token);
    let res = get_with(&app, "/subject", &[("authorization", &auth)]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(calls.0.load(Ordering::SeqCst), 2);
    // The account route refuses the app token before the list is asked.
    let res = get_with(&app, "/account", &[("authorization", &auth)]).await;
    assert_eq!(
        (res.status, res.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    assert_eq!(calls.0.load(Ordering::SeqCst), 2);
    let res = get_with(&app, "/subject", &[]).await;
    assert_eq!(
        (res.status, res.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert_eq!(calls.0.load(Ordering::SeqCst), 2);
});
