//! The account pages' API keys, form tokens and linked identities.

use super::*;

each_backend!(async fn api_keys_create_once_use_renew_revoke(backend) {
    let app = app(backend).await;
    let (mut b, login) = member(&app).await;
    let page = b.open("/ui/account/api-keys").await;
    assert_eq!(
        page.input("expires_in_days").as_deref(),
        Some(app.cfg.api_key_ttl_days.to_string().as_str())
    );
    // Field errors: a scope the account lacks, bad days, no name.
    let page = b
        .post(
            "/ui/account/api-keys",
            &[
                ("name", "ci"),
                ("scopes", "admin"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text_of("scopes-error").is_some(), "{}", page.html);
    assert_eq!(page.input("name").as_deref(), Some("ci"));
    assert!(page.text_of("new-api-key").is_none());
    let page = b
        .post(
            "/ui/account/api-keys",
            &[("name", "ci"), ("expires_in_days", "soon")],
        )
        .await;
    assert!(
        page.text_of("expires_in_days-error").is_some(),
        "{}",
        page.html
    );
    let page = b
        .post(
            "/ui/account/api-keys",
            &[("name", ""), ("expires_in_days", "0")],
        )
        .await;
    assert!(page.text_of("name-error").is_some(), "{}", page.html);
    assert!(
        page.text_of("expires_in_days-error").is_some(),
        "0 is not allowed"
    );
    // Created: the key is shown once.
    let page = b
        .post(
            "/ui/account/api-keys",
            &[
                ("name", "ci pipeline"),
                ("scopes", ""),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let key = page.text_of("new-api-key").expect("the new key");
    assert!(key.starts_with("wdn_"), "{key}");
    assert!(page.html.contains("data-copy=\"#new-api-key\""));
    let ids = rows(&page, "api-key-id");
    assert_eq!(ids.len(), 1);
    let (id, row) = ids[0].clone();
    assert!(row.contains("ci pipeline") && row.contains("Revoke") && row.contains("Renew"));
    assert!(row.contains("Usage"));
    let page = b.open("/ui/account/api-keys").await;
    assert!(page.text_of("new-api-key").is_none(), "shown only once");
    assert!(!page.html.contains(&key));
    // It works on the JSON API.
    let me = app
        .call("GET", "/auth/me", None, &[("x-api-key", key.as_str())])
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["login"], json!(login));
    // Usage page.
    let page = b.open(&format!("/ui/account/api-keys/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.h1(), "Usage of ci pipeline");
    let mut seen = false;
    for _ in 0..100 {
        let page = b.open(&format!("/ui/account/api-keys/{id}")).await;
        if page.contains("/auth/me") {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(seen, "the use is logged");
    // Renew.
    let page = b
        .submit(&format!("/ui/account/api-keys/{id}/renew"), &[])
        .await;
    assert!(
        page.contains("The key ci pipeline now expires"),
        "{}",
        page.html
    );
    // Another account cannot see or touch it.
    let (mut stranger, _) = member(&app).await;
    stranger.open("/ui/account/api-keys").await;
    for (m, path) in [
        ("GET", format!("/ui/account/api-keys/{id}")),
        ("POST", format!("/ui/account/api-keys/{id}/revoke")),
        ("POST", format!("/ui/account/api-keys/{id}/renew")),
    ] {
        let page = if m == "GET" {
            stranger.get(&path).await
        } else {
            stranger.post(&path, &[]).await
        };
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    // Revoke: the key stops working.
    let page = b
        .submit(&format!("/ui/account/api-keys/{id}/revoke"), &[])
        .await;
    assert!(
        page.contains("The key ci pipeline is revoked."),
        "{}",
        page.html
    );
    assert!(rows(&page, "api-key-id").is_empty());
    let me = app
        .call("GET", "/auth/me", None, &[("x-api-key", key.as_str())])
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
});

each_backend!(async fn posts_without_the_form_token_change_nothing(backend) {
    let app = app(backend).await;
    let (mut b, login) = member(&app).await;
    let mut other = second(&app, &login, PASSWORD, "other/1.0").await;
    b.open("/ui/account").await;
    let fresh = unique("csrf");
    for (path, fields) in [
        ("/ui/account/login", vec![("new_login", fresh.as_str())]),
        (
            "/ui/account/password",
            vec![
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        ),
        ("/ui/account/sessions/revoke-others", vec![]),
        ("/ui/account/api-keys", vec![("name", "forged")]),
        ("/ui/account/two-factor/setup", vec![]),
    ] {
        let mut f = fields.clone();
        f.push(("_csrf", ""));
        let page = b.post(path, &f).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        f.pop();
        f.push(("_csrf", "forged"));
        let page = b.post(path, &f).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(app.login(&login, PASSWORD).await.status, StatusCode::OK);
    assert_eq!(
        app.login(&fresh, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(signed_in(&mut other).await);
    let page = b.open("/ui/account/api-keys").await;
    assert!(rows(&page, "api-key-id").is_empty());
});

each_backend!(async fn identities_link_starts_at_the_provider(backend) {
    let app = app_with(backend, |c| {
        c.github_client_id = Some("gh-client".into());
        c.github_client_secret = Some("gh-secret-value".into());
        c.github_authorize_url = "https://gh.example/login/oauth/authorize".into();
        c.github_token_url = "https://gh.example/login/oauth/access_token".into();
        c.github_api_url = "https://gh.example".into();
    })
    .await;
    let (mut b, login) = member(&app).await;
    let page = b.open("/ui/account/identities").await;
    assert!(page.contains("No identities are linked."), "{}", page.html);
    assert!(page.contains("Link GitHub"), "{}", page.html);
    let page = b.post("/ui/account/identities/link/github", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    let to = page.location().unwrap().to_owned();
    assert!(
        to.starts_with("https://gh.example/login/oauth/authorize?"),
        "{to}"
    );
    assert!(to.contains("code_challenge="), "{to}");
    let state = to
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("state="))
        .unwrap();
    let state = app
        .warden
        .auth()
        .identities()
        .oauth_take_state(state)
        .await
        .unwrap();
    let account = app
        .warden
        .auth()
        .store()
        .account_by_login(&login.to_lowercase())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.link_account, Some(account.id));
    assert_eq!(state.provider, "github");
    assert_eq!(state.redirect_to, "/ui/oauth/complete");
    // Back from the provider: the notice is shown on the identities page.
    let page = b.open("/ui/oauth/complete?linked=github").await;
    assert_eq!(page.h1(), "Linked identities");
    assert!(page.contains("Linked github."));
});

/// A browser signed in to `sid` by setting the pages' session cookie the way
/// the server signs it (the key lives in the store's settings).
async fn browser_on_session(app: &App, sid: &str) -> Browser {
    let mut b = Browser::new(app);
    b.open("/ui/sign-in").await;
    let secret = app
        .warden
        .auth()
        .store()
        .setting("ui_cookie_key")
        .await
        .unwrap()
        .expect("the pages' key");
    let key = warden_core::random::sha256(secret.as_bytes());
    let mac = warden_core::random::hex(&warden_core::random::hmac_sha256(
        &key,
        format!("session:{sid}").as_bytes(),
    ));
    b.cookies.insert("warden_ui".into(), format!("{sid}.{mac}"));
    b
}

each_backend!(async fn identities_unlink_and_the_last_sign_in_method(backend) {
    let app = app(backend).await;
    let auth = app.warden.auth().clone();
    let by = warden_core::model::ClientInfo::default();
    let profile = |subject: &str| warden_core::oauth::ExternalProfile {
        provider: "github".into(),
        subject: subject.into(),
        email: Some(format!("{subject}@example.com")),
        email_verified: true,
        preferred_login: Some(unique("gh")),
    };
    // A password account with a linked identity may unlink it.
    let (mut b, login) = member(&app).await;
    let account = auth
        .store()
        .account_by_login(&login.to_lowercase())
        .await
        .unwrap()
        .unwrap();
    let sub = unique("sub");
    auth.identities()
        .oauth_link(account.id, &profile(&sub), &by)
        .await
        .unwrap();
    let page = b.open("/ui/account/identities").await;
    let linked = rows(&page, "identity-id");
    assert_eq!(linked.len(), 1, "{}", page.html);
    assert!(linked[0].1.contains(&format!("{sub}@example.com")));
    let page = b
        .submit(
            &format!("/ui/account/identities/{}/unlink", linked[0].0),
            &[],
        )
        .await;
    assert!(page.contains("The identity is unlinked."), "{}", page.html);
    assert!(rows(&page, "identity-id").is_empty());
    // An account made by an external sign-in has no password: its only
    // identity cannot be unlinked, and the password pages say why.
    let signed = auth
        .identities()
        .oauth_sign_in(&profile(&unique("sub")), &by)
        .await
        .unwrap();
    let warden_core::LoginOutcome::Tokens(pair) = signed.outcome else {
        panic!("tokens");
    };
    let mut ext = browser_on_session(&app, &pair.session_id.to_string()).await;
    let page = ext.open("/ui/account/identities").await;
    assert_eq!(page.h1(), "Linked identities", "{}", page.html);
    let linked = rows(&page, "identity-id");
    assert_eq!(linked.len(), 1);
    let page = ext
        .submit(
            &format!("/ui/account/identities/{}/unlink", linked[0].0),
            &[],
        )
        .await;
    assert!(
        page.alert().unwrap_or_default().contains("Set a password"),
        "{}",
        page.html
    );
    assert_eq!(rows(&page, "identity-id").len(), 1, "still linked");
    let page = ext.open("/ui/account/password").await;
    assert!(
        page.contains("This account has no password"),
        "{}",
        page.html
    );
    assert!(page.input("current_password").is_none());
    let page = ext.open("/ui/account").await;
    assert!(page.contains("this account has none"), "{}", page.html);
    assert!(!page.contains("Change email"));
    // A first password, set right after signing in, is another way in: then
    // the identity may go.
    let page = ext
        .submit(
            "/ui/account/password",
            &[("new_password", "a brand new passphrase")],
        )
        .await;
    assert!(page.contains("Your password is set."), "{}", page.html);
    assert!(
        page.html.contains("id=\"current_password\""),
        "now a change form"
    );
    let page = ext
        .submit(
            &format!("/ui/account/identities/{}/unlink", linked[0].0),
            &[],
        )
        .await;
    assert!(page.contains("The identity is unlinked."), "{}", page.html);
});
