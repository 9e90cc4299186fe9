//! A minimal browser for the hosted-page tests: keeps cookies (per path
//! prefix), sends forms with the page's CSRF field, and reads pages.
#![allow(dead_code)]

use super::App;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use tower::ServiceExt;

/// One page answer.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The `value` of the first `<input name="{name}">` (or `id`).
    pub fn input(&self, name: &str) -> Option<String> {
        for pat in [format!("name=\"{name}\""), format!("id=\"{name}\"")] {
            if let Some(i) = self.html.find(&pat) {
                let start = self.html[..i].rfind('<')?;
                let end = i + self.html[i..].find('>')?;
                let tag = &self.html[start..end];
                if let Some(v) = tag.split("value=\"").nth(1) {
                    return v.split('"').next().map(unescape);
                }
            }
        }
        None
    }

    /// The text inside the element with `id="{id}"` (tags stripped).
    pub fn text_of(&self, id: &str) -> Option<String> {
        let pat = format!("id=\"{id}\"");
        let i = self.html.find(&pat)?;
        let open_end = i + self.html[i..].find('>')? + 1;
        let tag_start = self.html[..i].rfind('<')?;
        let tag: String = self.html[tag_start + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let close = format!("</{tag}>");
        let end = open_end + self.html[open_end..].find(&close)?;
        Some(strip_tags(&self.html[open_end..end]))
    }

    /// Whether the visible text contains `s`.
    pub fn contains(&self, s: &str) -> bool {
        strip_tags(&self.html).contains(s)
    }

    /// The `<h1>` text.
    pub fn h1(&self) -> String {
        self.html
            .split("<h1")
            .nth(1)
            .and_then(|s| s.split_once('>'))
            .and_then(|(_, rest)| rest.split("</h1>").next())
            .map(strip_tags)
            .unwrap_or_default()
    }

    /// The text of the first non-empty `role="alert"` element, if any.
    pub fn alert(&self) -> Option<String> {
        self.html
            .match_indices("role=\"alert\"")
            .find_map(|(i, _)| {
                let open_end = i + self.html[i..].find('>')? + 1;
                let end = open_end + self.html[open_end..].find("</")?;
                let text = strip_tags(&self.html[open_end..end]);
                (!text.is_empty()).then_some(text)
            })
    }
}

/// Undo the HTML escaping of attribute values.
pub fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A browser: cookies by name (the pages' cookies all live under one path).
#[derive(Clone)]
pub struct Browser {
    pub app: App,
    pub cookies: BTreeMap<String, String>,
    /// The `_csrf` of the last page that had one.
    pub csrf: Option<String>,
    pub user_agent: String,
}

impl Browser {
    pub fn new(app: &App) -> Self {
        Self {
            app: app.clone(),
            cookies: BTreeMap::new(),
            csrf: None,
            user_agent: "test-browser/1.0".into(),
        }
    }

    async fn send(&mut self, req: Request<Body>) -> Page {
        let res = self
            .app
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("router answers");
        let status = res.status();
        let headers = res.headers().clone();
        for v in headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap_or_default();
            let pair = v.split(';').next().unwrap_or_default();
            if let Some((k, val)) = pair.split_once('=') {
                let gone = v.contains("Max-Age=0");
                if gone || val.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), val.to_owned());
                }
            }
        }
        let body = res.into_body().collect().await.expect("body").to_bytes();
        let page = Page {
            status,
            headers,
            html: String::from_utf8_lossy(&body).into_owned(),
        };
        if let Some(c) = page.input("_csrf") {
            self.csrf = Some(c);
        }
        page
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::USER_AGENT, &self.user_agent)
            .header(header::HOST, "127.0.0.1:8080");
        if !self.cookies.is_empty() {
            b = b.header(header::COOKIE, self.cookie_header());
        }
        b
    }

    /// GET without following redirects.
    pub async fn get(&mut self, path: &str) -> Page {
        let req = self
            .request("GET", path)
            .body(Body::empty())
            .expect("request");
        self.send(req).await
    }

    /// GET, following redirects within the app.
    pub async fn open(&mut self, path: &str) -> Page {
        let mut page = self.get(path).await;
        let mut hops = 0;
        while page.status.is_redirection() && hops < 5 {
            let to = page.location().unwrap_or("/").to_owned();
            page = self.get(&to).await;
            hops += 1;
        }
        page
    }

    /// POST a form with the current `_csrf` (unless `fields` has one), no
    /// redirect following.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut pairs: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if !fields.iter().any(|(k, _)| *k == "_csrf")
            && let Some(c) = &self.csrf
        {
            pairs.push(("_csrf".into(), c.clone()));
        }
        let body = serde_urlencoded::to_string(&pairs).expect("form");
        let req = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, "http://127.0.0.1:8080")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// POST JSON as the pages' script does: the form token in `X-CSRF-Token`.
    pub async fn post_json(
        &mut self,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        let mut b = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, "http://127.0.0.1:8080");
        if let Some(c) = &self.csrf {
            b = b.header("x-csrf-token", c);
        }
        let req = b.body(Body::from(body.to_string())).expect("request");
        let page = self.send(req).await;
        let json = serde_json::from_str(&page.html).unwrap_or(serde_json::Value::Null);
        (page.status, json)
    }

    /// POST, then follow the redirect(s).
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.post(path, fields).await;
        if page.status.is_redirection() {
            let to = page.location().unwrap_or("/").to_owned();
            return self.open(&to).await;
        }
        page
    }

    /// Register `login` through the JSON API and sign in through the pages.
    pub async fn sign_up_and_in(&mut self, login: &str, password: &str) -> Page {
        let res = self
            .app
            .post(
                "/auth/register",
                serde_json::json!({"login": login, "password": password}),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "register {login}");
        self.sign_in(login, password).await
    }

    /// Sign in through the pages (password only), following to the account page.
    pub async fn sign_in(&mut self, login: &str, password: &str) -> Page {
        self.open("/ui/sign-in").await;
        self.submit("/ui/sign-in", &[("login", login), ("password", password)])
            .await
    }
}

/// RFC 4648 base 32 without padding.
pub fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.trim().trim_end_matches('=').bytes() {
        let v = ALPHA.iter().position(|a| *a == c).expect("base32") as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

/// The TOTP code (SHA-1, 6 digits, 30 s) of a base-32 secret, `offset` steps
/// from now.
pub fn totp_code(secret_b32: &str, offset: i64) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() + offset * 30;
    warden_core::mfa::generate(&base32_decode(secret_b32), now as u64, 6).expect("totp")
}

/// The link of the newest mail in an outbox folder (`.eml`, quoted-printable).
pub fn last_link(outbox: &std::path::Path) -> Option<String> {
    let mut files: Vec<_> = std::fs::read_dir(outbox)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    let eml = std::fs::read_to_string(files.last()?).ok()?;
    // Undo quoted-printable soft breaks and =3D.
    let text = eml
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = text.find("http")?;
    let end = start
        + text[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
            .unwrap_or(text.len() - start);
    Some(text[start..end].to_owned())
}

/// Percent-encode a query value (the pages' own encoder).
#[allow(unused_imports)]
pub use warden_server::ui::url_encode;

/// Wait for a mail (sent off the request path) other than `not` in an
/// outbox folder, and return its link.
pub async fn wait_link(dir: &std::path::Path, not: Option<&str>) -> String {
    for _ in 0..300 {
        if let Some(l) = last_link(dir)
            && Some(l.as_str()) != not
        {
            return l;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no mail in {}", dir.display());
}

/// The path and query of an absolute link.
pub fn local(link: &str) -> String {
    let rest = link.split_once("://").map(|(_, r)| r).unwrap_or(link);
    rest[rest.find('/').unwrap_or(rest.len())..].to_owned()
}
