//! Server-side cookie sessions through a real router.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use common::*;
use serde_json::json;
use time::Duration;
use warden_axum::{
    CurrentAccount, CurrentSession, PathRules, Principal, Rule, SessionConfig, Warden,
};
use warden_core::clock::ManualClock;

async fn me(CurrentAccount(a): CurrentAccount, p: Principal) -> String {
    format!("{} {}", a.login, p.method())
}
async fn session_h(CurrentSession(s): CurrentSession) -> String {
    format!("{} {}", s.id, s.user_agent.unwrap_or_default())
}
async fn change(CurrentAccount(a): CurrentAccount) -> String {
    format!("changed {}", a.login)
}

async fn app(backend: Backend, config: SessionConfig) -> (Warden, Router, ManualClock) {
    let (b, clock) = builder(backend).await;
    let w = b.sessions(config).build().await.unwrap();
    let app = Router::new()
        .route("/me", get(me))
        .route("/session", get(session_h))
        .route("/change", post(change))
        .route("/ruled", get(me))
        .layer(w.rules_layer(PathRules::new().rule(Rule::new("/ruled").methods(["session"]))))
        .nest("/auth", w.router())
        .with_state(w.clone());
    (w, app, clock)
}

/// Log in by cookie; returns the `name=value` pair to send back.
async fn cookie_login(app: &Router, login: &str, old: Option<&str>) -> (String, serde_json::Value) {
    let mut headers = vec![("user-agent", "test-agent/1.0")];
    if let Some(c) = old {
        headers.push(("cookie", c));
    }
    let res = post_json(
        app,
        "/auth/session/login",
        &headers,
        json!({"login": login, "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let set = res.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.starts_with("wsid="), "{set}");
    assert!(set.contains("HttpOnly"));
    let pair = set.split(';').next().unwrap().to_owned();
    (pair, res.body)
}

each_backend!(async fn login_sets_a_cookie_that_authenticates(backend) {
    let (w, app, _clock) = app(backend, SessionConfig::default()).await;
    account(&w, "alice", &[]).await;
    let (cookie, body) = cookie_login(&app, "alice", None).await;
    assert_eq!(body["account"]["login"], "alice");
    let res = get_with(&app, "/me", &[("cookie", &cookie)]).await;
    assert_eq!(
        (res.status, res.text.as_str()),
        (StatusCode::OK, "alice session")
    );
    let res = get_with(&app, "/ruled", &[("cookie", &cookie)]).await;
    assert_eq!(
        (res.status, res.text.as_str()),
        (StatusCode::OK, "alice session")
    );
    // The session record keeps the user agent.
    let res = get_with(&app, "/session", &[("cookie", &cookie)]).await;
    assert!(res.text.ends_with("test-agent/1.0"), "{}", res.text);
    // A forged cookie is refused.
    // Change the last character to a different one (never the same by chance).
    let last = if cookie.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &cookie[..cookie.len() - 1]);
    let res = get_with(&app, "/me", &[("cookie", &forged)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "invalid_token");
    // A wrong password is refused.
    let res = post_json(
        &app,
        "/auth/session/login",
        &[],
        json!({"login": "alice", "password": "wrong password"}),
    )
    .await;
    assert_eq!(res.code(), "invalid_credentials");
    // State-changing requests need the CSRF header.
    let res = post_json(&app, "/change", &[("cookie", &cookie)], json!({})).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = post_json(
        &app,
        "/change",
        &[("cookie", &cookie), ("x-requested-with", "fetch")],
        json!({}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    // Logout ends it.
    let res = post_json(
        &app,
        "/auth/session/logout",
        &[("cookie", &cookie), ("x-requested-with", "fetch")],
        json!({}),
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert!(
        res.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let res = get_with(&app, "/me", &[("cookie", &cookie)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
});

each_backend!(async fn idle_timeout(backend) {
    let config = SessionConfig {
        idle_timeout: Duration::minutes(10),
        ..SessionConfig::default()
    };
    let (w, app, clock) = app(backend, config).await;
    account(&w, "bob", &[]).await;
    let (cookie, _) = cookie_login(&app, "bob", None).await;
    // Used every 9 minutes: stays alive (last_seen is touched).
    for _ in 0..3 {
        clock.advance(Duration::minutes(9));
        let res = get_with(&app, "/me", &[("cookie", &cookie)]).await;
        assert_eq!(res.status, StatusCode::OK);
    }
    clock.advance(Duration::minutes(11));
    let res = get_with(&app, "/me", &[("cookie", &cookie)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // Revoked, not only refused.
    clock.advance(Duration::minutes(-5));
    let res = get_with(&app, "/me", &[("cookie", &cookie)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
});

each_backend!(async fn absolute_timeout(backend) {
    let config = SessionConfig {
        idle_timeout: Duration::minutes(30),
        absolute_timeout: Duration::hours(1),
        ..SessionConfig::default()
    };
    let (w, app, clock) = app(backend, config).await;
    account(&w, "carol", &[]).await;
    let (cookie, _) = cookie_login(&app, "carol", None).await;
    for _ in 0..2 {
        clock.advance(Duration::minutes(25));
        let res = get_with(&app, "/me", &[("cookie", &cookie)]).await;
        assert_eq!(res.status, StatusCode::OK);
    }
    clock.advance(Duration::minutes(11));
    let res = get_with(&app, "/me", &[("cookie", &cookie)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
});

each_backend!(async fn max_sessions_evicts_the_oldest(backend) {
    let config = SessionConfig {
        max_sessions_per_user: 2,
        ..SessionConfig::default()
    };
    let (w, app, clock) = app(backend, config).await;
    account(&w, "dave", &[]).await;
    let (c1, _) = cookie_login(&app, "dave", None).await;
    clock.advance(Duration::seconds(1));
    let (c2, _) = cookie_login(&app, "dave", None).await;
    clock.advance(Duration::seconds(1));
    // A token login is not a cookie session and does not count.
    let pair = login(&w, "dave").await;
    let (c3, _) = cookie_login(&app, "dave", None).await;
    let res = get_with(&app, "/me", &[("cookie", &c1)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    for c in [&c2, &c3] {
        let res = get_with(&app, "/me", &[("cookie", c)]).await;
        assert_eq!(res.status, StatusCode::OK);
    }
    let res = get_with(
        &app,
        "/me",
        &[("authorization", &bearer(&pair.access_token))],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
});

each_backend!(async fn id_is_cycled_on_login(backend) {
    let (w, app, _clock) = app(backend, SessionConfig::default()).await;
    account(&w, "erin", &[]).await;
    let (old, first) = cookie_login(&app, "erin", None).await;
    // A failed login does not end the session the browser has.
    let res = post_json(
        &app,
        "/auth/session/login",
        &[("cookie", &old)],
        json!({"login": "erin", "password": "wrong password"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = get_with(&app, "/me", &[("cookie", &old)]).await;
    assert_eq!(res.status, StatusCode::OK);
    let (new, second) = cookie_login(&app, "erin", Some(&old)).await;
    assert_ne!(old, new);
    assert_ne!(first["session_id"], second["session_id"]);
    let res = get_with(&app, "/me", &[("cookie", &old)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = get_with(&app, "/me", &[("cookie", &new)]).await;
    assert_eq!(res.status, StatusCode::OK);
});

each_backend!(async fn session_routes_absent_without_sessions(backend) {
    let (b, _clock) = builder(backend).await;
    let w = b.build().await.unwrap();
    account(&w, "fay", &[]).await;
    let app: Router = Router::new()
        .nest("/auth", w.router())
        .with_state(w.clone());
    let res = post_json(
        &app,
        "/auth/session/login",
        &[],
        json!({"login": "fay", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
});

each_backend!(async fn cookie_session_expires_after_a_short_idle_timeout(backend) {
    let (b, clock) = builder(backend).await;
    let w = b
        .sessions(SessionConfig {
            idle_timeout: Duration::minutes(5),
            ..SessionConfig::default()
        })
        .build()
        .await
        .unwrap();
    account(&w, "gus", &[]).await;
    let app: Router = Router::new()
        .route("/me", get(me))
        .nest("/auth", w.router())
        .with_state(w.clone());
    let (cookie, _) = cookie_login(&app, "gus", None).await;
    let res = get_with(&app, "/me", &[("cookie", &cookie)]).await;
    assert_eq!(res.status, StatusCode::OK);
    clock.advance(Duration::minutes(6));
    let res = get_with(&app, "/me", &[("cookie", &cookie)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
});

fn base32_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut acc, mut out) = (0u32, 0u64, Vec::new());
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = alphabet.iter().position(|a| *a == c).unwrap() as u64;
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

each_backend!(async fn cookie_login_with_a_second_factor(backend) {
    let (w, app, clock) = app(backend, SessionConfig::default()).await;
    let id = account(&w, "hugo", &[]).await;
    let setup = w
        .auth()
        .mfa()
        .totp_setup(id, &warden_core::model::ClientInfo::default())
        .await
        .unwrap();
    let secret = base32_decode(&setup.secret);
    let now = clock.now_unix();
    let code = warden_core::mfa::generate(&secret, now as u64, 6).unwrap();
    w.auth()
        .mfa()
        .totp_confirm(id, &code, &warden_core::model::ClientInfo::default())
        .await
        .unwrap();
    clock.advance(Duration::seconds(60));
    let res = post_json(
        &app,
        "/auth/session/login",
        &[],
        json!({"login": "hugo", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["mfa_required"], true);
    assert!(res.headers.get("set-cookie").is_none());
    let token = res.body["mfa_token"].as_str().unwrap().to_owned();
    let res = post_json(
        &app,
        "/auth/session/login/mfa",
        &[],
        json!({"mfa_token": token, "code": "000000"}),
    )
    .await;
    assert_eq!(res.code(), "invalid_mfa_code");
    let code = warden_core::mfa::generate(&secret, clock.now_unix() as u64, 6).unwrap();
    let res = post_json(
        &app,
        "/auth/session/login/mfa",
        &[],
        json!({"mfa_token": token, "code": code}),
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
    let res = get_with(&app, "/me", &[("cookie", &cookie)]).await;
    assert_eq!(
        (res.status, res.text.as_str()),
        (StatusCode::OK, "hugo session")
    );
});

trait NowUnix {
    fn now_unix(&self) -> i64;
}
impl NowUnix for ManualClock {
    fn now_unix(&self) -> i64 {
        use warden_core::clock::Clock;
        self.now().unix_timestamp()
    }
}
