//! The error rules: no redirect for an unknown client or an unregistered
//! redirect URI, RFC 6749 §4.1.2.1 errors (with `state` and `iss`) to the
//! registered URI, RFC 6749 §5.2 JSON errors at the token endpoint.

use super::*;
use crate::common::browser::Browser;
use crate::common::{PASSWORD, app, each_backend, unique};
use serde_json::json;

each_backend!(async fn untrusted_requests_get_a_page_never_a_redirect(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({})).await;
    let mut b = Browser::new(&app);
    let page = b.get(&authorize_url("wc_unknown", &[])).await;
    assert_eq!(page.status, 400);
    assert!(page.location().is_none());
    assert!(page.contains("not registered"), "{}", page.html);
    for evil in ["https://evil.example/cb", "https://app.example/cb/../x", "https://app.example/cb?x=1"] {
        let page = b.get(&authorize_url(&c.id, &[("redirect_uri", evil)])).await;
        assert_eq!(page.status, 400, "{evil}");
        assert!(page.location().is_none(), "{evil}");
    }
});

each_backend!(async fn request_errors_go_back_to_the_client(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({})).await;
    let mut b = Browser::new(&app);
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("scope", "openid admin")], "invalid_scope"),
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (&[("code_challenge", "short")], "invalid_request"),
        (&[("prompt", "none")], "login_required"),
        (&[("max_age", "soon")], "invalid_request"),
    ];
    for (extra, error) in cases {
        let page = b.get(&authorize_url(&c.id, extra)).await;
        assert_eq!(page.status, 303, "{extra:?}: {}", page.html);
        let loc = page.location().unwrap();
        assert!(loc.starts_with(REDIRECT), "{loc}");
        let q = query_of(loc);
        assert_eq!(q["error"], error, "{extra:?}");
        assert_eq!(q["state"], "st-1");
        assert_eq!(q["iss"], ISSUER);
        assert!(!q.contains_key("code"));
    }
    // Signed in but not consented: prompt=none is consent_required.
    b.sign_up_and_in(&unique("op"), PASSWORD).await;
    let page = b.get(&authorize_url(&c.id, &[("prompt", "none")])).await;
    assert_eq!(query_of(page.location().unwrap())["error"], "consent_required");
});

each_backend!(async fn signing_in_first_comes_back_to_the_request(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({"first_party": true})).await;
    let login = unique("op");
    assert_eq!(app.register(&login, PASSWORD).await.status, 201);
    let mut b = Browser::new(&app);
    let url = authorize_url(&c.id, &[("login_hint", &login)]);
    let page = b.get(&url).await;
    assert_eq!(page.status, 303);
    let to = page.location().unwrap().to_owned();
    assert!(to.starts_with("/ui/sign-in?redirect_to="), "{to}");
    let form = b.get(&to).await;
    assert_eq!(form.input("login").as_deref(), Some(login.as_str()), "login_hint prefills");
    let redirect_to = form.input("redirect_to").unwrap();
    let res = b.post("/ui/sign-in", &[("login", &login), ("password", PASSWORD), ("redirect_to", &redirect_to)]).await;
    assert_eq!(res.status, 303, "{}", res.html);
    let back = b.get(res.location().unwrap()).await;
    assert!(to_client(&back).starts_with(REDIRECT), "{}", back.html);
    // prompt=login signs the browser out and asks again.
    let page = b.get(&authorize_url(&c.id, &[("prompt", "login")])).await;
    assert_eq!(page.status, 303);
    assert!(page.location().unwrap().starts_with("/ui/sign-in"));
    assert!(!b.cookies.contains_key("warden_ui"), "signed out first");
});

each_backend!(async fn token_endpoint_errors_are_rfc6749_json(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({})).await;
    let secret = c.secret.clone().unwrap();
    let r = post_form(&app, "/auth/oauth2/token", &[("grant_type", "authorization_code"), ("code", "x")], Some((&c.id, "wrong"))).await;
    assert_eq!(r.status, 401);
    assert_eq!(oauth_error(&r), "invalid_client");
    assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Basic")));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = post_form(&app, "/auth/oauth2/token", &[("grant_type", "authorization_code")], None).await;
    assert_eq!((r.status.as_u16(), oauth_error(&r)), (401, "invalid_client".to_owned()));
    let basic = Some((c.id.as_str(), secret.as_str()));
    let r = post_form(&app, "/auth/oauth2/token", &[("code", "x")], basic).await;
    assert_eq!((r.status.as_u16(), oauth_error(&r)), (400, "invalid_request".to_owned()));
    let r = post_form(&app, "/auth/oauth2/token", &[("grant_type", "authorization_code"), ("code", "nope")], basic).await;
    assert_eq!(oauth_error(&r), "invalid_grant");
    assert!(r.json()["error_description"].as_str().is_some());
    let r = post_form(&app, "/auth/oauth2/token", &[("grant_type", "refresh_token"), ("refresh_token", "wrt_x")], basic).await;
    assert_eq!(oauth_error(&r), "invalid_grant");
    // A code bound to its PKCE challenge and redirect URI.
    let mut b = Browser::new(&app);
    b.sign_up_and_in(&unique("op"), PASSWORD).await;
    let code = code_for(&mut b, &c.id).await;
    let r = post_form(&app, "/auth/oauth2/token", &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER), ("redirect_uri", "https://app.example/other")], basic).await;
    assert_eq!(oauth_error(&r), "invalid_grant");
    let code = code_for(&mut b, &c.id).await;
    let r = post_form(&app, "/auth/oauth2/token", &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)], basic).await;
    assert_eq!(oauth_error(&r), "invalid_grant", "no verifier");
    // Another client cannot use the code.
    let other = register(&app, json!({})).await;
    let code = code_for(&mut b, &c.id).await;
    let r = exchange(&app, &other, &code).await;
    assert_eq!(oauth_error(&r), "invalid_grant");
});

each_backend!(async fn max_age_asks_for_a_newer_sign_in(backend) {
    let clock = warden_core::clock::ManualClock::at_unix(1_700_000_000);
    let app = crate::common::app_with_clock(backend, std::sync::Arc::new(clock.clone()), |_| {}).await;
    let c = register(&app, json!({"first_party": true})).await;
    let login = unique("op");
    assert_eq!(app.register(&login, PASSWORD).await.status, 201);
    let mut b = Browser::new(&app);
    b.sign_in(&login, PASSWORD).await;
    clock.advance(time::Duration::seconds(120));
    // Signed in 120 s ago: max_age=600 is content, max_age=60 asks again.
    let page = b.get(&authorize_url(&c.id, &[("max_age", "600")])).await;
    assert!(to_client(&page).starts_with(REDIRECT), "{}", page.html);
    let page = b.get(&authorize_url(&c.id, &[("max_age", "60")])).await;
    assert_eq!(page.status, 303, "{}", page.html);
    assert!(page.location().unwrap().starts_with("/ui/sign-in"), "{:?}", page.location());
    // With prompt=none it cannot ask: login_required at the client.
    let page = b.get(&authorize_url(&c.id, &[("max_age", "60"), ("prompt", "none")])).await;
    let loc = to_client(&page);
    assert!(loc.starts_with(REDIRECT) && loc.contains("error=login_required"), "{loc}");
});
