//! Acting for an organization: activate, login and refresh with
//! `organization`; a role change or removal takes effect on the member's
//! next request, as a logout does.

use super::*;

fn org_claims(p: &Pair) -> (Value, Value, Value) {
    let c = p.claims();
    (
        c["org"].clone(),
        c["org_role"].clone(),
        c["org_permissions"].clone(),
    )
}

each_backend!(
    async fn activate_refresh_role_change_and_removal(b) {
        let app = org_app(b).await;
        let alice = app.user().await;
        let bob = verified_user(&app).await;
        let org = new_org(&app, &alice).await;
        join(&app, &org, &alice, &bob, "member").await;
        let r = app.post_empty(&format!("/auth/organizations/{org}/activate"), Some(&bob.pair.access)).await;
        let acting = Pair::from_resp(&r);
        assert_eq!(acting.session_id, bob.pair.session_id);
        assert_eq!(org_claims(&acting), (json!(org), json!("member"), json!([])));
        assert_eq!(app.me_status(&acting.access).await.0, 200);
        // Refresh keeps the organization.
        let refreshed = Pair::from_resp(&app.refresh(&acting.refresh).await);
        assert_eq!(org_claims(&refreshed).0, json!(org));
        // A role change: the old token is refused at once, a refresh carries the new role.
        patch(&app, &format!("/auth/organizations/{org}/members/{}", bob.id), json!({"role": "admin"}), &alice.pair.access)
            .await
            .assert_status(200);
        assert_eq!(app.me_status(&refreshed.access).await, (401, "invalid_token".to_owned()));
        let promoted = Pair::from_resp(&app.refresh(&refreshed.refresh).await);
        assert_eq!(org_claims(&promoted).1, json!("admin"));
        assert_eq!(org_claims(&promoted).2, json!(["org:invitations", "org:members", "org:update"]));
        assert_eq!(app.me_status(&promoted.access).await.0, 200);
        // Tokens of other sessions without the organization are untouched.
        assert_eq!(app.me_status(&alice.pair.access).await.0, 200);
        // Removal: refused at once; the session lives on without the organization.
        app.delete(&format!("/auth/organizations/{org}/members/{}", bob.id), Some(&alice.pair.access))
            .await
            .assert_status(204);
        assert_eq!(app.me_status(&promoted.access).await, (401, "invalid_token".to_owned()));
        let plain = Pair::from_resp(&app.refresh(&promoted.refresh).await);
        assert_eq!(org_claims(&plain), (Value::Null, Value::Null, Value::Null));
        assert_eq!(app.me_status(&plain.access).await.0, 200);
        // Not a member any more: activating is 404.
        app.post_empty(&format!("/auth/organizations/{org}/activate"), Some(&plain.access))
            .await
            .assert_problem(404, "not_found");
    }
);

each_backend!(
    async fn login_and_refresh_with_organization(b) {
        let app = org_app_with(b, |c| c.org_permissions_claim = "perms".into()).await;
        let alice = app.user().await;
        let slug = unique("team").replace('_', "-");
        let r = app.post("/auth/organizations", json!({"slug": slug, "name": "Team"}), Some(&alice.pair.access)).await;
        let org = r.json()["id"].as_str().unwrap().to_owned();
        let roles = format!("/auth/organizations/{org}/roles");
        app.post(&roles, json!({"name": "billing", "permissions": ["invoices:read"]}), Some(&alice.pair.access))
            .await
            .assert_status(201);
        let bob = verified_user(&app).await;
        join(&app, &org, &alice, &bob, "billing").await;
        // Login by slug: the custom role's permissions under the configured claim.
        let r = app
            .post("/auth/login", json!({"login": bob.login, "password": PASSWORD, "organization": slug}), None)
            .await;
        let p = Pair::from_resp(&r);
        let c = p.claims();
        assert_eq!((c["org"].clone(), c["org_role"].clone(), c["perms"].clone()), (json!(org), json!("billing"), json!(["invoices:read"])));
        assert!(c.get("org_permissions").is_none());
        // New permissions of the role: refused at once, refreshed with the new ones.
        patch(&app, &format!("{roles}/billing"), json!({"permissions": ["invoices:read", "invoices:write"]}), &alice.pair.access)
            .await
            .assert_status(200);
        assert_eq!(app.me_status(&p.access).await.0, 401);
        let p = Pair::from_resp(&app.refresh(&p.refresh).await);
        assert_eq!(p.claims()["perms"], json!(["invoices:read", "invoices:write"]));
        // Login for an organization of which the account is no member: 404, no session left.
        let other = new_org(&app, &alice).await;
        let r = app
            .post("/auth/login", json!({"login": bob.login, "password": PASSWORD, "organization": other}), None)
            .await;
        r.assert_problem(404, "not_found");
        app.post("/auth/login", json!({"login": bob.login, "password": PASSWORD, "organization": "no-such-org"}), None)
            .await
            .assert_problem(404, "not_found");
        // Refresh with an organization switches to it (member) or is 404.
        let plain = Pair::from_resp(&app.login(&alice.login, PASSWORD).await);
        assert!(plain.claims().get("org").is_none());
        let r = app.post("/auth/refresh", json!({"refresh_token": plain.refresh, "organization": other}), None).await;
        let switched = Pair::from_resp(&r);
        assert_eq!(switched.claims()["org"], json!(other));
        assert_eq!(switched.claims()["org_role"], json!("owner"));
        let r = app.post("/auth/refresh", json!({"refresh_token": switched.refresh, "organization": uuid::Uuid::now_v7().to_string()}), None).await;
        r.assert_problem(404, "not_found");
        // Deleting the organization refuses the tokens acting for it.
        let acting = Pair::from_resp(&app.post_empty(&format!("/auth/organizations/{other}/activate"), Some(&alice.pair.access)).await);
        app.delete(&format!("/auth/organizations/{other}"), Some(&alice.pair.access)).await.assert_status(204);
        assert_eq!(app.me_status(&acting.access).await.0, 401);
        let after = Pair::from_resp(&app.refresh(&acting.refresh).await);
        assert!(after.claims().get("org").is_none());
    }
);

each_backend!(
    async fn a_role_change_reaches_the_other_node(b) {
        let app = org_app(b).await;
        // A second node on the same store: its own caches and revocation set.
        let other = app_on(app.cfg.clone(), app.store.clone()).await;
        let alice = app.user().await;
        let bob = verified_user(&app).await;
        let org = new_org(&app, &alice).await;
        join(&app, &org, &alice, &bob, "admin").await;
        let acting = Pair::from_resp(&app.post_empty(&format!("/auth/organizations/{org}/activate"), Some(&bob.pair.access)).await);
        assert_eq!(other.me_status(&acting.access).await.0, 200);
        patch(&app, &format!("/auth/organizations/{org}/members/{}", bob.id), json!({"role": "member"}), &alice.pair.access)
            .await
            .assert_status(200);
        // The other node learns of it from the change feed (its next poll).
        other.warden.auth().upkeep().sync().await.unwrap();
        assert_eq!(other.me_status(&acting.access).await, (401, "invalid_token".to_owned()));
        let renewed = Pair::from_resp(&other.refresh(&acting.refresh).await);
        assert_eq!(renewed.claims()["org_role"], json!("member"));
        assert_eq!(other.me_status(&renewed.access).await.0, 200);
        assert_eq!(app.me_status(&renewed.access).await.0, 200);
    }
);
