use crate::common::*;
use std::path::PathBuf;
use warden_server::config::Config;

fn toml_file(contents: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("warden-test-{}.toml", uuid::Uuid::now_v7()));
    std::fs::write(&p, contents).unwrap();
    p
}

fn load(contents: &str) -> Result<Config, String> {
    let p = toml_file(contents);
    let r = Config::load(Some(&p));
    let _ = std::fs::remove_file(&p);
    r
}

#[test]
fn config_loads_a_toml_file() {
    let cfg = load(
        r#"
database_url = "sqlite::memory:"
jwt_alg = "ES256"
access_ttl = "10m"
session_ttl = "2d"
long_session_ttl = 3600
block_tries = 3
trusted_proxies = "10.0.0.0/8, 127.0.0.1"
cookie_secure = false
prefix = "/id"
"#,
    )
    .unwrap();
    assert_eq!(cfg.database_url, "sqlite::memory:");
    assert_eq!(cfg.jwt_alg, "ES256");
    assert_eq!(cfg.access_ttl.0, time::Duration::minutes(10));
    assert_eq!(cfg.session_ttl.0, time::Duration::days(2));
    assert_eq!(cfg.long_session_ttl.0, time::Duration::hours(1));
    assert_eq!(cfg.block_tries, 3);
    assert_eq!(
        cfg.trusted_proxies.0,
        vec!["10.0.0.0/8".to_owned(), "127.0.0.1".to_owned()]
    );
    assert!(!cfg.cookie_secure);
    let s = cfg.settings().unwrap();
    assert_eq!(s.access_ttl, time::Duration::minutes(10));
    let h = cfg.http().unwrap();
    assert_eq!(h.cookies.refresh_path, "/id/refresh");
    // Defaults stay for what the file does not name.
    assert_eq!(
        cfg.rate_limit_per_minute,
        Config::default().rate_limit_per_minute
    );
}

#[test]
fn config_rejects_invalid_values_with_one_line() {
    let cases = [
        ("jwt_alg = \"none\"", "JWT"),
        ("block_tries = 0", "BLOCK_TRIES"),
        ("jwt_alg = \"HS256\"", "SECRET"),
        ("jwt_alg = \"HS256\"\nsecret = \"too-short\"", "SECRET"),
        ("leeway = \"5m\"", "LEEWAY"),
        ("access_ttl = \"5x\"", ""),
        ("access_ttl = \"0s\"", "ACCESS_TTL"),
        ("registration = \"sometimes\"", "REGISTRATION"),
        ("bind = \"not an address\"", "BIND"),
        ("trusted_proxies = \"10.0.0.0/99\"", "TRUSTED_PROXIES"),
        ("bogus_setting = 1", ""),
        ("body_limit = 10", "BODY_LIMIT"),
        ("argon2_memory_kib = 1", "ARGON2"),
        ("cookie_name = \"bad name\"", "cookie"),
        ("account_cache_size = 0", "ACCOUNT_CACHE_SIZE"),
        ("token_cache_size = 10000001", "TOKEN_CACHE_SIZE"),
        ("api_key_cache_size = 0", "API_KEY_CACHE_SIZE"),
        ("token_cache_size = -1", ""),
        ("token_cache_size = \"many\"", ""),
    ];
    for (toml, needle) in cases {
        let e = load(toml)
            .err()
            .unwrap_or_else(|| panic!("{toml:?} was accepted"));
        assert!(
            !e.is_empty() && !e.contains('\n'),
            "{toml:?}: one line, got {e:?}"
        );
        assert!(
            e.contains(needle),
            "{toml:?}: {e:?} should mention {needle}"
        );
    }
    let missing =
        std::env::temp_dir().join(format!("warden-missing-{}.toml", uuid::Uuid::now_v7()));
    let e = Config::load(Some(&missing)).unwrap_err();
    assert!(!e.contains('\n') && e.contains("does not exist"), "{e}");
}

#[tokio::test]
async fn configured_prefix_and_cookie_names_are_used() {
    let mut cfg = config();
    cfg.prefix = "/id".into();
    cfg.cookie_name = "tok".into();
    let app = app_on(cfg, store(Backend::Memory).await).await;
    let login = unique("prefixed");
    app.post(
        "/id/register",
        serde_json::json!({"login": login, "password": PASSWORD}),
        None,
    )
    .await
    .assert_status(201);
    let r = app
        .post(
            "/id/login",
            serde_json::json!({"login": login, "password": PASSWORD}),
            None,
        )
        .await;
    r.assert_status(200);
    assert!(r.set_cookie("tok").is_some());
    assert!(
        r.set_cookie("refresh")
            .unwrap()
            .contains("Path=/id/refresh")
    );
    app.register(&unique("x"), PASSWORD)
        .await
        .assert_status(404);
}

#[test]
fn cache_sizes_are_settings() {
    let vars = |v: &[(&str, &str)]| {
        Config::from_vars(v.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
    };
    let d = vars(&[]).unwrap().settings().unwrap();
    let w = warden_core::Settings::default();
    assert_eq!(
        (
            d.account_cache_size,
            d.token_cache_size,
            d.api_key_cache_size
        ),
        (
            w.account_cache_size,
            w.token_cache_size,
            w.api_key_cache_size
        )
    );
    let s = vars(&[
        ("WARDEN_ACCOUNT_CACHE_SIZE", "5"),
        ("WARDEN_TOKEN_CACHE_SIZE", "6"),
        ("WARDEN_API_KEY_CACHE_SIZE", "7"),
    ])
    .unwrap()
    .settings()
    .unwrap();
    assert_eq!(
        (
            s.account_cache_size,
            s.token_cache_size,
            s.api_key_cache_size
        ),
        (5, 6, 7)
    );
    for name in [
        "WARDEN_ACCOUNT_CACHE_SIZE",
        "WARDEN_TOKEN_CACHE_SIZE",
        "WARDEN_API_KEY_CACHE_SIZE",
    ] {
        for bad in ["0", "10000001", "-1", "many"] {
            let e = vars(&[(name, bad)]).unwrap_err();
            assert!(
                !e.contains('\n') && e.contains(&name[7..]),
                "{name}={bad}: {e}"
            );
        }
    }
    let e = vars(&[("WARDEN_TOKEN_CACHE_SIZES", "5")]).unwrap_err();
    assert!(e.ends_with("did you mean WARDEN_TOKEN_CACHE_SIZE?"), "{e}");
}

// Caches of one entry: every request still finds its own account, token and
// key (a miss reads the store), and a revoked session stays refused.
each_backend!(
    async fn tiny_caches_answer_like_big_ones(b) {
        let app = app_with(b, |c| {
            c.account_cache_size = 1;
            c.token_cache_size = 1;
            c.api_key_cache_size = 1;
        })
        .await;
        let mut users = Vec::new();
        for _ in 0..3 {
            let u = app.user().await;
            let r = app
                .post("/auth/api-keys", serde_json::json!({"name": "k"}), Some(&u.pair.access))
                .await;
            r.assert_status(201);
            let key = r.json()["key"].as_str().unwrap().to_owned();
            users.push((u, key));
        }
        for _ in 0..2 {
            for (u, key) in &users {
                let r = app.get("/auth/me", Some(&u.pair.access)).await;
                r.assert_status(200);
                assert_eq!(r.json()["id"].as_str(), Some(u.id.as_str()));
                let r = app.call("GET", "/auth/me", None, &[("x-api-key", key)]).await;
                r.assert_status(200);
                assert_eq!(r.json()["id"].as_str(), Some(u.id.as_str()));
            }
        }
        let (gone, _) = &users[0];
        app.post_empty("/auth/logout", Some(&gone.pair.access)).await.assert_status(204);
        for (u, _) in &users[1..] {
            assert_eq!(app.me_status(&u.pair.access).await.0, 200);
        }
        assert_eq!(app.me_status(&gone.pair.access).await.0, 401);
    }
);
