//! Service accounts, admin-issued keys and renaming in the console (issue 17).

use super::*;

each_backend!(async fn service_accounts_and_their_keys(backend) {
    let app = app(backend).await;
    let (mut a, _, _) = admin(&app).await;
    let auth = app.warden.auth();

    // Create a service account from the accounts page.
    a.open("/ui/admin/accounts").await;
    let page = a
        .submit(
            "/ui/admin/service-accounts",
            &[("name", "report-bot"), ("service_scopes", "reports:read")],
        )
        .await;
    assert!(page.contains("Service account report-bot created."), "{}", page.html);
    assert!(page.contains("service account"), "{}", page.html);
    let svc = auth
        .accounts()
        .list_accounts(&warden_core::store::AccountQuery {
            search: Some("report-bot".into()),
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    let svc = svc.first().expect("created");
    assert!(svc.is_service());
    let list = a.open("/ui/admin/accounts?q=report-bot").await;
    assert!(html(&list).contains("data-kind=\"service\""));
    // A taken name: told so, nothing created.
    let page = a
        .submit("/ui/admin/service-accounts", &[("name", "REPORT-bot")])
        .await;
    assert!(page.contains("taken login"), "{}", page.html);

    // A key for it: shown once, on the answer only; the account gains the scope.
    a.open(&account_url(svc.id)).await;
    let page = a
        .post(
            &format!("{}/api-keys", account_url(svc.id)),
            &[("key_name", "nightly <b>"), ("key_scopes", "reports:read logs"), ("key_days", "7")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.html);
    let key = page.text_of("new-api-key").expect("the new key");
    assert!(key.starts_with("wdn_"));
    assert!(page.html.contains("nightly &lt;b&gt;"), "escaped");
    let me = app
        .call("GET", "/auth/me", None, &[("x-api-key", key.as_str())])
        .await;
    assert_eq!(me.json()["kind"], serde_json::json!("service"));
    let now = auth.accounts().account(svc.id).await.unwrap();
    assert_eq!(now.scopes, ["logs", "reports:read"]);
    let again = a.open(&account_url(svc.id)).await;
    assert!(again.text_of("new-api-key").is_none(), "shown only once");
    assert!(!again.html.contains(&key));

    // Bad input stays on the page, next to its field.
    let page = a
        .post(
            &format!("{}/api-keys", account_url(svc.id)),
            &[("key_name", ""), ("key_days", "soon")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.html);
    assert!(page.contains("must be a whole number of days"), "{}", page.html);

    // Renew, then revoke.
    let keys = auth.api_keys().list_api_keys(svc.id).await.unwrap();
    let k = &keys[0];
    let page = a
        .submit(&format!("{}/api-keys/{}/renew", account_url(svc.id), k.id), &[])
        .await;
    assert!(page.contains("renewed"), "{}", page.html);
    let renewed = auth.api_keys().api_key(None, k.id).await.unwrap();
    assert!(renewed.expires_at > k.expires_at, "default 15 days > 7");
    a.submit(&format!("{}/api-keys/{}/revoke", account_url(svc.id), k.id), &[])
        .await;
    let me = app
        .call("GET", "/auth/me", None, &[("x-api-key", key.as_str())])
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    // Renewing a revoked key: not found.
    let page = a
        .post(&format!("{}/api-keys/{}/renew", account_url(svc.id), k.id), &[])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
});

each_backend!(async fn rename_an_account(backend) {
    let app = app(backend).await;
    let (mut a, admin_login, _) = admin(&app).await;
    let (_, _, uid) = user(&app).await;
    let auth = app.warden.auth();
    a.open(&account_url(uid)).await;
    let page = a
        .submit(&format!("{}/rename", account_url(uid)), &[("login", "renamed-user")])
        .await;
    assert!(page.contains("The account is now called renamed-user."), "{}", page.html);
    assert_eq!(auth.accounts().account(uid).await.unwrap().login, "renamed-user");
    // Taken: the field says so (as the create form does); bad: likewise; nothing changes.
    let page = a
        .post(&format!("{}/rename", account_url(uid)), &[("login", admin_login.as_str())])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.html);
    assert!(page.contains("is taken"), "{}", page.html);
    let page = a
        .post(&format!("{}/rename", account_url(uid)), &[("login", "a b")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(auth.accounts().account(uid).await.unwrap().login, "renamed-user");
    // Without the form's token nothing happens.
    let page = a
        .post(&format!("{}/rename", account_url(uid)), &[("login", "forged"), ("_csrf", "")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // Audited with the admin as actor.
    let events = auth
        .accounts()
        .audit_events(&warden_core::store::AuditQuery {
            account_id: Some(uid),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let renamed = events.iter().find(|e| e.event == "account.renamed").expect("audited");
    assert_eq!(renamed.detail["to"], serde_json::json!("renamed-user"));
    assert_eq!(renamed.detail["actor"], serde_json::json!(admin_login));
});
