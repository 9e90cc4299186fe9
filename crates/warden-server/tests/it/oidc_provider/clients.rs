//! The admin API of clients and the discovery documents.

use super::*;
use crate::common::browser::Browser;
use crate::common::{PASSWORD, app, each_backend, unique};
use serde_json::json;

each_backend!(async fn admins_register_change_rotate_and_delete_clients(backend) {
    let app = app(backend).await;
    let c = register(&app, json!({})).await;
    assert!(c.secret.as_deref().is_some_and(|s| s.starts_with("wcs_")));
    let list = app.admin("GET", "/auth/admin/oauth-clients", None).await;
    assert_eq!(list.status, 200);
    assert!(!list.text().contains("client_secret"), "never listed");
    let one = app.admin("GET", &format!("/auth/admin/oauth-clients/{}", c.id), None).await.json();
    assert_eq!(one["grant_types"], json!(["authorization_code", "refresh_token"]));
    assert_eq!(one["public"], false);
    let r = app.admin("PATCH", &format!("/auth/admin/oauth-clients/{}", c.id), Some(json!({"name": "Grafana 2", "first_party": true}))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "Grafana 2");
    for bad in [json!({"redirect_uris": ["https://*.example/cb"]}), json!({"grant_types": ["password"]}), json!({"name": ""})] {
        let r = app.admin("PATCH", &format!("/auth/admin/oauth-clients/{}", c.id), Some(bad.clone())).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.text());
    }
    let r = app.admin("POST", "/auth/admin/oauth-clients", Some(json!({"name": "x", "redirect_uris": ["https://a.example/cb#frag"]}))).await;
    assert_eq!(r.status, 422);
    let r = app.admin("POST", "/auth/admin/oauth-clients", Some(json!({"name": "x", "public": true, "grant_types": ["client_credentials"]}))).await;
    assert_eq!(r.status, 422);

    // Tokens work; rotating the secret stops the old one.
    let mut b = Browser::new(&app);
    b.sign_up_and_in(&unique("op"), PASSWORD).await;
    let code = code_for(&mut b, &c.id).await;
    let t = exchange(&app, &c, &code).await.json();
    let access = t["access_token"].as_str().unwrap().to_owned();
    let r = app.admin("POST", &format!("/auth/admin/oauth-clients/{}/secret", c.id), None).await;
    assert_eq!(r.status, 200);
    let new_secret = r.json()["client_secret"].as_str().unwrap().to_owned();
    let old = Some((c.id.as_str(), c.secret.as_deref().unwrap()));
    let r = post_form(&app, "/auth/oauth2/introspect", &[("token", &access)], old).await;
    assert_eq!(r.status, 401);
    let new = Some((c.id.as_str(), new_secret.as_str()));
    let r = post_form(&app, "/auth/oauth2/introspect", &[("token", &access)], new).await;
    assert_eq!(r.json()["active"], true);

    // Deleting revokes every token issued to it.
    let r = app.admin("DELETE", &format!("/auth/admin/oauth-clients/{}", c.id), None).await;
    assert_eq!(r.status, 204);
    assert_eq!(app.get("/auth/oauth2/userinfo", Some(&access)).await.status, 401);
    let r = app.admin("GET", &format!("/auth/admin/oauth-clients/{}", c.id), None).await;
    assert_eq!(r.status, 404);
    let r = app.admin("DELETE", &format!("/auth/admin/oauth-clients/{}", c.id), None).await;
    assert_eq!(r.status, 404);
    let names: Vec<String> = app.audit_all().await.into_iter().map(|e| e.event).collect();
    for n in ["oauth_client.updated", "oauth_client.secret_rotated", "oauth_client.deleted"] {
        assert!(names.contains(&n.to_owned()), "{n}");
    }
    // Not without admin rights.
    let r = app.post("/auth/admin/oauth-clients", json!({"name": "x"}), None).await;
    assert_eq!(r.status, 401);
});

each_backend!(async fn discovery_names_every_endpoint(backend) {
    let app = app(backend).await;
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, 200, "{path}");
        let m = r.json();
        assert_eq!(m["issuer"], ISSUER);
        assert_eq!(m["authorization_endpoint"], format!("{ISSUER}/ui/oauth2/authorize"));
        assert_eq!(m["token_endpoint"], format!("{ISSUER}/auth/oauth2/token"));
        assert_eq!(m["userinfo_endpoint"], format!("{ISSUER}/auth/oauth2/userinfo"));
        assert_eq!(m["end_session_endpoint"], format!("{ISSUER}/ui/oauth2/logout"));
        assert_eq!(m["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
        assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(m["response_types_supported"], json!(["code"]));
        assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    }
});

each_backend!(async fn the_admin_console_registers_rotates_and_deletes_clients(backend) {
    let app = app(backend).await;
    let login = unique("opadmin");
    let r = app.admin("POST", "/auth/admin/accounts", Some(json!({"login": login, "password": PASSWORD, "scopes": ["admin"]}))).await;
    assert_eq!(r.status, 201);
    let mut b = Browser::new(&app);
    b.sign_in(&login, PASSWORD).await;
    let page = b.open("/ui/admin/oauth-clients").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.contains("No applications yet."));
    let page = b.post("/ui/admin/oauth-clients", &[("name", "Wiki"), ("redirect_uris", "https://wiki.example/cb"), ("client_type", "confidential")]).await;
    assert_eq!(page.status, 201, "{}", page.html);
    let id = page.text_of("client-id").expect("client id shown");
    let secret = page.text_of("client-secret").expect("secret shown once");
    assert!(secret.starts_with("wcs_"));
    let listed = b.open("/ui/admin/oauth-clients").await;
    assert!(listed.contains("Wiki") && !listed.contains(&secret), "the secret is not shown again");
    let bad = b.post("/ui/admin/oauth-clients", &[("name", "Bad"), ("redirect_uris", "https://*.example/cb")]).await;
    assert_eq!(bad.status, 422);
    let rotated = b.post(&format!("/ui/admin/oauth-clients/{id}/secret"), &[]).await;
    let new_secret = rotated.text_of("client-secret").unwrap();
    assert_ne!(new_secret, secret);
    let gone = b.submit(&format!("/ui/admin/oauth-clients/{id}/delete"), &[]).await;
    assert!(gone.contains("Client deleted"), "{}", gone.html);
    let r = app.admin("GET", &format!("/auth/admin/oauth-clients/{id}"), None).await;
    assert_eq!(r.status, 404);
});
