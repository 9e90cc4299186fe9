use crate::common::*;
use serde_json::{Value, json};
use std::sync::Arc;
use warden_core::clock::{Clock, ManualClock};

fn sign_hs(alg: jsonwebtoken::Algorithm, kid: &str, claims: &Value, secret: &[u8]) -> String {
    let mut h = jsonwebtoken::Header::new(alg);
    h.typ = Some("at+jwt".into());
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, claims, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap()
}

async fn jwks(app: &App) -> Value {
    let r = app.get("/.well-known/jwks.json", None).await;
    r.assert_status(200);
    r.json()
}

both!(
    async fn access_token_has_the_documented_header_and_claims(b) {
        let app = app(b).await;
        let u = app.user().await;
        let (h, c) = jwt_parts(&u.pair.access);
        assert_eq!(h["alg"], json!("EdDSA"));
        assert_eq!(h["typ"], json!("at+jwt"));
        let kid = h["kid"].as_str().expect("kid").to_owned();
        let set = jwks(&app).await;
        let keys = set["keys"].as_array().unwrap();
        let jwk = keys.iter().find(|k| k["kid"] == json!(kid)).unwrap_or_else(|| panic!("kid {kid} not in {set}"));
        assert_eq!(jwk["kty"], json!("OKP"));
        assert_eq!(jwk["crv"], json!("Ed25519"));
        assert!(jwk.get("d").is_none(), "no private part in JWKS");
        assert_eq!(c["iss"], json!("warden"));
        assert_eq!(c["sub"], json!(u.id));
        assert_eq!(c["sid"], json!(u.pair.session_id));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let iat = c["iat"].as_i64().unwrap();
        assert!((iat - now).abs() < 60);
        assert_eq!(c["nbf"].as_i64().unwrap(), iat);
        assert_eq!(c["exp"].as_i64().unwrap(), iat + 300);
        assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()));
        assert_eq!(c["scope"], json!(""));
        assert_eq!(c["fresh"], json!(true));
        assert_eq!(c["amr"], json!(["pwd"]));
        assert!(c.get("aud").is_none());
        // Two logins have different jti.
        let other = app.login_pair(&u.login, PASSWORD).await;
        assert_ne!(other.claims()["jti"], c["jti"]);
        assert_eq!(app.me_status(&u.pair.access).await.0, 200);
    }
);

both!(
    async fn tampered_payload_is_refused(b) {
        let app = app(b).await;
        let u = app.user().await;
        let parts: Vec<&str> = u.pair.access.split('.').collect();
        let mut claims = u.pair.claims();
        claims["scope"] = json!("admin");
        let forged = format!("{}.{}.{}", parts[0], b64e(&serde_json::to_vec(&claims).unwrap()), parts[2]);
        app.get("/auth/me", Some(&forged)).await.assert_problem(401, "invalid_token");
        app.get("/auth/admin/accounts", Some(&forged)).await.assert_problem(401, "invalid_token");
        // Garbage and a flipped signature are refused too.
        app.get("/auth/me", Some("not.a.jwt")).await.assert_problem(401, "invalid_token");
        let mut sig = b64d(parts[2]);
        sig[0] ^= 1;
        let flipped = format!("{}.{}.{}", parts[0], parts[1], b64e(&sig));
        app.get("/auth/me", Some(&flipped)).await.assert_problem(401, "invalid_token");
    }
);

both!(
    async fn alg_none_token_is_refused(b) {
        let app = app(b).await;
        let u = app.user().await;
        let (mut h, c) = jwt_parts(&u.pair.access);
        h["alg"] = json!("none");
        let enc = |v: &Value| b64e(&serde_json::to_vec(v).unwrap());
        for t in [format!("{}.{}.", enc(&h), enc(&c)), format!("{}.{}", enc(&h), enc(&c))] {
            app.get("/auth/me", Some(&t)).await.assert_problem(401, "invalid_token");
        }
        h["alg"] = json!("None");
        let t = format!("{}.{}.", enc(&h), enc(&c));
        app.get("/auth/me", Some(&t)).await.assert_problem(401, "invalid_token");
    }
);

both!(
    async fn hs256_token_signed_with_the_public_key_is_refused(b) {
        let app = app(b).await;
        let u = app.user().await;
        let (h, c) = jwt_parts(&u.pair.access);
        let kid = h["kid"].as_str().unwrap();
        let set = jwks(&app).await;
        let x = set["keys"].as_array().unwrap().iter().find(|k| k["kid"] == json!(kid)).unwrap()["x"].as_str().unwrap().to_owned();
        let raw = b64d(&x);
        for secret in [raw.as_slice(), x.as_bytes()] {
            let t = sign_hs(jsonwebtoken::Algorithm::HS256, kid, &c, secret);
            app.get("/auth/me", Some(&t)).await.assert_problem(401, "invalid_token");
        }
    }
);

both!(
    async fn token_of_another_instance_is_refused(b) {
        let app1 = app(b).await;
        let app2 = app(b).await;
        let login = unique("twin");
        app1.register(&login, PASSWORD).await.assert_status(201);
        app2.register(&login, PASSWORD).await.assert_status(201);
        let p2 = app2.login_pair(&login, PASSWORD).await;
        app1.get("/auth/me", Some(&p2.access)).await.assert_problem(401, "invalid_token");
        assert_eq!(app2.me_status(&p2.access).await.0, 200);
    }
);

both!(
    async fn expired_token_is_refused_with_token_expired(b) {
        let clock = ManualClock::at_unix(time::OffsetDateTime::now_utc().unix_timestamp());
        let app = app_with_clock(b, Arc::new(clock.clone()) as Arc<dyn Clock>, |_| {}).await;
        let u = app.user().await;
        clock.advance(time::Duration::seconds(300 + 29));
        assert_eq!(app.me_status(&u.pair.access).await.0, 200, "inside the leeway");
        clock.advance(time::Duration::seconds(2));
        app.get("/auth/me", Some(&u.pair.access)).await.assert_problem(401, "token_expired");
        // The refresh token still works and gives a live token.
        let p = Pair::from_resp(&app.refresh(&u.pair.refresh).await);
        assert_eq!(app.me_status(&p.access).await.0, 200);
    }
);

both!(
    async fn forged_hs256_tokens_verify_only_when_unexpired(b) {
        let app = app_with(b, |c| {
            c.jwt_alg = "HS256".into();
            c.secret = Some(HS_SECRET.into());
        })
        .await;
        let u = app.user().await;
        let (h, mut c) = jwt_parts(&u.pair.access);
        assert_eq!(h["alg"], json!("HS256"));
        let kid = h["kid"].as_str().unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // A token we sign ourselves with the secret is accepted (the forging is right) ...
        c["jti"] = json!("forged-live");
        c["iat"] = json!(now);
        c["nbf"] = json!(now);
        c["exp"] = json!(now + 120);
        let live = sign_hs(jsonwebtoken::Algorithm::HS256, kid, &c, HS_SECRET.as_bytes());
        assert_eq!(app.me_status(&live).await.0, 200);
        // ... and one past exp + leeway is token_expired.
        c["jti"] = json!("forged-expired");
        c["iat"] = json!(now - 1000);
        c["nbf"] = json!(now - 1000);
        c["exp"] = json!(now - 31);
        let expired = sign_hs(jsonwebtoken::Algorithm::HS256, kid, &c, HS_SECRET.as_bytes());
        app.get("/auth/me", Some(&expired)).await.assert_problem(401, "token_expired");
        // Not yet valid (nbf in the future beyond leeway) is refused.
        c["jti"] = json!("forged-future");
        c["iat"] = json!(now + 600);
        c["nbf"] = json!(now + 600);
        c["exp"] = json!(now + 900);
        let future = sign_hs(jsonwebtoken::Algorithm::HS256, kid, &c, HS_SECRET.as_bytes());
        assert_eq!(app.me_status(&future).await.0, 401);
        // Wrong issuer and wrong secret are refused.
        c["iat"] = json!(now);
        c["nbf"] = json!(now);
        c["exp"] = json!(now + 120);
        c["iss"] = json!("someone-else");
        let t = sign_hs(jsonwebtoken::Algorithm::HS256, kid, &c, HS_SECRET.as_bytes());
        app.get("/auth/me", Some(&t)).await.assert_problem(401, "invalid_token");
        c["iss"] = json!("warden");
        let t = sign_hs(jsonwebtoken::Algorithm::HS256, kid, &c, b"another-secret-another-secret-another");
        app.get("/auth/me", Some(&t)).await.assert_problem(401, "invalid_token");
        // HS512 header on an HS256 server is an alg switch.
        let t = sign_hs(jsonwebtoken::Algorithm::HS512, kid, &c, HS_SECRET.as_bytes());
        app.get("/auth/me", Some(&t)).await.assert_problem(401, "invalid_token");
    }
);

both!(
    async fn every_configurable_algorithm_signs_and_verifies(b) {
        for alg in ["HS256", "HS384", "HS512", "RS256", "ES256"] {
            let app = app_with(b, |c| {
                c.jwt_alg = alg.into();
                c.secret = Some(HS_SECRET.into());
            })
            .await;
            let u = app.user().await;
            let (h, _) = jwt_parts(&u.pair.access);
            assert_eq!(h["alg"], json!(alg));
            assert_eq!(app.me_status(&u.pair.access).await.0, 200, "{alg}");
            let set = jwks(&app).await;
            let keys = set["keys"].as_array().unwrap();
            if alg.starts_with("HS") {
                assert!(keys.is_empty(), "{alg}: JWKS must not publish HMAC keys: {set}");
            } else {
                assert_eq!(keys.len(), 1, "{alg}: {set}");
                assert_eq!(keys[0]["kid"], h["kid"]);
                assert_eq!(keys[0]["alg"], json!(alg));
            }
            let p = Pair::from_resp(&app.refresh(&u.pair.refresh).await);
            assert_eq!(app.me_status(&p.access).await.0, 200, "{alg} after refresh");
        }
    }
);

both!(
    async fn rotated_keys_keep_old_tokens_valid_and_sign_new_ones(b) {
        let app = app(b).await;
        let u = app.user().await;
        let old_kid = jwt_parts(&u.pair.access).0["kid"].as_str().unwrap().to_owned();
        let settings = app.cfg.settings().unwrap();
        let new_kid = warden_core::rotate_signing_key(app.store.as_ref(), &settings, time::OffsetDateTime::now_utc()).await.unwrap();
        app.warden.auth().upkeep().reload_keys().await.unwrap();
        assert_ne!(old_kid, new_kid);
        assert_eq!(app.me_status(&u.pair.access).await.0, 200, "old token still verifies");
        let p = app.login_pair(&u.login, PASSWORD).await;
        assert_eq!(jwt_parts(&p.access).0["kid"], json!(new_kid));
        assert_eq!(app.me_status(&p.access).await.0, 200);
        let set = jwks(&app).await;
        let kids: Vec<&str> = set["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert!(kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()), "{kids:?}");
        assert_eq!(kids.len(), 2);
        let keys = app.store.signing_keys().await.unwrap();
        assert_eq!(keys.iter().filter(|k| k.retired_at.is_none()).count(), 1);
    }
);
