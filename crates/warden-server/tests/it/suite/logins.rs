//! Logins as people see them (issue 17): RFC 8265 PRECIS preparation at every
//! entry point, TR39 look-alikes refused as `login_taken`, and stored logins
//! from before the rules brought up to them without merging anyone.

use crate::common::*;
use serde_json::json;
use warden_core::login_rules::login_skeleton;
use warden_testkit::sql::{fresh_mysql_url, fresh_postgres_url};

/// `alice` with a fresh tag; the tag is hex, so its look-alikes below differ
/// only where the test changes a letter.
fn alice() -> String {
    format!("alice_{}", &uuid::Uuid::now_v7().simple().to_string()[20..])
}

/// Fullwidth form of an ASCII login (`a` → `ａ`, `_` → `＿`).
fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap())
        .collect()
}

each_backend!(
    async fn look_alike_and_fullwidth_logins_are_the_taken_login(b) {
        let app = app(b).await;
        let login = alice();
        let r = app.register(&login, PASSWORD).await;
        r.assert_status(201);
        let id = r.json()["account"]["id"].clone();
        // Cyrillic а: a different key, the same skeleton.
        let cyrillic = login.replacen('a', "\u{430}", 1);
        app.register(&cyrillic, PASSWORD).await.assert_problem(409, "login_taken");
        // Capital I for l.
        app.register(&login.replacen('l', "I", 1), PASSWORD).await.assert_problem(409, "login_taken");
        // Fullwidth: width mapping makes it the same login.
        let wide = fullwidth(&login);
        app.register(&wide, PASSWORD).await.assert_problem(409, "login_taken");
        app.register(&wide.to_uppercase(), PASSWORD).await.assert_problem(409, "login_taken");
        // ... and it signs in to alice's account, as does any case.
        for typed in [&wide, &login.to_uppercase()] {
            let p = app.login_pair(typed, PASSWORD).await;
            assert_eq!(app.get("/auth/me", Some(&p.access)).await.json()["id"], id, "{typed}");
        }
        app.login(&cyrillic, PASSWORD).await.assert_problem(401, "invalid_credentials");
        // The admin route takes the same rule.
        let r = app.admin("POST", "/auth/admin/accounts", Some(json!({"login": cyrillic, "password": PASSWORD}))).await;
        r.assert_problem(409, "login_taken");
    }
);

each_backend!(
    async fn decomposed_and_precomposed_logins_are_one(b) {
        let app = app(b).await;
        let tag = &uuid::Uuid::now_v7().simple().to_string()[20..];
        let decomposed = format!("e\u{301}cole_{tag}");
        let precomposed = format!("\u{e9}cole_{tag}");
        let r = app.register(&decomposed, PASSWORD).await;
        r.assert_status(201);
        let account = &r.json()["account"];
        assert_eq!(account["login"], json!(precomposed), "stored in NFC");
        app.register(&precomposed, PASSWORD).await.assert_problem(409, "login_taken");
        app.register(&precomposed.to_uppercase(), PASSWORD).await.assert_problem(409, "login_taken");
        for typed in [&decomposed, &precomposed, &precomposed.to_uppercase()] {
            let p = app.login_pair(typed, PASSWORD).await;
            assert_eq!(app.get("/auth/me", Some(&p.access)).await.json()["id"], account["id"]);
        }
        // Fullwidth is stored in its ordinary width.
        let login = alice();
        let r = app.register(&fullwidth(&login), PASSWORD).await;
        r.assert_status(201);
        assert_eq!(r.json()["account"]["login"], json!(login));
        // Still refused: a lone combining mark, symbols, spaces.
        for bad in ["\u{301}abc".to_owned(), format!("a!{tag}"), format!("a {tag}")] {
            let r = app.register(&bad, PASSWORD).await;
            assert_eq!(r.error_fields(), vec!["login".to_owned()], "{bad:?}");
        }
    }
);

each_backend!(
    async fn renaming_into_a_look_alike_is_login_taken(b) {
        let app = app(b).await;
        let login = alice();
        app.register(&login, PASSWORD).await.assert_status(201);
        let u = app.user().await;
        let cyrillic = login.replacen('a', "\u{430}", 1);
        let r = app.post("/auth/login/change", json!({"new_login": cyrillic}), Some(&u.pair.access)).await;
        r.assert_problem(409, "login_taken");
        let r = app.post("/auth/login/change", json!({"new_login": fullwidth(&login)}), Some(&u.pair.access)).await;
        r.assert_problem(409, "login_taken");
        // Renaming to a look-alike of one's own login is fine.
        let own = u.login.replacen('u', "U", 1);
        let r = app.post("/auth/login/change", json!({"new_login": own}), Some(&u.pair.access)).await;
        r.assert_status(200);
        app.login_pair(&u.login, PASSWORD).await;
    }
);

/// The database URL of a fresh SQL store of `b`.
async fn fresh_url(b: Backend) -> String {
    match b {
        Backend::Sqlite => {
            let path =
                std::env::temp_dir().join(format!("warden-precis-{}.db", uuid::Uuid::now_v7()));
            format!("sqlite://{}?mode=rwc", path.display())
        }
        Backend::Postgres => fresh_postgres_url().await,
        Backend::MySql => fresh_mysql_url().await,
        _ => unreachable!("SQL backends only"),
    }
}

/// Turn the account `login` into a row written before migration 0009: login
/// `old` as typed, its key the login lower-cased, no skeleton.
async fn make_legacy(b: Backend, url: &str, login: &str, old: &str) {
    let key = old.to_lowercase();
    let n = match b {
        Backend::MySql => {
            use sqlx::Connection;
            let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
            sqlx::query("UPDATE accounts SET login = ?, login_key = ?, login_skeleton = NULL WHERE login = ?")
                .bind(old).bind(key.as_bytes()).bind(login).execute(&mut c).await.unwrap().rows_affected()
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query("UPDATE accounts SET login = $1, login_key = $2, login_skeleton = NULL WHERE login = $3")
                .bind(old).bind(&key).bind(login).execute(&mut c).await.unwrap().rows_affected()
        }
        _ => {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query("UPDATE accounts SET login = $1, login_key = $2, login_skeleton = NULL WHERE login = $3")
                .bind(old).bind(&key).bind(login).execute(&mut c).await.unwrap().rows_affected()
        }
    };
    assert_eq!(n, 1, "{login} made legacy");
}

each_backend!(
    [sqlite, postgres, mysql]
    async fn stored_look_alikes_are_reported_and_keep_working(b) {
        let url = fresh_url(b).await;
        let app = crate::sql_smoke::node(b.store_name(), &url).await;
        let login = alice();
        let id = |r: &Resp| r.json()["account"]["id"].as_str().unwrap().to_owned();
        let alice_id = id(&app.register(&login, PASSWORD).await);
        let wide_id = id(&app.register("stand-in-1", PASSWORD).await);
        let cyr_id = id(&app.register("stand-in-2", PASSWORD).await);
        let old_id = id(&app.register("stand-in-3", PASSWORD).await);
        // As main stored them before the rules: a fullwidth twin, a Cyrillic
        // twin, and an ordinary account without a skeleton.
        let wide = fullwidth(&login);
        let cyrillic = login.replacen('a', "\u{430}", 1);
        let old = format!("Old{}", &login[5..]);
        make_legacy(b, &url, "stand-in-1", &wide).await;
        make_legacy(b, &url, "stand-in-2", &cyrillic).await;
        make_legacy(b, &url, "stand-in-3", &old).await;
        drop(app);

        // Start-up runs the fill step; the listing runs it again (idempotent).
        let app = crate::sql_smoke::node(b.store_name(), &url).await;
        let mut found = app.warden.auth().accounts().login_collisions().await.unwrap();
        found.sort_by_key(|c| c.account_id);
        let summary: Vec<_> = found
            .iter()
            .map(|c| (c.account_id.to_string(), c.login.clone(), c.with_id.map(|i| i.to_string()), c.key_taken))
            .collect();
        assert_eq!(
            summary,
            vec![
                (wide_id.clone(), wide.clone(), Some(alice_id.clone()), true),
                (cyr_id.clone(), cyrillic.clone(), Some(alice_id.clone()), false),
            ]
        );
        // The ordinary old row got its skeleton.
        let by = app.store.account_by_login_skeleton(&login_skeleton(&old)).await.unwrap();
        assert_eq!(by.map(|a| a.id.to_string()), Some(old_id.clone()));

        // Everyone still signs in to their own account with the login they had.
        for (typed, want) in [(&login, &alice_id), (&wide, &wide_id), (&cyrillic, &cyr_id), (&old, &old_id)] {
            let p = app.login_pair(typed, PASSWORD).await;
            assert_eq!(app.get("/auth/me", Some(&p.access)).await.json()["id"], json!(want), "{typed}");
        }
        // The colliding accounts stay writable (an update that keeps the login).
        for who in [&wide_id, &cyr_id] {
            let r = app.admin("PATCH", &format!("/auth/admin/accounts/{who}"), Some(json!({"properties": {"seen": true}}))).await;
            r.assert_status(200);
        }
        // No new look-alike gets in.
        app.register(&login.replacen('l', "I", 1), PASSWORD).await.assert_problem(409, "login_taken");
        // Renamed away, a collider takes the rules and leaves the report.
        let p = app.login_pair(&cyrillic, PASSWORD).await;
        let r = app.post("/auth/login/change", json!({"new_login": format!("new{}", &login[5..])}), Some(&p.access)).await;
        r.assert_status(200);
        let left = app.warden.auth().accounts().login_collisions().await.unwrap();
        assert_eq!(left.iter().map(|c| c.account_id.to_string()).collect::<Vec<_>>(), vec![wide_id]);
    }
);
