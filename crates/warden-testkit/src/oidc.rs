//! The real OpenID provider of the OIDC tests: `e2e/oidc/provider.mjs`
//! (node `oidc-provider`), started on a free port for one test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The provider process, killed on drop.
pub struct Node(#[allow(dead_code)] tokio::process::Child);

/// Check for `node` and install the provider's packages once.
fn install_oidc_provider(dir: &std::path::Path) -> Result<(), String> {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err("node is not installed".into());
    }
    if !dir.join("node_modules/oidc-provider").exists() {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(dir)
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => {
                return Err(format!("npm ci failed: {other:?}"));
            }
        }
    }
    Ok(())
}

/// Start `e2e/oidc/provider.mjs` with the client `warden` / `warden-secret`
/// redirecting to `redirect_uri` (installing its packages once); `None`
/// (with a message) when `node` or `npm` is missing, a failure with `CI` set.
pub async fn start_oidc_provider(redirect_uri: &str) -> Option<(Node, String)> {
    use tokio::io::AsyncBufReadExt;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e/oidc");
    // One install for every backend's run of this test (they run in parallel).
    static READY: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();
    let ready = READY
        .get_or_init(|| async {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || install_oidc_provider(&dir))
                .await
                .unwrap_or_else(|e| Err(format!("the install task failed: {e}")))
        })
        .await;
    if let Err(why) = ready {
        // In CI a missing tool fails the test instead of passing it.
        assert!(
            std::env::var_os("CI").is_none(),
            "the OpenID provider test cannot run: {why}"
        );
        eprintln!("not run: the OpenID provider test: {why}");
        return None;
    }
    let mut child = tokio::process::Command::new("node")
        .arg(dir.join("provider.mjs"))
        .env("REDIRECT_URI", redirect_uri)
        .env("CLIENT_ID", "warden")
        .env("CLIENT_SECRET", "warden-secret")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn node");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let port = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(p) = line.strip_prefix("LISTENING ") {
                return p.trim().to_owned();
            }
        }
        panic!("the provider exited");
    })
    .await
    .expect("the provider starts");
    // Keep draining its output: a closed pipe would kill it on its next log line.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Some((Node(child), format!("http://127.0.0.1:{port}")))
}
