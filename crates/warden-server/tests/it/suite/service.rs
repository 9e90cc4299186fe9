use crate::common::*;
use serde_json::json;

each_backend!(
    async fn health_ready_and_metrics_answer(b) {
        let app = app(b).await;
        let r = app.get("/healthz", None).await;
        r.assert_status(200);
        let r = app.get("/readyz", None).await;
        r.assert_status(200);
        assert_eq!(r.json()["status"], json!("ready"));
        app.user().await;
        let r = app.get("/metrics", None).await;
        r.assert_status(200);
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
        let text = r.text();
        assert!(text.contains("warden_"), "{text}");
        assert!(text.contains("warden_logins_total"), "{text}");
    }
);

each_backend!(
    async fn openapi_lists_every_documented_route(b) {
        let app = app(b).await;
        let r = app.get("/openapi.json", None).await;
        r.assert_status(200);
        let doc = r.json();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
        let paths = doc["paths"].as_object().unwrap();
        let want: &[(&str, &[&str])] = &[
            ("/auth/register", &["post"]),
            ("/auth/login", &["post"]),
            ("/auth/refresh", &["post"]),
            ("/auth/logout", &["post"]),
            ("/auth/logout/all", &["post"]),
            ("/auth/me", &["get"]),
            ("/auth/sessions", &["get"]),
            ("/auth/sessions/{id}", &["delete"]),
            ("/auth/password", &["post"]),
            ("/auth/fresh", &["post"]),
            ("/auth/login/change", &["post"]),
            ("/auth/admin/accounts", &["get", "post"]),
            ("/auth/admin/accounts/{id}", &["get", "patch", "delete"]),
            ("/auth/admin/accounts/{id}/block", &["post", "get"]),
            ("/auth/admin/accounts/{id}/unblock", &["post"]),
            ("/auth/admin/accounts/{id}/mfa", &["delete"]),
            ("/auth/admin/accounts/{id}/sessions", &["delete"]),
            ("/auth/admin/audit", &["get"]),
            ("/.well-known/jwks.json", &["get"]),
        ];
        for (p, methods) in want {
            let item = paths.get(*p).unwrap_or_else(|| panic!("{p} missing; have {:?}", paths.keys().collect::<Vec<_>>()));
            for m in *methods {
                assert!(item.get(*m).is_some(), "{m} {p} missing");
            }
        }
        // hide_docs leaves the admin routes out.
        let hidden = app_with(b, |c| c.hide_docs = true).await;
        let doc = hidden.get("/openapi.json", None).await.json();
        assert!(!doc["paths"].as_object().unwrap().keys().any(|k| k.contains("/admin")));
    }
);

each_backend!(
    async fn docs_serve_html(b) {
        let app = app(b).await;
        let r = app.get("/docs/", None).await;
        r.assert_status(200);
        assert!(r.header("content-type").unwrap().starts_with("text/html"), "{:?}", r.headers);
        assert!(r.text().to_lowercase().contains("<html"));
        let off = app_with(b, |c| c.docs = false).await;
        off.get("/docs/", None).await.assert_problem(404, "not_found");
        off.get("/openapi.json", None).await.assert_problem(404, "not_found");
    }
);

each_backend!(
    async fn unknown_routes_and_wrong_methods_answer_problem_json(b) {
        let app = app(b).await;
        app.get("/nope", None).await.assert_problem(404, "not_found");
        app.get("/auth/nope", None).await.assert_problem(404, "not_found");
        let r = app.get("/auth/login", None).await;
        r.assert_problem(405, "method_not_allowed");
        app.call("DELETE", "/healthz", None, &[]).await.assert_problem(405, "method_not_allowed");
        app.call("PUT", "/auth/me", None, &[]).await.assert_status(405);
    }
);
