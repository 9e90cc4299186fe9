use crate::common::*;
use serde_json::json;

const NEW_PASSWORD: &str = "a brand new passphrase 42";

each_backend!(
    async fn password_change_needs_a_fresh_token_and_revokes_other_sessions(b) {
        let app = app(b).await;
        let u = app.user().await;
        let other = app.login_pair(&u.login, PASSWORD).await;
        let refreshed = Pair::from_resp(&app.refresh(&u.pair.refresh).await);
        let body = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
        app.post("/auth/password", body.clone(), Some(&refreshed.access)).await.assert_problem(401, "fresh_token_required");
        // Re-enter the password: a fresh pair for the same session.
        let wrong = app.post("/auth/fresh", json!({"password": "wrong wrong wrong"}), Some(&refreshed.access)).await;
        wrong.assert_problem(401, "invalid_credentials");
        let r = app.post("/auth/fresh", json!({"password": PASSWORD}), Some(&refreshed.access)).await;
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let fresh = Pair::from_resp(&r);
        assert_eq!(fresh.claims()["fresh"], json!(true));
        assert_eq!(fresh.session_id, u.pair.session_id);
        assert_ne!(fresh.refresh, refreshed.refresh);
        app.post("/auth/password", body, Some(&fresh.access)).await.assert_status(204);
        // Other sessions are revoked; the current one still works.
        app.get("/auth/me", Some(&other.access)).await.assert_problem(401, "invalid_token");
        app.refresh(&other.refresh).await.assert_problem(401, "invalid_refresh_token");
        assert_eq!(app.me_status(&fresh.access).await.0, 200);
        Pair::from_resp(&app.refresh(&fresh.refresh).await);
        // Old password out, new one in.
        app.login(&u.login, PASSWORD).await.assert_problem(401, "invalid_credentials");
        app.login_pair(&u.login, NEW_PASSWORD).await;
    }
);

each_backend!(
    async fn password_change_with_a_wrong_current_password_is_refused(b) {
        let app = app(b).await;
        let u = app.user().await;
        let r = app
            .post("/auth/password", json!({"current_password": "not my password", "new_password": NEW_PASSWORD}), Some(&u.pair.access))
            .await;
        r.assert_problem(401, "invalid_credentials");
        app.login_pair(&u.login, PASSWORD).await;
        app.login(&u.login, NEW_PASSWORD).await.assert_problem(401, "invalid_credentials");
    }
);

each_backend!(
    async fn password_change_applies_the_password_rules(b) {
        let app = app(b).await;
        let u = app.user().await;
        for bad in ["short", "password1", u.login.as_str()] {
            let r = app.post("/auth/password", json!({"current_password": PASSWORD, "new_password": bad}), Some(&u.pair.access)).await;
            assert_eq!(r.error_fields(), vec!["new_password".to_owned()], "{bad}");
        }
        app.login_pair(&u.login, PASSWORD).await;
    }
);

each_backend!(
    async fn login_change_renames_the_account(b) {
        let app = app(b).await;
        let u = app.user().await;
        let taken = app.user().await;
        let new_login = unique("renamed");
        let r = app.post("/auth/login/change", json!({"new_login": new_login}), Some(&u.pair.access)).await;
        r.assert_status(200);
        let a = r.json();
        assert_eq!(a["login"], json!(new_login));
        assert_eq!(a["id"], json!(u.id));
        app.login(&u.login, PASSWORD).await.assert_problem(401, "invalid_credentials");
        app.login_pair(&new_login, PASSWORD).await;
        assert_eq!(app.get("/auth/me", Some(&u.pair.access)).await.json()["login"], json!(new_login));
        // Taken (in any case) and invalid logins are refused.
        let r = app.post("/auth/login/change", json!({"new_login": taken.login.to_uppercase()}), Some(&u.pair.access)).await;
        r.assert_problem(409, "login_taken");
        let r = app.post("/auth/login/change", json!({"new_login": "no spaces allowed"}), Some(&u.pair.access)).await;
        assert_eq!(r.error_fields(), vec!["new_login".to_owned()]);
        app.login_pair(&taken.login, PASSWORD).await;
    }
);

each_backend!(
    async fn login_change_to_another_case_of_the_own_login_is_allowed(b) {
        let app = app(b).await;
        let u = app.user().await;
        let r = app.post("/auth/login/change", json!({"new_login": u.login.to_uppercase()}), Some(&u.pair.access)).await;
        r.assert_status(200);
        assert_eq!(r.json()["login"], json!(u.login.to_uppercase()));
        app.login_pair(&u.login, PASSWORD).await;
    }
);
