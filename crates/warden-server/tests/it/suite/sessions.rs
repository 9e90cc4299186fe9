use crate::common::*;
use serde_json::{Value, json};

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

each_backend!(
    async fn sessions_list_marks_current_and_records_ip_and_user_agent(b) {
        let app = app(b).await;
        let addr = serve(app.router.clone()).await;
        let login = unique("sess");
        app.register(&login, PASSWORD).await.assert_status(201);
        let body = json!({"login": login, "password": PASSWORD});
        let r1 = http(addr, "POST", "/auth/login", &[("user-agent", "agent-one/1.0")], Some(&body)).await;
        let p1 = Pair::from_resp(&r1);
        let r2 = http(addr, "POST", "/auth/login", &[("user-agent", "agent-two/2.0")], Some(&json!({"login": login, "password": PASSWORD, "remember": true}))).await;
        let p2 = Pair::from_resp(&r2);
        let r = http(addr, "GET", "/auth/sessions", &[("authorization", &bearer(&p1.access))], None).await;
        r.assert_status(200);
        let list = r.json();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 2, "{list:?}");
        let s1 = list.iter().find(|s| s["id"] == json!(p1.session_id)).unwrap();
        let s2 = list.iter().find(|s| s["id"] == json!(p2.session_id)).unwrap();
        assert_eq!(s1["current"], json!(true));
        assert_eq!(s2["current"], json!(false));
        assert_eq!(s1["ip"], json!("127.0.0.1"));
        assert_eq!(s1["user_agent"], json!("agent-one/1.0"));
        assert_eq!(s2["user_agent"], json!("agent-two/2.0"));
        assert_eq!(s1["long"], json!(false));
        assert_eq!(s2["long"], json!(true));
        for k in ["created_at", "last_seen_at", "expires_at"] {
            assert!(s1[k].is_string(), "{k}: {s1}");
        }
        // Newest first.
        assert_eq!(list[0]["id"], json!(p2.session_id));
    }
);

each_backend!(
    async fn deleting_an_own_session_revokes_it(b) {
        let app = app(b).await;
        let u = app.user().await;
        let other = app.login_pair(&u.login, PASSWORD).await;
        app.delete(&format!("/auth/sessions/{}", other.session_id), Some(&u.pair.access)).await.assert_status(204);
        app.get("/auth/me", Some(&other.access)).await.assert_problem(401, "invalid_token");
        app.refresh(&other.refresh).await.assert_problem(401, "invalid_refresh_token");
        assert_eq!(app.me_status(&u.pair.access).await.0, 200);
        let list: Value = app.get("/auth/sessions", Some(&u.pair.access)).await.json();
        assert_eq!(list.as_array().unwrap().len(), 1);
        // Deleting it again: 404.
        app.delete(&format!("/auth/sessions/{}", other.session_id), Some(&u.pair.access)).await.assert_problem(404, "not_found");
    }
);

each_backend!(
    async fn deleting_another_accounts_session_is_not_found(b) {
        let app = app(b).await;
        let me = app.user().await;
        let them = app.user().await;
        app.delete(&format!("/auth/sessions/{}", them.pair.session_id), Some(&me.pair.access)).await.assert_problem(404, "not_found");
        assert_eq!(app.me_status(&them.pair.access).await.0, 200, "their session survives");
        app.delete("/auth/sessions/not-a-uuid", Some(&me.pair.access)).await.assert_problem(404, "not_found");
        app.delete(&format!("/auth/sessions/{}", uuid::Uuid::now_v7()), Some(&me.pair.access)).await.assert_problem(404, "not_found");
    }
);

each_backend!(
    async fn x_forwarded_for_is_ignored_unless_the_peer_is_trusted(b) {
        for (trusted, expected) in [(false, "127.0.0.1"), (true, "203.0.113.7")] {
            let app = app_with(b, |c| {
                if trusted {
                    c.trusted_proxies = warden_server::config::List(vec!["127.0.0.1".into()]);
                }
            })
            .await;
            let addr = serve(app.router.clone()).await;
            let login = unique("xff");
            app.register(&login, PASSWORD).await.assert_status(201);
            let body = json!({"login": login, "password": PASSWORD});
            let p = Pair::from_resp(&http(addr, "POST", "/auth/login", &[("x-forwarded-for", "203.0.113.7")], Some(&body)).await);
            let r = http(addr, "GET", "/auth/sessions", &[("authorization", &bearer(&p.access))], None).await;
            let list = r.json();
            assert_eq!(list[0]["ip"], json!(expected), "trusted={trusted}: {list}");
            let ev = app.audit_all().await.into_iter().find(|e| e.event == "login.success").unwrap();
            assert_eq!(ev.ip.as_deref(), Some(expected), "audit ip, trusted={trusted}");
        }
    }
);
