//! `POST /auth/admin/accounts` with `password_hash`: every imported format
//! signs in, and the first success replaces it with Argon2id.

use crate::common::*;
use serde_json::{Value, json};
use warden_core::model::AccountId;

/// Create an account with an imported hash through the admin route.
async fn import(app: &App, login: &str, hash: &str) -> Value {
    let r = app
        .admin(
            "POST",
            "/auth/admin/accounts",
            Some(json!({"login": login, "password_hash": hash, "scopes": ["reports"]})),
        )
        .await;
    r.assert_status(201);
    assert!(
        !r.text().contains(hash),
        "no hash in the answer: {}",
        r.text()
    );
    r.json()
}

async fn stored_hash(app: &App, id: &str) -> String {
    let id = AccountId::parse(id).expect("account id");
    let a = app
        .store
        .account_by_id(id)
        .await
        .unwrap()
        .expect("stored account");
    a.password_hash.expect("a password hash")
}

each_backend!(
    async fn every_imported_hash_signs_in_and_becomes_argon2id(b) {
        let app = app(b).await;
        for (scheme, hash) in IMPORTED_HASHES {
            let login = unique("imported");
            let body = import(&app, &login, hash).await;
            let id = body["id"].as_str().unwrap().to_owned();
            assert_eq!(body["scopes"], json!(["reports"]));
            assert_eq!(stored_hash(&app, &id).await, *hash, "kept as imported until a sign-in");

            let pair = app.login_pair(&login, IMPORTED_PASSWORD).await;
            assert_eq!(pair.claims()["sub"], json!(id), "{hash}");
            let upgraded = stored_hash(&app, &id).await;
            assert!(upgraded.starts_with("$argon2id$"), "{hash} became {upgraded}");
            if hash.starts_with("$argon2id$") {
                assert_eq!(upgraded, *hash, "an Argon2id hash is kept");
            } else {
                assert_ne!(upgraded, *hash, "{hash} was replaced");
            }
            // The same password still signs in, against the new hash; a wrong one fails.
            app.login_pair(&login, IMPORTED_PASSWORD).await;
            app.login(&login, "Correct-horse-9?").await.assert_problem(401, "invalid_credentials");
            assert_eq!(stored_hash(&app, &id).await, upgraded, "rehashed once");

            let events: Vec<_> = app
                .audit_all()
                .await
                .into_iter()
                .filter(|e| e.account_id.map(|a| a.to_string()) == Some(id.clone()))
                .collect();
            let created = events.iter().find(|e| e.event == "account.created").expect("account.created");
            assert_eq!(created.detail["password_hash"], json!(scheme), "{hash}");
            let rehashed: Vec<_> = events.iter().filter(|e| e.event == "password.rehashed").collect();
            if hash.starts_with("$argon2id$") {
                assert!(rehashed.is_empty(), "{hash}: {rehashed:?}");
            } else {
                assert_eq!(rehashed.len(), 1, "{hash}: {events:?}");
                assert_eq!(rehashed[0].detail, json!({"from": scheme, "to": "argon2id"}));
            }
            assert!(
                !events.iter().any(|e| e.detail.to_string().contains(hash)),
                "no hash in the audit"
            );
        }
    }
);

each_backend!(
    async fn wrong_passwords_against_an_imported_hash_count_to_lockout(b) {
        let app = app_with(b, |c| c.block_tries = 3).await;
        let login = unique("locked");
        let (_, bcrypt) = IMPORTED_HASHES.iter().find(|(s, _)| *s == "bcrypt").unwrap();
        let id = import(&app, &login, bcrypt).await["id"].as_str().unwrap().to_owned();
        for _ in 0..3 {
            app.login(&login, "not the password").await.assert_problem(401, "invalid_credentials");
        }
        app.login(&login, IMPORTED_PASSWORD).await.assert_problem(429, "too_many_attempts");
        assert_eq!(stored_hash(&app, &id).await, *bcrypt, "a locked login does not rehash");
        let failures = app
            .audit_all()
            .await
            .into_iter()
            .filter(|e| e.event == "login.failure" && e.account_id.map(|a| a.to_string()) == Some(id.clone()))
            .count();
        assert_eq!(failures, 3);
        app.admin("POST", &format!("/auth/admin/accounts/{id}/unblock"), None).await.assert_status(204);
        app.login_pair(&login, IMPORTED_PASSWORD).await;
        assert!(stored_hash(&app, &id).await.starts_with("$argon2id$"));
    }
);

each_backend!(
    async fn an_unknown_malformed_or_doubled_password_hash_is_422_and_creates_nothing(b) {
        let app = app(b).await;
        let (_, bcrypt) = IMPORTED_HASHES.iter().find(|(s, _)| *s == "bcrypt").unwrap();
        let login = unique("bad-hash");
        for (body, field) in [
            (json!({"login": login, "password_hash": "$md5$abc$def"}), "password_hash"),
            (json!({"login": login, "password_hash": "$2b$04$short"}), "password_hash"),
            (json!({"login": login, "password_hash": "plain text"}), "password_hash"),
            (json!({"login": login, "password_hash": ""}), "password_hash"),
            (json!({"login": login, "password_hash": bcrypt, "password": PASSWORD}), "password_hash"),
            (json!({"login": login}), "password"),
        ] {
            let r = app.admin("POST", "/auth/admin/accounts", Some(body.clone())).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.error_fields(), vec![field.to_owned()], "{body}");
        }
        let list = app.admin("GET", &format!("/auth/admin/accounts?q={login}"), None).await;
        assert_eq!(list.json()["items"], json!([]), "nothing was created");
        // Self-service registration never takes a hash.
        let r = app
            .post("/auth/register", json!({"login": login, "password_hash": bcrypt}), None)
            .await;
        assert_eq!(r.status.as_u16(), 422, "{}", r.text());
        app.login(&login, IMPORTED_PASSWORD).await.assert_problem(401, "invalid_credentials");
    }
);

#[tokio::test]
async fn the_openapi_document_describes_password_hash() {
    let app = app(Backend::Memory).await;
    let doc = app.get("/openapi.json", None).await.json();
    let body = &doc["components"]["schemas"]["AdminCreateBody"];
    assert!(body["properties"]["password_hash"].is_object(), "{body}");
    assert!(body["properties"]["password"].is_object(), "{body}");
    let required: Vec<&str> = body["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        !required.contains(&"password"),
        "password is optional now: {required:?}"
    );
    assert!(required.contains(&"login"), "{required:?}");
}
