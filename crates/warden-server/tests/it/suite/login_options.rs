//! API.md "Login options": per-session scopes, the session limit per
//! account, and registration that signs in.

use crate::common::browser::totp_code;
use crate::common::*;
use serde_json::{Value, json};

/// An account made by the admin with `scopes`; its login.
async fn scoped_account(app: &App, scopes: Value) -> (String, String) {
    let login = unique("scoped");
    let body = json!({"login": login, "password": PASSWORD, "scopes": scopes});
    let r = app.admin("POST", "/auth/admin/accounts", Some(body)).await;
    r.assert_status(201);
    (login, r.json()["id"].as_str().unwrap().to_owned())
}

async fn login_scoped(app: &App, login: &str, scopes: Value) -> Resp {
    let body = json!({"login": login, "password": PASSWORD, "scopes": scopes});
    app.post("/auth/login", body, None).await
}

fn scope(pair: &Pair) -> Value {
    pair.claims()["scope"].clone()
}

each_backend!(
    async fn login_scopes_narrow_the_session_and_refresh_keeps_them(b) {
        let app = app(b).await;
        let (login, id) = scoped_account(&app, json!(["read", "write"])).await;
        // Without `scopes`: the account's, as before.
        assert_eq!(scope(&app.login_pair(&login, PASSWORD).await), json!("read write"));
        // A subset: only those, also after refresh and /fresh.
        let p = Pair::from_resp(&login_scoped(&app, &login, json!(["read", "read"])).await);
        assert_eq!(scope(&p), json!("read"));
        let p = Pair::from_resp(&app.refresh(&p.refresh).await);
        assert_eq!(scope(&p), json!("read"));
        let r = app.post("/auth/fresh", json!({"password": PASSWORD}), Some(&p.access)).await;
        let p = Pair::from_resp(&r);
        assert_eq!((scope(&p), p.claims()["fresh"].clone()), (json!("read"), json!(true)));
        // An empty list: a session without scopes.
        let e = Pair::from_resp(&login_scoped(&app, &login, json!([])).await);
        assert_eq!(scope(&e), json!(""));
        assert_eq!(scope(&Pair::from_resp(&app.refresh(&e.refresh).await)), json!(""));
        // More than the account's: 422 on `scopes`, and no session.
        let before = app.audit_all().await.len();
        for bad in [json!(["read", "admin"]), json!(["admin"])] {
            let r = login_scoped(&app, &login, bad).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.error_fields(), vec!["scopes".to_owned()]);
        }
        let events = app.audit_all().await;
        assert!(!events[..events.len() - before].iter().any(|e| e.event == "login.success"));
        // Not a list: 422 or 400, never a session.
        let r = login_scoped(&app, &login, json!("read")).await;
        assert!(matches!(r.status.as_u16(), 400 | 422), "{}", r.text());
        // The account loses `read`: the narrowed session's next tokens carry
        // only what the account still has.
        let path = format!("/auth/admin/accounts/{id}");
        app.admin("PATCH", &path, Some(json!({"scopes": ["write"]}))).await.assert_status(200);
        let p = Pair::from_resp(&app.refresh(&p.refresh).await);
        assert_eq!(scope(&p), json!(""));
        let w = Pair::from_resp(&login_scoped(&app, &login, json!(["write"])).await);
        assert_eq!(scope(&w), json!("write"));
        // Scopes it has again come back on the next refresh, but never more
        // than asked for at login.
        app.admin("PATCH", &path, Some(json!({"scopes": ["read", "write", "x"]}))).await.assert_status(200);
        let p = Pair::from_resp(&app.refresh(&p.refresh).await);
        assert_eq!(scope(&p), json!("read"));
    }
);

each_backend!(
    async fn the_mfa_step_issues_the_scopes_asked_for_at_login(b) {
        let app = app(b).await;
        let (login, _) = scoped_account(&app, json!(["read", "write"])).await;
        let at = app.login_pair(&login, PASSWORD).await.access;
        let setup = app.post_empty("/auth/mfa/totp/setup", Some(&at)).await.json();
        let code = totp_code(setup["secret"].as_str().unwrap(), 0);
        let r = app.post("/auth/mfa/totp/confirm", json!({"code": code}), Some(&at)).await;
        r.assert_status(200);
        let codes = r.json()["recovery_codes"].clone();
        // A foreign scope is refused before the second step.
        login_scoped(&app, &login, json!(["admin"])).await.assert_problem(422, "validation_failed");
        for (i, (asked, want)) in [(json!(["write"]), "write"), (Value::Null, "read write")].into_iter().enumerate() {
            let r = login_scoped(&app, &login, asked).await;
            r.assert_status(200);
            assert_eq!(r.json()["mfa_required"], json!(true), "{}", r.text());
            let token = r.json()["mfa_token"].clone();
            let body = json!({"mfa_token": token, "code": codes[i]});
            let p = Pair::from_resp(&app.post("/auth/login/mfa", body, None).await);
            assert_eq!(scope(&p), json!(want));
            assert_eq!(p.claims()["amr"], json!(["pwd", "otp"]));
            assert_eq!(scope(&Pair::from_resp(&app.refresh(&p.refresh).await)), json!(want));
        }
    }
);

each_backend!(
    async fn one_session_over_the_limit_revokes_the_least_recently_used(b) {
        let app = app_with(b, |c| c.max_sessions_per_account = 2).await;
        let u = app.user().await;
        let first = u.pair.clone();
        let second = app.login_pair(&u.login, PASSWORD).await;
        // The first is used again: the second is now the least recently used.
        let first = Pair::from_resp(&app.refresh(&first.refresh).await);
        let third = app.login_pair(&u.login, PASSWORD).await;
        app.refresh(&second.refresh).await.assert_problem(401, "invalid_refresh_token");
        app.get("/auth/me", Some(&second.access)).await.assert_problem(401, "invalid_token");
        for p in [&first, &third] {
            assert_eq!(app.me_status(&p.access).await.0, 200);
        }
        let list = app.get("/auth/sessions", Some(&third.access)).await.json();
        let mut ids: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        let mut want = vec![first.session_id.as_str(), third.session_id.as_str()];
        want.sort_unstable();
        assert_eq!(ids, want);
        let ev = app.audit_all().await.into_iter().find(|e| e.event == "session.evicted").expect("audited");
        assert_eq!(ev.detail["session_id"], json!(second.session_id));
        assert_eq!(ev.detail["by_session_id"], json!(third.session_id));
        assert_eq!(ev.account_id.map(|a| a.to_string()), Some(u.id.clone()));
        let first = Pair::from_resp(&app.refresh(&first.refresh).await);
        assert_eq!(app.me_status(&first.access).await.0, 200);
        // The limit is per account; another account is not touched.
        let other = app.user().await;
        assert_eq!(app.me_status(&other.pair.access).await.0, 200);
        assert_eq!(app.me_status(&third.access).await.0, 200);
    }
);

each_backend!(
    async fn concurrent_logins_never_exceed_the_session_limit(b) {
        // Enough lockout budget for the parallel attempts of one login.
        let app = app_with(b, |c| {
            c.max_sessions_per_account = 2;
            c.block_tries = 20;
        })
        .await;
        let login = unique("race");
        app.register(&login, PASSWORD).await.assert_status(201);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (app, login) = (app.clone(), login.clone());
            set.spawn(async move { app.login_pair(&login, PASSWORD).await });
        }
        let mut pairs = Vec::new();
        while let Some(p) = set.join_next().await {
            pairs.push(p.expect("task"));
        }
        let mut live = 0;
        for p in &pairs {
            if app.refresh(&p.refresh).await.status.as_u16() == 200 {
                live += 1;
            }
        }
        assert_eq!(live, 2, "exactly the limit survives");
        let evicted = app.audit_all().await.into_iter().filter(|e| e.event == "session.evicted").count();
        assert_eq!(evicted, 6);
    }
);

each_backend!(
    async fn without_a_limit_sessions_accumulate(b) {
        let app = app(b).await;
        let u = app.user().await;
        for _ in 0..3 {
            app.login_pair(&u.login, PASSWORD).await;
        }
        assert_eq!(app.me_status(&u.pair.access).await.0, 200);
        let list = app.get("/auth/sessions", Some(&u.pair.access)).await.json();
        assert_eq!(list.as_array().unwrap().len(), 4);
    }
);

each_backend!(
    async fn register_signs_in_when_configured(b) {
        // Off (the default): the account only, no cookies.
        let app = app(b).await;
        let r = app.register(&unique("plain"), PASSWORD).await;
        r.assert_status(201);
        assert!(r.json().get("tokens").is_none(), "{}", r.text());
        assert!(r.set_cookie("access").is_none());

        let app = app_with(b, |c| c.register_signs_in = true).await;
        let login = unique("signs");
        let r = app.register(&login, PASSWORD).await;
        r.assert_status(201);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v = r.json();
        assert_eq!(v["account"]["login"], json!(login));
        let t = &v["tokens"];
        assert_eq!(t["token_type"], json!("Bearer"));
        let access = t["access_token"].as_str().unwrap();
        assert_eq!(r.cookie_value("access").as_deref(), Some(access));
        assert_eq!(r.cookie_value("refresh").as_deref(), t["refresh_token"].as_str());
        let me = app.get("/auth/me", Some(access)).await;
        me.assert_status(200);
        assert_eq!(me.json()["id"], v["account"]["id"]);
        let claims = jwt_parts(access).1;
        assert_eq!(claims["amr"], json!(["pwd"]));
        assert_eq!(claims["sid"], t["session_id"]);
        let r = app.refresh(t["refresh_token"].as_str().unwrap()).await;
        r.assert_status(200);
        assert!(app.audit_all().await.iter().any(|e| e.event == "login.success"
            && e.detail["session_id"] == t["session_id"]));
    }
);

each_backend!(
    async fn register_never_signs_in_when_email_verification_is_required(b) {
        let dir = std::env::temp_dir().join(format!("warden-reg-outbox-{}", uuid::Uuid::now_v7()));
        let app = app_with(b, |c| {
            c.register_signs_in = true;
            c.require_verified_email = true;
            c.outbox_dir = dir.display().to_string();
        })
        .await;
        let login = unique("verify");
        let body = json!({"login": login, "password": PASSWORD, "email": format!("{login}@example.com")});
        let r = app.post("/auth/register", body, None).await;
        r.assert_status(201);
        let v = r.json();
        assert_eq!(v["account"]["active"], json!(false));
        assert!(v.get("tokens").is_none(), "{v}");
        assert!(r.set_cookie("access").is_none());
        assert!(!app.audit_all().await.iter().any(|e| e.event == "login.success"));
        let _ = std::fs::remove_dir_all(&dir);
    }
);
