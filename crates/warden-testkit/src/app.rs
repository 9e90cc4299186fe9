//! The app harness: the standalone app of `warden-server` on a store of any
//! [`Backend`], driven through its router (or a real socket), and the
//! response helpers the router tests assert with.
//!
//! Test support: a failed step panics with what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub use crate::{Backend, store};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;
use warden_axum::{AdminSecret, Warden};
use warden_core::clock::Clock;
use warden_core::store::{AuditQuery, Store};
use warden_server::config::Config;

/// The admin secret of [`config`].
pub const ADMIN_SECRET: &str = "test-admin-secret-0123456789abcdef";
/// The password of [`App::user`].
pub const PASSWORD: &str = "correct horse battery staple";
/// An HMAC signing secret for tests that configure HS256.
pub const HS_SECRET: &str = "0123456789abcdef0123456789abcdef-hmac-secret";

/// Test configuration: cheap Argon2, no rate limit, non-secure cookies, a known admin secret.
pub fn config() -> Config {
    Config {
        database_url: "sqlite::memory:".into(),
        cookie_secure: false,
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        argon2_parallelism: 1,
        admin_secret: Some(ADMIN_SECRET.into()),
        rate_limit_per_minute: 0,
        ..Config::default()
    }
}

/// The app under test.
#[derive(Clone)]
pub struct App {
    /// The whole app's router.
    pub router: Router,
    /// The library handle the router was built from.
    pub warden: Warden,
    /// The configuration the app was built with.
    pub cfg: Config,
    /// The store under the engine.
    pub store: Arc<dyn Store>,
    /// When set, requests carry this peer address as `ConnectInfo`.
    pub peer: Option<SocketAddr>,
}

/// The app on a fresh store of `b` with [`config`].
pub async fn app(b: Backend) -> App {
    app_with(b, |_| {}).await
}

/// The app on a fresh store of `b` with [`config`] changed by `f`.
pub async fn app_with(b: Backend, f: impl FnOnce(&mut Config)) -> App {
    let mut cfg = config();
    f(&mut cfg);
    let store = store(b).await;
    app_on(cfg, store).await
}

/// The app of `cfg` on `store`.
pub async fn app_on(cfg: Config, store: Arc<dyn Store>) -> App {
    let (warden, _) = warden_server::build_warden(&cfg, store.clone())
        .await
        .expect("build warden");
    let router = warden_server::app(&cfg, &warden);
    App {
        router,
        warden,
        cfg,
        store,
        peer: None,
    }
}

/// An app whose engine reads the given clock.
pub async fn app_with_clock(b: Backend, clock: Arc<dyn Clock>, f: impl FnOnce(&mut Config)) -> App {
    let mut cfg = config();
    f(&mut cfg);
    let store = store(b).await;
    let auth = warden_core::Auth::with_clock(store.clone(), cfg.settings().unwrap(), clock)
        .await
        .unwrap();
    let mut http = cfg.http().unwrap();
    http.admin_secret = Some(AdminSecret::new(ADMIN_SECRET));
    let warden = Warden::new(auth, http);
    let router = warden_server::app(&cfg, &warden);
    App {
        router,
        warden,
        cfg,
        store,
        peer: None,
    }
}

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Resp {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, read to its end.
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body as JSON (`Null` when empty); panics when it is not.
    #[track_caller]
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
    /// The string member `key` of the JSON body; panics when there is none.
    #[track_caller]
    pub fn str(&self, key: &str) -> String {
        let v = self.json();
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string {key} in {v}"))
            .to_owned()
    }
    /// The value of header `name`, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Every `Set-Cookie` line.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }
    /// The `Set-Cookie` line of cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }
    /// The value set for cookie `name`.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        let c = self.set_cookie(name)?;
        let first = c.split(';').next()?;
        Some(first.split_once('=')?.1.to_owned())
    }
    /// Assert the status (the body is in the message).
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }
    /// Status, problem+json content type and the RFC 9457 members with `code`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> Value {
        self.assert_status(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "content type; body {}",
            self.text()
        );
        let v = self.json();
        for k in ["type", "title", "status", "code", "detail"] {
            assert!(v.get(k).is_some(), "problem lacks {k}: {v}");
        }
        assert_eq!(v["status"], json!(status), "{v}");
        assert_eq!(v["code"], json!(code), "{v}");
        assert!(
            v["type"].is_string() && v["title"].is_string() && v["detail"].is_string(),
            "{v}"
        );
        v
    }
    /// The `errors[].field` names of a 422.
    #[track_caller]
    pub fn error_fields(&self) -> Vec<String> {
        let v = self.assert_problem(422, "validation_failed");
        v["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors array: {v}"))
            .iter()
            .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// A token pair answered by login/refresh/fresh.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The access token.
    pub access: String,
    /// The refresh token.
    pub refresh: String,
    /// The session id.
    pub session_id: String,
    /// The whole answer.
    pub json: Value,
}

impl Pair {
    /// Read a pair from a 200 answer of login/refresh.
    #[track_caller]
    pub fn from_resp(r: &Resp) -> Self {
        r.assert_status(200);
        let json = r.json();
        Self {
            access: json["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh: json["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
            session_id: json["session_id"].as_str().expect("session_id").to_owned(),
            json,
        }
    }
    /// The access token's claims (not verified).
    pub fn claims(&self) -> Value {
        jwt_parts(&self.access).1
    }
}

/// A registered account with one session.
#[derive(Debug, Clone)]
pub struct User {
    /// The login name.
    pub login: String,
    /// The account id.
    pub id: String,
    /// The password.
    pub password: String,
    /// The tokens of its session.
    pub pair: Pair,
}

/// `prefix` with a fresh, unique suffix.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    )
}

/// Decode unpadded base64url; panics on bad input.
pub fn b64d(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("base64url")
}

/// Encode as unpadded base64url.
pub fn b64e(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Header and payload of a JWT, decoded without verification.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let h = it.next().expect("header");
    let p = it.next().expect("payload");
    (
        serde_json::from_slice(&b64d(h)).expect("header json"),
        serde_json::from_slice(&b64d(p)).expect("payload json"),
    )
}

/// A request with an optional JSON body and extra headers.
pub fn request(
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let body = match body {
        Some(v) => Body::from(serde_json::to_vec(v).unwrap()),
        None => Body::empty(),
    };
    b.body(body).unwrap()
}

/// Read a response to its end.
pub async fn read(res: axum::response::Response) -> Resp {
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body").to_bytes().to_vec();
    Resp {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

impl App {
    /// With a peer address for every request (as the server's `ConnectInfo`).
    pub fn with_peer(&self, peer: &str) -> App {
        let mut a = self.clone();
        a.peer = Some(peer.parse().unwrap());
        a
    }

    /// Send a request through the router.
    pub async fn send(&self, mut req: Request<Body>) -> Resp {
        if let Some(p) = self.peer {
            req.extensions_mut().insert(ConnectInfo(p));
        }
        read(self.router.clone().oneshot(req).await.expect("infallible")).await
    }

    /// Send `method path` with an optional JSON body and headers.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        self.send(request(method, path, body.as_ref(), headers))
            .await
    }

    /// `GET`, with a bearer token if given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let h: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.call("GET", path, None, &h).await
    }

    /// `POST` a JSON body, with a bearer token if given.
    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let h: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.call("POST", path, Some(body), &h).await
    }

    /// `POST` without a body, with a bearer token if given.
    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let h: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.call("POST", path, None, &h).await
    }

    /// `DELETE`, with a bearer token if given.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let h: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.call("DELETE", path, None, &h).await
    }

    /// An admin call with `X-Admin-Secret`.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.call(method, path, body, &[("x-admin-secret", ADMIN_SECRET)])
            .await
    }

    /// `POST /auth/register`.
    pub async fn register(&self, login: &str, password: &str) -> Resp {
        self.post(
            "/auth/register",
            json!({"login": login, "password": password}),
            None,
        )
        .await
    }

    /// `POST /auth/login`.
    pub async fn login(&self, login: &str, password: &str) -> Resp {
        self.post(
            "/auth/login",
            json!({"login": login, "password": password}),
            None,
        )
        .await
    }

    /// Log in and read the token pair.
    pub async fn login_pair(&self, login: &str, password: &str) -> Pair {
        Pair::from_resp(&self.login(login, password).await)
    }

    /// `POST /auth/refresh`.
    pub async fn refresh(&self, refresh: &str) -> Resp {
        self.post("/auth/refresh", json!({"refresh_token": refresh}), None)
            .await
    }

    /// Register a new account and log it in.
    pub async fn user(&self) -> User {
        let login = unique("user");
        let r = self.register(&login, PASSWORD).await;
        r.assert_status(201);
        let id = r.json()["account"]["id"].as_str().unwrap().to_owned();
        let pair = self.login_pair(&login, PASSWORD).await;
        User {
            login,
            id,
            password: PASSWORD.into(),
            pair,
        }
    }

    /// Status of `GET /auth/me` with a token, and its problem code if any.
    pub async fn me_status(&self, token: &str) -> (u16, String) {
        let r = self.get("/auth/me", Some(token)).await;
        let code = if r.status.is_success() {
            String::new()
        } else {
            r.json()["code"].as_str().unwrap_or_default().to_owned()
        };
        (r.status.as_u16(), code)
    }

    /// Every audit event in the store, newest first.
    pub async fn audit_all(&self) -> Vec<warden_core::model::AuditEvent> {
        self.store
            .audit(&AuditQuery {
                limit: 100_000,
                ..AuditQuery::default()
            })
            .await
            .unwrap()
    }
}

/// Serve the app on 127.0.0.1:0 with `ConnectInfo`.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// A minimal HTTP/1.1 client over a real socket (`Connection: close`).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Resp {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body
        .map(|b| serde_json::to_vec(b).unwrap())
        .unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(20), s.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .unwrap();
    parse_http(&raw)
}

/// Parse a raw HTTP/1.1 response (chunked bodies decoded).
pub fn parse_http(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut rest = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = HeaderMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.append(
                axum::http::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
                axum::http::HeaderValue::from_str(v.trim()).unwrap(),
            );
        }
    }
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"))
    {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(p) = rest[i..].windows(2).position(|w| w == b"\r\n") {
            let len =
                usize::from_str_radix(String::from_utf8_lossy(&rest[i..i + p]).trim(), 16).unwrap();
            i += p + 2;
            if len == 0 {
                break;
            }
            out.extend_from_slice(&rest[i..i + len]);
            i += len + 2;
        }
        rest = out;
    }
    Resp {
        status: StatusCode::from_u16(status).unwrap(),
        headers,
        body: rest,
    }
}
