//! RP-initiated logout: the `id_token_hint`, the registered
//! `post_logout_redirect_uri`, and both sessions ending.

use super::*;
use crate::common::browser::Browser;
use crate::common::{PASSWORD, app, each_backend, unique};
use serde_json::json;

each_backend!(async fn logout_ends_both_sessions_and_redirects_only_where_registered(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({"first_party": true})).await;
    let mut b = Browser::new(&app);
    b.sign_up_and_in(&unique("op"), PASSWORD).await;
    let code = code_for(&mut b, &c.id).await;
    let t = exchange(&app, &c, &code).await.json();
    let id_token = t["id_token"].as_str().unwrap();
    let access = t["access_token"].as_str().unwrap();
    let q = |uri: &str| {
        serde_urlencoded::to_string([("id_token_hint", id_token), ("post_logout_redirect_uri", uri), ("state", "bye-1")]).unwrap()
    };
    let page = b.get(&format!("/ui/oauth2/logout?{}", q("https://evil.example/"))).await;
    assert_eq!(page.status, 400);
    assert!(page.location().is_none());
    assert!(b.cookies.contains_key("warden_ui"), "still signed in");
    let page = b.get(&format!("/ui/oauth2/logout?{}", q("https://app.example/bye"))).await;
    assert_eq!(page.status, 303, "{}", page.html);
    assert_eq!(page.location(), Some("https://app.example/bye?state=bye-1"));
    assert!(!b.cookies.contains_key("warden_ui"), "the browser is signed out");
    assert_eq!(app.get("/auth/oauth2/userinfo", Some(access)).await.status, 401);
    // Without a hint a signed-in browser is asked to confirm.
    b.sign_in(&unique("nobody"), PASSWORD).await;
    let page = b.open("/ui/oauth2/logout").await;
    assert_eq!(page.status, 200);
});
