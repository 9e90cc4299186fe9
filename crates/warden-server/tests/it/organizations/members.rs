//! Members and roles: who may change what, the last owner, leaving,
//! custom roles.

use super::*;

each_backend!(
    async fn member_roles_removal_and_the_last_owner(b) {
        let app = org_app(b).await;
        let alice = app.user().await;
        let bob = verified_user(&app).await;
        let carol = verified_user(&app).await;
        let org = new_org(&app, &alice).await;
        join(&app, &org, &alice, &bob, "admin").await;
        join(&app, &org, &alice, &carol, "member").await;
        let m = |id: &str| format!("/auth/organizations/{org}/members/{id}");
        let r = app.get(&format!("/auth/organizations/{org}/members"), Some(&carol.pair.access)).await;
        r.assert_status(200);
        let roles: Vec<String> = r.json().as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap().to_owned()).collect();
        assert_eq!(roles, vec!["owner", "admin", "member"]);
        // The last owner cannot be demoted, nor leave.
        patch(&app, &m(&alice.id), json!({"role": "admin"}), &alice.pair.access)
            .await
            .assert_problem(409, "last_owner");
        app.delete(&m(&alice.id), Some(&alice.pair.access)).await.assert_problem(409, "last_owner");
        // A member changes nobody; an admin makes no owners and leaves owners alone.
        patch(&app, &m(&bob.id), json!({"role": "member"}), &carol.pair.access)
            .await
            .assert_problem(403, "forbidden");
        patch(&app, &m(&carol.id), json!({"role": "owner"}), &bob.pair.access)
            .await
            .assert_problem(403, "forbidden");
        patch(&app, &m(&alice.id), json!({"role": "member"}), &bob.pair.access)
            .await
            .assert_problem(403, "forbidden");
        app.delete(&m(&alice.id), Some(&bob.pair.access)).await.assert_problem(403, "forbidden");
        patch(&app, &m(&carol.id), json!({"role": "ghost"}), &bob.pair.access)
            .await
            .assert_problem(422, "validation_failed");
        let r = patch(&app, &m(&carol.id), json!({"role": "admin"}), &bob.pair.access).await;
        r.assert_status(200);
        assert_eq!(r.json()["role"], json!("admin"));
        // Two owners: one may step down.
        patch(&app, &m(&bob.id), json!({"role": "owner"}), &alice.pair.access).await.assert_status(200);
        patch(&app, &m(&alice.id), json!({"role": "member"}), &alice.pair.access).await.assert_status(200);
        // Leave; remove.
        app.delete(&m(&alice.id), Some(&alice.pair.access)).await.assert_status(204);
        app.get(&format!("/auth/organizations/{org}"), Some(&alice.pair.access)).await.assert_problem(404, "not_found");
        app.delete(&m(&carol.id), Some(&bob.pair.access)).await.assert_status(204);
        app.delete(&m(&carol.id), Some(&bob.pair.access)).await.assert_problem(404, "not_found");
        let events: Vec<String> = app.audit_all().await.into_iter().map(|e| e.event).collect();
        for e in ["organization.member_role_changed", "organization.member_left", "organization.member_removed"] {
            assert!(events.contains(&e.to_owned()), "{e}");
        }
        let ev = app.audit_all().await.into_iter().find(|e| e.event == "organization.member_removed").unwrap();
        assert_eq!(ev.detail["actor_id"], json!(bob.id));
        assert_eq!(ev.detail["account_id"], json!(carol.id));
    }
);

each_backend!(
    async fn custom_roles(b) {
        let app = org_app(b).await;
        let alice = app.user().await;
        let bob = verified_user(&app).await;
        let org = new_org(&app, &alice).await;
        join(&app, &org, &alice, &bob, "admin").await;
        let roles = format!("/auth/organizations/{org}/roles");
        let body = json!({"name": "billing", "permissions": ["invoices:write", "invoices:read", "invoices:read"]});
        app.post(&roles, body.clone(), Some(&bob.pair.access)).await.assert_problem(403, "forbidden");
        let r = app.post(&roles, body.clone(), Some(&alice.pair.access)).await;
        r.assert_status(201);
        assert_eq!(r.json(), json!({"name": "billing", "permissions": ["invoices:read", "invoices:write"], "builtin": false}));
        app.post(&roles, body, Some(&alice.pair.access)).await.assert_problem(409, "role_taken");
        app.post(&roles, json!({"name": "owner", "permissions": []}), Some(&alice.pair.access))
            .await
            .assert_problem(409, "role_taken");
        app.post(&roles, json!({"name": "Bad Name", "permissions": []}), Some(&alice.pair.access))
            .await
            .assert_problem(422, "validation_failed");
        let r = app.get(&roles, Some(&bob.pair.access)).await;
        r.assert_status(200);
        let names: Vec<String> = r.json().as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, vec!["owner", "admin", "member", "billing"]);
        let r = patch(&app, &format!("{roles}/billing"), json!({"permissions": ["invoices:read"]}), &alice.pair.access).await;
        r.assert_status(200);
        assert_eq!(r.json()["permissions"], json!(["invoices:read"]));
        patch(&app, &format!("{roles}/nobody"), json!({"permissions": []}), &alice.pair.access)
            .await
            .assert_problem(404, "not_found");
        // Built-in roles cannot be changed or deleted; a role in use stays.
        app.delete(&format!("{roles}/member"), Some(&alice.pair.access)).await.assert_problem(400, "bad_request");
        patch(&app, &format!("{roles}/admin"), json!({"permissions": []}), &alice.pair.access)
            .await
            .assert_problem(400, "bad_request");
        patch(&app, &format!("/auth/organizations/{org}/members/{}", bob.id), json!({"role": "billing"}), &alice.pair.access)
            .await
            .assert_status(200);
        app.delete(&format!("{roles}/billing"), Some(&alice.pair.access)).await.assert_problem(409, "role_in_use");
        patch(&app, &format!("/auth/organizations/{org}/members/{}", bob.id), json!({"role": "member"}), &alice.pair.access)
            .await
            .assert_status(200);
        app.delete(&format!("{roles}/billing"), Some(&alice.pair.access)).await.assert_status(204);
        app.delete(&format!("{roles}/billing"), Some(&alice.pair.access)).await.assert_problem(404, "not_found");
    }
);
