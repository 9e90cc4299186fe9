//! Passkeys on the hosted pages.

use super::*;

// ------------------------------------------------------------ hosted pages

each_backend! {
    /// The pages' passkey flows, as their script drives them (JSON with the form
    /// token in `X-CSRF-Token`): add a passkey on the account's Passkeys tab,
    /// sign in with it from the sign-in page (no password, no TOTP step), remove
    /// it; the last way into a
    /// passkey-only account cannot be removed, by the account or an admin.
    async fn hosted_pages_add_sign_in_and_remove_passkeys(b) {
    use crate::common::browser::Browser;
    let (app, _clock) = app_at(b).await;
    let login = unique("pkui");
    let mut b = Browser::new(&app);
    b.sign_up_and_in(&login, PASSWORD).await;
    let page = b.open("/ui/account/passkeys").await;
    assert_eq!(page.h1(), "Passkeys", "{}", page.html);
    assert!(page.html.contains("id=\"passkey-add\""));
    assert!(page.html.contains("aria-current=\"page\">Passkeys</a>"));

    // Without the form token nothing starts.
    let mut stranger = b.clone();
    stranger.csrf = None;
    let (status, _) = stranger
        .post_json("/ui/account/passkeys/begin", json!({}))
        .await;
    assert_eq!(status, 403);

    let mut soft = Soft::new("platform");
    let (status, begin) = b
        .post_json("/ui/account/passkeys/begin", json!({"name": "Laptop"}))
        .await;
    assert_eq!(status, 200, "{begin}");
    let credential = soft.create(&begin["options"], ORIGIN);
    let (status, done) = b
        .post_json(
            "/ui/account/passkeys/finish",
            json!({"challenge_id": begin["challenge_id"], "credential": credential, "name": "Laptop"}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["redirect"], json!("/ui/account/passkeys"));
    let page = b.open("/ui/account/passkeys").await;
    assert!(page.contains("Passkey added."), "{}", page.html);
    assert!(page.html.contains("data-passkey-id="));
    assert!(page.contains("Laptop"));

    // Sign in with it on another browser: no login, no password.
    let mut other = Browser::new(&app);
    let page = other.open("/ui/sign-in").await;
    assert!(page.html.contains("id=\"passkey-sign-in\""));
    let (status, begin) = other
        .post_json("/ui/passkeys/sign-in/begin", json!({}))
        .await;
    assert_eq!(status, 200, "{begin}");
    let credential = soft.get(&begin["options"], ORIGIN);
    let (status, done) = other
        .post_json(
            "/ui/passkeys/sign-in/finish",
            json!({"challenge_id": begin["challenge_id"], "credential": credential, "remember": true, "redirect_to": "/ui/account/sessions"}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["redirect"], json!("/ui/account/sessions"));
    assert!(other.cookies.contains_key("warden_ui"));
    let page = other.open("/ui/account/sessions").await;
    assert_eq!(page.h1(), "Sessions", "{}", page.html);
    // The same challenge cannot be used twice.
    let (status, err) = other
        .post_json(
            "/ui/passkeys/sign-in/finish",
            json!({"challenge_id": begin["challenge_id"], "credential": credential}),
        )
        .await;
    assert!(status.is_client_error(), "{err}");
    assert!(err["error"].is_string());

    // Remove it: the next passkey sign-in is refused.
    let id = page_attr(
        &b.open("/ui/account/passkeys").await.html,
        "data-passkey-id",
    );
    let page = b
        .submit(&format!("/ui/account/passkeys/{id}/delete"), &[])
        .await;
    assert!(page.contains("Passkey removed."), "{}", page.html);
    let (_, begin) = other
        .post_json("/ui/passkeys/sign-in/begin", json!({}))
        .await;
    let credential = soft.get(&begin["options"], ORIGIN);
    let (status, err) = other
        .post_json(
            "/ui/passkeys/sign-in/finish",
            json!({"challenge_id": begin["challenge_id"], "credential": credential}),
        )
        .await;
    assert_eq!(status, 403, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("not known"),
        "{err}"
    );

    // A passkey-only account: its only passkey cannot be removed, by the
    // account or by an admin on the account's page.
    let mut only = Soft::new("cross-platform");
    let solo = unique("solo");
    app.passkey_signup(&solo, &mut only)
        .await
        .assert_status(200);
    let mut s = Browser::new(&app);
    s.open("/ui/sign-in").await;
    let (_, begin) = s.post_json("/ui/passkeys/sign-in/begin", json!({})).await;
    let credential = only.get(&begin["options"], ORIGIN);
    let (status, _) = s
        .post_json(
            "/ui/passkeys/sign-in/finish",
            json!({"challenge_id": begin["challenge_id"], "credential": credential}),
        )
        .await;
    assert_eq!(status, 200);
    let page = s.open("/ui/account/passkeys").await;
    let only_id = page_attr(&page.html, "data-passkey-id");
    let page = s
        .submit(&format!("/ui/account/passkeys/{only_id}/delete"), &[])
        .await;
    assert!(
        page.alert()
            .unwrap_or_default()
            .contains("last way to sign in"),
        "{}",
        page.html
    );
    assert!(page.html.contains(&only_id), "still there");

    let boss = unique("boss");
    app.post(
        "/auth/register",
        json!({"login": boss, "password": PASSWORD}),
        None,
    )
    .await;
    let boss_id = app
        .warden
        .auth()
        .store()
        .account_by_login(&boss)
        .await
        .unwrap()
        .unwrap()
        .id;
    app.warden
        .auth()
        .accounts().set_scopes(boss_id, vec!["admin".into()], &Default::default())
        .await
        .unwrap();
    let mut a = Browser::new(&app);
    a.sign_in(&boss, PASSWORD).await;
    let solo_id = app
        .warden
        .auth()
        .store()
        .account_by_login(&solo)
        .await
        .unwrap()
        .unwrap()
        .id;
    let page = a.open(&format!("/ui/admin/accounts/{solo_id}")).await;
    assert!(
        page.html
            .contains(&format!("data-passkey-id=\"{only_id}\"")),
        "{}",
        page.html
    );
    let page = a
        .submit(
            &format!("/ui/admin/accounts/{solo_id}/passkeys/{only_id}/delete"),
            &[],
        )
        .await;
    assert!(
        page.alert()
            .unwrap_or_default()
            .contains("last way to sign in"),
        "{}",
        page.html
    );
}
}

/// The value of the first `attr="..."` in the HTML.
fn page_attr(html: &str, attr: &str) -> String {
    let pat = format!("{attr}=\"");
    let start = html.find(&pat).expect(attr) + pat.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

each_backend! {
    async fn identities_and_passkeys_count_as_sign_in_methods(b) {
        let (app, _) = app_at(b).await;
        let mut soft = Soft::new("platform");
        let pair = Pair::from_resp(&app.passkey_signup(&unique("mix"), &mut soft).await);
        let me = app.get("/auth/me", Some(&pair.access)).await.json();
        let account = warden_core::model::AccountId::parse(me["id"].as_str().unwrap()).unwrap();
        // An external identity linked to the passkey-only account.
        let identity = warden_core::store::Identity {
            id: Uuid::now_v7(),
            account_id: account,
            provider: "github".into(),
            subject: unique("gh"),
            email: None,
            created_at: time::OffsetDateTime::now_utc(),
        };
        let ev = warden_core::model::AuditEvent {
            at: identity.created_at,
            account_id: Some(account),
            event: "identity.linked".into(),
            ip: None,
            user_agent: None,
            detail: json!({}),
        };
        app.store.link_identity(&identity, &ev).await.unwrap();
        // With the passkey there, the identity may go ...
        app.delete(&format!("/auth/identities/{}", identity.id), Some(&pair.access))
            .await
            .assert_status(204);
        // ... and now the passkey is the last way in.
        let pid = app.get("/auth/passkeys", Some(&pair.access)).await.json()[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.delete(&format!("/auth/passkeys/{pid}"), Some(&pair.access))
            .await
            .assert_problem(409, "last_sign_in_method");
        // Linked again: the passkey may go, and then the identity is the last.
        let again = warden_core::store::Identity { id: Uuid::now_v7(), subject: unique("gh"), ..identity };
        app.store.link_identity(&again, &ev).await.unwrap();
        app.delete(&format!("/auth/passkeys/{pid}"), Some(&pair.access))
            .await
            .assert_status(204);
        app.delete(&format!("/auth/identities/{}", again.id), Some(&pair.access))
            .await
            .assert_problem(409, "last_sign_in_method");
    }
}

each_backend! {
    /// A passkey-only account sets a first password with a fresh token
    /// alone; then the password is a way in, and the passkey may go.
    async fn passkey_only_account_sets_a_first_password(b) {
        let (app, _) = app_at(b).await;
        let mut soft = Soft::new("platform");
        let login = unique("first");
        let pair = Pair::from_resp(&app.passkey_signup(&login, &mut soft).await);
        // A refreshed (not fresh) token cannot.
        let stale = Pair::from_resp(&app.refresh(&pair.refresh).await);
        let body = json!({"current_password": "", "new_password": "my first real passphrase"});
        app.post("/auth/password", body.clone(), Some(&stale.access))
            .await
            .assert_problem(401, "fresh_token_required");
        app.login(&login, "my first real passphrase").await.assert_status(401);
        let fresh = Pair::from_resp(&app.passkey_login(&mut soft).await);
        app.post("/auth/password", body, Some(&fresh.access)).await.assert_status(204);
        app.login(&login, "my first real passphrase").await.assert_status(200);
        let me = app.get("/auth/me", Some(&fresh.access)).await.json();
        let events = app.events(me["id"].as_str().unwrap()).await;
        assert!(events.iter().any(|e| e["event"] == json!("password.set")), "{events:?}");
        // Now the passkey is not the last way in.
        let pid = app.get("/auth/passkeys", Some(&fresh.access)).await.json()[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.delete(&format!("/auth/passkeys/{pid}"), Some(&fresh.access))
            .await
            .assert_status(204);
        // With a password, the current one is required again.
        let again = json!({"current_password": "", "new_password": "yet another passphrase"});
        let p = app.login_pair(&login, "my first real passphrase").await;
        app.post("/auth/password", again, Some(&p.access))
            .await
            .assert_problem(401, "invalid_credentials");
    }
}
