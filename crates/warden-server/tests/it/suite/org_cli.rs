//! `warden org list|show|create|delete|members`.

use super::cli::{TempDb, ok, run};

#[test]
fn cli_manages_organizations() {
    let db = TempDb::new();
    ok(
        &db,
        &[
            "account",
            "create",
            "olga",
            "--password",
            "correct horse battery staple",
        ],
    );
    let out = ok(
        &db,
        &[
            "org",
            "create",
            "acme-corp",
            "--name",
            "Acme Corp",
            "--owner",
            "olga",
        ],
    );
    assert!(
        out.contains("acme-corp") && out.contains("Acme Corp"),
        "{out}"
    );
    let id = out.split_whitespace().next().unwrap().to_owned();
    let out = ok(&db, &["org", "list"]);
    assert!(out.contains(&id), "{out}");
    let out = ok(&db, &["org", "show", "acme-corp"]);
    assert!(out.contains("olga") && out.contains("owner"), "{out}");
    let out = ok(&db, &["org", "members", &id]);
    assert!(out.contains("olga  owner"), "{out}");
    let bad = run(
        &db,
        &[
            "org",
            "create",
            "acme-corp",
            "--name",
            "Again",
            "--owner",
            "olga",
        ],
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("slug"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let out = ok(&db, &["org", "delete", "acme-corp"]);
    assert!(out.contains("deleted acme-corp"), "{out}");
    assert!(!run(&db, &["org", "show", "acme-corp"]).status.success());
    assert!(ok(&db, &["org", "list"]).trim().is_empty());
    let audit = ok(&db, &["audit"]);
    assert!(
        audit.contains("organization.created") && audit.contains("organization.deleted"),
        "{audit}"
    );
}
