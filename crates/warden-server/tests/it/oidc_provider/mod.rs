//! Warden as an OpenID Provider, through the real router on every backend:
//! client registration, the code flow with PKCE through the hosted sign-in
//! and consent pages, the token endpoint's grants, userinfo, introspection,
//! revocation, RP-initiated logout and discovery.

use crate::common::browser::{Browser, Page};
use crate::common::{App, Resp, b64e, jwt_parts};
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

mod cli;
mod clients;
mod errors;
mod flow;
mod logout;

pub const REDIRECT: &str = "https://app.example/cb";
pub const ISSUER: &str = "http://127.0.0.1:8080";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The S256 challenge of `verifier`.
pub fn challenge(verifier: &str) -> String {
    b64e(&warden_core::random::sha256(verifier.as_bytes()))
}

/// A registered client: (id, secret).
pub struct Registered {
    pub id: String,
    pub secret: Option<String>,
}

/// Register a client with the admin secret; `extra` fields go into the body.
pub async fn register(app: &App, extra: Value) -> Registered {
    let mut body = json!({
        "name": "Grafana",
        "redirect_uris": [REDIRECT],
        "post_logout_redirect_uris": ["https://app.example/bye"],
        "scopes": ["reports"],
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let r = app
        .admin("POST", "/auth/admin/oauth-clients", Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    Registered {
        id: j["client_id"].as_str().unwrap().to_owned(),
        secret: j["client_secret"].as_str().map(str::to_owned),
    }
}

/// The authorization URL of `client` with the default parameters
/// (code, openid profile email, state, nonce, PKCE S256) and `extra`.
pub fn authorize_url(client: &str, extra: &[(&str, &str)]) -> String {
    let challenge = challenge(VERIFIER);
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        params.retain(|(p, _)| p != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    let q = serde_urlencoded::to_string(&params).unwrap();
    format!("/ui/oauth2/authorize?{q}")
}

/// The query parameters of a redirect `Location`.
pub fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().into_owned().collect()
}

/// Where a page sends the browser on to the client: the `Location` of a
/// redirect, or the link of the page that moves on by itself after a form post.
pub fn to_client(page: &Page) -> String {
    if page.status.is_redirection() {
        return page.location().unwrap().to_owned();
    }
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html.contains("http-equiv=\"refresh\""),
        "{}",
        page.html
    );
    let i = page.html.find("id=\"continue\"").expect("continue link");
    let href = page.html[i..].split("href=\"").nth(1).unwrap();
    crate::common::browser::unescape(href.split('"').next().unwrap())
}

/// Allow on the consent page just shown.
pub async fn allow(b: &mut Browser, consent: &Page) -> Page {
    let request = consent.input("request").expect("consent form");
    b.post(
        "/ui/oauth2/authorize",
        &[("request", &request), ("decision", "allow")],
    )
    .await
}

/// Sign in through the pages, authorize, consent: the code.
pub async fn code_for(b: &mut Browser, client: &str) -> String {
    let page = b.get(&authorize_url(client, &[])).await;
    let page = if page.status == 200 {
        assert!(page.contains("Allow"), "consent page: {}", page.html);
        allow(b, &page).await
    } else {
        page
    };
    let loc = to_client(&page);
    assert!(loc.starts_with(REDIRECT), "{loc}");
    let q = query_of(&loc);
    assert_eq!(q.get("state").map(String::as_str), Some("st-1"));
    assert_eq!(q.get("iss").map(String::as_str), Some(ISSUER));
    q["code"].clone()
}

/// POST a form to a provider endpoint, with HTTP Basic credentials if given.
pub async fn post_form(
    app: &App,
    path: &str,
    fields: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Resp {
    let body = serde_urlencoded::to_string(fields).unwrap();
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        let raw = format!("{id}:{secret}");
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw);
        req = req.header("authorization", format!("Basic {b64}"));
    }
    app.send(req.body(Body::from(body)).unwrap()).await
}

/// Exchange a code with the default verifier (client_secret_basic).
pub async fn exchange(app: &App, c: &Registered, code: &str) -> Resp {
    post_form(
        app,
        "/auth/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
        c.secret.as_deref().map(|s| (c.id.as_str(), s)),
    )
    .await
}

/// The claims of a JWT (unverified; the tests check signatures elsewhere).
pub fn claims(token: &str) -> Value {
    jwt_parts(token).1
}

/// The RFC 6749 `error` of an answer.
pub fn oauth_error(r: &Resp) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_owned()
}
