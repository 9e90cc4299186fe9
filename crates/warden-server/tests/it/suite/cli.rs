use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(super) struct TempDb {
    pub(super) dir: PathBuf,
}

impl TempDb {
    pub(super) fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("warden-cli-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }
    fn url(&self) -> String {
        format!("sqlite://{}/w.db?mode=rwc", self.dir.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(super) fn warden(db: &TempDb) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    for (k, _) in std::env::vars() {
        if k.starts_with("WARDEN_") {
            c.env_remove(k);
        }
    }
    c.env("WARDEN_DATABASE_URL", db.url())
        .env("WARDEN_ARGON2_MEMORY_KIB", "64")
        .env("WARDEN_ARGON2_ITERATIONS", "1")
        .env("WARDEN_LOG_LEVEL", "error")
        .stdin(Stdio::null());
    c
}

pub(super) fn run(db: &TempDb, args: &[&str]) -> Output {
    warden(db).args(args).output().unwrap()
}

/// `warden ARGS` with `input` on its standard input.
pub(super) fn run_with_stdin(db: &TempDb, args: &[&str], input: &[u8]) -> Output {
    let mut child = warden(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[track_caller]
pub(super) fn ok(db: &TempDb, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "warden {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cli_manages_accounts_keys_and_audit() {
    let db = TempDb::new();
    let out = ok(
        &db,
        &[
            "account",
            "create",
            "bob",
            "--password",
            "cli password for bob",
            "--scope",
            "admin",
            "--email",
            "bob@example.com",
        ],
    );
    assert!(
        out.contains("bob") && out.contains("scopes=[admin]"),
        "{out}"
    );
    let dup = run(
        &db,
        &[
            "account",
            "create",
            "BOB",
            "--password",
            "cli password for bob",
        ],
    );
    assert!(!dup.status.success());
    ok(
        &db,
        &[
            "account",
            "create",
            "carol",
            "--password",
            "cli password for carol",
        ],
    );
    let list = ok(&db, &["account", "list"]);
    assert!(list.contains("bob") && list.contains("carol"), "{list}");
    assert_eq!(list.lines().count(), 2);
    let q = ok(&db, &["account", "list", "--q", "CAR"]);
    assert!(q.contains("carol") && !q.contains("bob"), "{q}");
    let show = ok(&db, &["account", "show", "bob"]);
    assert!(
        show.contains("blocked=false") && show.contains("email=bob@example.com"),
        "{show}"
    );
    let out = ok(&db, &["account", "block", "bob", "--reason", "x"]);
    assert!(out.contains("blocked bob"), "{out}");
    assert!(ok(&db, &["account", "show", "bob"]).contains("blocked=true"));
    ok(&db, &["account", "unblock", "bob"]);
    assert!(ok(&db, &["account", "show", "BOB"]).contains("blocked=false"));
    let out = ok(&db, &["account", "scopes", "bob", "a", "b"]);
    assert_eq!(out.trim(), "a b");
    assert_eq!(ok(&db, &["account", "scopes", "bob"]).trim(), "a b");
    let keys = ok(&db, &["keys", "list"]);
    assert_eq!(keys.lines().count(), 1, "{keys}");
    assert!(keys.contains("EdDSA") && keys.contains("active"), "{keys}");
    let out = ok(&db, &["keys", "rotate"]);
    assert!(out.contains("new signing key"), "{out}");
    let keys = ok(&db, &["keys", "list"]);
    assert_eq!(keys.lines().count(), 2, "{keys}");
    assert_eq!(
        keys.lines().filter(|l| l.contains("retired")).count(),
        1,
        "{keys}"
    );
    assert_eq!(
        keys.lines()
            .filter(|l| l.trim_end().ends_with("active"))
            .count(),
        1,
        "{keys}"
    );
    let audit = ok(&db, &["audit", "--account", "bob"]);
    for e in [
        "account.created",
        "account.blocked",
        "account.unblocked",
        "account.scopes_changed",
    ] {
        assert!(audit.contains(e), "{e} in {audit}");
    }
    assert!(!audit.contains("cli password"), "no password in the audit");
    let out = ok(&db, &["account", "delete", "bob"]);
    assert!(out.contains("deleted bob"), "{out}");
    let gone = run(&db, &["account", "show", "bob"]);
    assert!(!gone.status.success());
    assert!(!ok(&db, &["account", "list"]).contains("bob"));
}

#[test]
fn cli_manages_service_accounts_and_their_keys() {
    let db = TempDb::new();
    let out = ok(
        &db,
        &["service-account", "create", "deployer", "--scope", "deploy"],
    );
    assert!(
        out.contains("deployer") && out.contains("kind=service") && out.contains("scopes=[deploy]"),
        "{out}"
    );
    assert!(
        !run(&db, &["service-account", "create", "DEPLOYER"])
            .status
            .success()
    );

    // A key for the service account: its scopes are widened to hold the key's.
    let key = ok(
        &db,
        &[
            "api-key",
            "create",
            "--name",
            "ci",
            "--account",
            "deployer",
            "--scope",
            "logs",
            "--days",
            "3",
        ],
    );
    assert!(
        key.trim().starts_with("wdn_") && key.lines().count() == 1,
        "{key}"
    );
    assert!(ok(&db, &["account", "show", "deployer"]).contains("scopes=[deploy logs]"));

    // Without an account: a new service account named after the key.
    let key2 = ok(&db, &["api-key", "create", "--name", "nightly-report"]);
    assert!(key2.trim().starts_with("wdn_"), "{key2}");
    let show = ok(&db, &["account", "show", "nightly-report"]);
    assert!(show.contains("kind=service"), "{show}");

    let list = ok(&db, &["api-key", "list", "--account", "deployer"]);
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(!list.contains(key.trim()), "no secret in the list");
    let id = list.split_whitespace().next().unwrap().to_owned();
    let renewed = ok(&db, &["api-key", "renew", &id, "--days", "30"]);
    assert!(
        renewed.contains(&id) && renewed.contains("expires"),
        "{renewed}"
    );
    assert!(ok(&db, &["api-key", "revoke", &id]).contains("revoked"));
    assert!(ok(&db, &["api-key", "list", "--account", "deployer"]).contains("revoked"));
    assert_eq!(ok(&db, &["api-key", "list"]).lines().count(), 2);

    // Rename any account; a taken login fails.
    let out = ok(&db, &["account", "rename", "nightly-report", "reports-bot"]);
    assert!(
        out.contains("renamed nightly-report to reports-bot"),
        "{out}"
    );
    assert!(
        !run(&db, &["account", "rename", "reports-bot", "deployer"])
            .status
            .success()
    );
    let audit = ok(&db, &["audit", "--account", "reports-bot"]);
    for e in [
        "service_account.created",
        "api_key.created",
        "account.renamed",
    ] {
        assert!(audit.contains(e), "{e} in {audit}");
    }
}

#[test]
fn cli_reads_the_password_from_stdin() {
    let db = TempDb::new();
    let out = run_with_stdin(
        &db,
        &["account", "create", "dave", "--password-stdin"],
        b"password from stdin\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("dave"));
}

#[track_caller]
pub(super) fn fails_with_one_line(out: &Output, needle: &str) {
    assert!(!out.status.success(), "should fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line on stderr: {err:?}"
    );
    assert!(err.contains(needle), "{err:?} should mention {needle}");
}

/// `hash-bench` prints `MEDIAN_MS RATE_PER_S description`, counting every
/// verification of every thread (the bench reads the first two fields).
#[test]
fn hash_bench_prints_the_median_and_the_pool_rate() {
    let db = TempDb::new();
    let out = run(&db, &["hash-bench", "--n", "3", "--threads", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let mut fields = line.split_whitespace();
    let median: f64 = fields.next().unwrap().parse().unwrap();
    let rate: f64 = fields.next().unwrap().parse().unwrap();
    assert!(median > 0.0 && rate > 0.0, "{line}");
    assert!(line.contains("m=64 t=1 p=1"), "{line}");
    assert!(
        line.contains("median of 6 verifications, 2 thread(s)"),
        "{line}"
    );
}

#[test]
fn cli_refuses_an_invalid_configuration_with_one_line() {
    let db = TempDb::new();
    fails_with_one_line(
        &warden(&db)
            .env("WARDEN_JWT_ALG", "none")
            .args(["account", "list"])
            .output()
            .unwrap(),
        "JWT",
    );
    fails_with_one_line(
        &warden(&db)
            .env("WARDEN_BLOCK_TRIES", "0")
            .args(["account", "list"])
            .output()
            .unwrap(),
        "BLOCK_TRIES",
    );
    fails_with_one_line(
        &warden(&db)
            .env("WARDEN_JWT_ALG", "HS256")
            .args(["keys", "list"])
            .output()
            .unwrap(),
        "SECRET",
    );
    // The environment overrides the file.
    let file = db.dir.join("w.toml");
    std::fs::write(&file, "jwt_alg = \"ES256\"\nblock_tries = 3\n").unwrap();
    let out = warden(&db)
        .env("WARDEN_JWT_ALG", "none")
        .arg("--config")
        .arg(&file)
        .args(["account", "list"])
        .output()
        .unwrap();
    fails_with_one_line(&out, "JWT");
    let out = warden(&db)
        .arg("--config")
        .arg(&file)
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(
            &warden(&db)
                .args(["keys", "list"])
                .env("WARDEN_JWT_ALG", "ES256")
                .output()
                .unwrap()
                .stdout
        )
        .contains("ES256")
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn blocking_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    String::from_utf8_lossy(&raw)
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// Start `warden serve`, wait until it answers, return its stdout lines and the admin check.
fn serve_once(db: &TempDb) -> (Vec<String>, Option<u16>) {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = warden(db)
        .arg("serve")
        .env("WARDEN_BIND", addr.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut up = false;
    while Instant::now() < deadline {
        if blocking_get(addr, "/healthz", &[]) == Some(200) {
            up = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut lines: Vec<String> = rx.try_iter().collect();
    let secret = lines
        .iter()
        .find_map(|l| l.split("): ").nth(1).map(str::trim).map(str::to_owned));
    let admin = match (&secret, up) {
        (Some(s), true) => blocking_get(addr, "/auth/admin/accounts", &[("x-admin-secret", s)]),
        _ => None,
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    lines.extend(rx.try_iter());
    assert!(up, "server did not come up; stdout {lines:?}");
    (lines, admin)
}

#[test]
fn serve_prints_the_generated_admin_secret_only_once() {
    let db = TempDb::new();
    let (first, admin) = serve_once(&db);
    let printed: Vec<&String> = first
        .iter()
        .filter(|l| l.contains("admin secret"))
        .collect();
    assert_eq!(printed.len(), 1, "{first:?}");
    assert!(printed[0].contains("was_"), "{first:?}");
    assert_eq!(
        admin,
        Some(200),
        "the printed secret opens the admin routes"
    );
    let (second, _) = serve_once(&db);
    assert!(
        !second
            .iter()
            .any(|l| l.contains("admin secret") || l.contains("was_")),
        "{second:?}"
    );
}
