//! `warden client …` against a real SQLite database.

use std::process::{Command, Output, Stdio};

fn warden(db: &std::path::Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    for (k, _) in std::env::vars() {
        if k.starts_with("WARDEN_") {
            c.env_remove(k);
        }
    }
    c.env(
        "WARDEN_DATABASE_URL",
        format!("sqlite://{}?mode=rwc", db.display()),
    )
    .env("WARDEN_LOG_LEVEL", "error")
    .stdin(Stdio::null())
    .args(args)
    .output()
    .unwrap()
}

fn field(out: &Output, name: &str) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[test]
fn client_commands_create_list_update_rotate_and_delete() {
    let dir = std::env::temp_dir().join(format!("warden-client-cli-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("w.db");
    let out = warden(
        &db,
        &[
            "client",
            "create",
            "--name",
            "Grafana",
            "--redirect-uri",
            "https://grafana.example/login/generic_oauth",
            "--scope",
            "reports",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = field(&out, "client_id");
    assert!(field(&out, "client_secret").starts_with("wcs_"));
    let list = warden(&db, &["client", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains(&id));
    let out = warden(
        &db,
        &[
            "client",
            "update",
            &id,
            "--name",
            "Grafana 2",
            "--first-party",
            "true",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(field(&out, "name"), "Grafana 2");
    assert_eq!(field(&out, "first_party"), "true");
    let out = warden(&db, &["client", "rotate-secret", &id]);
    assert!(field(&out, "client_secret").starts_with("wcs_"));
    let bad = warden(
        &db,
        &[
            "client",
            "create",
            "--name",
            "x",
            "--redirect-uri",
            "https://*.example/cb",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("redirect_uris"));
    assert!(warden(&db, &["client", "delete", &id]).status.success());
    assert!(!warden(&db, &["client", "show", &id]).status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
