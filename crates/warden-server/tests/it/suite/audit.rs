use crate::common::*;
use serde_json::json;

const NEW_PASSWORD: &str = "second secret passphrase 77";
const WRONG_PASSWORD: &str = "wrong-guess-passphrase-99";

each_backend!(
    async fn every_security_event_is_audited_and_no_password_is_stored(b) {
        let app = app_with(b, |c| c.block_tries = 3).await;
        let u = app.user().await; // account.registered, login.success
        app.login(&u.login, WRONG_PASSWORD).await.assert_status(401); // login.failure
        let r1 = Pair::from_resp(&app.refresh(&u.pair.refresh).await); // token.refresh
        app.refresh(&u.pair.refresh).await.assert_problem(401, "refresh_token_reused"); // token.refresh_reused
        let _ = r1;
        let p = app.login_pair(&u.login, PASSWORD).await;
        let p2 = app.login_pair(&u.login, PASSWORD).await;
        app.delete(&format!("/auth/sessions/{}", p2.session_id), Some(&p.access)).await.assert_status(204); // session.revoked
        app.post("/auth/password", json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}), Some(&p.access))
            .await
            .assert_status(204); // password.changed
        let new_login = unique("audited");
        app.post("/auth/login/change", json!({"new_login": new_login}), Some(&p.access)).await.assert_status(200); // login.changed
        app.post_empty("/auth/logout", Some(&p.access)).await.assert_status(204); // logout
        for _ in 0..3 {
            app.login(&new_login, WRONG_PASSWORD).await.assert_status(401); // login.lockout on the 3rd
        }
        let base = format!("/auth/admin/accounts/{}", u.id);
        app.admin("POST", &format!("{base}/block"), Some(json!({"reason": "audit test"}))).await.assert_status(204); // account.blocked
        app.admin("POST", &format!("{base}/unblock"), None).await.assert_status(204); // account.unblocked
        app.admin("PATCH", &base, Some(json!({"scopes": ["reports"]}))).await.assert_status(200); // account.scopes_changed
        app.admin("DELETE", &base, None).await.assert_status(204); // account.deleted

        let events = app.audit_all().await;
        let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
        for want in [
            "account.registered",
            "login.success",
            "login.failure",
            "login.lockout",
            "token.refresh",
            "token.refresh_reused",
            "logout",
            "session.revoked",
            "password.changed",
            "login.changed",
            "account.blocked",
            "account.unblocked",
            "account.deleted",
            "account.scopes_changed",
        ] {
            assert!(names.contains(&want), "no {want} event in {names:?}");
        }
        // The deleted account's trail is kept and every event names it.
        let id = warden_core::model::AccountId::parse(&u.id).unwrap();
        assert!(events.iter().filter(|e| e.event != "login.failure" || e.account_id.is_some()).all(|e| e.account_id == Some(id)));
        // No secret anywhere in the stored trail or the admin API.
        let stored = serde_json::to_string(&events).unwrap();
        let api = app.admin("GET", "/auth/admin/audit?limit=1000", None).await.text();
        for secret in [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, ADMIN_SECRET] {
            assert!(!stored.contains(secret), "stored audit holds a secret");
            assert!(!api.contains(secret), "audit API holds a secret");
        }
        for token in [&u.pair.access, &u.pair.refresh, &p.access, &p.refresh] {
            assert!(!stored.contains(token.as_str()), "stored audit holds a token");
        }
    }
);
