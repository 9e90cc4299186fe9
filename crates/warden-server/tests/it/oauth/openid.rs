//! Sign-in through a real OpenID provider, and GitHub from the hosted pages.

use super::*;

// ------------------------------------------------------------ a real OpenID provider

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
    let tag_end = form.find('>').unwrap();
    let action = attr(&form[..tag_end], "action").expect("form action");
    let mut inputs = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("<input") {
        let tag_len = rest[i..].find('>').unwrap();
        let tag = &rest[i..i + tag_len];
        if let Some(name) = attr(tag, "name") {
            inputs.push((name, attr(tag, "value").unwrap_or_default()));
        }
        rest = &rest[i + tag_len..];
    }
    (action, inputs)
}

/// Sign in at the provider as `login`: authorize → login form → consent
/// form → back to Warden's callback. Returns Warden's answer to the callback.
async fn oidc_round(b: &mut Browser, base: &str, login: &str, query: &str) -> Page {
    let start = b
        .get(&format!("{base}/auth/oauth/test/authorize?{query}"))
        .await;
    assert_eq!(start.status, 302, "{}", start.text);
    let to_provider = start.location.clone().unwrap();
    let q = query_of(&to_provider);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["nonce"].len() >= 43);
    assert!(q["scope"].contains("openid"));
    let callback_prefix = format!("{base}/auth/oauth/test/callback");
    let first = b.get(&to_provider).await;
    let mut page = b.follow(first, &callback_prefix).await;
    let mut forms = 0;
    while page.status == 200 && page.text.contains("<form") {
        forms += 1;
        assert!(forms <= 4, "too many interaction pages: {}", page.text);
        let (action, mut inputs) = first_form(&page.text);
        for (name, value) in &mut inputs {
            match name.as_str() {
                "login" => *value = login.to_owned(),
                "password" => *value = "any password".to_owned(),
                _ => {}
            }
        }
        let url = resolve(&page.url_or(&to_provider), &action);
        let posted = b.post_form(&url, &inputs).await;
        page = b.follow(posted, &callback_prefix).await;
    }
    let callback = page
        .location
        .clone()
        .unwrap_or_else(|| panic!("no way back: {} {}", page.status, page.text));
    assert!(callback.starts_with(&callback_prefix), "{callback}");
    b.get(&callback).await
}

impl Page {
    fn url_or(&self, fallback: &str) -> String {
        self.final_url
            .clone()
            .unwrap_or_else(|| fallback.to_owned())
    }
}

each_backend!(async fn openid_provider_full_flow(backend) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let Some((_node, issuer)) =
        start_oidc_provider(&format!("{base}/auth/oauth/test/callback")).await
    else {
        return;
    };
    let cfg = Config {
        oidc_providers: vec![warden_axum::oauth::OidcSettings {
            name: "test".into(),
            display_name: Some("Test IdP".into()),
            issuer,
            client_id: "warden".into(),
            client_secret: "warden-secret".into(),
            scopes: Some("openid email profile".into()),
        }],
        ..base_config()
    };
    start_on(listener, backend, cfg).await;
    let providers: Value = reqwest::get(format!("{base}/auth/oauth/providers"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        providers,
        json!([{"name": "test", "display_name": "Test IdP"}])
    );

    // First sign-in makes an account from the verified ID token.
    let mut b = Browser::new();
    let done = oidc_round(&mut b, &base, "erin", "redirect_to=/done").await;
    assert_eq!(done.status, 302, "{}", done.text);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("{base}/done").as_str())
    );
    let access = b.cookie(&base, "access").expect("access cookie");
    let (_, me) = bearer_get(&base, "/auth/me", &access).await;
    assert_eq!(me["login"], "erin");
    assert_eq!(me["email"], "erin@example.com");
    assert_eq!(me["email_verified"], true);
    assert_eq!(decode_claims(&access)["amr"], json!(["ext"]));

    // A verified email of an existing account links to it.
    let frank = register(&base, "frank", Some("frank@example.com")).await;
    let mut b = Browser::new();
    let done = oidc_round(&mut b, &base, "frank", "redirect_to=/done").await;
    assert_eq!(done.status, 302, "{}", done.text);
    let access = b.cookie(&base, "access").expect("access cookie");
    let (_, me) = bearer_get(&base, "/auth/me", &access).await;
    assert_eq!(me["id"], frank["id"]);

    // An unverified email of an existing account is refused.
    register(&base, "grace", Some("unverified-grace@example.com")).await;
    let mut b = Browser::new();
    let done = oidc_round(&mut b, &base, "unverified-grace", "redirect_to=/done").await;
    assert_eq!(done.status, 302, "{}", done.text);
    let q = query_of(done.location.as_deref().unwrap());
    assert_eq!(q["error"], "email_taken");
    assert!(b.cookie(&base, "access").is_none());
});

// ------------------------------------------------------------ hosted pages

// The sign-in page's "Continue with GitHub" button: provider round trip,
// back to `/ui/oauth/complete`, which makes the new session the page
// session too (its API cookies stay) and goes on to `redirect_to`.
each_backend!(async fn hosted_sign_in_page_signs_in_with_github(backend) {
    let (gh, fake) = fake_github().await;
    let base = start(backend, github_config(&gh)).await;
    fake.lock().unwrap().next = Some(gh_user(
        3003,
        "pagecat",
        &[("pagecat@example.com", true, true)],
    ));
    let mut b = Browser::new();
    let page = b
        .get(&format!(
            "{base}/ui/sign-in?redirect_to=%2Fui%2Faccount%2Fsessions"
        ))
        .await;
    assert_eq!(page.status, 200);
    let href = page
        .text
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|s| s.replace("&#x2f;", "/").replace("&amp;", "&"))
        .find(|h| h.contains("/oauth/github/authorize"))
        .expect("a GitHub button");
    assert!(page.text.contains("Continue with GitHub"));
    let start = b.get(&resolve(&base, &href)).await;
    assert_eq!(start.status, 302, "{}", start.text);
    let to_provider = start.location.clone().unwrap();
    let callback = b.get(&to_provider).await.location.clone().unwrap();
    let back = b.get(&callback).await;
    assert_eq!(back.status, 302, "{}", back.text);
    let complete = back.location.clone().unwrap();
    assert!(
        complete.starts_with(&format!("{base}/ui/oauth/complete")),
        "{complete}"
    );
    let done = b.get(&complete).await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("{base}/ui/account/sessions").as_str())
    );
    assert!(b.cookie(&base, "warden_ui").is_some());
    // The same session's API cookies stay for the app behind redirect_to.
    let access = b.cookie(&base, "access").expect("access cookie");
    let me = reqwest::Client::new()
        .get(format!("{base}/auth/me"))
        .header("cookie", format!("access={access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // A denied consent comes back to the sign-in page with the reason.
    fake.lock().unwrap().next = None;
    let mut b = Browser::new();
    let start = b
        .get(&format!(
            "{base}/auth/oauth/github/authorize?redirect_to=%2Fui%2Foauth%2Fcomplete"
        ))
        .await;
    let state = query_of(start.location.as_deref().unwrap())["state"].clone();
    let back = b
        .get(&format!(
            "{base}/auth/oauth/github/callback?error=access_denied&state={state}"
        ))
        .await;
    let complete = back.location.clone().unwrap();
    let done = b.get(&complete).await;
    assert_eq!(done.status, 303);
    let page = b.get(done.location.as_deref().unwrap()).await;
    assert!(page.text.contains("role=\"alert\""), "{}", page.text);
    assert!(b.cookie(&base, "warden_ui").is_none());
});
