//! Attack tests (issue 10): the router played against as an attacker would.
//! Each test names the OWASP ASVS 4.0 item it covers in `docs/security.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::*;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Sign any JSON header and claims with HMAC (the header is taken as given, so
/// `kid` can be any JSON value).
fn sign_raw(alg: jsonwebtoken::Algorithm, header: &Value, claims: &Value, secret: &[u8]) -> String {
    let msg = format!(
        "{}.{}",
        b64e(&serde_json::to_vec(header).unwrap()),
        b64e(&serde_json::to_vec(claims).unwrap())
    );
    let sig = jsonwebtoken::crypto::sign(
        msg.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(secret),
        alg,
    )
    .unwrap();
    format!("{msg}.{sig}")
}

async fn hs_app(b: Backend) -> App {
    app_with(b, |c| {
        c.jwt_alg = "HS256".into();
        c.secret = Some(HS_SECRET.into());
    })
    .await
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// No response header may carry the attacker's marker.
#[track_caller]
fn no_header_carries(r: &Resp, marker: &str) {
    for (k, v) in &r.headers {
        let v = String::from_utf8_lossy(v.as_bytes());
        assert!(
            !k.as_str().contains(marker) && !v.contains(marker),
            "response header {k}: {v} carries input"
        );
    }
}

each_backend!(
    // V3.5.3: nbf in the future beyond the 30 s leeway is refused; inside it, accepted.
    async fn not_yet_valid_token_is_refused_beyond_the_leeway(b) {
        let app = hs_app(b).await;
        let u = app.user().await;
        let (h, mut c) = jwt_parts(&u.pair.access);
        let t = now();
        c["jti"] = json!("nbf-future");
        c["iat"] = json!(t);
        c["nbf"] = json!(t + 45);
        c["exp"] = json!(t + 300);
        let future = sign_raw(jsonwebtoken::Algorithm::HS256, &h, &c, HS_SECRET.as_bytes());
        let r = app.get("/auth/me", Some(&future)).await;
        r.assert_problem(401, "invalid_token");
        // A clock skew inside the leeway is tolerated (the forging is right).
        c["jti"] = json!("nbf-skew");
        c["nbf"] = json!(t + 15);
        let skewed = sign_raw(jsonwebtoken::Algorithm::HS256, &h, &c, HS_SECRET.as_bytes());
        assert_eq!(app.me_status(&skewed).await.0, 200);
        // Far future with a huge exp: still refused.
        c["jti"] = json!("nbf-far");
        c["nbf"] = json!(i64::from(i32::MAX));
        c["exp"] = json!(i64::MAX);
        let far = sign_raw(jsonwebtoken::Algorithm::HS256, &h, &c, HS_SECRET.as_bytes());
        app.get("/auth/me", Some(&far)).await.assert_problem(401, "invalid_token");
    }
);

each_backend!(
    // V3.5.3: `kid` must name a known key; hostile values are refused, never used as a path,
    // query or header, and never echoed.
    async fn unknown_and_malicious_kid_values_are_refused(b) {
        let app = hs_app(b).await;
        let u = app.user().await;
        let (h, c) = jwt_parts(&u.pair.access);
        let good = sign_raw(jsonwebtoken::Algorithm::HS256, &h, &c, HS_SECRET.as_bytes());
        assert_eq!(app.me_status(&good).await.0, 200, "the forging is right");
        let real = h["kid"].as_str().unwrap().to_owned();
        let long_ok = "k".repeat(4000);
        let too_long = "k".repeat(10_000);
        let kids: Vec<Value> = vec![
            json!("unknown-kid"),
            json!("../../etc/passwd"),
            json!("/dev/zero"),
            json!(long_ok),
            json!(too_long),
            json!("' OR '1'='1' --"),
            json!("x\r\nX-Injected: evilkid"),
            json!(""),
            json!(format!("{real} ")),
            json!(real.to_uppercase()),
            json!(format!("{real}\u{0}")),
            json!(12345),
            json!(null),
            json!([real]),
            json!({"kid": real}),
        ];
        for kid in kids {
            let mut hh = h.clone();
            hh["kid"] = kid.clone();
            let t = sign_raw(jsonwebtoken::Algorithm::HS256, &hh, &c, HS_SECRET.as_bytes());
            let r = app.get("/auth/me", Some(&t)).await;
            r.assert_problem(401, "invalid_token");
            no_header_carries(&r, "evilkid");
            assert!(!r.text().contains("evilkid") && !r.text().contains("passwd"), "kid echoed: {}", r.text());
        }
        // No kid at all.
        let mut hh = h.clone();
        hh.as_object_mut().unwrap().remove("kid");
        let t = sign_raw(jsonwebtoken::Algorithm::HS256, &hh, &c, HS_SECRET.as_bytes());
        app.get("/auth/me", Some(&t)).await.assert_problem(401, "invalid_token");
        // A `jku`/`x5u`/`jwk` header pointing elsewhere is ignored: the token verifies
        // only because kid and secret are right, and with a wrong secret it fails.
        let mut hh = h.clone();
        hh["jku"] = json!("http://127.0.0.1:1/evil-jwks.json");
        hh["jwk"] = json!({"kty": "oct", "k": b64e(b"attacker")});
        let t = sign_raw(jsonwebtoken::Algorithm::HS256, &hh, &c, b"attacker");
        app.get("/auth/me", Some(&t)).await.assert_problem(401, "invalid_token");
    }
);

each_backend!(
    // V3.5.2: the two token kinds are not interchangeable.
    async fn refresh_token_used_as_access_token_is_refused(b) {
        let app = app(b).await;
        let u = app.user().await;
        app.get("/auth/me", Some(&u.pair.refresh)).await.assert_problem(401, "invalid_token");
        let cookie = format!("access={}", u.pair.refresh);
        app.call("GET", "/auth/me", None, &[("cookie", &cookie)]).await.assert_problem(401, "invalid_token");
        app.call("GET", "/auth/sessions", None, &[("x-api-key", &u.pair.refresh)]).await.assert_status(401);
        // The refresh token still works as a refresh token: nothing was consumed.
        Pair::from_resp(&app.refresh(&u.pair.refresh).await);
    }
);

each_backend!(
    async fn access_token_used_as_refresh_token_is_refused(b) {
        let app = app(b).await;
        let u = app.user().await;
        app.refresh(&u.pair.access).await.assert_problem(401, "invalid_refresh_token");
        let cookie = format!("refresh={}", u.pair.access);
        app.call("POST", "/auth/refresh", None, &[("cookie", &cookie), ("x-requested-with", "XMLHttpRequest")])
            .await
            .assert_problem(401, "invalid_refresh_token");
        // A bearer access token does not authenticate a refresh either.
        app.post_empty("/auth/refresh", Some(&u.pair.access)).await.assert_problem(401, "invalid_refresh_token");
        // The session is untouched.
        assert_eq!(app.me_status(&u.pair.access).await.0, 200);
        Pair::from_resp(&app.refresh(&u.pair.refresh).await);
    }
);

each_backend!(
    // V2.2 / enumeration: registration reveals a taken login by design (API.md: 409
    // login_taken, like every sign-up form); the answer carries nothing else and the
    // route is rate limited per IP.
    async fn register_reveals_a_taken_login_only_by_its_code_and_is_rate_limited(b) {
        let app = app_with(b, |c| c.rate_limit_per_minute = 3).await.with_peer("198.51.100.20:4000");
        let login = unique("taken");
        let r = app.register(&login, PASSWORD).await;
        r.assert_status(201);
        let id = r.json()["account"]["id"].as_str().unwrap().to_owned();
        let r = app.register(&login, "a different password 123").await;
        let v = r.assert_problem(409, "login_taken");
        assert!(!r.text().contains(&id), "no account data in the answer: {v}");
        assert!(v.get("account").is_none() && v.get("id").is_none(), "{v}");
        // The fourth attempt from one IP inside a minute is refused with Retry-After.
        let r = app.register(&unique("other"), PASSWORD).await;
        r.assert_status(201);
        let r = app.register(&unique("other"), PASSWORD).await;
        r.assert_problem(429, "too_many_attempts");
        assert!(r.header("retry-after").and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s >= 1));
        // Another IP is not affected.
        app.with_peer("198.51.100.21:4000").register(&unique("other"), PASSWORD).await.assert_status(201);
    }
);

each_backend!(
    // V2.1.1 / V5: huge passwords are refused before hashing on every route that takes one.
    async fn oversized_passwords_are_refused_on_every_route(b) {
        let app = app(b).await;
        let u = app.user().await;
        let huge = "h".repeat(60_000);
        let start = Instant::now();
        let r = app.register(&unique("huge"), &huge).await;
        assert_eq!(r.error_fields(), vec!["password".to_owned()]);
        let r = app.login(&u.login, &huge).await;
        assert_eq!(r.error_fields(), vec!["password".to_owned()]);
        let r = app.post("/auth/password", json!({"current_password": PASSWORD, "new_password": huge}), Some(&u.pair.access)).await;
        assert_eq!(r.error_fields(), vec!["new_password".to_owned()]);
        let r = app.post("/auth/password", json!({"current_password": huge, "new_password": "another good password"}), Some(&u.pair.access)).await;
        r.assert_status(422);
        let r = app.post("/auth/fresh", json!({"password": huge}), Some(&u.pair.access)).await;
        r.assert_status(422);
        let r = app.post("/auth/password/reset", json!({"token": "whatever", "new_password": huge}), None).await;
        assert_eq!(r.error_fields(), vec!["new_password".to_owned()]);
        // Over the body limit: 413 before anything is parsed.
        let r = app.register(&unique("huge"), &"h".repeat(70 * 1024)).await;
        r.assert_problem(413, "payload_too_large");
        assert!(start.elapsed() < Duration::from_secs(20), "refused early");
        // Nothing changed and nothing was counted: the password still works.
        app.login_pair(&u.login, PASSWORD).await;
        assert!(!app.audit_all().await.iter().any(|e| e.event == "login.failure"));
    }
);

each_backend!(
    // V5.3.4: SQL-shaped input is data, never code.
    async fn sql_shaped_input_is_data(b) {
        let app = app(b).await;
        let u = app.user().await;
        for login in ["' OR 1=1 --", "admin'--", "\" OR \"\"=\"", "x'; DROP TABLE accounts; --", "%", "_", "%%%"] {
            let r = app.login(login, PASSWORD).await;
            assert!(
                r.status.as_u16() == 401 || r.status.as_u16() == 422,
                "{login}: {} {}",
                r.status,
                r.text()
            );
            let r = app.register(login, PASSWORD).await;
            assert!(r.error_fields().contains(&"login".to_owned()), "{login}");
        }
        // The password field is opaque: a SQL-shaped password is just a password.
        let login = unique("sqlpw");
        let pw = "' OR '1'='1' --";
        app.register(&login, pw).await.assert_status(201);
        app.login_pair(&login, pw).await;
        app.login(&login, "' OR '1'='2' --").await.assert_problem(401, "invalid_credentials");
        // Emails with quotes are refused or stored verbatim, never interpreted.
        let r = app.post("/auth/register", json!({"login": unique("sqlmail"), "password": PASSWORD, "email": "o'brien'--@example.com"}), None).await;
        if r.status.as_u16() == 201 {
            assert_eq!(r.json()["account"]["email"], json!("o'brien'--@example.com"));
        } else {
            r.assert_status(422);
        }
        app.post("/auth/password/forgot", json!({"email": "' OR 1=1 --"}), None).await.assert_status(202);
        app.post("/auth/password/forgot", json!({"email": "%@%"}), None).await.assert_status(202);
        // Every account still exists and still logs in.
        assert_eq!(app.me_status(&u.pair.access).await.0, 200);
        app.login_pair(&u.login, PASSWORD).await;
    }
);

each_backend!(
    // V5.3.4: LIKE wildcards in the admin search are literals.
    async fn admin_search_wildcards_do_not_match_everything(b) {
        let app = app(b).await;
        for i in 0..3 {
            let login = format!("plain{}{i}", &uuid::Uuid::now_v7().simple().to_string()[24..]);
            let r = app.admin("POST", "/auth/admin/accounts", Some(json!({"login": login, "password": PASSWORD, "email": format!("{login}@example.com")}))).await;
            r.assert_status(201);
        }
        let all = app.admin("GET", "/auth/admin/accounts?limit=200", None).await.json()["items"].as_array().unwrap().len();
        assert_eq!(all, 3);
        for q in ["%25", "_", "%25%25", "__", "'%20OR%201%3D1%20--", "%5C", "%5C%25", "*", "%5B"] {
            let r = app.admin("GET", &format!("/auth/admin/accounts?q={q}"), None).await;
            r.assert_status(200);
            let items = r.json()["items"].as_array().unwrap().len();
            assert_eq!(items, 0, "q={q} matched {items} accounts");
        }
        // A literal underscore does match a login that has one.
        let login = format!("with_under{}", &uuid::Uuid::now_v7().simple().to_string()[26..]);
        app.admin("POST", "/auth/admin/accounts", Some(json!({"login": login, "password": PASSWORD}))).await.assert_status(201);
        let r = app.admin("GET", "/auth/admin/accounts?q=_", None).await;
        let items = r.json()["items"].clone();
        assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
        assert_eq!(items[0]["login"], json!(login));
    }
);

/// Send raw bytes over a socket and read the answer (`Connection: close`).
async fn raw(addr: SocketAddr, bytes: &[u8]) -> Resp {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("answer in time")
        .unwrap();
    parse_http(&out)
}

each_backend!(
    // V5 / V14: header injection: hostile User-Agent and X-Forwarded-For values are stored
    // verbatim or dropped, never split into headers, never reflected.
    async fn header_injection_is_never_reflected_or_split(b) {
        let app = app_with(b, |c| c.trusted_proxies = warden_server::config::List(vec!["127.0.0.1".into()])).await;
        let addr = serve(app.router.clone()).await;
        let u = app.user().await;
        let body = serde_json::to_string(&json!({"login": u.login, "password": PASSWORD})).unwrap();
        // A bare LF inside User-Agent ends the header line; the rest becomes another
        // request header. It must not turn into a response header.
        let attempts: Vec<(&str, Vec<u8>)> = vec![
            ("bare-lf", b"User-Agent: ua-a\nSet-Cookie: evilcookie=1\r\nX-Forwarded-For: 203.0.113.9\r\n".to_vec()),
            ("obs-fold", b"User-Agent: ua-b\r\n Set-Cookie: evilcookie=2\r\n".to_vec()),
            ("sql-ua", b"User-Agent: '; DROP TABLE sessions; -- <script>evil</script>\r\n".to_vec()),
            ("xff-garbage", b"X-Forwarded-For: ' OR 1=1 --, 999.1.1.1, evilhost\r\n".to_vec()),
            ("xff-long", format!("X-Forwarded-For: {}\r\n", "1.2.3.4, ".repeat(500)).into_bytes()),
            ("non-utf8", b"User-Agent: caf\xe9 \xff\xfe evil\r\n".to_vec()),
            ("long-ua", format!("User-Agent: {}\r\n", "u".repeat(6000)).into_bytes()),
        ];
        for (name, extra) in attempts {
            let mut req = format!("POST /auth/login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len()).into_bytes();
            req.extend_from_slice(&extra);
            req.extend_from_slice(b"\r\n");
            req.extend_from_slice(body.as_bytes());
            let r = raw(addr, &req).await;
            assert!(r.status.as_u16() == 200 || r.status.as_u16() == 400, "{name}: {} {}", r.status, r.text());
            no_header_carries(&r, "evil");
            assert!(r.set_cookies().iter().all(|c| !c.contains("evilcookie")), "{name}");
        }
        // What was stored: verbatim (cut to 256 chars) or nothing; the IP is an IP or the peer.
        let list = app.get("/auth/sessions", Some(&u.pair.access)).await.json();
        for s in list.as_array().unwrap() {
            if let Some(ua) = s["user_agent"].as_str() {
                assert!(!ua.contains('\r') && !ua.contains('\n'), "{ua:?}");
                assert!(ua.chars().count() <= 256, "user agent cut: {}", ua.len());
            }
            if let Some(ip) = s["ip"].as_str() {
                ip.parse::<std::net::IpAddr>().unwrap_or_else(|_| panic!("stored ip {ip:?}"));
            }
        }
        assert!(list.as_array().unwrap().iter().any(|s| s["user_agent"] == json!("'; DROP TABLE sessions; -- <script>evil</script>")), "stored verbatim: {list}");
        // Percent-encoded CRLF in the path and query never reaches a response header.
        for path in [
            "/auth/sessions/%0d%0aSet-Cookie:%20evil=1",
            "/auth/admin/accounts?q=%0d%0aSet-Cookie:%20evil=1",
            "/auth/api-keys/%0d%0aLocation:%20http://evil.example",
            "/nowhere%0d%0aLocation:%20http://evil.example",
        ] {
            let r = http(addr, "GET", path, &[("authorization", &format!("Bearer {}", u.pair.access))], None).await;
            assert!(r.status.is_client_error(), "{path}: {}", r.status);
            no_header_carries(&r, "evil");
            assert!(r.header("location").is_none());
        }
        // CRLF inside JSON fields is data: refused by the field rules, never a header.
        let r = app.post("/auth/login", json!({"login": "x\r\nSet-Cookie: evil=1", "password": PASSWORD}), None).await;
        assert!(r.status.as_u16() == 401 || r.status.as_u16() == 422, "{}", r.status);
        no_header_carries(&r, "evil");
        let r = app.post("/auth/api-keys", json!({"name": "k\r\nSet-Cookie: evil=1"}), Some(&u.pair.access)).await;
        assert!(r.status.as_u16() == 201 || r.status.as_u16() == 422, "{}", r.status);
        no_header_carries(&r, "evil");
    }
);

each_backend!(
    // V4.1.3 / V4.2.1: every admin `{id}` route refuses a non-admin token and a non-admin
    // API key, whichever id it names (its own or another's), and changes nothing.
    async fn admin_id_routes_refuse_non_admin_callers(b) {
        let app = app(b).await;
        let me = app.user().await;
        let victim = app.user().await;
        let r = app.post("/auth/api-keys", json!({"name": "mine"}), Some(&me.pair.access)).await;
        r.assert_status(201);
        let my_key = r.json()["key"].as_str().unwrap().to_owned();
        let r = app.post("/auth/api-keys", json!({"name": "theirs"}), Some(&victim.pair.access)).await;
        r.assert_status(201);
        let victim_key_id = r.json()["id"].as_str().unwrap().to_owned();
        let victim_key = r.json()["key"].as_str().unwrap().to_owned();
        for target in [victim.id.as_str(), me.id.as_str()] {
            let routes: Vec<(&str, String, Option<Value>)> = vec![
                ("GET", format!("/auth/admin/accounts/{target}"), None),
                ("PATCH", format!("/auth/admin/accounts/{target}"), Some(json!({"scopes": ["admin"]}))),
                ("DELETE", format!("/auth/admin/accounts/{target}"), None),
                ("POST", format!("/auth/admin/accounts/{target}/block"), Some(json!({"reason": "x"}))),
                ("POST", format!("/auth/admin/accounts/{target}/unblock"), None),
                ("GET", format!("/auth/admin/accounts/{target}/block"), None),
                ("DELETE", format!("/auth/admin/accounts/{target}/mfa"), None),
                ("DELETE", format!("/auth/admin/accounts/{target}/sessions"), None),
                ("DELETE", format!("/auth/admin/api-keys/{victim_key_id}"), None),
                ("GET", format!("/auth/admin/api-keys/{victim_key_id}/usage"), None),
                ("GET", "/auth/admin/api-keys".to_owned(), None),
                ("GET", format!("/auth/admin/audit?account_id={target}"), None),
                ("POST", "/auth/admin/accounts".to_owned(), Some(json!({"login": unique("sneak"), "password": PASSWORD, "scopes": ["admin"]}))),
            ];
            for (method, path, body) in routes {
                let bearer = format!("Bearer {}", me.pair.access);
                let r = app.call(method, &path, body.clone(), &[("authorization", &bearer)]).await;
                r.assert_problem(403, "forbidden");
                let r = app.call(method, &path, body.clone(), &[("x-api-key", &my_key)]).await;
                assert!(r.status.as_u16() == 403 || r.status.as_u16() == 401, "{method} {path} by key: {}", r.status);
                // A wrong admin secret next to a valid user token does not help either.
                let r = app.call(method, &path, body, &[("authorization", &bearer), ("x-admin-secret", "guess")]).await;
                assert_eq!(r.status.as_u16(), 403, "{method} {path}: {}", r.text());
            }
        }
        // Nothing happened to anyone.
        assert_eq!(app.me_status(&victim.pair.access).await.0, 200);
        assert_eq!(app.me_status(&me.pair.access).await.0, 200);
        app.call("GET", "/auth/me", None, &[("x-api-key", &victim_key)]).await.assert_status(200);
        let a = app.admin("GET", &format!("/auth/admin/accounts/{}", me.id), None).await.json();
        assert_eq!(a["scopes"], json!([]));
        assert_eq!(a["blocked"], json!(false));
    }
);

each_backend!(
    // V4.2.1: ids of one kind are not accepted on another kind's route (a session id as
    // an API key id and the other way round), even for the owner.
    async fn ids_of_another_kind_are_not_found(b) {
        let app = app(b).await;
        let me = app.user().await;
        let r = app.post("/auth/api-keys", json!({"name": "k"}), Some(&me.pair.access)).await;
        let key_id = r.json()["id"].as_str().unwrap().to_owned();
        app.delete(&format!("/auth/sessions/{key_id}"), Some(&me.pair.access)).await.assert_problem(404, "not_found");
        app.delete(&format!("/auth/api-keys/{}", me.pair.session_id), Some(&me.pair.access)).await.assert_problem(404, "not_found");
        app.delete(&format!("/auth/api-keys/{}", me.id), Some(&me.pair.access)).await.assert_problem(404, "not_found");
        app.delete(&format!("/auth/sessions/{}", me.id), Some(&me.pair.access)).await.assert_problem(404, "not_found");
        for id in ["..%2f..%2fadmin", "%27%20OR%201%3D1%20--", "00000000-0000-0000-0000-000000000000"] {
            app.delete(&format!("/auth/sessions/{id}"), Some(&me.pair.access)).await.assert_problem(404, "not_found");
            app.delete(&format!("/auth/api-keys/{id}"), Some(&me.pair.access)).await.assert_problem(404, "not_found");
        }
        // OAuth identities: an id that is not one of the caller's identities is 404.
        let them = app.user().await;
        for id in [key_id.as_str(), me.pair.session_id.as_str(), me.id.as_str(), them.id.as_str()] {
            app.delete(&format!("/auth/identities/{id}"), Some(&me.pair.access)).await.assert_problem(404, "not_found");
        }
        assert_eq!(app.me_status(&me.pair.access).await.0, 200);
    }
);

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

each_backend!(
    // V2.2 / enumeration by timing: unknown login vs wrong password. With cheap Argon2
    // (m=64 KiB) the request itself dominates, so this checks that neither path does
    // extra work of its own; the ratio bound 0.5..2.0 is generous on purpose so that
    // it is not flaky on a loaded machine.
    async fn unknown_login_and_wrong_password_take_similar_time(b) {
        let app = app_with(b, |c| c.block_tries = 1_000_000).await;
        // The attacker probes each candidate login once: existing accounts (never
        // failed before) against logins that do not exist.
        let mut logins = Vec::new();
        for _ in 0..18 {
            let login = unique("timing");
            app.register(&login, PASSWORD).await.assert_status(201);
            logins.push(login);
        }
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for (i, login) in logins.iter().enumerate() {
            let t = Instant::now();
            app.login(login, "wrong password number one").await.assert_status(401);
            let k = t.elapsed();
            let t = Instant::now();
            app.login(&unique("nobody"), "wrong password number one").await.assert_status(401);
            let u = t.elapsed();
            if i >= 3 {
                known.push(k);
                unknown.push(u);
            }
        }
        let (k, u) = (median(known), median(unknown));
        let ratio = u.as_secs_f64() / k.as_secs_f64();
        assert!((0.5..=2.0).contains(&ratio), "unknown {u:?} vs wrong password {k:?}: ratio {ratio:.2}");
    }
);

each_backend!(
    // Concurrency: 20 parallel registrations of one login (in mixed case): exactly one 201.
    async fn parallel_registrations_of_one_login_create_one_account(b) {
        let app = app(b).await;
        let login = unique("Racer");
        let mut set = JoinSet::new();
        for i in 0..20 {
            let app = app.clone();
            let l = if i % 2 == 0 { login.to_lowercase() } else { login.to_uppercase() };
            set.spawn(async move { app.register(&l, PASSWORD).await });
        }
        let (mut created, mut taken) = (0, 0);
        while let Some(r) = set.join_next().await {
            let r = r.unwrap();
            match r.status.as_u16() {
                201 => created += 1,
                409 => {
                    r.assert_problem(409, "login_taken");
                    taken += 1;
                }
                s => panic!("unexpected {s}: {}", r.text()),
            }
        }
        assert_eq!((created, taken), (1, 19));
        let r = app.admin("GET", &format!("/auth/admin/accounts?q={}", login.to_lowercase()), None).await;
        assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
        app.login_pair(&login, PASSWORD).await;
    }
);

each_backend!(
    // Concurrency: API key revocation vs use. Uses race the revoke; once the revoke has
    // been answered, no request started afterwards succeeds.
    async fn api_key_revoke_races_use_and_wins_from_its_answer_on(b) {
        let app = app(b).await;
        let u = app.user().await;
        let r = app.post("/auth/api-keys", json!({"name": "racy"}), Some(&u.pair.access)).await;
        r.assert_status(201);
        let id = r.json()["id"].as_str().unwrap().to_owned();
        let key = r.json()["key"].as_str().unwrap().to_owned();
        let revoked = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let mut set = JoinSet::new();
        for _ in 0..3 {
            let (app, key, revoked, stop) = (app.clone(), key.clone(), revoked.clone(), stop.clone());
            set.spawn(async move {
                let mut seen: Vec<(bool, u16)> = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let after = revoked.load(Ordering::SeqCst);
                    let r = app.call("GET", "/auth/me", None, &[("x-api-key", &key)]).await;
                    if r.status.as_u16() != 200 {
                        r.assert_problem(401, "invalid_api_key");
                    }
                    seen.push((after, r.status.as_u16()));
                    // The memory store answers without ever yielding: let the revoke in.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                seen
            });
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        app.delete(&format!("/auth/api-keys/{id}"), Some(&u.pair.access)).await.assert_status(204);
        revoked.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(60)).await;
        stop.store(true, Ordering::SeqCst);
        let mut before_ok = 0;
        let mut after = 0;
        while let Some(seen) = set.join_next().await {
            for (a, status) in seen.unwrap() {
                if a {
                    after += 1;
                    assert_eq!(status, 401, "a use started after the revoke answer succeeded");
                } else if status == 200 {
                    before_ok += 1;
                }
            }
        }
        assert!(before_ok > 0 && after > 0, "the race happened: {before_ok} before, {after} after");
        app.call("GET", "/auth/me", None, &[("x-api-key", &key)]).await.assert_problem(401, "invalid_api_key");
    }
);
