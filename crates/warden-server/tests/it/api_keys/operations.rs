//! API keys as operators use them: credentials, the usage log, admin routes, other nodes, docs, the CLI and application routes.

use super::*;

// ------------------------------------------------------------------ credentials

each_backend!(async fn a_key_cannot_manage_keys_or_sessions(b) {
    let app = app(b).await;
    let (_, token) = app.user("hank").await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    let calls: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/auth/api-keys".into(),
            Some(json!({"name": "minted"})),
        ),
        ("GET", "/auth/api-keys".into(), None),
        ("DELETE", format!("/auth/api-keys/{kid}"), None),
        ("POST", format!("/auth/api-keys/{kid}/renew"), None),
        ("GET", format!("/auth/api-keys/{kid}/usage"), None),
        ("POST", "/auth/logout".into(), None),
        ("POST", "/auth/logout/all".into(), None),
        ("GET", "/auth/sessions".into(), None),
        (
            "POST",
            "/auth/fresh".into(),
            Some(json!({"password": PASSWORD})),
        ),
        (
            "POST",
            "/auth/password".into(),
            Some(json!({"current_password": PASSWORD, "new_password": "another long password"})),
        ),
        (
            "POST",
            "/auth/login/change".into(),
            Some(json!({"new_login": "hank2"})),
        ),
    ];
    for (method, path, body) in calls {
        let r = app.call(method, &path, By::Key(&key), body).await;
        assert_eq!(r.status.as_u16(), 401, "{method} {path}: {}", r.text());
        assert_eq!(
            r.json()["code"],
            json!("unauthenticated"),
            "{method} {path}"
        );
    }
    // Nothing happened.
    let list = app.get("/auth/api-keys", By::Token(&token)).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    app.get("/auth/me", By::Key(&key)).await.assert_status(200);
    app.get("/auth/me", By::Token(&token)).await.assert_status(200);
});

each_backend!(async fn malformed_unknown_and_wrong_keys_are_invalid_api_key(b) {
    let app = app(b).await;
    let (_, token) = app.user("iris").await;
    let (_, key, _) = app.key(&token, json!({"name": "k"})).await;
    let wrong_secret = format!("{}{}", &key[..27], "A".repeat(43));
    let unknown_id = format!("wdn_{}{}", "A".repeat(22), &key[26..]);
    for bad in [
        "nope".to_owned(),
        "wdn_".to_owned(),
        key[..69].to_owned(),
        format!("{key}x"),
        wrong_secret,
        unknown_id,
    ] {
        app.get("/auth/me", By::Key(&bad))
            .await
            .assert_problem(401, "invalid_api_key");
    }
    // An Authorization header is judged on its own, whatever the key says.
    let mut req = Request::get("/auth/me")
        .header("authorization", format!("Bearer {token}"))
        .header("x-api-key", "nope")
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(PEER.parse::<SocketAddr>().unwrap()));
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.get("/auth/me", By::Key(&key)).await.assert_status(200);
});

each_backend!(async fn query_parameter_only_when_enabled(b) {
    let app = app(b).await;
    let (_, token) = app.user("jane").await;
    let (_, key, _) = app.key(&token, json!({"name": "k"})).await;
    app.get(&format!("/auth/me?api_key={key}"), By::Nobody)
        .await
        .assert_problem(401, "unauthenticated");

    let app = app_with(b, |c| c.api_key_query = true).await;
    let (_, token) = app.user("jane").await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    let me = app
        .get(&format!("/auth/me?x=1&api_key={key}"), By::Nobody)
        .await;
    me.assert_status(200);
    assert_eq!(me.json()["login"], json!("jane"));
    app.get("/auth/me?api_key=wdn_bogus", By::Nobody)
        .await
        .assert_problem(401, "invalid_api_key");
    // The usage log records the path only, never the query string (the key).
    let usage = app
        .usage_until(
            &format!("/auth/api-keys/{kid}/usage"),
            By::Token(&token),
            |v| !v.is_empty(),
        )
        .await;
    assert_eq!(usage[0]["path"], json!("/auth/me"));
    assert!(
        !serde_json::to_string(&usage)
            .unwrap()
            .contains(secret_of(&key))
    );
});

// ------------------------------------------------------------------ usage log

each_backend!(async fn usage_log_records_each_use_newest_first(b) {
    let app = app(b).await;
    let (_, token) = app.user_with_scopes("kim", &["admin"]).await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    let uri = format!("/auth/api-keys/{kid}/usage");
    assert_eq!(app.get(&uri, By::Token(&token)).await.json(), json!([]));

    app.get("/auth/me", By::Key(&key)).await.assert_status(200);
    app.usage_until(&uri, By::Token(&token), |v| v.len() == 1)
        .await;
    app.get("/auth/admin/accounts?limit=5", By::Key(&key))
        .await
        .assert_status(200);
    let usage = app
        .usage_until(&uri, By::Token(&token), |v| v.len() == 2)
        .await;
    assert_eq!(usage[0]["method"], json!("GET"));
    assert_eq!(usage[0]["path"], json!("/auth/admin/accounts"));
    assert_eq!(usage[0]["ip"], json!("192.0.2.10"));
    assert_eq!(usage[1]["path"], json!("/auth/me"));
    assert!(ts(&usage[0]["at"]) >= ts(&usage[1]["at"]));
    let one = app
        .get(&format!("{uri}?limit=1"), By::Token(&token))
        .await
        .json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    app.get(&format!("{uri}?limit=0"), By::Token(&token))
        .await
        .assert_problem(422, "validation_failed");

    // A failed use (bad secret) is not a use of the key.
    let wrong = format!("{}{}", &key[..27], "A".repeat(43));
    app.get("/auth/me", By::Key(&wrong)).await.assert_status(401);
    // The admin sees the same log.
    let admin = app
        .usage_until(
            &format!("/auth/admin/api-keys/{kid}/usage"),
            By::Admin,
            |v| v.len() == 2,
        )
        .await;
    assert_eq!(admin, usage);
});

each_backend!(async fn usage_is_capped_per_key(b) {
    let app = app_with(b, |c| c.api_key_usage_keep = 3).await;
    let (_, token) = app.user_with_scopes("lena", &["admin"]).await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    let (kid2, key2, _) = app.key(&token, json!({"name": "other"})).await;
    app.get("/auth/me", By::Key(&key2)).await.assert_status(200);
    for _ in 0..6 {
        app.get("/auth/me", By::Key(&key)).await.assert_status(200);
    }
    app.get("/auth/admin/audit?limit=1", By::Key(&key))
        .await
        .assert_status(200);
    let usage = app
        .usage_until(
            &format!("/auth/api-keys/{kid}/usage?limit=1000"),
            By::Token(&token),
            |v| {
                v.first()
                    .is_some_and(|u| u["path"] == json!("/auth/admin/audit"))
            },
        )
        .await;
    assert_eq!(usage.len(), 3, "{usage:?}");
    assert_eq!(usage[1]["path"], json!("/auth/me"));
    let other = app
        .usage_until(
            &format!("/auth/api-keys/{kid2}/usage"),
            By::Token(&token),
            |v| !v.is_empty(),
        )
        .await;
    assert_eq!(other.len(), 1, "each key has its own log");
});

#[tokio::test]
async fn usage_keep_zero_records_nothing() {
    let app = app_with(Backend::Sqlite, |c| c.api_key_usage_keep = 0).await;
    let (_, token) = app.user("mona").await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    app.get("/auth/me", By::Key(&key)).await.assert_status(200);
    assert!(
        app.warden
            .auth()
            .api_keys()
            .flush_api_key_usage(StdDuration::from_secs(10))
            .await
    );
    let r = app
        .get(&format!("/auth/api-keys/{kid}/usage"), By::Token(&token))
        .await;
    assert_eq!(r.json(), json!([]));
}

// ------------------------------------------------------------------ admin

each_backend!(async fn admin_routes_list_revoke_and_read_usage_of_any_key(b) {
    let app = app(b).await;
    let (alice_id, alice) = app.user("alice").await;
    let (bob_id, bob) = app.user("bob").await;
    let (a_kid, a_key, _) = app.key(&alice, json!({"name": "a"})).await;
    let (b_kid, _, _) = app.key(&bob, json!({"name": "b"})).await;

    let all = app.get("/auth/admin/api-keys", By::Admin).await;
    all.assert_status(200);
    let ids: Vec<String> = all
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![b_kid.clone(), a_kid.clone()], "newest first");
    assert!(!all.text().contains(secret_of(&a_key)));

    let only = app
        .get(
            &format!("/auth/admin/api-keys?account_id={alice_id}"),
            By::Admin,
        )
        .await
        .json();
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["account_id"], json!(alice_id));
    app.get("/auth/admin/api-keys?account_id=nope", By::Admin)
        .await
        .assert_problem(422, "validation_failed");
    app.get("/auth/admin/api-keys?limit=5000", By::Admin)
        .await
        .assert_problem(422, "validation_failed");

    // Not for ordinary accounts, by token or by key.
    app.get("/auth/admin/api-keys", By::Token(&bob))
        .await
        .assert_problem(403, "forbidden");
    app.get("/auth/admin/api-keys", By::Key(&a_key))
        .await
        .assert_problem(403, "forbidden");
    app.get("/auth/admin/api-keys", By::Nobody)
        .await
        .assert_problem(401, "unauthenticated");

    app.get("/auth/me", By::Key(&a_key)).await.assert_status(200);
    let usage = app
        .usage_until(
            &format!("/auth/admin/api-keys/{a_kid}/usage"),
            By::Admin,
            |v| v.iter().any(|r| r["path"] == json!("/auth/me")),
        )
        .await;
    // Newest first: the /auth/me use came last.
    assert_eq!(usage[0]["path"], json!("/auth/me"));

    app.revoke_as_admin(&a_kid).await
    .assert_status(204);
    app.get("/auth/me", By::Key(&a_key))
        .await
        .assert_problem(401, "invalid_api_key");
    app.revoke_as_admin(&a_kid).await
    .assert_problem(404, "not_found");
    app.get(
        &format!("/auth/admin/api-keys/{}/usage", uuid::Uuid::now_v7()),
        By::Admin,
    )
    .await
    .assert_problem(404, "not_found");
    let listed = app
        .get(
            &format!("/auth/admin/api-keys?account_id={alice_id}"),
            By::Admin,
        )
        .await
        .json();
    assert!(
        listed[0]["revoked_at"].is_string(),
        "admins see revoked keys"
    );
    let audit = app.audit(&alice_id).await;
    let revoked = audit
        .iter()
        .find(|e| e["event"] == json!("api_key.revoked"))
        .unwrap();
    assert_eq!(revoked["detail"]["by"], json!("admin"));
    let _ = bob_id;
});

each_backend!(async fn audit_events_never_hold_the_key(b) {
    let app = app(b).await;
    let (id, token) = app.user("nina").await;
    let (kid, key, _) = app.key(&token, json!({"name": "k"})).await;
    app.call(
        "POST",
        &format!("/auth/api-keys/{kid}/renew"),
        By::Token(&token),
        None,
    )
    .await
    .assert_status(200);
    app.revoke(&kid, By::Token(&token)).await
    .assert_status(204);
    for _ in 0..3 {
        app.get("/auth/me", By::Key(&key))
            .await
            .assert_problem(401, "invalid_api_key");
    }
    let audit = app.audit(&id).await;
    let names: Vec<&str> = audit.iter().map(|e| e["event"].as_str().unwrap()).collect();
    for want in [
        "api_key.created",
        "api_key.renewed",
        "api_key.revoked",
        "api_key.rejected",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let rejected: Vec<&Value> = audit
        .iter()
        .filter(|e| e["event"] == json!("api_key.rejected"))
        .collect();
    assert_eq!(
        rejected.len(),
        1,
        "repeated rejections are audited once a minute"
    );
    assert_eq!(rejected[0]["detail"]["reason"], json!("revoked"));
    assert_eq!(rejected[0]["ip"], json!("192.0.2.10"));
    let text = serde_json::to_string(&audit).unwrap();
    assert!(!text.contains(secret_of(&key)) && !text.contains(&key));
});

// ------------------------------------------------------------------ cluster

each_backend!(async fn a_revoke_reaches_other_nodes_through_the_feed(b) {
    let cfg = config();
    let shared = store(b).await;
    let node_a = app_on(&cfg, shared.clone()).await;
    let node_b = app_on(&cfg, shared).await;
    let (_, token) = node_a.user("olga").await;
    let (kid, key, _) = node_a.key(&token, json!({"name": "k"})).await;
    node_a.get("/auth/me", By::Key(&key)).await.assert_status(200);
    node_b.get("/auth/me", By::Key(&key)).await.assert_status(200);

    node_b.revoke(&kid, By::Token(&token)).await
        .assert_status(204);
    node_b
        .get("/auth/me", By::Key(&key))
        .await
        .assert_problem(401, "invalid_api_key");
    // Node A still has the verified record cached (for at most 30 s) ...
    node_a.get("/auth/me", By::Key(&key)).await.assert_status(200);
    // ... until its next feed sync drops it.
    node_a.warden.auth().upkeep().sync().await.unwrap();
    node_a
        .get("/auth/me", By::Key(&key))
        .await
        .assert_problem(401, "invalid_api_key");
});

// ------------------------------------------------------------------ docs

#[tokio::test]
async fn docs_list_api_key_routes_unless_hidden() {
    let app = app(Backend::Sqlite).await;
    let doc = app.get("/openapi.json", By::Nobody).await;
    doc.assert_status(200);
    for p in [
        "\"/auth/api-keys\"",
        "\"/auth/api-keys/{id}\"",
        "\"/auth/api-keys/{id}/renew\"",
        "\"/auth/api-keys/{id}/usage\"",
        "\"/auth/admin/api-keys\"",
        "\"/auth/admin/api-keys/{id}\"",
        "\"/auth/admin/api-keys/{id}/usage\"",
        "\"/auth/admin/accounts\"",
        "X-API-Key",
    ] {
        assert!(doc.text().contains(p), "{p} missing from the docs");
    }
    assert!(app.get("/docs/", By::Nobody).await.status.is_success());

    let hidden = app_with(Backend::Sqlite, |c| c.hide_docs = true).await;
    let doc = hidden.get("/openapi.json", By::Nobody).await;
    doc.assert_status(200);
    assert!(doc.text().contains("\"/auth/me\""), "other routes stay");
    for p in [
        "/auth/api-keys",
        "/auth/admin",
        "ApiKey",
        "api-keys",
        "X-API-Key",
    ] {
        assert!(!doc.text().contains(p), "{p} should be hidden");
    }
    assert!(hidden.get("/docs/", By::Nobody).await.status.is_success());
    // Hidden from the docs, still served.
    let (_, token) = hidden.user("pia").await;
    hidden
        .get("/auth/api-keys", By::Token(&token))
        .await
        .assert_status(200);

    let off = app_with(Backend::Sqlite, |c| c.docs = false).await;
    off.get("/openapi.json", By::Nobody)
        .await
        .assert_status(404);
    off.get("/docs", By::Nobody).await.assert_status(404);
    off.get("/docs/", By::Nobody).await.assert_status(404);
}

// ------------------------------------------------------------------ CLI

#[test]
fn cli_creates_lists_renews_and_revokes_keys() {
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("warden-api-keys-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("w.db").display());
    let run = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
        for (k, _) in std::env::vars() {
            if k.starts_with("WARDEN_") {
                c.env_remove(k);
            }
        }
        let out = c
            .env("WARDEN_DATABASE_URL", &url)
            .env("WARDEN_ARGON2_MEMORY_KIB", "64")
            .env("WARDEN_ARGON2_ITERATIONS", "1")
            .env("WARDEN_LOG_LEVEL", "error")
            .stdin(Stdio::null())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, _, err) = run(&[
        "account",
        "create",
        "quinn",
        "--password",
        PASSWORD,
        "--scope",
        "reports",
    ]);
    assert!(ok, "{err}");

    let (ok, _, err) = run(&[
        "api-key", "create", "quinn", "--name", "ci", "--scope", "admin",
    ]);
    assert!(!ok, "a scope the account lacks is refused");
    assert!(err.contains("scopes"), "{err}");

    let (ok, out, err) = run(&[
        "api-key",
        "create",
        "quinn",
        "--name",
        "ci",
        "--expires-in-days",
        "3",
    ]);
    assert!(ok, "{err}");
    let key = out.trim();
    assert!(
        key.starts_with("wdn_") && key.len() == 70,
        "stdout is the key: {out}"
    );
    assert!(err.contains("shown once"), "{err}");

    let (ok, out, err) = run(&["api-key", "list", "--account", "quinn"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("name=\"ci\"") && out.contains("scopes=[reports]"),
        "{out}"
    );
    assert!(!out.contains(&key[27..]), "no secret in the list");
    let id = out.split_whitespace().next().unwrap().to_owned();

    let (ok, out, err) = run(&["api-key", "renew", &id, "--expires-in-days", "9"]);
    assert!(ok, "{err}");
    assert!(out.contains(&id) && out.contains("expires"), "{out}");

    let (ok, out, err) = run(&["api-key", "revoke", &id]);
    assert!(ok, "{err}");
    assert!(out.contains("revoked"), "{out}");
    let (ok, _, _) = run(&["api-key", "revoke", &id]);
    assert!(!ok, "already revoked");
    let (ok, out, _) = run(&["api-key", "list"]);
    assert!(ok);
    assert!(out.contains("revoked"), "{out}");
    let (ok, _, _) = run(&["api-key", "revoke", "not-an-id"]);
    assert!(!ok);
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------------ application routes

#[tokio::test]
async fn application_routes_take_keys_and_count_one_use_per_request() {
    use warden_axum::{AdminCaller, CurrentAccount, Principal};
    let base = app(Backend::Memory).await;
    let (id, token) = base.user_with_scopes("rita", &["admin"]).await;
    let (kid, key, _) = base.key(&token, json!({"name": "app"})).await;
    async fn both(CurrentAccount(a): CurrentAccount, _: AdminCaller, p: Principal) -> String {
        let via = match p {
            Principal::ApiKey(_) => "key",
            Principal::Token(_) => "token",
            _ => "other",
        };
        format!("{} {via}", a.login)
    }
    let router: Router = Router::new()
        .route("/app/both", axum::routing::get(both))
        .nest("/auth", base.warden.router())
        .with_state(base.warden.clone());
    let app = App(warden_testkit::app::App {
        router,
        ..base.0.clone()
    });
    let r = app.get("/app/both", By::Key(&key)).await;
    r.assert_status(200);
    assert_eq!(r.text(), "rita key");
    let r = app.get("/app/both", By::Token(&token)).await;
    r.assert_status(200);
    assert_eq!(r.text(), "rita token");
    let usage = app
        .usage_until(
            &format!("/auth/api-keys/{kid}/usage"),
            By::Token(&token),
            |v| !v.is_empty(),
        )
        .await;
    assert!(
        base.warden
            .auth()
            .api_keys()
            .flush_api_key_usage(StdDuration::from_secs(10))
            .await
    );
    let usage_later = app
        .get(&format!("/auth/api-keys/{kid}/usage"), By::Token(&token))
        .await
        .json();
    assert_eq!(usage.len(), 1, "{usage:?}");
    assert_eq!(usage_later.as_array().unwrap().len(), 1, "{usage_later}");
    assert_eq!(usage[0]["path"], json!("/app/both"));
    let _ = id;
}
