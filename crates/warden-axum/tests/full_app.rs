//! `examples/full_app.rs` driven end to end over loopback: a real OpenID
//! provider (the `oidc-provider` npm package of `e2e/oidc`, as in the
//! server's `tests/oauth.rs`) stands in for Google; a reqwest client with a
//! small cookie jar goes authorize → login → consent → callback → `/me`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../examples/full_app.rs"]
mod full_app;

use std::collections::HashMap;
use std::net::SocketAddr;
use warden_axum::config::Config;
use warden_testkit::oidc::start_oidc_provider;

/// reqwest without redirects, with a cookie jar per host:port.
#[derive(Default)]
struct Browser {
    jar: HashMap<String, HashMap<String, String>>,
}

struct Page {
    status: u16,
    location: Option<String>,
    text: String,
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
    async fn send(&mut self, req: reqwest::RequestBuilder, url: &str) -> Page {
        let jar = self.jar.entry(host_of(url)).or_default();
        let cookies: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let req = if cookies.is_empty() {
            req
        } else {
            req.header("cookie", cookies.join("; "))
        };
        let res = req.send().await.unwrap();
        for v in res.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            if let Some((k, val)) = v.split(';').next().unwrap().split_once('=') {
                if v.to_ascii_lowercase().contains("max-age=0") || val.is_empty() {
                    jar.remove(k.trim());
                } else {
                    jar.insert(k.trim().to_owned(), val.to_owned());
                }
            }
        }
        let location = res
            .headers()
            .get("location")
            .map(|l| resolve(url, l.to_str().unwrap()));
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        Page {
            status,
            location,
            text,
        }
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    async fn get(&mut self, url: &str) -> Page {
        self.send(Self::client().get(url), url).await
    }

    /// Follow redirects until a page that is not one, or one to `stop_at`.
    async fn follow(&mut self, mut page: Page, stop_at: &str) -> (Page, String) {
        let mut url = String::new();
        for _ in 0..20 {
            match page.location.clone() {
                Some(loc) if (300..400).contains(&page.status) && !loc.starts_with(stop_at) => {
                    page = self.get(&loc).await;
                    url = loc;
                }
                _ => return (page, url),
            }
        }
        panic!("too many redirects");
    }
}

/// The first `<form>` of a page: its action and its inputs (name, value).
fn first_form(html: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!("{name}=\"");
        let i = tag.find(&key)? + key.len();
        let j = tag[i..].find('"')? + i;
        Some(tag[i..j].replace("&amp;", "&"))
    };
    let start = html.find("<form").expect("a form");
    let end = html[start..]
        .find("</form>")
        .map_or(html.len(), |e| e + start);
    let form = &html[start..end];
    let action = attr(&form[..form.find('>').unwrap()], "action").expect("form action");
    let mut inputs = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("<input") {
        let len = rest[i..].find('>').unwrap();
        if let Some(name) = attr(&rest[i..i + len], "name") {
            inputs.push((name, attr(&rest[i..i + len], "value").unwrap_or_default()));
        }
        rest = &rest[i + len..];
    }
    (action, inputs)
}

#[tokio::test]
async fn google_style_sign_in_in_the_users_own_app() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let callback = format!("{base}/auth/oauth/google/callback");
    let Some((_node, issuer)) = start_oidc_provider(&callback).await else {
        return;
    };
    let outbox = std::env::temp_dir().join(format!("warden-full-app-{}", std::process::id()));
    let vars = [
        ("WARDEN_DATABASE_URL", "sqlite::memory:"),
        ("WARDEN_PUBLIC_URL", base.as_str()),
        ("WARDEN_COOKIE_SECURE", "false"),
        ("WARDEN_GOOGLE_CLIENT_ID", "warden"),
        ("WARDEN_GOOGLE_CLIENT_SECRET", "warden-secret"),
        ("WARDEN_GOOGLE_ISSUER", issuer.as_str()),
        ("WARDEN_ARGON2_MEMORY_KIB", "64"),
        ("WARDEN_ARGON2_ITERATIONS", "1"),
        ("WARDEN_ARGON2_PARALLELISM", "1"),
        ("WARDEN_OUTBOX_DIR", &outbox.display().to_string()),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let cfg = Config::from_vars(vars).unwrap();
    let warden = full_app::warden(&cfg).await.unwrap();
    let app = full_app::app(&cfg, &warden).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let providers: serde_json::Value = reqwest::get(format!("{base}/auth/oauth/providers"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        providers,
        serde_json::json!([{"name": "google", "display_name": "Google"}])
    );

    // The hosted sign-in page is mounted too, with the provider's button.
    let sign_in = reqwest::get(format!("{base}/ui/sign-in")).await.unwrap();
    assert_eq!(sign_in.status(), 200);
    let html = sign_in.text().await.unwrap();
    // (minijinja escapes `/` in attributes as `&#x2f;`)
    let button = "&#x2f;auth&#x2f;oauth&#x2f;google&#x2f;authorize";
    assert!(
        html.contains(button) && html.contains("Continue with Google"),
        "{html}"
    );

    let mut b = Browser::default();
    let start = b
        .get(&format!(
            "{base}/auth/oauth/google/authorize?redirect_to=/me"
        ))
        .await;
    assert_eq!(start.status, 302, "{}", start.text);
    let to_provider = start.location.clone().unwrap();
    assert!(to_provider.starts_with(&issuer), "{to_provider}");
    let first = b.get(&to_provider).await;
    let (mut page, mut url) = b.follow(first, &callback).await;
    let mut forms = 0;
    while page.status == 200 && page.text.contains("<form") {
        forms += 1;
        assert!(forms <= 4, "too many interaction pages: {}", page.text);
        let (action, mut inputs) = first_form(&page.text);
        for (name, value) in &mut inputs {
            match name.as_str() {
                "login" => *value = "erin".to_owned(),
                "password" => *value = "any password".to_owned(),
                _ => {}
            }
        }
        let target = resolve(if url.is_empty() { &to_provider } else { &url }, &action);
        let posted = b
            .send(Browser::client().post(&target).form(&inputs), &target)
            .await;
        (page, url) = b.follow(posted, &callback).await;
    }
    let back = page.location.clone().expect("back to the app");
    assert!(back.starts_with(&callback), "{back}");
    let done = b.get(&back).await;
    assert_eq!(done.status, 302, "{}", done.text);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("{base}/me").as_str())
    );
    // The app's own route sees the signed-in account through the cookie.
    let me = b.get(&format!("{base}/me")).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.text, "hello erin");
    let _ = std::fs::remove_dir_all(&outbox);
}
