//! Configuration loading through the real binary: `.env` files under the
//! environment and over the TOML file, unknown variables stopping start-up
//! with the nearest name, and the start-up warning of a short access TTL.

use super::cli::{TempDb, fails_with_one_line, warden};
use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

fn in_dir(db: &TempDb, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = warden(db);
    c.current_dir(&db.dir).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[track_caller]
fn succeeds(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_dot_env_file_is_read_under_the_environment_and_over_the_toml_file() {
    let db = TempDb::new();
    // `.env` in the working directory is read: its invalid value stops start-up.
    std::fs::write(db.dir.join(".env"), "# comment\nWARDEN_JWT_ALG=none\n").unwrap();
    fails_with_one_line(&in_dir(&db, &["keys", "list"], &[]), "JWT");
    // The real environment wins over it.
    let out = in_dir(&db, &["keys", "rotate"], &[("WARDEN_JWT_ALG", "ES256")]);
    succeeds(&out);
    // It wins over the TOML file (HS256 without a secret is invalid).
    std::fs::write(
        db.dir.join(".env"),
        "WARDEN_JWT_ALG=ES256\nWARDEN_JWT_ALG=none\n",
    )
    .unwrap();
    std::fs::write(db.dir.join("w.toml"), "jwt_alg = \"HS256\"\n").unwrap();
    let out = in_dir(&db, &["--config", "w.toml", "keys", "list"], &[]);
    assert!(
        succeeds(&out).contains("ES256"),
        "the first value of .env wins over the file"
    );
    // WARDEN_ENV_FILE names another file instead; it must exist.
    std::fs::write(db.dir.join("other.env"), "WARDEN_BLOCK_TRIES=0\n").unwrap();
    fails_with_one_line(
        &in_dir(&db, &["keys", "list"], &[("WARDEN_ENV_FILE", "other.env")]),
        "BLOCK_TRIES",
    );
    fails_with_one_line(
        &in_dir(
            &db,
            &["keys", "list"],
            &[("WARDEN_ENV_FILE", "missing.env")],
        ),
        "missing.env",
    );
}

#[test]
fn an_unknown_variable_stops_start_up_naming_the_nearest_setting() {
    let db = TempDb::new();
    let line = "unknown setting WARDEN_BLOCK_TRYS; did you mean WARDEN_BLOCK_TRIES?";
    for args in [&["serve"][..], &["account", "list"][..]] {
        let out = in_dir(&db, args, &[("WARDEN_BLOCK_TRYS", "3")]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        fails_with_one_line(&out, line);
    }
    // From a `.env` file too.
    std::fs::write(db.dir.join(".env"), "WARDEN_ACESS_TTL=5m\n").unwrap();
    let out = in_dir(&db, &["account", "list"], &[]);
    assert_eq!(out.status.code(), Some(2));
    fails_with_one_line(
        &out,
        "unknown setting WARDEN_ACESS_TTL; did you mean WARDEN_ACCESS_TTL?",
    );
    std::fs::remove_file(db.dir.join(".env")).unwrap();
    // A key of the TOML file, the same way.
    std::fs::write(db.dir.join("w.toml"), "block_trys = 3\n").unwrap();
    let out = in_dir(&db, &["--config", "w.toml", "account", "list"], &[]);
    fails_with_one_line(&out, "did you mean `block_tries`?");
}

/// Run `warden serve` with `env` on an ephemeral port until it logs that it
/// listens (so every start-up warning is out), stop it; its stderr lines.
fn serve_stderr(db: &TempDb, env: &[(&str, &str)]) -> Vec<String> {
    let mut c = warden(db);
    c.arg("serve")
        .env("WARDEN_BIND", "127.0.0.1:0")
        .env("WARDEN_LOG_LEVEL", "info")
        .env(
            "WARDEN_ADMIN_SECRET",
            "config-env-test-admin-secret-0123456789",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    let mut up = false;
    while !up && Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                up = line.contains("warden listening");
                lines.push(line);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    lines.extend(rx.try_iter());
    assert!(up, "server did not come up: {lines:?}");
    lines
}

#[test]
fn an_access_ttl_under_a_minute_is_warned_about_at_start_up() {
    let db = TempDb::new();
    let lines = serve_stderr(&db, &[("WARDEN_ACCESS_TTL", "5")]);
    let warned: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("WARDEN_ACCESS_TTL"))
        .collect();
    assert_eq!(warned.len(), 1, "{lines:?}");
    assert!(
        warned[0].contains("WARN") && warned[0].contains("5 seconds"),
        "{warned:?}"
    );
    assert!(warned[0].contains("not minutes"), "{warned:?}");
    let lines = serve_stderr(&db, &[("WARDEN_ACCESS_TTL", "5m")]);
    assert!(
        !lines.iter().any(|l| l.contains("WARDEN_ACCESS_TTL")),
        "{lines:?}"
    );
}
