//! Tokens for users an app keeps itself (`warden_core::app_tokens`), on every
//! backend: the `app_tokens` example's routes merged into the server's app,
//! so account routes and app routes meet on one router.

use crate::common::*;
use serde_json::{Value, json};
use warden_core::Error;
use warden_core::app_tokens::AppGrant;
use warden_core::hooks::{Hooks, TokenDenylist};
use warden_core::model::{AccountId, ClientInfo};
use warden_core::token::SubjectClaims;

#[allow(dead_code)]
#[path = "../../../warden-axum/examples/app_tokens.rs"]
mod example;

const ANN: &str = "ann has a long password";

/// The server's app on `b` (config changed by `f`) with the example's routes
/// and its denylist installed.
async fn app_of(b: Backend, f: impl FnOnce(&mut warden_server::config::Config)) -> App {
    let mut app = app_with(b, f).await;
    with_example(&mut app).await;
    app
}

async fn with_example(app: &mut App) {
    let denied = example::Denylist::default();
    app.warden
        .auth()
        .set_hooks(Hooks::new().token_denylist(denied.clone()));
    let users = example::demo_users(&app.warden).await.unwrap();
    app.router = app
        .router
        .clone()
        .merge(example::routes(&app.warden, users, denied));
}

/// Ann signs in at the app: her token pair.
async fn ann(app: &App) -> Pair {
    let body = json!({"username": "ann", "password": ANN});
    Pair::from_resp(&app.post("/app/login", body, None).await)
}

async fn app_refresh(app: &App, refresh: &str) -> Resp {
    app.post("/app/refresh", json!({"refresh_token": refresh}), None)
        .await
}

each_backend!(
    async fn app_tokens_issue_verify_with_claims_and_scopes(b) {
        let app = app_of(b, |_| {}).await;
        let p = ann(&app).await;
        assert!(p.refresh.starts_with("wart_"), "{}", p.refresh);
        let c = p.claims();
        assert_eq!(c["sub"], "user-1");
        assert_eq!(c["sub_kind"], "app");
        assert_eq!(c["scope"], "notes:read notes:write");
        assert_eq!(c["tenant"], "acme");
        assert_eq!((c["fresh"].clone(), c["amr"].clone()), (json!(true), json!(["pwd"])));
        assert_eq!(c["sid"], json!(p.session_id));
        let r = app.get("/app/notes", Some(&p.access)).await;
        r.assert_status(200);
        assert_eq!((r.json()["user"].clone(), r.json()["tenant"].clone()), (json!("user-1"), json!("acme")));
        // The service verifies it the same way and knows its session.
        let claims = app.warden.auth().app_tokens().authenticate(&p.access).await.unwrap();
        assert!(claims.is_app() && claims.has_scope("notes:write"));
        let sessions = app.warden.auth().app_tokens().sessions("user-1").await.unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].id.to_string(), p.session_id);
        assert_eq!(sessions[0].app.as_ref().map(|a| a.subject.as_str()), Some("user-1"));
        // Audited under the subject's owner id, never an account's.
        let owner = AccountId::of_app_subject("user-1");
        let issued: Vec<_> = (app.audit_all().await.into_iter())
            .filter(|e| e.event == "app_token.issued")
            .collect();
        assert_eq!(issued.len(), 1);
        assert_eq!(issued[0].account_id, Some(owner));
        assert!(app.warden.auth().accounts().account(owner).await.is_err(), "no account");
        // Bob's tokens carry his own claims.
        let bob = Pair::from_resp(
            &app.post("/app/login", json!({"username": "bob", "password": "bob has a long password"}), None).await,
        );
        assert_eq!((bob.claims()["sub"].clone(), bob.claims()["tenant"].clone()), (json!("user-2"), json!("globex")));
    }
);

each_backend!(
    async fn app_refresh_rotates_and_reuse_revokes_the_session(b) {
        let app = app_of(b, |_| {}).await;
        let p = ann(&app).await;
        let next = Pair::from_resp(&app_refresh(&app, &p.refresh).await);
        assert!(next.refresh.starts_with("wart_") && next.refresh != p.refresh);
        let c = next.claims();
        assert_eq!((c["fresh"].clone(), c["tenant"].clone(), c["scope"].clone()),
            (json!(false), json!("acme"), json!("notes:read notes:write")));
        assert_eq!(next.session_id, p.session_id, "same session");
        app.get("/app/notes", Some(&next.access)).await.assert_status(200);
        // The rotated token again: the whole session is revoked.
        app_refresh(&app, &p.refresh).await.assert_problem(401, "refresh_token_reused");
        app.get("/app/notes", Some(&next.access)).await.assert_problem(401, "invalid_token");
        app.get("/app/notes", Some(&p.access)).await.assert_problem(401, "invalid_token");
        app_refresh(&app, &next.refresh).await.assert_problem(401, "invalid_refresh_token");
        app_refresh(&app, "wart_nonsense").await.assert_problem(401, "invalid_refresh_token");
        let events: Vec<String> = app.audit_all().await.into_iter().map(|e| e.event).collect();
        assert!(events.iter().any(|e| e == "token.refresh_reused"), "{events:?}");
    }
);

each_backend!(
    async fn app_freshness_guards_the_password_change(b) {
        let app = app_of(b, |_| {}).await;
        let first = ann(&app).await;
        let other = ann(&app).await;
        let stale = Pair::from_resp(&app_refresh(&app, &first.refresh).await);
        let body = json!({"password": "a brand new password"});
        app.post("/app/password", body.clone(), Some(&stale.access)).await
            .assert_problem(401, "fresh_token_required");
        // Re-typing the password makes a fresh pair of the same session.
        let r = app.post("/app/fresh", json!({"password": "wrong password"}), Some(&stale.access)).await;
        r.assert_problem(401, "invalid_credentials");
        let fresh = Pair::from_resp(&app.post("/app/fresh", json!({"password": ANN}), Some(&stale.access)).await);
        assert_eq!(fresh.claims()["fresh"], true);
        assert_eq!(fresh.session_id, stale.session_id);
        // The refresh token it replaced counts as reused.
        app_refresh(&app, &stale.refresh).await.assert_problem(401, "refresh_token_reused");
        let fresh = Pair::from_resp(&app.post("/app/fresh", json!({"password": ANN}), Some(&other.access)).await);
        app.post("/app/password", body, Some(&fresh.access)).await.assert_status(204);
        // Every session of the subject ended (logout_all).
        for t in [&fresh.access, &other.access] {
            app.get("/app/notes", Some(t)).await.assert_problem(401, "invalid_token");
        }
        app_refresh(&app, &fresh.refresh).await.assert_problem(401, "invalid_refresh_token");
        assert!(app.warden.auth().app_tokens().sessions("user-1").await.unwrap().is_empty());
        // An account's fresh token is no app subject's for AppTokens::fresh.
        let u = app.user().await;
        let claims = app.warden.auth().app_tokens().authenticate(&u.pair.access).await.unwrap();
        let r = app.warden.auth().app_tokens().fresh(&claims, &ClientInfo::default()).await;
        assert!(matches!(r, Err(Error::InvalidToken)), "{r:?}");
    }
);

each_backend!(
    async fn app_logout_revokes_at_once_and_on_other_nodes(b) {
        let app = app_of(b, |_| {}).await;
        let mut node_b = app_on(app.cfg.clone(), app.store.clone()).await;
        with_example(&mut node_b).await;
        let p = ann(&app).await;
        let keep = ann(&app).await;
        app.get("/app/notes", Some(&p.access)).await.assert_status(200);
        node_b.get("/app/notes", Some(&p.access)).await.assert_status(200);
        // Logout on node B: B refuses at once, A after its feed sync.
        node_b.post("/app/logout", json!({}), Some(&p.access)).await.assert_status(204);
        node_b.get("/app/notes", Some(&p.access)).await.assert_problem(401, "invalid_token");
        app.warden.auth().upkeep().sync().await.unwrap();
        app.get("/app/notes", Some(&p.access)).await.assert_problem(401, "invalid_token");
        app_refresh(&app, &p.refresh).await.assert_problem(401, "invalid_refresh_token");
        // The subject's other session goes on.
        app.get("/app/notes", Some(&keep.access)).await.assert_status(200);
        let events: Vec<String> = app.audit_all().await.into_iter().map(|e| e.event).collect();
        assert!(events.iter().any(|e| e == "app_token.logout"), "{events:?}");
    }
);

each_backend!(
    async fn app_tokens_and_account_tokens_never_cross(b) {
        let app = app_of(b, |_| {}).await;
        let p = ann(&app).await;
        // An app token is refused by every account route.
        app.get("/auth/me", Some(&p.access)).await.assert_problem(401, "invalid_token");
        app.get("/auth/sessions", Some(&p.access)).await.assert_problem(401, "invalid_token");
        app.post_empty("/auth/logout", Some(&p.access)).await.assert_problem(401, "invalid_token");
        app.get("/auth/admin/accounts", Some(&p.access)).await.assert_problem(401, "invalid_token");
        // Its refresh token does not rotate at the account route (and is not spent there).
        app.refresh(&p.refresh).await.assert_problem(401, "invalid_refresh_token");
        let p = Pair::from_resp(&app_refresh(&app, &p.refresh).await);
        // An account's refresh token does not rotate at the app's path either.
        let u = app.user().await;
        app_refresh(&app, &u.pair.refresh).await.assert_problem(401, "invalid_refresh_token");
        let again = Pair::from_resp(&app.refresh(&u.pair.refresh).await);
        assert!(again.refresh.starts_with("wrt_"));
        // CurrentSubject takes both kinds and tells them apart.
        let r = app.get("/app/whoami", Some(&p.access)).await;
        assert_eq!(r.json()["kind"], "app");
        let r = app.get("/app/whoami", Some(&again.access)).await;
        assert_eq!((r.json()["kind"].clone(), r.json()["sub"].clone()), (json!("account"), json!(u.id)));
        // The app's route for app users refuses an account token.
        app.get("/app/notes", Some(&again.access)).await.assert_problem(403, "forbidden");
        // An app subject named like an account id is still no account.
        let client = ClientInfo::default();
        let pair = app.warden.auth().app_tokens().issue(AppGrant::new(u.id.clone()), &client).await.unwrap();
        assert_eq!(app.me_status(&pair.access_token).await.0, 401);
        let r = app.get("/app/whoami", Some(&pair.access_token)).await;
        assert_eq!((r.json()["kind"].clone(), r.json()["sub"].clone()), (json!("app"), json!(u.id)));
    }
);

each_backend!(
    async fn app_denylist_refuses_on_top_of_the_built_in_checks(b) {
        let app = app_of(b, |_| {}).await;
        let p = ann(&app).await;
        app.post("/app/revoke-access", json!({}), Some(&p.access)).await.assert_status(204);
        app.get("/app/notes", Some(&p.access)).await.assert_problem(401, "invalid_token");
        // Only that token: the session refreshes, its new token passes.
        let next = Pair::from_resp(&app_refresh(&app, &p.refresh).await);
        app.get("/app/notes", Some(&next.access)).await.assert_status(200);
        // It is asked for account tokens too.
        let u = app.user().await;
        assert_eq!(app.me_status(&u.pair.access).await.0, 200);
        app.post("/app/revoke-access", json!({}), Some(&u.pair.access)).await.assert_status(204);
        app.get("/auth/me", Some(&u.pair.access)).await.assert_problem(401, "invalid_token");
    }
);

/// A denylist whose backing store fails: with `Unavailable` or with anything else.
struct Broken(Error);

#[warden_axum::async_trait]
impl TokenDenylist for Broken {
    async fn is_revoked(&self, _: &SubjectClaims) -> warden_core::Result<bool> {
        Err(self.0.clone())
    }
}

each_backend!(
    async fn a_failing_denylist_fails_closed(b) {
        let app = app_of(b, |_| {}).await;
        let p = ann(&app).await;
        let u = app.user().await;
        let hooks = |e: Error| Hooks::new().token_denylist(Broken(e));
        app.warden.auth().set_hooks(hooks(Error::Unavailable("denylist down".into())));
        let r = app.get("/app/notes", Some(&p.access)).await;
        r.assert_problem(503, "service_unavailable");
        app.get("/auth/me", Some(&u.pair.access)).await.assert_problem(503, "service_unavailable");
        app.warden.auth().set_hooks(hooks(Error::Internal("bug".into())));
        app.get("/app/notes", Some(&p.access)).await.assert_problem(401, "invalid_token");
        app.get("/auth/me", Some(&u.pair.access)).await.assert_problem(401, "invalid_token");
        // Without a denylist nothing is asked.
        app.warden.auth().set_hooks(Hooks::new());
        app.get("/app/notes", Some(&p.access)).await.assert_status(200);
    }
);

each_backend!(
    async fn app_sessions_are_capped_per_subject(b) {
        let app = app_of(b, |c| c.max_sessions_per_account = 2).await;
        let first = ann(&app).await;
        let second = ann(&app).await;
        let bob = Pair::from_resp(
            &app.post("/app/login", json!({"username": "bob", "password": "bob has a long password"}), None).await,
        );
        let third = ann(&app).await;
        // The least recently used of Ann's sessions went at once; Bob's stays.
        app.get("/app/notes", Some(&first.access)).await.assert_problem(401, "invalid_token");
        app_refresh(&app, &first.refresh).await.assert_problem(401, "invalid_refresh_token");
        for p in [&second, &third, &bob] {
            app.get("/app/notes", Some(&p.access)).await.assert_status(200);
        }
        let evicted = (app.audit_all().await.into_iter())
            .filter(|e| e.event == "session.evicted")
            .count();
        assert_eq!(evicted, 1);
    }
);

each_backend!(
    async fn app_grants_are_validated(b) {
        let app = app_of(b, |_| {}).await;
        let apps = app.warden.auth().app_tokens();
        let client = ClientInfo::default();
        let field = |r: warden_core::Result<warden_core::TokenPair>| match r {
            Err(Error::Validation(f)) => f[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(apps.issue(AppGrant::new(""), &client).await), "subject");
        assert_eq!(field(apps.issue(AppGrant::new("a\u{0}b"), &client).await), "subject");
        assert_eq!(field(apps.issue(AppGrant::new("x".repeat(256)), &client).await), "subject");
        let g = AppGrant::new("u").scopes(["a b"]);
        assert_eq!(field(apps.issue(g, &client).await), "scopes");
        let g = AppGrant::new("u").claim("sub", "admin");
        assert_eq!(field(apps.issue(g, &client).await), "claims");
        let g = AppGrant::new("u").claim("sub_kind", Value::Null);
        assert_eq!(field(apps.issue(g, &client).await), "claims");
        let g = AppGrant::new("u").claim("blob", "x".repeat(5000));
        assert_eq!(field(apps.issue(g, &client).await), "claims");
        let g = AppGrant::new("u").scopes((0..300).map(|i| format!("scope:{i}")));
        assert_eq!(field(apps.issue(g, &client).await), "scopes");
        let g = AppGrant::new("u").amr((0..9).map(|i| format!("m{i}")));
        assert_eq!(field(apps.issue(g, &client).await), "amr");
        // A token too large to verify (here: a long issuer and large claims,
        // each within its limit) is refused before anything is stored.
        let big = app_with(b, |c| c.issuer = "i".repeat(3000)).await;
        let big = big.warden.auth().app_tokens();
        let g = AppGrant::new("big").claim("q", "x".repeat(3000));
        assert_eq!(field(big.issue(g, &client).await), "claims");
        assert!(big.sessions("big").await.unwrap().is_empty());
        let g = AppGrant::new("u").scopes(["a\u{1}b"]);
        assert_eq!(field(apps.issue(g, &client).await), "scopes");
        // Nothing was stored for them.
        assert!(apps.sessions("u").await.unwrap().is_empty());
        // A long session and two factors, as the app says.
        let g = AppGrant::new("u").remember(true).amr(["pwd", "otp"]);
        let pair = apps.issue(g, &client).await.unwrap();
        let claims = apps.authenticate(&pair.access_token).await.unwrap();
        assert_eq!(claims.amr, vec!["pwd".to_owned(), "otp".to_owned()]);
        let long = app.warden.auth().settings().long_session_ttl.whole_seconds();
        assert!((long - 1..=long).contains(&pair.refresh_expires_in), "{}", pair.refresh_expires_in);
    }
);
