//! Creating, reading, changing and deleting organizations; foreign ids;
//! the admin counterparts.

use super::*;

each_backend!(
    async fn create_list_get_patch_delete(b) {
        let app = org_app(b).await;
        let alice = app.user().await;
        let slug = unique("acme").replace('_', "-");
        let body = json!({"slug": slug, "name": "Acme", "properties": {"plan": "pro"}});
        let r = app.post("/auth/organizations", body.clone(), Some(&alice.pair.access)).await;
        r.assert_status(201);
        let org = r.json();
        assert_eq!(org["slug"], json!(slug));
        assert_eq!(org["properties"], json!({"plan": "pro"}));
        let id = org["id"].as_str().unwrap().to_owned();
        // Same slug: 409 slug_taken.
        app.post("/auth/organizations", body, Some(&alice.pair.access))
            .await
            .assert_problem(409, "slug_taken");
        // Bad slugs and names: 422 naming the field.
        for bad in ["ab", "Has-Caps", "0190a0f4-0000-7000-8000-000000000000"] {
            let r = app
                .post("/auth/organizations", json!({"slug": bad, "name": "x"}), Some(&alice.pair.access))
                .await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.error_fields(), vec!["slug".to_owned()]);
        }
        app.post("/auth/organizations", json!({"slug": "okay-slug", "name": " "}), Some(&alice.pair.access))
            .await
            .assert_problem(422, "validation_failed");
        app.post("/auth/organizations", json!({"slug": "x"}), None)
            .await
            .assert_problem(401, "unauthenticated");
        // Mine: with the role.
        let r = app.get("/auth/organizations", Some(&alice.pair.access)).await;
        r.assert_status(200);
        let mine = r.json();
        assert_eq!(mine.as_array().unwrap().len(), 1);
        assert_eq!(mine[0]["role"], json!("owner"));
        assert_eq!(mine[0]["organization"]["id"], json!(id));
        let path = format!("/auth/organizations/{id}");
        app.get(&path, Some(&alice.pair.access)).await.assert_status(200);
        let r = patch(&app, &path, json!({"name": "Acme GmbH", "properties": {"plan": "free"}}), &alice.pair.access).await;
        r.assert_status(200);
        assert_eq!(r.json()["name"], json!("Acme GmbH"));
        assert_eq!(app.get(&path, Some(&alice.pair.access)).await.json()["properties"], json!({"plan": "free"}));
        patch(&app, &path, json!({"properties": [1]}), &alice.pair.access)
            .await
            .assert_problem(422, "validation_failed");
        // A member may read but not change or delete.
        let bob = verified_user(&app).await;
        join(&app, &id, &alice, &bob, "member").await;
        app.get(&path, Some(&bob.pair.access)).await.assert_status(200);
        patch(&app, &path, json!({"name": "Mine"}), &bob.pair.access)
            .await
            .assert_problem(403, "forbidden");
        app.delete(&path, Some(&bob.pair.access)).await.assert_problem(403, "forbidden");
        // An admin may change, not delete.
        let carol = verified_user(&app).await;
        join(&app, &id, &alice, &carol, "admin").await;
        patch(&app, &path, json!({"name": "By admin"}), &carol.pair.access).await.assert_status(200);
        app.delete(&path, Some(&carol.pair.access)).await.assert_problem(403, "forbidden");
        // The owner deletes: gone for everyone.
        app.delete(&path, Some(&alice.pair.access)).await.assert_status(204);
        app.get(&path, Some(&alice.pair.access)).await.assert_problem(404, "not_found");
        assert!(app.get("/auth/organizations", Some(&bob.pair.access)).await.json().as_array().unwrap().is_empty());
        let events: Vec<String> = app.audit_all().await.into_iter().map(|e| e.event).collect();
        for e in ["organization.created", "organization.updated", "organization.deleted", "organization.invitation_sent", "organization.invitation_accepted"] {
            assert!(events.contains(&e.to_owned()), "{e}");
        }
    }
);

each_backend!(
    async fn foreign_ids_are_not_found_on_every_route(b) {
        let app = org_app(b).await;
        let alice = app.user().await;
        let mallory = verified_user(&app).await;
        let theirs = new_org(&app, &alice).await;
        let _mine = new_org(&app, &mallory).await;
        let alice_id = &alice.id;
        let t = mallory.pair.access.as_str();
        let iid = uuid::Uuid::now_v7();
        let o = format!("/auth/organizations/{theirs}");
        let calls: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", o.clone(), None),
            ("PATCH", o.clone(), Some(json!({"name": "x"}))),
            ("DELETE", o.clone(), None),
            ("GET", format!("{o}/members"), None),
            ("PATCH", format!("{o}/members/{alice_id}"), Some(json!({"role": "member"}))),
            ("DELETE", format!("{o}/members/{alice_id}"), None),
            ("POST", format!("{o}/invitations"), Some(json!({"email": "x@example.com", "role": "member"}))),
            ("GET", format!("{o}/invitations"), None),
            ("DELETE", format!("{o}/invitations/{iid}"), None),
            ("GET", format!("{o}/roles"), None),
            ("POST", format!("{o}/roles"), Some(json!({"name": "billing", "permissions": []}))),
            ("PATCH", format!("{o}/roles/billing"), Some(json!({"permissions": []}))),
            ("DELETE", format!("{o}/roles/billing"), None),
            ("POST", format!("{o}/activate"), None),
            ("GET", "/auth/organizations/not-a-uuid/members".to_owned(), None),
        ];
        let auth = format!("Bearer {t}");
        for (method, path, body) in calls {
            let r = app.call(method, &path, body, &[("authorization", auth.as_str())]).await;
            assert_eq!(r.status.as_u16(), 404, "{method} {path}: {}", r.text());
        }
        // The organization is untouched.
        let r = app.get(&o, Some(&alice.pair.access)).await;
        r.assert_status(200);
        assert_eq!(app.get(&format!("{o}/members"), Some(&alice.pair.access)).await.json().as_array().unwrap().len(), 1);
    }
);

each_backend!(
    async fn admin_counterparts(b) {
        let app = org_app(b).await;
        let alice = app.user().await;
        let a = new_org(&app, &alice).await;
        let b2 = new_org(&app, &alice).await;
        let r = app.admin("GET", "/auth/admin/organizations?limit=1", None).await;
        r.assert_status(200);
        let page = r.json();
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        let cursor = page["next_cursor"].as_str().unwrap().to_owned();
        let r = app.admin("GET", &format!("/auth/admin/organizations?limit=1&cursor={cursor}"), None).await;
        assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
        assert_eq!(r.json()["next_cursor"], Value::Null);
        let r = app.admin("GET", &format!("/auth/admin/organizations/{a}/members"), None).await;
        r.assert_status(200);
        assert_eq!(r.json()[0]["login"], json!(alice.login));
        app.admin("GET", &format!("/auth/admin/organizations/{b2}"), None).await.assert_status(200);
        app.admin("DELETE", &format!("/auth/admin/organizations/{b2}"), None).await.assert_status(204);
        app.admin("GET", &format!("/auth/admin/organizations/{b2}"), None).await.assert_problem(404, "not_found");
        app.admin("GET", "/auth/admin/organizations?cursor=zzz", None).await.assert_problem(422, "validation_failed");
        app.get("/auth/admin/organizations", Some(&alice.pair.access)).await.assert_problem(403, "forbidden");
    }
);
