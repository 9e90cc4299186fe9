//! Organizations through the real router on every backend (issue 21): the
//! routes of API.md "Organizations", foreign ids (404 with a second
//! organization), invitations read from the dev outbox, tokens acting for
//! an organization and their revocation on a role change or removal.

use crate::common::browser::{last_link, wait_link};
use crate::common::*;
use serde_json::{Value, json};
use std::path::PathBuf;

mod claims;
mod invitations;
mod members;
mod orgs;

/// An app with a dev outbox folder (removed on drop).
struct OrgApp {
    app: App,
    outbox: PathBuf,
}

impl Drop for OrgApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.outbox);
    }
}

impl std::ops::Deref for OrgApp {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

async fn org_app(b: Backend) -> OrgApp {
    org_app_with(b, |_| {}).await
}

async fn org_app_with(b: Backend, f: impl FnOnce(&mut warden_server::config::Config)) -> OrgApp {
    let outbox = std::env::temp_dir().join(format!("warden-org-outbox-{}", uuid::Uuid::now_v7()));
    let dir = outbox.display().to_string();
    let app = app_with(b, |c| {
        c.outbox_dir = dir;
        f(c);
    })
    .await;
    OrgApp { app, outbox }
}

/// A user with a verified email `<login>@example.com`.
async fn verified_user(app: &App) -> User {
    let u = app.user().await;
    let id = warden_core::model::AccountId::parse(&u.id).unwrap();
    let mut a = app.store.account_by_id(id).await.unwrap().unwrap();
    a.email = Some(format!("{}@example.com", u.login));
    a.email_verified = true;
    let now = app.warden.auth().now();
    app.store
        .update_account(&a, warden_core::store::Revoke::Nothing, now, &[])
        .await
        .unwrap();
    app.warden.auth().upkeep().sync().await.unwrap();
    u
}

fn email_of(u: &User) -> String {
    format!("{}@example.com", u.login)
}

async fn patch(app: &App, path: &str, body: Value, token: &str) -> Resp {
    let auth = format!("Bearer {token}");
    app.call(
        "PATCH",
        path,
        Some(body),
        &[("authorization", auth.as_str())],
    )
    .await
}

/// Create an organization as `u`; its id.
async fn new_org(app: &App, u: &User) -> String {
    let slug = unique("org").replace('_', "-");
    let r = app
        .post(
            "/auth/organizations",
            json!({"slug": slug, "name": "Acme"}),
            Some(&u.pair.access),
        )
        .await;
    r.assert_status(201);
    r.json()["id"].as_str().unwrap().to_owned()
}

/// Invite `email` with `role` as `by` and return the token of the mailed link.
async fn invite(app: &OrgApp, org: &str, by: &User, email: &str, role: &str) -> String {
    let before = last_link(&app.outbox);
    let r = app
        .post(
            &format!("/auth/organizations/{org}/invitations"),
            json!({"email": email, "role": role}),
            Some(&by.pair.access),
        )
        .await;
    r.assert_status(201);
    let link = wait_link(&app.outbox, before.as_deref()).await;
    link.split("token=").nth(1).unwrap().to_owned()
}

/// `u` joins `org` with `role` through an invitation from `owner`.
async fn join(app: &OrgApp, org: &str, owner: &User, u: &User, role: &str) {
    let token = invite(app, org, owner, &email_of(u), role).await;
    app.post(
        "/auth/invitations/accept",
        json!({"token": token}),
        Some(&u.pair.access),
    )
    .await
    .assert_status(200);
}
