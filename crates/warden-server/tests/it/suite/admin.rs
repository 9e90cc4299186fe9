use crate::common::*;
use serde_json::{Value, json};
use std::collections::HashSet;

async fn create(app: &App, login: &str, extra: Value) -> Value {
    let mut body = json!({"login": login, "password": PASSWORD});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            body[k] = v;
        }
    }
    let r = app.admin("POST", "/auth/admin/accounts", Some(body)).await;
    r.assert_status(201);
    r.json()
}

each_backend!(
    async fn admin_routes_refuse_callers_without_the_right_credentials(b) {
        let app = app(b).await;
        app.get("/auth/admin/accounts", None).await.assert_problem(401, "unauthenticated");
        app.call("GET", "/auth/admin/accounts", None, &[("x-admin-secret", "wrong")]).await.assert_problem(403, "forbidden");
        app.call("GET", "/auth/admin/accounts", None, &[("x-admin-secret", "")]).await.assert_problem(403, "forbidden");
        let q = format!("/auth/admin/accounts?admin_secret={ADMIN_SECRET}");
        app.get(&q, None).await.assert_problem(401, "unauthenticated");
        let u = app.user().await;
        app.get("/auth/admin/accounts", Some(&u.pair.access)).await.assert_problem(403, "forbidden");
        app.get(&format!("/auth/admin/accounts/{}", u.id), Some(&u.pair.access)).await.assert_problem(403, "forbidden");
        app.admin("GET", "/auth/admin/accounts", None).await.assert_status(200);
    }
);

each_backend!(
    async fn admin_scope_token_can_use_admin_routes(b) {
        let app = app(b).await;
        let login = unique("boss");
        let a = create(&app, &login, json!({"scopes": ["admin", "reports"], "email": format!("{login}@example.com")})).await;
        assert_eq!(a["scopes"], json!(["admin", "reports"]));
        let p = app.login_pair(&login, PASSWORD).await;
        let scope = p.claims()["scope"].as_str().unwrap().to_owned();
        assert!(scope.split(' ').any(|s| s == "admin"), "{scope}");
        let r = app.get("/auth/admin/accounts", Some(&p.access)).await;
        r.assert_status(200);
        assert!(r.json()["items"].as_array().unwrap().iter().any(|i| i["login"] == json!(login)));
        // Removing the scope stops the still-valid token.
        let r = app.admin("PATCH", &format!("/auth/admin/accounts/{}", a["id"].as_str().unwrap()), Some(json!({"scopes": []}))).await;
        r.assert_status(200);
        app.get("/auth/admin/accounts", Some(&p.access)).await.assert_problem(403, "forbidden");
    }
);

each_backend!(
    async fn admin_list_pages_through_every_account_once(b) {
        let app = app(b).await;
        let mut made = HashSet::new();
        for _ in 0..7 {
            let a = create(&app, &unique("page"), json!({})).await;
            made.insert(a["id"].as_str().unwrap().to_owned());
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/auth/admin/accounts?limit=3&cursor={c}"),
                None => "/auth/admin/accounts?limit=3".to_owned(),
            };
            let r = app.admin("GET", &path, None).await;
            r.assert_status(200);
            let v = r.json();
            let items = v["items"].as_array().unwrap();
            assert!(items.len() <= 3);
            seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
            pages += 1;
            assert!(pages < 10, "pagination does not end");
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let unique_seen: HashSet<_> = seen.iter().cloned().collect();
        assert_eq!(unique_seen.len(), seen.len(), "an account was listed twice");
        assert_eq!(unique_seen, made);
        assert_eq!(pages, 3);
        app.admin("GET", "/auth/admin/accounts?limit=0", None).await.assert_problem(422, "validation_failed");
        app.admin("GET", "/auth/admin/accounts?limit=201", None).await.assert_problem(422, "validation_failed");
        app.admin("GET", "/auth/admin/accounts?cursor=garbage", None).await.assert_problem(422, "validation_failed");
    }
);

each_backend!(
    async fn admin_list_searches_login_and_email(b) {
        let app = app(b).await;
        let tag = unique("zebra").to_lowercase();
        let by_login = create(&app, &format!("{tag}_login"), json!({})).await;
        let by_mail = create(&app, &unique("plain"), json!({"email": format!("{tag}@example.com")})).await;
        create(&app, &unique("other"), json!({"email": "nobody@example.com"})).await;
        let r = app.admin("GET", &format!("/auth/admin/accounts?q={}", tag.to_uppercase()), None).await;
        let ids: HashSet<String> = r.json()["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect();
        let want: HashSet<String> = [&by_login, &by_mail].iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids, want);
    }
);

each_backend!(
    async fn admin_get_patch_and_delete_an_account(b) {
        let app = app(b).await;
        let u = app.user().await;
        let path = format!("/auth/admin/accounts/{}", u.id);
        let r = app.admin("GET", &path, None).await;
        r.assert_status(200);
        assert_eq!(r.json()["login"], json!(u.login));
        // Scopes, properties and email.
        let r = app
            .admin("PATCH", &path, Some(json!({"scopes": ["b", "a"], "properties": {"tier": 2}, "email": "x@example.com"})))
            .await;
        r.assert_status(200);
        let a = r.json();
        assert_eq!(a["scopes"], json!(["a", "b"]));
        assert_eq!(a["properties"], json!({"tier": 2}));
        assert_eq!(a["email"], json!("x@example.com"));
        // Absent fields are left alone; email null clears.
        let a = app.admin("PATCH", &path, Some(json!({"email": null}))).await.json();
        assert_eq!(a["email"], Value::Null);
        assert_eq!(a["scopes"], json!(["a", "b"]));
        assert_eq!(a["properties"], json!({"tier": 2}));
        let got = app.admin("GET", &path, None).await.json();
        assert_eq!(got["email"], Value::Null);
        app.admin("PATCH", &path, Some(json!({"properties": [1]}))).await.assert_problem(422, "validation_failed");
        // active=false revokes the sessions.
        let a = app.admin("PATCH", &path, Some(json!({"active": false}))).await.json();
        assert_eq!(a["active"], json!(false));
        app.get("/auth/me", Some(&u.pair.access)).await.assert_problem(401, "invalid_token");
        app.refresh(&u.pair.refresh).await.assert_status(401);
        app.login(&u.login, PASSWORD).await.assert_problem(403, "account_inactive");
        app.admin("PATCH", &path, Some(json!({"active": true}))).await.assert_status(200);
        let p = app.login_pair(&u.login, PASSWORD).await;
        // Delete: then 404, and its tokens refused.
        app.admin("DELETE", &path, None).await.assert_status(204);
        app.admin("GET", &path, None).await.assert_problem(404, "not_found");
        app.admin("DELETE", &path, None).await.assert_problem(404, "not_found");
        app.get("/auth/me", Some(&p.access)).await.assert_problem(401, "invalid_token");
        app.refresh(&p.refresh).await.assert_problem(401, "invalid_refresh_token");
        app.login(&u.login, PASSWORD).await.assert_problem(401, "invalid_credentials");
        // The login is free again.
        app.register(&u.login, PASSWORD).await.assert_status(201);
    }
);

each_backend!(
    async fn admin_block_revokes_at_once_and_hides_the_reason(b) {
        let app = app(b).await;
        let u = app.user().await;
        let reason = "suspicious-activity-ticket-4711";
        let base = format!("/auth/admin/accounts/{}", u.id);
        app.admin("POST", &format!("{base}/block"), Some(json!({"reason": reason}))).await.assert_status(204);
        app.get("/auth/me", Some(&u.pair.access)).await.assert_problem(401, "invalid_token");
        app.refresh(&u.pair.refresh).await.assert_status(401);
        let r = app.login(&u.login, PASSWORD).await;
        let v = r.assert_problem(403, "account_blocked");
        assert!(!r.text().contains(reason) && !v["detail"].as_str().unwrap().contains("ticket"), "{v}");
        let st = app.admin("GET", &format!("{base}/block"), None).await;
        st.assert_status(200);
        assert_eq!(st.json(), json!({"blocked": true, "reason": reason}));
        assert_eq!(app.admin("GET", &base, None).await.json()["blocked"], json!(true));
        app.admin("POST", &format!("{base}/unblock"), None).await.assert_status(204);
        assert_eq!(app.admin("GET", &format!("{base}/block"), None).await.json(), json!({"blocked": false, "reason": null}));
        let p = app.login_pair(&u.login, PASSWORD).await;
        assert_eq!(app.me_status(&p.access).await.0, 200);
    }
);

each_backend!(
    async fn admin_mfa_and_sessions_routes(b) {
        let app = app(b).await;
        let u = app.user().await;
        let s2 = app.login_pair(&u.login, PASSWORD).await;
        let bystander = app.user().await;
        let base = format!("/auth/admin/accounts/{}", u.id);
        app.admin("DELETE", &format!("{base}/mfa"), None).await.assert_status(204);
        assert_eq!(app.me_status(&u.pair.access).await.0, 200, "disabling absent MFA changes nothing");
        app.admin("DELETE", &format!("{base}/sessions"), None).await.assert_status(204);
        for p in [&u.pair, &s2] {
            app.get("/auth/me", Some(&p.access)).await.assert_problem(401, "invalid_token");
            app.refresh(&p.refresh).await.assert_problem(401, "invalid_refresh_token");
        }
        assert_eq!(app.me_status(&bystander.pair.access).await.0, 200);
        app.login_pair(&u.login, PASSWORD).await;
    }
);

each_backend!(
    async fn admin_unknown_and_malformed_ids_are_not_found(b) {
        let app = app(b).await;
        let unknown = uuid::Uuid::now_v7();
        for id in [unknown.to_string(), "not-a-uuid".to_owned(), "1".to_owned()] {
            let base = format!("/auth/admin/accounts/{id}");
            app.admin("GET", &base, None).await.assert_problem(404, "not_found");
            app.admin("PATCH", &base, Some(json!({"active": true}))).await.assert_problem(404, "not_found");
            app.admin("DELETE", &base, None).await.assert_problem(404, "not_found");
            app.admin("POST", &format!("{base}/block"), Some(json!({"reason": "x"}))).await.assert_problem(404, "not_found");
            app.admin("POST", &format!("{base}/unblock"), None).await.assert_problem(404, "not_found");
            app.admin("GET", &format!("{base}/block"), None).await.assert_problem(404, "not_found");
            app.admin("DELETE", &format!("{base}/mfa"), None).await.assert_problem(404, "not_found");
            app.admin("DELETE", &format!("{base}/sessions"), None).await.assert_problem(404, "not_found");
        }
    }
);

each_backend!(
    async fn admin_audit_by_account_is_newest_first(b) {
        let app = app(b).await;
        let u = app.user().await;
        let other = app.user().await;
        app.login(&u.login, "wrong password!").await.assert_status(401);
        Pair::from_resp(&app.refresh(&u.pair.refresh).await);
        app.admin("POST", &format!("/auth/admin/accounts/{}/block", u.id), Some(json!({"reason": "r"}))).await.assert_status(204);
        let r = app.admin("GET", &format!("/auth/admin/audit?account_id={}", u.id), None).await;
        r.assert_status(200);
        let events = r.json();
        let events = events.as_array().unwrap();
        assert!(events.iter().all(|e| e["account_id"] == json!(u.id)), "only that account");
        let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
        assert_eq!(names.first(), Some(&"account.blocked"), "{names:?}");
        assert_eq!(names.last(), Some(&"account.registered"), "{names:?}");
        for n in ["login.success", "login.failure", "token.refresh"] {
            assert!(names.contains(&n), "{n} in {names:?}");
        }
        let times: Vec<time::OffsetDateTime> = events
            .iter()
            .map(|e| time::OffsetDateTime::parse(e["at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {names:?}");
        let r = app.admin("GET", &format!("/auth/admin/audit?account_id={}&limit=2", u.id), None).await;
        assert_eq!(r.json().as_array().unwrap().len(), 2);
        let all = app.admin("GET", "/auth/admin/audit", None).await.json();
        assert!(all.as_array().unwrap().iter().any(|e| e["account_id"] == json!(other.id)));
        app.admin("GET", "/auth/admin/audit?account_id=nope", None).await.assert_problem(422, "validation_failed");
        app.admin("GET", "/auth/admin/audit?limit=0", None).await.assert_problem(422, "validation_failed");
    }
);

each_backend!(
    async fn admin_create_validates_and_refuses_duplicates(b) {
        let app = app(b).await;
        let login = unique("dup");
        create(&app, &login, json!({"active": false})).await;
        let r = app.admin("POST", "/auth/admin/accounts", Some(json!({"login": login.to_uppercase(), "password": PASSWORD}))).await;
        r.assert_problem(409, "login_taken");
        let r = app.admin("POST", "/auth/admin/accounts", Some(json!({"login": unique("s"), "password": PASSWORD, "scopes": ["bad scope"]}))).await;
        assert_eq!(r.error_fields(), vec!["scopes".to_owned()]);
        app.login(&login, PASSWORD).await.assert_problem(403, "account_inactive");
    }
);

each_backend!(
    async fn admin_patch_refuses_an_email_of_another_account(b) {
        let app = app(b).await;
        let email = format!("{}@example.com", unique("owner"));
        create(&app, &unique("owner"), json!({"email": email})).await;
        let other = create(&app, &unique("taker"), json!({})).await;
        let path = format!("/auth/admin/accounts/{}", other["id"].as_str().unwrap());
        app.admin("PATCH", &path, Some(json!({"email": email.to_uppercase()}))).await.assert_problem(409, "email_taken");
        assert_eq!(app.admin("GET", &path, None).await.json()["email"], Value::Null);
    }
);

each_backend!(
    async fn admin_changes_record_who_made_them(b) {
        let app = app(b).await;
        let u = app.user().await;
        // By the shared secret.
        app.admin("POST", &format!("/auth/admin/accounts/{}/block", u.id), Some(json!({"reason": "r"}))).await.assert_status(204);
        // By an admin's token.
        let boss = unique("boss");
        let b_acc = create(&app, &boss, json!({"scopes": ["admin"]})).await;
        let p = app.login_pair(&boss, PASSWORD).await;
        app.post_empty(&format!("/auth/admin/accounts/{}/unblock", u.id), Some(&p.access)).await.assert_status(204);
        let events = app.admin("GET", &format!("/auth/admin/audit?account_id={}", u.id), None).await.json();
        let find = |name: &str| events.as_array().unwrap().iter().find(|e| e["event"] == json!(name)).cloned().unwrap();
        let blocked = find("account.blocked");
        assert_eq!(blocked["detail"]["actor"], json!("admin_secret"), "{blocked}");
        let unblocked = find("account.unblocked");
        assert_eq!(unblocked["detail"]["actor"], json!(boss), "{unblocked}");
        assert_eq!(unblocked["detail"]["actor_id"], b_acc["id"], "{unblocked}");
        // An account's own actions name no actor.
        let login = find("login.success");
        assert!(login["detail"].get("actor").is_none(), "{login}");
    }
);
