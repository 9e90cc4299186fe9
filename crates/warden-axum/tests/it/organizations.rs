//! The organization extractors, the `org_permissions` path rule and the
//! organization hook, through a real router on every backend.

use crate::common::*;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use std::sync::{Arc, Mutex};
use warden_axum::{CurrentOrganization, PathRules, RequireOrgPermission, Rule, Warden};
use warden_core::hooks::OrgEvent;
use warden_core::model::ClientInfo;
use warden_core::organizations::NewOrganization;

warden_axum::org_permissions!(ManageRoles = ["org:roles"]);
warden_axum::org_permissions!(InvoicesRead = ["invoices:read"]);

async fn org_h(CurrentOrganization(o): CurrentOrganization) -> String {
    format!("{} {}", o.id, o.role)
}
async fn maybe_org(o: Option<CurrentOrganization>) -> String {
    o.map_or_else(|| "none".to_owned(), |o| o.0.role)
}
async fn roles_h(RequireOrgPermission(o, ..): RequireOrgPermission<ManageRoles>) -> String {
    o.role
}
async fn invoices_h(RequireOrgPermission(o, ..): RequireOrgPermission<InvoicesRead>) -> String {
    o.role
}
async fn ruled() -> &'static str {
    "ruled"
}

async fn app(backend: Backend, events: Arc<Mutex<Vec<OrgEvent>>>) -> (Warden, Router) {
    let (b, _clock) = builder(backend).await;
    let w = b
        .hook_organization_event(move |e| {
            let events = events.clone();
            async move {
                events.lock().unwrap().push(e);
                Ok(())
            }
        })
        .build()
        .await
        .unwrap();
    let rules = PathRules::new().rule(
        Rule::new("/ruled")
            .methods(["jwt"])
            .org_permissions(["org:delete"]),
    );
    let app = Router::new()
        .route("/org", get(org_h))
        .route("/maybe-org", get(maybe_org))
        .route("/roles", get(roles_h))
        .route("/invoices", get(invoices_h))
        .route("/ruled", get(ruled))
        .layer(w.rules_layer(rules))
        .nest("/auth", w.router())
        .with_state(w.clone());
    (w, app)
}

each_backend!(
    async fn organization_extractors_rules_and_hook(b) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let (w, app) = app(b, events.clone()).await;
        let id = account(&w, "olga", &[]).await;
        let owner = w.auth().accounts().account(id).await.unwrap();
        let new = NewOrganization {
            slug: "olgas-team".into(),
            name: "Olga's team".into(),
            properties: None,
        };
        let org = w.auth().organizations().create(&owner, new, &ClientInfo::default()).await.unwrap();
        assert!(matches!(&events.lock().unwrap()[..], [OrgEvent::MemberAdded(m)] if m.role == "owner"));
        let plain = login(&w, "olga").await;
        let auth = bearer(&plain.access_token);
        let h = [("authorization", auth.as_str())];
        // Without an active organization.
        let r = get_with(&app, "/org", &h).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
        assert_eq!(get_with(&app, "/maybe-org", &h).await.text, "none");
        assert_eq!(get_with(&app, "/maybe-org", &[]).await.text, "none");
        assert_eq!(get_with(&app, "/org", &[]).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(get_with(&app, "/ruled", &h).await.status, StatusCode::FORBIDDEN);
        // Acting for it.
        let r = post_json(&app, "/auth/organizations/olgas-team/activate", &h, json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let acting = bearer(r.body["access_token"].as_str().unwrap());
        let h = [("authorization", acting.as_str())];
        assert_eq!(get_with(&app, "/org", &h).await.text, format!("{} owner", org.id));
        assert_eq!(get_with(&app, "/maybe-org", &h).await.text, "owner");
        assert_eq!(get_with(&app, "/roles", &h).await.text, "owner");
        let r = get_with(&app, "/invoices", &h).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.text.contains("invoices:read"), "{}", r.text);
        assert_eq!(get_with(&app, "/ruled", &h).await.text, "ruled");
        // The organization is deleted: its tokens are refused.
        w.auth().organizations().delete(id, org.id, &ClientInfo::default()).await.unwrap();
        assert_eq!(get_with(&app, "/org", &h).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(get_with(&app, "/maybe-org", &h).await.status, StatusCode::UNAUTHORIZED);
    }
);
