//! Shared test helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;
use warden_axum::{Warden, WardenBuilder};
use warden_core::clock::ManualClock;
use warden_core::model::{AccountId, ClientInfo};
use warden_core::password::HashParams;
use warden_core::{NewAccount, Settings, TokenPair};
pub use warden_testkit::{Backend, each_backend};

pub const PASSWORD: &str = "correct horse battery";

pub fn settings() -> Settings {
    Settings {
        hash: HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        ..Default::default()
    }
}

/// A builder on a fresh store of `backend`, with cheap hashing and a manual
/// clock at a recent time.
pub async fn builder(backend: Backend) -> (WardenBuilder, ManualClock) {
    let clock = ManualClock::at_unix(1_800_000_000);
    let b = Warden::builder()
        .store(warden_testkit::store(backend).await)
        .settings(settings())
        .clock(Arc::new(clock.clone()));
    (b, clock)
}

pub async fn account(w: &Warden, login: &str, scopes: &[&str]) -> AccountId {
    let mut new = NewAccount::new(login, PASSWORD);
    new.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    w.auth()
        .accounts()
        .create_account(new, &ClientInfo::default())
        .await
        .unwrap()
        .id
}

pub async fn login(w: &Warden, login: &str) -> TokenPair {
    w.auth()
        .sessions()
        .login(login, PASSWORD, false, &ClientInfo::default())
        .await
        .unwrap()
        .tokens()
        .unwrap()
}

pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Res {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Res {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Res {
        status,
        headers,
        body,
        text,
    }
}

pub fn get(path: &str) -> axum::http::request::Builder {
    Request::builder().method("GET").uri(path)
}

pub fn post(path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub async fn get_with(app: &Router, path: &str, headers: &[(&str, &str)]) -> Res {
    let mut b = get(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(app, b.body(Body::empty()).unwrap()).await
}

pub async fn post_json(app: &Router, path: &str, headers: &[(&str, &str)], body: Value) -> Res {
    let mut b = post(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(app, b.body(Body::from(body.to_string())).unwrap()).await
}

/// Create an API key for the caller of `token` through the router.
pub async fn api_key(app: &Router, token: &str, scopes: &[&str]) -> String {
    let auth = bearer(token);
    let res = post_json(
        app,
        "/auth/api-keys",
        &[("authorization", &auth)],
        serde_json::json!({"name": "test", "scopes": scopes}),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["key"].as_str().unwrap().to_owned()
}

/// The JSON payload of a JWT (no verification).
pub fn jwt_payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
