//! Property-based fuzzing of the real router (issue 10).
//!
//! `cargo fuzz` needs a nightly toolchain, which cannot be fetched on this
//! project's machines, so the fuzz targets are `proptest` properties run for a
//! bounded number of cases on every `cargo test`: arbitrary bearer tokens,
//! API keys, cookie headers, JSON bodies (raw bytes and structure-aware JSON)
//! for every POST/PUT/PATCH/DELETE route listed in `/openapi.json`, and query
//! strings for the admin list and audit routes. The property everywhere: no
//! 5xx, no panic, every error is `application/problem+json` with its status.
//! A failure found once is kept below as a named regression test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(unused_macros, unused_imports)]
use crate::common;

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::{Value, json};

/// Cases per property: the whole file stays well under a minute in a debug build.
/// `WARDEN_FUZZ_CASES` raises it for a longer run.
fn cases(default: u32) -> u32 {
    std::env::var("WARDEN_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn runner(n: u32) -> TestRunner {
    TestRunner::new(ProptestConfig {
        cases: cases(n),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    app: App,
    /// An access token of an account with scope `admin`.
    token: String,
    refresh: String,
    /// (method, path) of every route that takes a body, `{..}` filled with a random id.
    body_routes: Vec<(String, String)>,
}

fn fixture(b: Backend) -> Fixture {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, token, refresh, body_routes) = rt.block_on(async {
        let app = app_with(b, |c| c.block_tries = 1_000_000).await;
        let login = unique("fuzzadmin");
        app.admin(
            "POST",
            "/auth/admin/accounts",
            Some(json!({"login": login, "password": PASSWORD, "scopes": ["admin"]})),
        )
        .await
        .assert_status(201);
        let pair = app.login_pair(&login, PASSWORD).await;
        let spec = app.get("/openapi.json", None).await.json();
        let mut routes = Vec::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            // Routes that end the fuzzer's own session are left out.
            if path.contains("logout") {
                continue;
            }
            for method in ["post", "put", "patch", "delete"] {
                if item.get(method).is_some() {
                    let filled = fill_ids(path);
                    routes.push((method.to_uppercase(), filled));
                }
            }
        }
        assert!(routes.len() >= 15, "routes from the spec: {routes:?}");
        (app, pair.access, pair.refresh, routes)
    });
    Fixture {
        rt,
        app,
        token,
        refresh,
        body_routes,
    }
}

/// Replace every `{param}` with a fresh UUID (an id that names nothing).
fn fill_ids(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        out.push_str(&uuid::Uuid::now_v7().to_string());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The property: no 5xx; an error is problem+json whose `status` is the status.
fn check(r: &Resp, what: &str) -> Result<(), TestCaseError> {
    let s = r.status.as_u16();
    prop_assert!(s < 500, "{what}: {s} {}", r.text());
    if s >= 400 && what.contains("/oauth2/") {
        // The OpenID Provider's client endpoints answer RFC 6749 §5.2 JSON.
        let v: Value = serde_json::from_slice(&r.body)
            .map_err(|e| TestCaseError::fail(format!("{what}: error is not JSON: {e}")))?;
        prop_assert!(v["error"].is_string(), "{what}: {v}");
        return Ok(());
    }
    if s >= 400 {
        prop_assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{}: {} {}",
            what,
            s,
            r.text()
        );
        let v: Value = serde_json::from_slice(&r.body)
            .map_err(|e| TestCaseError::fail(format!("{what}: problem is not JSON: {e}")))?;
        prop_assert_eq!(&v["status"], &json!(s), "{}: {}", what, v);
        prop_assert!(v["code"].is_string(), "{what}: {v}");
    }
    Ok(())
}

fn send(f: &Fixture, req: Request<Body>) -> Resp {
    f.rt.block_on(f.app.send(req))
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::from),
        "[a-z0-9_.@-]{0,70}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: &[&str] = &[
    "login",
    "password",
    "email",
    "remember",
    "properties",
    "refresh_token",
    "mfa_token",
    "code",
    "token",
    "new_password",
    "current_password",
    "new_login",
    "name",
    "scopes",
    "expires_in_days",
    "active",
    "reason",
    "blocked",
];

/// Structure-aware bodies: objects of the fields the API knows (and others), each
/// with a value of a random type.
fn json_body() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        4 => proptest::sample::select(FIELDS).prop_map(str::to_owned),
        1 => ".{0,10}",
    ];
    let plausible = prop_oneof![
        Just(json!(PASSWORD)),
        Just(json!("user@example.com")),
        Just(json!(["admin"])),
        Just(json!(1)),
        Just(json!(0)),
        Just(json!(4_294_967_296_u64)),
        Just(json!(-1)),
        Just(json!({"a": {"b": [1, 2]}})),
        Just(json!("x".repeat(5000))),
    ];
    let value = prop_oneof![2 => any_json(), 1 => plausible];
    prop_oneof![
        4 => proptest::collection::btree_map(key, value, 0..7)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => any_json(),
    ]
}

fn body_request(f: &Fixture, route: usize, body: Vec<u8>, json_type: bool) -> Request<Body> {
    let (method, path) = &f.body_routes[route % f.body_routes.len()];
    let mut b = Request::builder()
        .method(method.as_str())
        .uri(path.as_str())
        .header("authorization", format!("Bearer {}", f.token));
    if json_type {
        b = b.header("content-type", "application/json");
    }
    b.body(Body::from(body)).unwrap()
}

each_backend!(fn arbitrary_bytes_as_json_bodies_never_5xx(b) {
    let f = fixture(b);
    let strat = (
        any::<usize>(),
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<bool>(),
    );
    runner(384)
        .run(&strat, |(route, body, ct)| {
            let req = body_request(&f, route, body, ct);
            let what = format!("{} {}", req.method(), req.uri());
            check(&send(&f, req), &what)
        })
        .unwrap();
});

each_backend!(fn structured_json_bodies_on_every_route_never_5xx(b) {
    let f = fixture(b);
    // Every route at least a few times, then random ones.
    let n = f.body_routes.len();
    let strat = (any::<usize>(), json_body());
    let i = std::cell::Cell::new(0usize);
    runner(u32::try_from(n * 20).unwrap_or(800))
        .run(&strat, |(route, body)| {
            i.set(i.get() + 1);
            let route = if i.get() <= n * 3 { i.get() - 1 } else { route };
            let req = body_request(&f, route, serde_json::to_vec(&body).unwrap(), true);
            let what = format!("{} {} {body}", req.method(), req.uri());
            check(&send(&f, req), &what)
        })
        .unwrap();
});

/// Token-shaped strings: three dot-separated base64url parts of random JSON, or anything.
fn token_like() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        any_json().prop_map(|v| b64e(&serde_json::to_vec(&v).unwrap())),
        "[A-Za-z0-9_-]{0,60}",
    ];
    let header = prop_oneof![
        Just(json!({"alg": "none", "typ": "at+jwt"})),
        Just(json!({"alg": "HS256", "typ": "at+jwt", "kid": "x"})),
        Just(json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "../../etc/passwd"})),
        any_json().prop_map(|mut v| {
            if let Value::Object(m) = &mut v {
                m.insert("alg".into(), json!("EdDSA"));
            }
            v
        }),
    ]
    .prop_map(|h| b64e(&serde_json::to_vec(&h).unwrap()));
    prop_oneof![
        (header, part.clone(), part).prop_map(|(h, p, s)| format!("{h}.{p}.{s}")),
        "[!-~]{0,300}",
        proptest::collection::vec("[A-Za-z0-9_-]{0,20}", 0..8).prop_map(|v| v.join(".")),
    ]
}

each_backend!(fn arbitrary_bearer_tokens_and_api_keys_never_5xx(b) {
    let f = fixture(b);
    let strat = (
        token_like(),
        proptest::collection::vec(any::<u8>(), 0..120),
        0u8..4,
    );
    runner(512)
        .run(&strat, |(token, bytes, how)| {
            let (name, value) = match how {
                0 => (
                    "authorization",
                    HeaderValue::from_str(&format!("Bearer {token}")).ok(),
                ),
                1 => ("authorization", HeaderValue::from_bytes(&bytes).ok()),
                2 => ("x-api-key", HeaderValue::from_str(&token).ok()),
                _ => ("x-api-key", HeaderValue::from_bytes(&bytes).ok()),
            };
            let Some(value) = value else {
                return Ok(()); // not a header value hyper would hand over
            };
            for (method, path) in [
                ("GET", "/auth/me"),
                ("GET", "/auth/admin/accounts"),
                ("POST", "/auth/logout"),
            ] {
                let req = Request::builder()
                    .method(method)
                    .uri(path)
                    .header(name, value.clone())
                    .body(Body::empty())
                    .unwrap();
                let r = send(&f, req);
                check(&r, &format!("{method} {path} {name}: {value:?}"))?;
                prop_assert!(
                    r.status.as_u16() == 401 || r.status.as_u16() == 403,
                    "{} {}: {}",
                    method,
                    path,
                    r.status
                );
            }
            Ok(())
        })
        .unwrap();
});

fn cookie_header() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        3 => proptest::sample::select(&["access", "refresh", "csrf", "session", "__Host-x"][..]).prop_map(str::to_owned),
        1 => "[!-~]{0,10}",
    ];
    let value = prop_oneof![token_like(), "[ -~]{0,80}"];
    proptest::collection::vec(
        (
            name,
            value,
            prop_oneof![Just("; "), Just(";"), Just(","), Just("")],
        ),
        0..6,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(n, val, sep)| format!("{n}={val}{sep}"))
            .collect()
    })
}

each_backend!(fn arbitrary_cookie_headers_never_5xx(b) {
    let f = fixture(b);
    let strat = (
        cookie_header(),
        proptest::collection::vec(any::<u8>(), 0..100),
        any::<bool>(),
        any::<bool>(),
    );
    runner(512)
        .run(&strat, |(cookie, bytes, use_bytes, csrf)| {
            let value = if use_bytes {
                HeaderValue::from_bytes(&bytes).ok()
            } else {
                HeaderValue::from_str(&cookie).ok()
            };
            let Some(value) = value else {
                return Ok(());
            };
            for (method, path) in [
                ("GET", "/auth/me"),
                ("POST", "/auth/refresh"),
                ("POST", "/auth/logout"),
                ("GET", "/auth/sessions"),
            ] {
                let mut b = Request::builder()
                    .method(method)
                    .uri(path)
                    .header("cookie", value.clone());
                if csrf {
                    b = b
                        .header("x-requested-with", "XMLHttpRequest")
                        .header("x-csrf-token", value.clone());
                }
                let r = send(&f, b.body(Body::empty()).unwrap());
                check(&r, &format!("{method} {path} cookie {value:?}"))?;
                prop_assert!(
                    !r.status.is_success(),
                    "{} {} succeeded with {:?}",
                    method,
                    path,
                    value
                );
            }
            Ok(())
        })
        .unwrap();
    // The fuzzer's own session survived (no random cookie ended it).
    assert_eq!(f.rt.block_on(f.app.me_status(&f.token)).0, 200);
    f.rt.block_on(f.app.refresh(&f.refresh)).assert_status(200);
});

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

each_backend!(fn arbitrary_admin_query_strings_never_5xx(b) {
    let f = fixture(b);
    let key = prop_oneof![
        3 => proptest::sample::select(&["limit", "cursor", "q", "account_id", "event", "before", "after"][..]).prop_map(str::to_owned),
        1 => ".{0,8}",
    ];
    let value = prop_oneof![
        ".{0,40}",
        any::<i64>().prop_map(|i| i.to_string()),
        Just("%".to_owned()),
        Just(uuid::Uuid::now_v7().to_string()),
        "[A-Za-z0-9_-]{0,60}",
    ];
    let strat = (
        proptest::collection::vec((key, value, any::<bool>()), 0..5),
        any::<bool>(),
        "[!-~]{0,40}",
    );
    runner(512)
        .run(&strat, |(pairs, audit, raw)| {
            let path = if audit {
                "/auth/admin/audit"
            } else {
                "/auth/admin/accounts"
            };
            let mut q: Vec<String> = pairs
                .iter()
                .map(|(k, v, enc)| {
                    if *enc {
                        format!("{}={}", pct(k), pct(v))
                    } else {
                        format!("{}={}", pct(k), v.replace(['#', ' '], ""))
                    }
                })
                .collect();
            q.push(raw.replace('#', ""));
            let uri = format!("{path}?{}", q.join("&"));
            let Ok(req) = Request::builder()
                .method("GET")
                .uri(uri.as_str())
                .header("authorization", format!("Bearer {}", f.token))
                .body(Body::empty())
            else {
                return Ok(()); // not a URI a client can send
            };
            check(&send(&f, req), &uri)
        })
        .unwrap();
});
