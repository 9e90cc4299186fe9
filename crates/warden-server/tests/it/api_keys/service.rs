//! Service accounts and admin-issued API keys (issue 17, fastapi_auth2), and
//! the admin rename (AuthX), through the router on every backend.

use super::*;

impl App {
    /// `POST /auth/admin/api-keys` as the admin secret.
    async fn admin_key(&self, body: Value) -> Resp {
        self.call("POST", "/auth/admin/api-keys", By::Admin, Some(body))
            .await
    }
}

each_backend!(async fn service_account_is_created_and_never_signs_in(b) {
    let app = app(b).await;
    let r = app
        .call(
            "POST",
            "/auth/admin/service-accounts",
            By::Admin,
            Some(json!({"name": "billing-bot", "scopes": ["invoices:read"], "properties": {"team": "billing"}})),
        )
        .await;
    r.assert_status(201);
    let v = r.json();
    assert_eq!(v["kind"], json!("service"));
    assert_eq!(v["login"], json!("billing-bot"));
    assert_eq!(v["scopes"], json!(["invoices:read"]));
    assert_eq!(v["properties"], json!({"team": "billing"}));
    let id = v["id"].as_str().unwrap().to_owned();

    // Same name again (any case): login_taken; a person's login too.
    app.call(
        "POST",
        "/auth/admin/service-accounts",
        By::Admin,
        Some(json!({"name": "Billing-Bot"})),
    )
    .await
    .assert_problem(409, "login_taken");
    app.user("alice").await;
    app.call(
        "POST",
        "/auth/admin/service-accounts",
        By::Admin,
        Some(json!({"name": "alice"})),
    )
    .await
    .assert_problem(409, "login_taken");

    // Signing in with it answers exactly as a wrong password does.
    let service = app
        .call(
            "POST",
            "/auth/login",
            By::Nobody,
            Some(json!({"login": "billing-bot", "password": PASSWORD})),
        )
        .await;
    let wrong = app
        .call(
            "POST",
            "/auth/login",
            By::Nobody,
            Some(json!({"login": "alice", "password": "not the password at all"})),
        )
        .await;
    service.assert_problem(401, "invalid_credentials");
    assert_eq!(service.text(), wrong.text());

    // Audited with the actor.
    let audit = app.audit(&id).await;
    let created = audit
        .iter()
        .find(|e| e["event"] == json!("service_account.created"))
        .expect("service_account.created");
    assert_eq!(created["detail"]["actor"], json!("admin_secret"));

    // People are persons.
    let page = app.get("/auth/admin/accounts?q=alice", By::Admin).await;
    assert_eq!(page.json()["items"][0]["kind"], json!("person"));
});

each_backend!(async fn key_without_account_brings_its_service_account(b) {
    let app = app(b).await;
    let r = app
        .admin_key(json!({"name": "nightly-report", "scopes": ["reports:read"]}))
        .await;
    r.assert_status(201);
    let v = r.json();
    let key = v["key"].as_str().unwrap().to_owned();
    let account = v["account_id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("wdn_"));
    assert_eq!(v["name"], json!("nightly-report"));
    assert_eq!(v["scopes"], json!(["reports:read"]));
    assert_eq!(
        ts(&v["expires_at"]) - ts(&v["created_at"]),
        time::Duration::days(15),
        "WARDEN_API_KEY_TTL_DAYS"
    );

    // The service account exists and the key signs in as it.
    let acct = app
        .get(&format!("/auth/admin/accounts/{account}"), By::Admin)
        .await;
    acct.assert_status(200);
    assert_eq!(acct.json()["kind"], json!("service"));
    assert_eq!(acct.json()["login"], json!("nightly-report"));
    assert_eq!(acct.json()["scopes"], json!(["reports:read"]));
    let me = app.get("/auth/me", By::Key(&key)).await;
    me.assert_status(200);
    assert_eq!(me.json()["kind"], json!("service"));
    assert_eq!(me.json()["id"], json!(account));

    // The name is now a taken login: nothing half-written on the second try.
    app.admin_key(json!({"name": "NIGHTLY-report"}))
        .await
        .assert_problem(409, "login_taken");
    let keys = app
        .get("/auth/admin/api-keys?limit=1000", By::Admin)
        .await
        .json();
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");

    // Listed, renewed, used, revoked through the admin routes.
    let kid = v["id"].as_str().unwrap().to_owned();
    let list = app
        .get(&format!("/auth/admin/api-keys?account_id={account}"), By::Admin)
        .await;
    list.assert_status(200);
    assert_eq!(list.json()[0]["id"], json!(kid));
    assert!(!list.text().contains(secret_of(&key)));
    let names = app.audit(&account).await;
    let issued = names
        .iter()
        .find(|e| e["event"] == json!("api_key.created"))
        .expect("api_key.created");
    assert_eq!(issued["detail"]["actor"], json!("admin_secret"));
    assert!(
        names
            .iter()
            .any(|e| e["event"] == json!("service_account.created"))
    );
});

each_backend!(async fn key_for_an_account_renew_usage_revoke(b) {
    let clock = ManualClock::at_unix(1_800_000_000);
    let app = app_with_clock(b, clock.clone()).await;
    let svc = app
        .call(
            "POST",
            "/auth/admin/service-accounts",
            By::Admin,
            Some(json!({"name": "deployer", "scopes": ["deploy"]})),
        )
        .await
        .json();
    let account = svc["id"].as_str().unwrap().to_owned();

    // The admin's scopes for a service account: its scopes are widened.
    let r = app
        .admin_key(json!({"name": "ci", "account_id": account, "scopes": ["deploy", "logs:read"], "expires_in_days": 2}))
        .await;
    r.assert_status(201);
    let v = r.json();
    assert_eq!(v["account_id"], json!(account));
    assert_eq!(v["scopes"], json!(["deploy", "logs:read"]));
    let kid = v["id"].as_str().unwrap().to_owned();
    let key = v["key"].as_str().unwrap().to_owned();
    let acct = app
        .get(&format!("/auth/admin/accounts/{account}"), By::Admin)
        .await
        .json();
    assert_eq!(acct["scopes"], json!(["deploy", "logs:read"]));
    let me = app.get("/auth/me", By::Key(&key)).await;
    me.assert_status(200);
    assert_eq!(me.json()["kind"], json!("service"));

    // Renew moves expires_at (counted from now); an empty body takes the default.
    let before = ts(&v["expires_at"]);
    clock.advance(time::Duration::days(1));
    let renewed = app
        .call(
            "POST",
            &format!("/auth/admin/api-keys/{kid}/renew"),
            By::Admin,
            Some(json!({"expires_in_days": 30})),
        )
        .await;
    renewed.assert_status(200);
    let after = ts(&renewed.json()["expires_at"]);
    assert_eq!(after - before, time::Duration::days(29));
    let default = app
        .call("POST", &format!("/auth/admin/api-keys/{kid}/renew"), By::Admin, None)
        .await;
    default.assert_status(200);
    assert_eq!(
        ts(&default.json()["expires_at"]) - ts(&renewed.json()["expires_at"]),
        time::Duration::days(15 - 30)
    );
    app.call(
        "POST",
        &format!("/auth/admin/api-keys/{kid}/renew"),
        By::Admin,
        Some(json!({"expires_in_days": "soon"})),
    )
    .await
    .assert_problem(422, "validation_failed");
    assert!(
        app.audit(&account)
            .await
            .iter()
            .any(|e| e["event"] == json!("api_key.renewed")
                && e["detail"]["actor"] == json!("admin_secret"))
    );

    // Usage of the key, newest first.
    app.get("/auth/me", By::Key(&key)).await.assert_status(200);
    assert!(
        app.warden
            .auth()
            .api_keys()
            .flush_api_key_usage(StdDuration::from_secs(10))
            .await
    );
    let usage = app
        .get(&format!("/auth/admin/api-keys/{kid}/usage"), By::Admin)
        .await;
    usage.assert_status(200);
    let usage = usage.json();
    assert_eq!(usage.as_array().unwrap().len(), 2, "{usage}");
    assert_eq!(usage[0]["path"], json!("/auth/me"));
    assert_eq!(usage[0]["method"], json!("GET"));

    // Revoked: 401 from the next request on.
    app.revoke_as_admin(&kid).await
        .assert_status(204);
    app.get("/auth/me", By::Key(&key))
        .await
        .assert_problem(401, "invalid_api_key");
    app.call("POST", &format!("/auth/admin/api-keys/{kid}/renew"), By::Admin, None)
        .await
        .assert_problem(404, "not_found");
});

each_backend!(async fn key_for_a_person_keeps_to_their_scopes(b) {
    let app = app(b).await;
    let (id, _) = app.user_with_scopes("erin", &["read"]).await;
    let r = app
        .admin_key(json!({"name": "erin-script", "account_id": id, "scopes": ["read"]}))
        .await;
    r.assert_status(201);
    let key = r.json()["key"].as_str().unwrap().to_owned();
    let me = app.get("/auth/me", By::Key(&key)).await.json();
    assert_eq!(me["kind"], json!("person"));
    // Issuing a key never grants a person a scope.
    let fields = app
        .admin_key(json!({"name": "more", "account_id": id, "scopes": ["admin"]}))
        .await
        .error_fields();
    assert_eq!(fields, ["scopes"]);
    let acct = app
        .get(&format!("/auth/admin/accounts/{id}"), By::Admin)
        .await
        .json();
    assert_eq!(acct["scopes"], json!(["read"]));
});

each_backend!(async fn admin_key_routes_refuse_bad_input_and_non_admins(b) {
    let app = app(b).await;
    // Bad input: 422 on the field, never a 500.
    assert_eq!(app.admin_key(json!({"name": "a b"})).await.error_fields(), ["name"]);
    assert_eq!(app.admin_key(json!({"name": ""})).await.error_fields(), ["name"]);
    assert_eq!(
        app.admin_key(json!({"name": "ok-name", "account_id": "nope"}))
            .await
            .error_fields(),
        ["account_id"]
    );
    assert_eq!(
        app.admin_key(json!({"name": "ok-name", "scopes": ["bad scope"]}))
            .await
            .error_fields(),
        ["scopes"]
    );
    assert_eq!(
        app.admin_key(json!({"name": "ok-name", "expires_in_days": 99999}))
            .await
            .error_fields(),
        ["expires_in_days"]
    );
    app.admin_key(json!({"name": 5})).await.assert_status(422);
    app.admin_key(json!({"name": "x", "surprise": true}))
        .await
        .assert_status(422);
    app.call("POST", "/auth/admin/api-keys", By::Admin, None)
        .await
        .assert_problem(400, "bad_request");
    app.admin_key(json!({"name": "ghost", "account_id": uuid::Uuid::now_v7().to_string()}))
        .await
        .assert_problem(404, "not_found");
    for body in [json!({"name": "x"}), json!({"name": "ok-name", "scopes": ["a\"b"]}), json!({"name": "ok-name", "properties": [1]})] {
        app.call("POST", "/auth/admin/service-accounts", By::Admin, Some(body))
            .await
            .assert_status(422);
    }
    app.call(
        "POST",
        &format!("/auth/admin/api-keys/{}/renew", uuid::Uuid::now_v7()),
        By::Admin,
        None,
    )
    .await
    .assert_problem(404, "not_found");
    // Nothing was created by the refused calls.
    assert_eq!(app.get("/auth/admin/api-keys", By::Admin).await.json(), json!([]));

    // Non-admins: 401 without credentials, 403 for a person without `admin`.
    let (_, token) = app.user("mallory").await;
    for (method, path) in [
        ("POST", "/auth/admin/api-keys".to_owned()),
        ("POST", "/auth/admin/service-accounts".to_owned()),
        ("POST", format!("/auth/admin/api-keys/{}/renew", uuid::Uuid::now_v7())),
    ] {
        let body = Some(json!({"name": "sneaky"}));
        app.call(method, &path, By::Nobody, body.clone())
            .await
            .assert_problem(401, "unauthenticated");
        app.call(method, &path, By::Token(&token), body.clone())
            .await
            .assert_problem(403, "forbidden");
        let wrong = app
            .router
            .clone()
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(&path)
                    .header("x-admin-secret", "wrong")
                    .header("content-type", "application/json")
                    .body(Body::from(json!({"name": "sneaky"}).to_string()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    }
    // A service account's key without `admin` cannot issue keys either.
    let v = app.admin_key(json!({"name": "plain-bot"})).await.json();
    let key = v["key"].as_str().unwrap();
    app.call("POST", "/auth/admin/api-keys", By::Key(key), Some(json!({"name": "x-bot"})))
        .await
        .assert_problem(403, "forbidden");
});

each_backend!(async fn admin_renames_an_account(b) {
    let app = app(b).await;
    let (id, _) = app.user("frank").await;
    app.user("grace").await;
    let r = app
        .call(
            "PATCH",
            &format!("/auth/admin/accounts/{id}"),
            By::Admin,
            Some(json!({"login": "frank.new"})),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.json()["login"], json!("frank.new"));
    // The new login signs in, the old one no longer does.
    app.login("frank.new").await;
    app.call(
        "POST",
        "/auth/login",
        By::Nobody,
        Some(json!({"login": "frank", "password": PASSWORD})),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    // Taken (any case): 409; bad: 422 on `login`; a change of case alone is fine.
    app.call(
        "PATCH",
        &format!("/auth/admin/accounts/{id}"),
        By::Admin,
        Some(json!({"login": "GRACE"})),
    )
    .await
    .assert_problem(409, "login_taken");
    let fields = app
        .call(
            "PATCH",
            &format!("/auth/admin/accounts/{id}"),
            By::Admin,
            Some(json!({"login": "no spaces"})),
        )
        .await
        .error_fields();
    assert_eq!(fields, ["login"]);
    app.call(
        "PATCH",
        &format!("/auth/admin/accounts/{id}"),
        By::Admin,
        Some(json!({"login": "Frank.New"})),
    )
    .await
    .assert_status(200);
    let audit = app.audit(&id).await;
    let renamed: Vec<_> = audit
        .iter()
        .filter(|e| e["event"] == json!("account.renamed"))
        .collect();
    assert_eq!(renamed.len(), 2, "{audit:?}");
    let first = renamed.last().unwrap();
    assert_eq!(first["detail"]["from"], json!("frank"));
    assert_eq!(first["detail"]["to"], json!("frank.new"));
    assert_eq!(first["detail"]["actor"], json!("admin_secret"));
    // Non-admins cannot rename.
    let (_, token) = app.user("henry").await;
    app.call(
        "PATCH",
        &format!("/auth/admin/accounts/{id}"),
        By::Token(&token),
        Some(json!({"login": "stolen"})),
    )
    .await
    .assert_problem(403, "forbidden");
});

#[tokio::test]
async fn docs_list_the_service_account_routes_and_kind() {
    let app = app(Backend::Sqlite).await;
    let doc = app.get("/openapi.json", By::Nobody).await;
    doc.assert_status(200);
    let v = doc.json();
    for (path, method) in [
        ("/auth/admin/service-accounts", "post"),
        ("/auth/admin/api-keys", "post"),
        ("/auth/admin/api-keys", "get"),
        ("/auth/admin/api-keys/{id}/renew", "post"),
        ("/auth/admin/accounts/{id}", "patch"),
    ] {
        assert!(
            v["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    let schemas = &v["components"]["schemas"];
    assert_eq!(
        schemas["AccountBody"]["properties"]["kind"]["$ref"],
        json!("#/components/schemas/AccountKindBody")
    );
    assert_eq!(
        schemas["AccountKindBody"]["enum"],
        json!(["person", "service"])
    );
    assert!(schemas["AdminPatchBody"]["properties"]["login"].is_object());
    assert!(schemas["AdminApiKeyCreatedBody"]["properties"]["account_id"].is_object());
}
