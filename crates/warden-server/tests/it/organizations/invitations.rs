//! Invitations: the mailed single-use link (read from the dev outbox), the
//! invited address only, decline, revoke, the send limit.

use super::*;

each_backend!(
    async fn invite_accept_once_by_the_invited_address_only(b) {
        let app = org_app(b).await;
        let alice = app.user().await;
        let bob = verified_user(&app).await;
        let eve = verified_user(&app).await;
        let org = new_org(&app, &alice).await;
        let inv = format!("/auth/organizations/{org}/invitations");
        let before = last_link(&app.outbox);
        let r = app.post(&inv, json!({"email": email_of(&bob), "role": "admin"}), Some(&alice.pair.access)).await;
        r.assert_status(201);
        let sent = r.json();
        assert_eq!(sent["email"], json!(email_of(&bob)));
        assert_eq!(sent["role"], json!("admin"));
        assert!(sent["expires_at"].is_string() && sent.get("token").is_none(), "{sent}");
        let link = wait_link(&app.outbox, before.as_deref()).await;
        assert!(link.contains("/invitations/accept?token=wiv_"), "{link}");
        let token = link.split("token=").nth(1).unwrap().to_owned();
        // Listed while pending (owner, admin).
        let r = app.get(&inv, Some(&alice.pair.access)).await;
        r.assert_status(200);
        assert_eq!(r.json()[0]["id"], sent["id"]);
        // Another address: 403, and the invitation still works.
        app.post("/auth/invitations/accept", json!({"token": token}), Some(&eve.pair.access))
            .await
            .assert_problem(403, "forbidden");
        // Not signed in: 401.
        app.post("/auth/invitations/accept", json!({"token": token}), None)
            .await
            .assert_problem(401, "unauthenticated");
        let r = app.post("/auth/invitations/accept", json!({"token": token}), Some(&bob.pair.access)).await;
        r.assert_status(200);
        let m = r.json();
        assert_eq!((m["role"].clone(), m["account_id"].clone(), m["login"].clone()), (json!("admin"), json!(bob.id), json!(bob.login)));
        assert_eq!(m["organization"], json!(org));
        // Used: 400 invalid_token for accept and decline.
        app.post("/auth/invitations/accept", json!({"token": token}), Some(&bob.pair.access))
            .await
            .assert_problem(400, "invalid_token");
        app.post("/auth/invitations/decline", json!({"token": token}), None)
            .await
            .assert_problem(400, "invalid_token");
        app.post("/auth/invitations/accept", json!({"token": "wiv_nope"}), Some(&bob.pair.access))
            .await
            .assert_problem(400, "invalid_token");
        assert!(app.get(&inv, Some(&alice.pair.access)).await.json().as_array().unwrap().is_empty());
        // An admin sends invitations, but not for owners; members send none.
        app.post(&inv, json!({"email": "z@example.com", "role": "owner"}), Some(&bob.pair.access))
            .await
            .assert_problem(403, "forbidden");
        app.post(&inv, json!({"email": "z@example.com", "role": "ghost"}), Some(&bob.pair.access))
            .await
            .assert_problem(422, "validation_failed");
        app.post(&inv, json!({"email": "not an address", "role": "member"}), Some(&bob.pair.access))
            .await
            .assert_problem(422, "validation_failed");
        join(&app, &org, &bob, &eve, "member").await;
        app.post(&inv, json!({"email": "z@example.com"}), Some(&eve.pair.access))
            .await
            .assert_problem(403, "forbidden");
        app.get(&inv, Some(&eve.pair.access)).await.assert_problem(403, "forbidden");
    }
);

each_backend!(
    async fn unverified_email_decline_and_revoke(b) {
        let app = org_app(b).await;
        let alice = app.user().await;
        let unverified = app.user().await;
        let org = new_org(&app, &alice).await;
        let token = invite(&app, &org, &alice, &format!("{}@example.com", unverified.login), "member").await;
        app.post("/auth/invitations/accept", json!({"token": token}), Some(&unverified.pair.access))
            .await
            .assert_problem(403, "forbidden");
        app.post("/auth/invitations/decline", json!({"token": token}), None).await.assert_status(204);
        app.post("/auth/invitations/decline", json!({"token": token}), None)
            .await
            .assert_problem(400, "invalid_token");
        // Revoked: the link stops working; a foreign or unknown id is 404.
        let bob = verified_user(&app).await;
        let token = invite(&app, &org, &alice, &email_of(&bob), "member").await;
        let list = app.get(&format!("/auth/organizations/{org}/invitations"), Some(&alice.pair.access)).await.json();
        let iid = list[0]["id"].as_str().unwrap().to_owned();
        let path = format!("/auth/organizations/{org}/invitations/{iid}");
        app.delete(&path, Some(&alice.pair.access)).await.assert_status(204);
        app.delete(&path, Some(&alice.pair.access)).await.assert_problem(404, "not_found");
        app.post("/auth/invitations/accept", json!({"token": token}), Some(&bob.pair.access))
            .await
            .assert_problem(400, "invalid_token");
        // Deleting the organization ends its invitations too.
        let token = invite(&app, &org, &alice, &email_of(&bob), "member").await;
        app.delete(&format!("/auth/organizations/{org}"), Some(&alice.pair.access)).await.assert_status(204);
        app.post("/auth/invitations/accept", json!({"token": token}), Some(&bob.pair.access))
            .await
            .assert_problem(400, "invalid_token");
        let events: Vec<String> = app.audit_all().await.into_iter().map(|e| e.event).collect();
        for e in ["organization.invitation_declined", "organization.invitation_revoked"] {
            assert!(events.contains(&e.to_owned()), "{e}");
        }
    }
);

each_backend!(
    async fn invitation_sends_are_limited(b) {
        let app = org_app_with(b, |c| c.invitation_sends = 2).await;
        let alice = app.user().await;
        let org = new_org(&app, &alice).await;
        let other = new_org(&app, &alice).await;
        let inv = format!("/auth/organizations/{org}/invitations");
        for n in 0..2 {
            app.post(&inv, json!({"email": format!("p{n}@example.com")}), Some(&alice.pair.access))
                .await
                .assert_status(201);
        }
        let r = app.post(&inv, json!({"email": "p3@example.com"}), Some(&alice.pair.access)).await;
        r.assert_problem(429, "too_many_attempts");
        assert!(r.header("retry-after").is_some());
        // Per organization.
        app.post(&format!("/auth/organizations/{other}/invitations"), json!({"email": "p4@example.com"}), Some(&alice.pair.access))
            .await
            .assert_status(201);
    }
);
