//! The code flow end to end through the router: sign-in and consent pages,
//! code exchange, ID token, userinfo, refresh rotation with reuse detection,
//! single-use codes, and the client sessions among the account's sessions.

use super::*;
use crate::common::browser::Browser;
use crate::common::{PASSWORD, app, each_backend, unique};
use serde_json::json;

/// Verify a JWT's signature against the JWKS of the app.
async fn verified(app: &App, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(app.get("/.well-known/jwks.json", None).await.json()).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[claims(token)["aud"].as_str().unwrap()]);
    v.set_issuer(&[ISSUER]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims
}

each_backend!(async fn code_flow_issues_verified_tokens_and_userinfo(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({})).await;
    let mut b = Browser::new(&app);
    let login = unique("op");
    b.sign_up_and_in(&login, PASSWORD).await;

    // Not consented yet: the consent page names the client and the scopes.
    let page = b.get(&authorize_url(&c.id, &[])).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.contains("Allow Grafana?"));
    assert!(page.html.contains("data-scope=\"email\""), "{}", page.html);
    assert!(page.contains("See your email address"));
    let code = {
        let res = allow(&mut b, &page).await;
        assert_eq!(res.status, 200, "a page that moves on after the form post");
        let q = query_of(&to_client(&res));
        assert_eq!(q["state"], "st-1");
        assert_eq!(q["iss"], ISSUER);
        q["code"].clone()
    };
    let r = exchange(&app, &c, &code).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "email openid profile");
    assert!(t["refresh_token"].as_str().unwrap().starts_with("wcr_"));

    let id = verified(&app, t["id_token"].as_str().unwrap()).await;
    let (header, _) = jwt_parts(t["id_token"].as_str().unwrap());
    assert_eq!(header["typ"], "JWT");
    assert_eq!(id["aud"], json!(c.id));
    assert_eq!(id["azp"], json!(c.id));
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["preferred_username"], json!(login));
    assert_eq!(id["amr"], json!(["pwd"]));
    assert!(id["auth_time"].as_i64().unwrap() <= id["iat"].as_i64().unwrap());
    assert!(id["at_hash"].as_str().is_some_and(|h| !h.is_empty()));

    // RFC 9068 access token, for this client only.
    let access = t["access_token"].as_str().unwrap();
    let (h, at) = jwt_parts(access);
    assert_eq!(h["typ"], "at+jwt");
    assert_eq!(at["client_id"], json!(c.id));
    assert_eq!(at["aud"], json!(c.id));
    assert_eq!(at["iss"], ISSUER);
    assert_eq!(at["sub"], id["sub"]);
    let (status, _) = app.me_status(access).await;
    assert_eq!(status, 401, "Warden's own routes refuse a client's token");

    let info = app.get("/auth/oauth2/userinfo", Some(access)).await;
    assert_eq!(info.status, 200, "{}", info.text());
    assert_eq!(info.json()["sub"], id["sub"]);
    assert_eq!(info.json()["preferred_username"], json!(login));

    // The client session is one of the account's sessions.
    let own = app.login_pair(&login, PASSWORD).await;
    let sessions = app.get("/auth/sessions", Some(&own.access)).await.json();
    let tagged: Vec<&Value> = (sessions.as_array().unwrap().iter())
        .filter(|s| s["client_id"] == json!(c.id))
        .collect();
    assert_eq!(tagged.len(), 1, "{sessions}");
    assert_eq!(tagged[0]["id"], at["sid"]);

    // Refresh rotates; the old refresh token again revokes the session.
    let first = t["refresh_token"].as_str().unwrap();
    let basic = Some((c.id.as_str(), c.secret.as_deref().unwrap()));
    let r = post_form(&app, "/auth/oauth2/token", &[("grant_type", "refresh_token"), ("refresh_token", first)], basic).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let next = r.json();
    assert_ne!(next["refresh_token"], t["refresh_token"]);
    let again = post_form(&app, "/auth/oauth2/token", &[("grant_type", "refresh_token"), ("refresh_token", first)], basic).await;
    assert_eq!((again.status.as_u16(), oauth_error(&again)), (400, "invalid_grant".to_owned()));
    let info = app.get("/auth/oauth2/userinfo", Some(next["access_token"].as_str().unwrap())).await;
    assert_eq!(info.status, 401, "reuse revoked the session");
    let names: Vec<String> = app.audit_all().await.into_iter().map(|e| e.event).collect();
    for n in ["oauth_client.created", "oauth.consent_granted", "oauth.code_issued", "oauth.token_issued"] {
        assert!(names.contains(&n.to_owned()), "{n} in {names:?}");
    }
});

each_backend!(async fn a_code_is_single_use_and_reuse_revokes_its_tokens(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({"first_party": true})).await;
    let mut b = Browser::new(&app);
    b.sign_up_and_in(&unique("op"), PASSWORD).await;
    // First party: no consent page.
    let code = code_for(&mut b, &c.id).await;
    let r = exchange(&app, &c, &code).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/auth/oauth2/userinfo", Some(&access)).await.status, 200);
    let again = exchange(&app, &c, &code).await;
    assert_eq!(oauth_error(&again), "invalid_grant");
    assert_eq!(app.get("/auth/oauth2/userinfo", Some(&access)).await.status, 401);
    let names: Vec<String> = app.audit_all().await.into_iter().map(|e| e.event).collect();
    assert!(names.contains(&"oauth.code_reused".to_owned()));
});

each_backend!(async fn consent_is_remembered_until_withdrawn_or_prompted(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({})).await;
    let mut b = Browser::new(&app);
    let login = unique("op");
    b.sign_up_and_in(&login, PASSWORD).await;
    let code = code_for(&mut b, &c.id).await;
    assert_eq!(exchange(&app, &c, &code).await.status, 200);
    // Remembered: straight back to the client.
    let page = b.get(&authorize_url(&c.id, &[])).await;
    assert_eq!(page.status, 303, "{}", page.html);
    assert!(page.location().unwrap().starts_with(REDIRECT));
    // prompt=consent asks again; a new scope asks again too.
    let page = b.get(&authorize_url(&c.id, &[("prompt", "consent")])).await;
    assert_eq!(page.status, 200);
    let page = b.get(&authorize_url(&c.id, &[("scope", "openid offline_access")])).await;
    assert_eq!(page.status, 200);
    // Denying answers access_denied to the client.
    let request = page.input("request").unwrap();
    let res = b.post("/ui/oauth2/authorize", &[("request", &request), ("decision", "deny")]).await;
    let q = query_of(&to_client(&res));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["iss"], ISSUER);
    // Withdrawn on the account page: asked again, and the client's session ends.
    let sessions = b.open("/ui/account/sessions").await;
    assert!(sessions.contains("Grafana"), "{}", sessions.html);
    let res = b.post(&format!("/ui/account/consents/{}/withdraw", c.id), &[]).await;
    assert_eq!(res.status, 303, "{}", res.html);
    let page = b.get(&authorize_url(&c.id, &[])).await;
    assert_eq!(page.status, 200, "consent asked again");
});

each_backend!(async fn public_clients_use_pkce_without_a_secret(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({"public": true, "redirect_uris": ["http://127.0.0.1/cb"]})).await;
    assert!(c.secret.is_none());
    let mut b = Browser::new(&app);
    b.sign_up_and_in(&unique("op"), PASSWORD).await;
    let redirect = "http://127.0.0.1:53682/cb";
    let url = authorize_url(&c.id, &[("redirect_uri", redirect)]);
    let page = b.get(&url).await;
    let page = allow(&mut b, &page).await;
    let loc = to_client(&page);
    assert!(loc.starts_with(redirect), "loopback with any port: {loc}");
    let code = query_of(&loc)["code"].clone();
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
        ("client_id", c.id.as_str()),
        ("code_verifier", "the-wrong-verifier-the-wrong-verifier-the-wrong"),
    ];
    let r = post_form(&app, "/auth/oauth2/token", &fields, None).await;
    assert_eq!(oauth_error(&r), "invalid_grant", "{}", r.text());
    // Without PKCE a public client is refused at the authorization endpoint.
    let page = b.get(&authorize_url(&c.id, &[("redirect_uri", redirect), ("code_challenge", ""), ("code_challenge_method", "")])).await;
    let q = query_of(page.location().unwrap());
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "st-1");
});

each_backend!(async fn client_credentials_introspection_and_revocation(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({"grant_types": ["client_credentials"], "redirect_uris": []})).await;
    let secret = c.secret.clone().unwrap();
    // client_secret_post.
    let fields = [("grant_type", "client_credentials"), ("client_id", c.id.as_str()), ("client_secret", secret.as_str())];
    let r = post_form(&app, "/auth/oauth2/token", &fields, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.json();
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    assert_eq!(t["scope"], "reports");
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["sub"], json!(c.id));
    let basic = Some((c.id.as_str(), secret.as_str()));
    let r = post_form(&app, "/auth/oauth2/introspect", &[("token", access)], basic).await;
    assert_eq!(r.json()["active"], true, "{}", r.text());
    assert_eq!(r.json()["client_id"], json!(c.id));
    // Not a userinfo token (no account).
    assert_eq!(app.get("/auth/oauth2/userinfo", Some(access)).await.status, 401);
    let r = post_form(&app, "/auth/oauth2/revoke", &[("token", access)], basic).await;
    assert_eq!(r.status, 200);
    let r = post_form(&app, "/auth/oauth2/introspect", &[("token", access)], basic).await;
    assert_eq!(r.json(), json!({"active": false}));
    // Unknown tokens revoke fine (RFC 7009 §2.2); another grant is refused.
    let r = post_form(&app, "/auth/oauth2/revoke", &[("token", "nonsense")], basic).await;
    assert_eq!(r.status, 200);
    let r = post_form(&app, "/auth/oauth2/token", &[("grant_type", "authorization_code"), ("code", "x")], basic).await;
    assert_eq!(oauth_error(&r), "unauthorized_client");
    let r = post_form(&app, "/auth/oauth2/token", &[("grant_type", "password")], basic).await;
    assert_eq!(oauth_error(&r), "unsupported_grant_type");
    let r = post_form(&app, "/auth/oauth2/token", &[("grant_type", "client_credentials"), ("scope", "admin")], basic).await;
    assert_eq!(oauth_error(&r), "invalid_scope");
});

each_backend!(async fn account_changes_end_client_sessions(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({"first_party": true})).await;
    let mut b = Browser::new(&app);
    let login = unique("op");
    b.sign_up_and_in(&login, PASSWORD).await;
    let code = code_for(&mut b, &c.id).await;
    let t = exchange(&app, &c, &code).await.json();
    let access = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    let own = app.login_pair(&login, PASSWORD).await;
    let r = app.post_empty("/auth/logout/all", Some(&own.access)).await;
    assert!(r.status.is_success(), "{}", r.text());
    assert_eq!(app.get("/auth/oauth2/userinfo", Some(access)).await.status, 401);
    let basic = Some((c.id.as_str(), c.secret.as_deref().unwrap()));
    let r = post_form(&app, "/auth/oauth2/token", &[("grant_type", "refresh_token"), ("refresh_token", refresh)], basic).await;
    assert_eq!(oauth_error(&r), "invalid_grant");
    // Warden's own refresh path refuses a client's refresh token.
    assert_eq!(app.refresh(refresh).await.status, 401);
});
