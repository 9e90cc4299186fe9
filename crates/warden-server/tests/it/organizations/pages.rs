//! The hosted organization pages through the real router: the journey of
//! issue 21 (create, invite through the dev outbox, accept, change the
//! role, the next token carries it, remove), the switcher, a foreign
//! organization, and the organizations in the admin console.

use super::*;
use crate::common::browser::{Browser, local};

fn org_id_of(page: &crate::common::browser::Page) -> String {
    let pat = "data-org-id=\"";
    let i = page.html.find(pat).expect("an organization row") + pat.len();
    page.html[i..i + 36].to_owned()
}

each_backend!(
    async fn organization_journey_through_the_pages(b) {
        let app = org_app(b).await;
        let mut alice = Browser::new(&app);
        let alice_login = unique("alice");
        alice.sign_up_and_in(&alice_login, PASSWORD).await;
        let page = alice.open("/ui/organizations").await;
        assert!(page.contains("You belong to no organization"), "{}", page.html);
        let slug = unique("acme").replace('_', "-");
        let page = alice.submit("/ui/organizations", &[("name", "Acme"), ("slug", &slug)]).await;
        assert_eq!(page.h1(), "Acme", "{}", page.html);
        assert!(page.contains("Organization created"));
        let list = alice.open("/ui/organizations").await;
        let org = org_id_of(&list);
        // The switcher.
        let page = alice.submit(&format!("/ui/organizations/{org}/switch"), &[]).await;
        assert!(page.contains("Acting for it"), "{}", page.html);
        let page = alice.submit("/ui/organizations/none/switch", &[]).await;
        assert!(!page.contains("Acting for it"), "{}", page.html);
        // A duplicate slug is shown, not a 500.
        let page = alice.submit("/ui/organizations", &[("name", "Again"), ("slug", &slug)]).await;
        assert!(page.alert().is_some_and(|a| a.contains("slug")), "{}", page.html);
        // Invite Bob; he reads the mail in the outbox and accepts on the page.
        let bob = verified_user(&app).await;
        let before = last_link(&app.outbox);
        let page = alice
            .submit(&format!("/ui/organizations/{org}/invitations"), &[("email", &email_of(&bob)), ("role", "member")])
            .await;
        assert!(page.contains("The invitation is sent"), "{}", page.html);
        assert!(page.contains(&email_of(&bob)));
        let link = wait_link(&app.outbox, before.as_deref()).await;
        assert!(link.contains("/ui/invitations/accept?token="), "{link}");
        let mut anon = Browser::new(&app);
        let page = anon.open(&local(&link)).await;
        assert!(page.contains("Sign in to accept"), "{}", page.html);
        let mut bob_browser = Browser::new(&app);
        bob_browser.sign_in(&bob.login, PASSWORD).await;
        let page = bob_browser.open(&local(&link)).await;
        assert_eq!(page.h1(), "Join Acme", "{}", page.html);
        let token = link.split("token=").nth(1).unwrap().to_owned();
        let page = bob_browser.submit("/ui/invitations/accept", &[("token", &token)]).await;
        assert!(page.contains("you are a member now"), "{}", page.html);
        assert_eq!(page.h1(), "Acme");
        // Used: the link page says so.
        let page = bob_browser.open(&local(&link)).await;
        assert_eq!(page.status.as_u16(), 400);
        // Bob acts for the organization in his app (JSON): role member.
        let acting = Pair::from_resp(&app.post_empty(&format!("/auth/organizations/{org}/activate"), Some(&bob.pair.access)).await);
        assert_eq!(acting.claims()["org_role"], json!("member"));
        // A member sees the members but cannot manage them.
        let page = bob_browser.open(&format!("/ui/organizations/{org}")).await;
        assert!(!page.contains("Send invitation") && !page.contains("Change role"), "{}", page.html);
        // Alice makes him an admin on the page: his next token carries it.
        let page = alice
            .submit(&format!("/ui/organizations/{org}/members/{}/role", bob.id), &[("role", "admin")])
            .await;
        assert!(page.contains("The role is changed"), "{}", page.html);
        assert_eq!(app.me_status(&acting.access).await.0, 401);
        let next = Pair::from_resp(&app.refresh(&acting.refresh).await);
        assert_eq!(next.claims()["org_role"], json!("admin"));
        // The last owner is refused with a message.
        let alice_id = app.store.account_by_login(&warden_core::model::normalize_login(&alice_login)).await.unwrap().unwrap().id;
        let page = alice
            .submit(&format!("/ui/organizations/{org}/members/{alice_id}/role"), &[("role", "member")])
            .await;
        assert!(page.alert().is_some_and(|a| a.contains("owner")), "{}", page.html);
        // Remove Bob: his token acting for it is refused, the page is gone for him.
        let page = alice.submit(&format!("/ui/organizations/{org}/members/{}/remove", bob.id), &[]).await;
        assert!(page.contains("The member is removed"), "{}", page.html);
        assert_eq!(app.me_status(&next.access).await.0, 401);
        let page = bob_browser.open(&format!("/ui/organizations/{org}")).await;
        assert_eq!(page.status.as_u16(), 404);
        // Roles on the page.
        let page = alice
            .submit(&format!("/ui/organizations/{org}/roles"), &[("name", "billing"), ("permissions", "invoices:read")])
            .await;
        assert!(page.contains("invoices:read"), "{}", page.html);
        let page = alice.submit(&format!("/ui/organizations/{org}/roles/billing/delete"), &[]).await;
        assert!(page.contains("The role is deleted"), "{}", page.html);
    }
);

each_backend!(
    async fn decline_page_and_admin_console(b) {
        let app = org_app(b).await;
        let owner = app.user().await;
        let org = new_org(&app, &owner).await;
        let before = last_link(&app.outbox);
        app.post(&format!("/auth/organizations/{org}/invitations"), json!({"email": "someone@example.com"}), Some(&owner.pair.access))
            .await
            .assert_status(201);
        let link = wait_link(&app.outbox, before.as_deref()).await;
        let token = link.split("token=").nth(1).unwrap().to_owned();
        let mut anon = Browser::new(&app);
        anon.open(&local(&link)).await;
        let page = anon.post("/ui/invitations/decline", &[("token", &token)]).await;
        assert!(page.contains("You declined the invitation"), "{}", page.html);
        // A stranger's page of the organization is 404.
        let mut stranger = Browser::new(&app);
        stranger.sign_up_and_in(&unique("eve"), PASSWORD).await;
        assert_eq!(stranger.open(&format!("/ui/organizations/{org}")).await.status.as_u16(), 404);
        // The admin console lists and deletes organizations.
        let admin_login = unique("admin");
        app.admin("POST", "/auth/admin/accounts", Some(json!({"login": admin_login, "password": PASSWORD, "scopes": ["admin"]})))
            .await
            .assert_status(201);
        let mut admin = Browser::new(&app);
        admin.sign_in(&admin_login, PASSWORD).await;
        let page = admin.open("/ui/admin/organizations").await;
        assert!(page.html.contains(&org), "{}", page.html);
        let page = admin.submit(&format!("/ui/admin/organizations/{org}/delete"), &[]).await;
        assert!(page.contains("The organization is deleted"), "{}", page.html);
        assert!(!page.html.contains(&org));
        assert_eq!(stranger.open("/ui/admin/organizations").await.status.as_u16(), 403);
    }
);
