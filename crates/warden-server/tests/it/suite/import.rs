//! `warden account import`: the CLI function on every backend, and the real
//! binary on SQLite.

use super::cli::{TempDb, ok, run, run_with_stdin};
use crate::common::*;
use serde_json::json;
use warden_core::model::{AccountId, ClientInfo};
use warden_server::import::{ImportSummary, import_accounts};

fn hash_of(scheme: &str) -> &'static str {
    IMPORTED_HASHES
        .iter()
        .find(|(s, _)| *s == scheme)
        .map(|(_, h)| *h)
        .unwrap()
}

async fn import(app: &App, input: &str) -> (ImportSummary, Vec<String>) {
    let mut out = Vec::new();
    let summary = import_accounts(
        app.warden.auth(),
        input.as_bytes(),
        &mut out,
        &ClientInfo::default(),
    )
    .await
    .expect("import runs");
    let report = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (summary, report)
}

each_backend!(
    async fn import_reports_each_line_and_is_idempotent(b) {
        let app = app(b).await;
        let alice = unique("alice");
        let bob = unique("bob");
        // The same login with a Cyrillic "а": a look-alike, refused as taken.
        let look_alike = alice.replacen('a', "\u{430}", 1);
        let lines = [
            json!({"login": alice, "email": format!("{alice}@example.com"), "password_hash": hash_of("bcrypt"),
                   "scopes": ["reports", "admin"], "properties": {"team": "blue"}, "created_at": "2021-03-04T05:06:07Z"})
            .to_string(),
            json!({"login": bob, "password_hash": hash_of("django-pbkdf2-sha256")}).to_string(),
            String::new(),
            json!({"login": look_alike, "password_hash": hash_of("scrypt")}).to_string(),
            json!({"login": unique("carol"), "password_hash": "$md5$nope"}).to_string(),
            "{not json".to_owned(),
            json!({"login": unique("dave"), "password_hash": hash_of("scrypt"), "scope": ["x"]}).to_string(),
            json!({"login": unique("erin"), "password_hash": hash_of("scrypt"), "created_at": "2999-01-01T00:00:00Z"}).to_string(),
            json!({"login": bob, "password_hash": hash_of("pbkdf2-sha256")}).to_string(),
        ];
        let input = lines.join("\n");
        let (summary, report) = import(&app, &input).await;
        assert_eq!(summary, ImportSummary { created: 2, unchanged: 0, failed: 6 }, "{report:#?}");
        assert!(report[0].starts_with(&format!("line 1: created {alice} ")), "{report:#?}");
        assert!(report[1].starts_with(&format!("line 2: created {bob} ")), "{report:#?}");
        assert_eq!(report[2], "line 4: login_taken");
        assert!(report[3].starts_with("line 5: validation_failed: password_hash: "), "{report:#?}");
        assert!(report[4].starts_with("line 6: invalid_line: "), "{report:#?}");
        assert!(report[5].starts_with("line 7: invalid_line: unknown field `scope`"), "{report:#?}");
        assert_eq!(report[6], "line 8: validation_failed: created_at: is in the future");
        assert_eq!(report[7], "line 9: login_taken");
        assert_eq!(report[8], "2 created, 0 unchanged, 6 failed");
        assert_eq!(report.len(), 9);

        let id = report[0].rsplit(' ').next().and_then(AccountId::parse).expect("the id");
        let a = app.store.account_by_id(id).await.unwrap().expect("imported");
        assert_eq!(a.login, alice);
        assert_eq!(a.email.as_deref(), Some(format!("{alice}@example.com").as_str()));
        assert_eq!(a.scopes, vec!["admin".to_owned(), "reports".to_owned()]);
        assert_eq!(a.properties, json!({"team": "blue"}));
        assert_eq!(a.created_at, time::macros::datetime!(2021-03-04 05:06:07 UTC));
        assert_eq!(a.password_hash.as_deref(), Some(hash_of("bcrypt")));
        let created: Vec<_> = app.audit_all().await.into_iter().filter(|e| e.event == "account.created").collect();
        assert_eq!(created.len(), 2);

        // A re-run changes nothing: the imported lines are unchanged, the others fail again.
        let (again, report) = import(&app, &input).await;
        assert_eq!(again, ImportSummary { created: 0, unchanged: 2, failed: 6 }, "{report:#?}");
        assert_eq!(report[0], format!("line 1: unchanged {alice} (already imported)"));
        assert_eq!(report[2], "line 4: login_taken");
        let created_again = app.audit_all().await.into_iter().filter(|e| e.event == "account.created").count();
        assert_eq!(created_again, 2, "a re-run writes nothing");

        // The imported accounts sign in with their old passwords.
        let pair = app.login_pair(&alice, IMPORTED_PASSWORD).await;
        assert_eq!(pair.claims()["scope"], json!("admin reports"));
        app.login_pair(&bob, IMPORTED_PASSWORD).await;
        app.login(&bob, PASSWORD).await.assert_problem(401, "invalid_credentials");
    }
);

fn import_file(db: &TempDb, lines: &[serde_json::Value]) -> std::path::PathBuf {
    let path = db
        .dir
        .join(format!("import-{}.jsonl", uuid::Uuid::now_v7()));
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
    path
}

#[test]
fn the_binary_imports_a_file_and_reports_lines() {
    let db = TempDb::new();
    let file = import_file(
        &db,
        &[
            json!({"login": "imported-ann", "password_hash": hash_of("bcrypt"), "scopes": ["reports"]}),
            json!({"login": "imported-ben", "password_hash": hash_of("scrypt"), "email": "ben@example.com"}),
        ],
    );
    let path = file.to_str().unwrap();
    let out = ok(&db, &["account", "import", path]);
    assert!(out.contains("line 1: created imported-ann"), "{out}");
    assert!(out.contains("line 2: created imported-ben"), "{out}");
    assert!(
        out.trim_end().ends_with("2 created, 0 unchanged, 0 failed"),
        "{out}"
    );
    let again = ok(&db, &["account", "import", path]);
    assert!(again.contains("line 1: unchanged imported-ann"), "{again}");
    assert!(
        again
            .trim_end()
            .ends_with("0 created, 2 unchanged, 0 failed"),
        "{again}"
    );
    assert!(ok(&db, &["account", "show", "imported-ann"]).contains("scopes=[reports]"));

    // A file with a taken login: that line fails, the others are imported, the exit is non-zero.
    let mixed = import_file(
        &db,
        &[
            json!({"login": "imported-cat", "password_hash": hash_of("argon2")}),
            json!({"login": "IMPORTED-ANN", "password_hash": hash_of("scrypt")}),
        ],
    );
    let out = run(&db, &["account", "import", mixed.to_str().unwrap()]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("line 1: created imported-cat"), "{stdout}");
    assert!(stdout.contains("line 2: login_taken"), "{stdout}");
    assert!(
        stdout.contains("1 created, 0 unchanged, 1 failed"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 line(s) not imported"));

    // Standard input, with `-`.
    let line = json!({"login": "imported-dan", "password_hash": hash_of("pbkdf2-sha256")});
    let out = run_with_stdin(
        &db,
        &["account", "import", "-"],
        format!("{line}\n").as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("line 1: created imported-dan"));

    let audit = ok(&db, &["audit", "--account", "imported-ann"]);
    assert!(
        audit.contains("account.created") && audit.contains("bcrypt"),
        "{audit}"
    );
    assert!(!audit.contains(hash_of("bcrypt")), "no hash in the audit");
    let missing = run(&db, &["account", "import", "/nonexistent/file.jsonl"]);
    assert!(!missing.status.success());
}
