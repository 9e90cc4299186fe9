//! OAuth 2.0 / OpenID Connect sign-in end to end, over real HTTP on loopback:
//! the server under test, a fake GitHub (authorize, token, `/user`,
//! `/user/emails`, an axum app in the test) and, when `node` is installed, a
//! real OpenID provider (the `oidc-provider` npm package, `e2e/oidc`), driven
//! through authorize → login → consent → callback by a reqwest client with a
//! small cookie jar.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use warden_testkit::oidc::start_oidc_provider;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use warden_server::config::Config;
use warden_testkit::{Backend, each_backend};

const PASSWORD: &str = "correct horse battery staple";
const GH_ID: &str = "gh-client";
const GH_SECRET: &str = "gh-secret-value";

// ------------------------------------------------------------ fake GitHub

#[derive(Clone)]
struct GhUser {
    id: i64,
    login: String,
    /// (email, primary, verified)
    emails: Vec<(String, bool, bool)>,
}

#[derive(Default)]
struct Fake {
    next: Option<GhUser>,
    codes: HashMap<String, (String, String, GhUser)>,
    tokens: HashMap<String, GhUser>,
}

type Gh = Arc<Mutex<Fake>>;

async fn gh_authorize(State(gh): State<Gh>, Query(q): Query<HashMap<String, String>>) -> Response {
    assert_eq!(q.get("client_id").map(String::as_str), Some(GH_ID));
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    let user = gh.lock().unwrap().next.clone().expect("a next user");
    let code = uuid::Uuid::now_v7().simple().to_string();
    let redirect_uri = q["redirect_uri"].clone();
    gh.lock().unwrap().codes.insert(
        code.clone(),
        (q["code_challenge"].clone(), redirect_uri.clone(), user),
    );
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    Redirect::to(&format!(
        "{redirect_uri}{sep}code={code}&state={}",
        warden_core::oauth::url_encode(&q["state"])
    ))
    .into_response()
}

async fn gh_token(State(gh): State<Gh>, Form(f): Form<HashMap<String, String>>) -> Response {
    let bad = || Json(json!({"error": "bad_verification_code"})).into_response();
    if f.get("client_id").map(String::as_str) != Some(GH_ID)
        || f.get("client_secret").map(String::as_str) != Some(GH_SECRET)
    {
        return Json(json!({"error": "incorrect_client_credentials"})).into_response();
    }
    let Some((challenge, redirect_uri, user)) = f
        .get("code")
        .and_then(|c| gh.lock().unwrap().codes.remove(c))
    else {
        return bad();
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    if warden_core::oauth::pkce_challenge(&verifier) != challenge
        || f.get("redirect_uri") != Some(&redirect_uri)
    {
        return bad();
    }
    let token = format!("gho_{}", uuid::Uuid::now_v7().simple());
    gh.lock().unwrap().tokens.insert(token.clone(), user);
    Json(json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}))
        .into_response()
}

fn gh_user_of(gh: &Gh, headers: &HeaderMap) -> Option<GhUser> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let token = auth.strip_prefix("Bearer ")?;
    gh.lock().unwrap().tokens.get(token).cloned()
}

async fn gh_user_route(State(gh): State<Gh>, headers: HeaderMap) -> Response {
    match gh_user_of(&gh, &headers) {
        Some(u) => Json(json!({"id": u.id, "login": u.login, "email": null})).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn gh_emails(State(gh): State<Gh>, headers: HeaderMap) -> Response {
    match gh_user_of(&gh, &headers) {
        Some(u) => Json(
            u.emails
                .iter()
                .map(|(e, p, v)| json!({"email": e, "primary": p, "verified": v, "visibility": null}))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn fake_github() -> (String, Gh) {
    let gh: Gh = Arc::default();
    let app = Router::new()
        .route("/login/oauth/authorize", get(gh_authorize))
        .route("/login/oauth/access_token", post(gh_token))
        .route("/user", get(gh_user_route))
        .route("/user/emails", get(gh_emails))
        .with_state(gh.clone());
    (serve(app).await, gh)
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{addr}")
}

// ------------------------------------------------------------ server under test

fn base_config() -> Config {
    Config {
        database_url: "sqlite::memory:".into(),
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        argon2_parallelism: 1,
        rate_limit_per_minute: 0,
        cookie_secure: false,
        admin_secret: Some("oauth-admin-secret-0123456789abcdef".into()),
        redirect_allowlist: "https://app.example.com, http://localhost:3000/cb".into(),
        ..Config::default()
    }
}

fn github_config(gh: &str) -> Config {
    Config {
        github_client_id: Some(GH_ID.into()),
        github_client_secret: Some(GH_SECRET.into()),
        github_authorize_url: format!("{gh}/login/oauth/authorize"),
        github_token_url: format!("{gh}/login/oauth/access_token"),
        github_api_url: gh.to_owned(),
        ..base_config()
    }
}

/// Start the server on loopback; `public_url` is its own address.
async fn start(backend: Backend, cfg: Config) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_on(listener, backend, cfg).await
}

async fn start_on(listener: tokio::net::TcpListener, backend: Backend, mut cfg: Config) -> String {
    let addr = listener.local_addr().unwrap();
    cfg.public_url = format!("http://{addr}");
    let store = warden_testkit::store(backend).await;
    let (warden, _) = warden_server::build_warden(&cfg, store).await.unwrap();
    let app = warden_server::app(&cfg, &warden);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{addr}")
}

// ------------------------------------------------------------ a small browser

/// reqwest without redirects, with a cookie jar per host:port.
struct Browser {
    http: reqwest::Client,
    jar: HashMap<String, HashMap<String, String>>,
}

struct Page {
    status: u16,
    final_url: Option<String>,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Page {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or("").to_owned()
}

fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    let scheme_host = format!("{}://{}", base.split("://").next().unwrap(), host_of(base));
    if location.starts_with('/') {
        return format!("{scheme_host}{location}");
    }
    let dir = base.rsplit_once('/').map_or(base, |(d, _)| d);
    format!("{dir}/{location}")
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: HashMap::new(),
        }
    }

    fn cookie_header(&self, url: &str) -> Option<String> {
        let c = self.jar.get(&host_of(url))?;
        (!c.is_empty()).then(|| {
            c.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn cookie(&self, base: &str, name: &str) -> Option<String> {
        self.jar.get(&host_of(base))?.get(name).cloned()
    }

    async fn send(&mut self, req: reqwest::RequestBuilder, url: &str) -> Page {
        let req = match self.cookie_header(url) {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        for v in headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            if let Some((k, val)) = pair.split_once('=') {
                let jar = self.jar.entry(host_of(url)).or_default();
                let expired = v.to_ascii_lowercase().contains("max-age=0") || val.is_empty();
                if expired {
                    jar.remove(k.trim());
                } else {
                    jar.insert(k.trim().to_owned(), val.to_owned());
                }
            }
        }
        let location = headers
            .get("location")
            .map(|l| resolve(url, l.to_str().unwrap()));
        let text = res.text().await.unwrap_or_default();
        Page {
            status,
            final_url: Some(url.to_owned()),
            location,
            headers,
            text,
        }
    }

    async fn get(&mut self, url: &str) -> Page {
        let req = self.http.get(url);
        self.send(req, url).await
    }

    async fn get_with(&mut self, url: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.http.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, url).await
    }

    async fn post_form(&mut self, url: &str, form: &[(String, String)]) -> Page {
        let req = self.http.post(url).form(form);
        self.send(req, url).await
    }

    /// Follow redirects until a page that is not a redirect, or one whose
    /// location starts with `stop_at` (returned unfollowed).
    async fn follow(&mut self, mut page: Page, stop_at: &str) -> Page {
        for _ in 0..20 {
            let Some(loc) = page.location.clone() else {
                return page;
            };
            if !(300..400).contains(&page.status) || loc.starts_with(stop_at) {
                return page;
            }
            page = self.get(&loc).await;
        }
        panic!("too many redirects");
    }
}

fn query_of(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    let q = q.split('#').next().unwrap_or("");
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(n) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(n);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

async fn register(base: &str, login: &str, email: Option<&str>) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{base}/auth/register"))
        .json(&json!({"login": login, "password": PASSWORD, "email": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    res.json::<Value>().await.unwrap()["account"].clone()
}

async fn password_login(base: &str, login: &str, password: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}/auth/login"))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn bearer_get(base: &str, path: &str, token: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn bearer_delete(base: &str, path: &str, token: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .delete(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

fn gh_user(id: i64, login: &str, emails: &[(&str, bool, bool)]) -> GhUser {
    GhUser {
        id,
        login: login.into(),
        emails: emails
            .iter()
            .map(|(e, p, v)| ((*e).to_owned(), *p, *v))
            .collect(),
    }
}

/// authorize → fake GitHub → callback (not followed). Returns the callback's answer.
async fn github_round(b: &mut Browser, base: &str, query: &str, headers: &[(&str, &str)]) -> Page {
    let start = b
        .get_with(
            &format!("{base}/auth/oauth/github/authorize?{query}"),
            headers,
        )
        .await;
    assert_eq!(start.status, 302, "{}", start.text);
    let to_provider = start.location.clone().unwrap();
    let q = query_of(&to_provider);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["redirect_uri"],
        format!("{base}/auth/oauth/github/callback")
    );
    assert!(q["state"].len() >= 43);
    let page = b.get(&to_provider).await;
    let callback = page.location.clone().unwrap();
    assert!(callback.starts_with(&format!("{base}/auth/oauth/github/callback?")));
    b.get_with(&callback, headers).await
}

// ------------------------------------------------------------ GitHub tests

each_backend!(async fn github_sign_up_then_sign_in_without_password(backend) {
    let (gh, fake) = fake_github().await;
    let base = start(backend, github_config(&gh)).await;
    let providers: Value = reqwest::get(format!("{base}/auth/oauth/providers"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        providers,
        json!([{"name": "github", "display_name": "GitHub"}])
    );

    fake.lock().unwrap().next = Some(gh_user(
        1001,
        "octocat",
        &[
            ("octo@example.com", true, true),
            ("other@example.com", false, true),
        ],
    ));
    let mut b = Browser::new();
    let done = github_round(&mut b, &base, "redirect_to=/done", &[]).await;
    assert_eq!(done.status, 302, "{}", done.text);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("{base}/done").as_str())
    );
    assert_eq!(
        done.headers.get("cache-control").unwrap().to_str().unwrap(),
        "no-store"
    );
    let access = b.cookie(&base, "access").expect("access cookie");
    assert!(b.cookie(&base, "refresh").is_some());
    let (s, me) = bearer_get(&base, "/auth/me", &access).await;
    assert_eq!(s, 200);
    assert_eq!(me["login"], "octocat");
    assert_eq!(me["email"], "octo@example.com");
    assert_eq!(me["email_verified"], true);
    // The session says how it was opened.
    let claims = decode_claims(&access);
    assert_eq!(claims["amr"], json!(["ext"]));
    // No password: a password login fails like a wrong password.
    let (s, body) = password_login(&base, "octocat", "").await;
    assert!(s == 401 || s == 422, "{s} {body}");
    let (s, body) = password_login(&base, "octocat", PASSWORD).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );

    // The second sign-in finds the same account.
    let mut b2 = Browser::new();
    let again = github_round(&mut b2, &base, "", &[("accept", "application/json")]).await;
    assert_eq!(again.status, 200, "{}", again.text);
    let pair = again.json();
    let (_, me2) = bearer_get(&base, "/auth/me", pair["access_token"].as_str().unwrap()).await;
    assert_eq!(me2["id"], me["id"]);

    // One identity, and it is the only way in: it cannot be unlinked.
    let (s, list) = bearer_get(&base, "/auth/identities", &access).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["provider"], "github");
    let id = list[0]["id"].as_str().unwrap();
    let (s, body) = bearer_delete(&base, &format!("/auth/identities/{id}"), &access).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (409, Some("last_sign_in_method"))
    );
    let (s, _) = bearer_delete(
        &base,
        &format!("/auth/identities/{}", uuid::Uuid::now_v7()),
        &access,
    )
    .await;
    assert_eq!(s, 404);

    // Audit trail.
    let audit: Value = reqwest::Client::new()
        .get(format!(
            "{base}/auth/admin/audit?account_id={}",
            me["id"].as_str().unwrap()
        ))
        .header("x-admin-secret", "oauth-admin-secret-0123456789abcdef")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events: Vec<&str> = audit
        .as_array()
        .or_else(|| audit["items"].as_array())
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for e in ["oauth.account_created", "identity.linked", "oauth.login"] {
        assert!(events.contains(&e), "{e} in {events:?}");
    }
});

fn decode_claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

each_backend!(async fn state_is_single_use_and_bound_to_the_provider(backend) {
    let (gh, fake) = fake_github().await;
    let base = start(backend, github_config(&gh)).await;
    fake.lock().unwrap().next = Some(gh_user(2002, "replayer", &[]));
    let mut b = Browser::new();
    let start_page = b.get(&format!("{base}/auth/oauth/github/authorize")).await;
    let provider_page = b.get(start_page.location.as_deref().unwrap()).await;
    let callback = provider_page.location.unwrap();
    let first = b.get(&callback).await;
    assert_eq!(first.status, 302);
    let replay = b
        .get_with(&callback, &[("accept", "application/json")])
        .await;
    assert_eq!(replay.status, 400, "{}", replay.text);
    assert_eq!(replay.json()["code"], "oauth_failed");
    assert!(
        replay.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    let forged = b
        .get_with(
            &format!("{base}/auth/oauth/github/callback?code=x&state=forged"),
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(forged.json()["code"], "oauth_failed");
    let unknown = b.get(&format!("{base}/auth/oauth/nope/authorize")).await;
    assert_eq!(unknown.status, 404);
});

each_backend!(async fn github_links_by_verified_email_only(backend) {
    let (gh, fake) = fake_github().await;
    let base = start(backend, github_config(&gh)).await;
    let alice = register(&base, "alice", Some("alice@example.com")).await;
    register(&base, "bob", Some("bob@example.com")).await;

    // Verified primary email of an existing account: linked to it.
    fake.lock().unwrap().next = Some(gh_user(
        3003,
        "alice-gh",
        &[("Alice@Example.com", true, true)],
    ));
    let mut b = Browser::new();
    let page = github_round(&mut b, &base, "", &[("accept", "application/json")]).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let token = page.json()["access_token"].as_str().unwrap().to_owned();
    let (_, me) = bearer_get(&base, "/auth/me", &token).await;
    assert_eq!(me["id"], alice["id"]);
    // Alice has a password and an identity: she may unlink it.
    let (_, list) = bearer_get(&base, "/auth/identities", &token).await;
    let id = list[0]["id"].as_str().unwrap();
    let (s, _) = bearer_delete(&base, &format!("/auth/identities/{id}"), &token).await;
    assert_eq!(s, 204);

    // An unverified GitHub address is not used at all: a new account
    // without email is made, bob's account is not touched.
    let bob_id = {
        let (_, p) = password_login(&base, "bob", PASSWORD).await;
        let (_, me) = bearer_get(&base, "/auth/me", p["access_token"].as_str().unwrap()).await;
        me["id"].clone()
    };
    fake.lock().unwrap().next = Some(gh_user(
        4004,
        "mallory",
        &[("bob@example.com", true, false)],
    ));
    let mut b = Browser::new();
    let page = github_round(&mut b, &base, "redirect_to=/app", &[]).await;
    assert_eq!(page.status, 302);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("{base}/app").as_str())
    );
    let access = b.cookie(&base, "access").unwrap();
    let (_, me) = bearer_get(&base, "/auth/me", &access).await;
    assert_ne!(me["id"], bob_id);
    assert_eq!(me["login"], "mallory");
    assert_eq!(me["email"], Value::Null);
});

each_backend!(async fn signed_in_user_links_and_unlinks(backend) {
    let (gh, fake) = fake_github().await;
    let base = start(backend, github_config(&gh)).await;
    register(&base, "carol", None).await;
    let (_, pair) = password_login(&base, "carol", PASSWORD).await;
    let token = pair["access_token"].as_str().unwrap().to_owned();
    fake.lock().unwrap().next = Some(gh_user(5005, "carol-gh", &[("c@example.org", true, true)]));
    let mut b = Browser::new();
    // Linking needs a signed-in caller.
    let anon = b
        .get(&format!("{base}/auth/oauth/github/authorize?link=true"))
        .await;
    assert_eq!(anon.status, 401);
    let auth = format!("Bearer {token}");
    let page = github_round(
        &mut b,
        &base,
        "link=true&redirect_to=https://app.example.com/settings",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(page.status, 302, "{}", page.text);
    assert_eq!(
        page.location.as_deref(),
        Some("https://app.example.com/settings?linked=github")
    );
    let (_, list) = bearer_get(&base, "/auth/identities", &token).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // The linked identity now signs in to carol.
    let mut b2 = Browser::new();
    let page = github_round(&mut b2, &base, "", &[("accept", "application/json")]).await;
    let t2 = page.json()["access_token"].as_str().unwrap().to_owned();
    let (_, me) = bearer_get(&base, "/auth/me", &t2).await;
    assert_eq!(me["login"], "carol");
    // Another account cannot take it.
    register(&base, "dave", None).await;
    let (_, dave) = password_login(&base, "dave", PASSWORD).await;
    let dave_auth = format!("Bearer {}", dave["access_token"].as_str().unwrap());
    let mut b3 = Browser::new();
    let page = github_round(
        &mut b3,
        &base,
        "link=true",
        &[
            ("authorization", &dave_auth),
            ("accept", "application/json"),
        ],
    )
    .await;
    assert_eq!(
        (page.status, page.json()["code"].clone()),
        (409, json!("identity_taken"))
    );
    let id = list[0]["id"].as_str().unwrap();
    let (s, _) = bearer_delete(&base, &format!("/auth/identities/{id}"), &token).await;
    assert_eq!(s, 204);
});

each_backend!(async fn redirect_to_must_be_allow_listed(backend) {
    let (gh, _fake) = fake_github().await;
    let base = start(backend, github_config(&gh)).await;
    let mut b = Browser::new();
    for bad in [
        "//evil.com",
        "https://evil.com",
        "javascript:alert(1)",
        "/\\evil.com",
        "https://app.example.com.evil.com/",
        "https://app.example.com@evil.com/",
    ] {
        let url = format!(
            "{base}/auth/oauth/github/authorize?redirect_to={}",
            warden_core::oauth::url_encode(bad)
        );
        let page = b.get(&url).await;
        assert_eq!(page.status, 400, "{bad}");
        assert_eq!(page.json()["code"], "bad_request", "{bad}");
    }
    for good in [
        "/x",
        "https://app.example.com/after",
        "http://localhost:3000/cb?y=1",
    ] {
        let url = format!(
            "{base}/auth/oauth/github/authorize?redirect_to={}",
            warden_core::oauth::url_encode(good)
        );
        assert_eq!(b.get(&url).await.status, 302, "{good}");
    }
});

each_backend!(async fn provider_errors_are_clear_never_500(backend) {
    let (gh, fake) = fake_github().await;
    let base = start(backend, github_config(&gh)).await;
    fake.lock().unwrap().next = Some(gh_user(6006, "denied", &[]));
    let mut b = Browser::new();
    // Denied consent.
    let start_page = b
        .get(&format!(
            "{base}/auth/oauth/github/authorize?redirect_to=/back"
        ))
        .await;
    let state = query_of(start_page.location.as_deref().unwrap())["state"].clone();
    let page = b
        .get(&format!(
            "{base}/auth/oauth/github/callback?error=access_denied&state={state}"
        ))
        .await;
    assert_eq!(page.status, 302);
    let q = query_of(page.location.as_deref().unwrap());
    assert_eq!(q["error"], "oauth_failed");
    assert!(q["error_description"].contains("access_denied"));
    // A bad code, asked for JSON.
    let start_page = b.get(&format!("{base}/auth/oauth/github/authorize")).await;
    let state = query_of(start_page.location.as_deref().unwrap())["state"].clone();
    let page = b
        .get_with(
            &format!("{base}/auth/oauth/github/callback?code=wrong&state={state}"),
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.text);
    assert_eq!(page.json()["code"], "oauth_failed");

    // A provider that does not answer.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}")
    };
    let base = start(backend, Config {
        github_token_url: format!("{dead}/login/oauth/access_token"),
        ..github_config(&gh)
    })
    .await;
    let mut b = Browser::new();
    let page = github_round(&mut b, &base, "", &[("accept", "application/json")]).await;
    assert_eq!(page.status, 502, "{}", page.text);
    assert_eq!(page.json()["code"], "oauth_provider_unavailable");
});

each_backend!(async fn closed_registration_refuses_new_accounts(backend) {
    let (gh, fake) = fake_github().await;
    let base = start(backend, Config {
        registration: "closed".into(),
        ..github_config(&gh)
    })
    .await;
    fake.lock().unwrap().next = Some(gh_user(7007, "newbie", &[("n@example.com", true, true)]));
    let mut b = Browser::new();
    let page = github_round(&mut b, &base, "", &[("accept", "application/json")]).await;
    assert_eq!(page.status, 403, "{}", page.text);
    let mut b = Browser::new();
    let page = github_round(&mut b, &base, "redirect_to=/r", &[]).await;
    assert_eq!(
        query_of(page.location.as_deref().unwrap())["error"],
        "forbidden"
    );
});

mod openid;
