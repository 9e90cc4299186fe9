//! `warden`: the standalone auth server and its operator CLI.
#![forbid(unsafe_code)]

/// mimalloc returns freed memory to the OS promptly; glibc's per-thread arenas
/// keep every 19 MiB Argon2 block they ever served.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use warden_core::model::{Account, AccountId, ClientInfo};
use warden_core::store::{AccountQuery, AuditQuery, Store};
use warden_core::{Auth, Error, NewAccount};
use warden_server::config::Config;
use warden_server::import::import_accounts;

mod client_cmd;
mod org_cli;

#[derive(Parser)]
#[command(
    name = "warden",
    version,
    about = "Batteries-included authentication server"
)]
struct Cli {
    /// TOML configuration file (environment variables override it).
    #[arg(long, global = true, env = "WARDEN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Manage API keys.
    #[command(subcommand)]
    ApiKey(ApiKeyCmd),
    /// Manage service accounts (no password; they act through API keys).
    #[command(subcommand)]
    ServiceAccount(ServiceAccountCmd),
    /// Manage the OAuth clients of Warden's OpenID Provider.
    #[command(subcommand)]
    Client(client_cmd::ClientCmd),
    /// Manage organizations.
    #[command(subcommand)]
    Org(org_cli::OrgCmd),
    /// Time the configured Argon2id hash: prints the median of N verifications
    /// in ms and, with `--threads K`, the verifications per second of a pool of K
    /// threads each verifying N times (the bench's login bound).
    HashBench {
        /// How many verifications (per thread).
        #[arg(long, default_value_t = 20)]
        n: usize,
        /// Threads verifying at once.
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Show the audit trail.
    Audit {
        /// Only this account (id or login).
        #[arg(long)]
        account: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Args)]
struct PasswordArgs {
    /// The password (visible to other local users in the process list; prefer --password-stdin).
    #[arg(long)]
    password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Subcommand)]
enum AccountCmd {
    /// Create an account.
    Create {
        /// Login.
        login: String,
        #[command(flatten)]
        password: PasswordArgs,
        /// Email.
        #[arg(long)]
        email: Option<String>,
        /// Grant a scope (repeatable), e.g. --scope admin.
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// List accounts.
    List {
        /// Search login and email.
        #[arg(long)]
        q: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one account (id or login).
    Show { account: String },
    /// Delete an account and its sessions.
    Delete { account: String },
    /// Block an account; its sessions are revoked.
    Block {
        account: String,
        /// Why (kept for admins).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Unblock an account and clear its lockout.
    Unblock { account: String },
    /// Show, or with arguments replace, the account's scopes.
    Scopes {
        account: String,
        scopes: Vec<String>,
    },
    /// Turn off the account's second factor.
    DisableMfa { account: String },
    /// List stored accounts whose login looks like an older account's (from
    /// before the RFC 8265 / TR39 login rules); they keep working, unmerged.
    LoginCollisions,
    /// Rename an account (id or login): a new login, same rules, still unique.
    Rename { account: String, new_login: String },
    /// Import accounts from another system: FILE (`-`: standard input) holds
    /// one JSON object a line with `login`, `password_hash` (argon2, bcrypt,
    /// pbkdf2-sha256, scrypt or Django pbkdf2_sha256) and optionally
    /// `email`, `scopes`, `properties`, `created_at`. Each line is its own
    /// transaction; a re-run reports what it imported before as unchanged.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum ServiceAccountCmd {
    /// Create a service account; NAME is its login.
    Create {
        name: String,
        /// Grant a scope (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ApiKeyCmd {
    /// Create an API key for an account (id or login, as argument or
    /// --account), or without one for a new service account named after the
    /// key. The key is printed once on standard output; only its hash is stored.
    Create {
        /// The owner (id or login); same as --account.
        #[arg(conflicts_with = "account_flag")]
        account: Option<String>,
        /// The owner (id or login).
        #[arg(long = "account")]
        account_flag: Option<String>,
        /// A name for the key (without an account: the new service account's login).
        #[arg(long)]
        name: String,
        /// A scope of the key (repeatable). A service account's scopes are
        /// widened to hold them; a person's must already hold each. None
        /// given: the account's scopes.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Days until it expires (default WARDEN_API_KEY_TTL_DAYS; 0: never,
        /// only with WARDEN_API_KEY_ALLOW_NO_EXPIRY=true).
        #[arg(long, visible_alias = "days")]
        expires_in_days: Option<u32>,
    },
    /// List API keys (revoked ones included), newest first.
    List {
        /// Only this account's keys (id or login).
        #[arg(long)]
        account: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Revoke an API key (by id).
    Revoke { id: String },
    /// Give an API key (by id) a new expiry counted from now.
    Renew {
        id: String,
        /// Days until it expires (default WARDEN_API_KEY_TTL_DAYS).
        #[arg(long, visible_alias = "days")]
        expires_in_days: Option<u32>,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Add a new signing key; old tokens keep verifying until they expire.
    Rotate,
    /// List signing keys.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cfg = match warden_server::config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warden: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&cfg);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warden: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command, cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

fn describe(e: &Error) -> String {
    match e {
        Error::Validation(v) => v
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        Error::Internal(m) | Error::Unavailable(m) | Error::BadRequest(m) => m.clone(),
        other => other.to_string(),
    }
}

fn init_tracing(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&cfg.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cfg.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cmd: Command, cfg: Config) -> Result<(), Error> {
    // Every command but hash-bench needs the store.
    let store = match cmd {
        Command::HashBench { n, threads } => return hash_bench(&cfg, n, threads).await,
        _ => warden_server::open_configured_store(&cfg).await?,
    };
    match cmd {
        Command::HashBench { n, threads } => hash_bench(&cfg, n, threads).await,
        Command::Serve => serve(cfg, store).await,
        Command::Migrate => {
            println!("database is up to date ({})", store.backend());
            Ok(())
        }
        Command::Keys(k) => keys(k, &cfg, store).await,
        Command::ApiKey(k) => {
            let auth = engine(&cfg, store).await?;
            api_key(k, &auth).await
        }
        Command::ServiceAccount(ServiceAccountCmd::Create { name, scopes }) => {
            let auth = engine(&cfg, store).await?;
            let input = warden_core::NewServiceAccount {
                name,
                scopes,
                properties: None,
            };
            let a = auth
                .accounts()
                .create_service_account(input, &cli_client())
                .await?;
            print_account(&a);
            Ok(())
        }
        Command::Account(a) => {
            let auth = engine(&cfg, store).await?;
            account(a, &auth).await
        }
        Command::Client(c) => {
            let auth = engine(&cfg, store).await?;
            client_cmd::run(c, &auth).await
        }
        Command::Org(o) => {
            let auth = engine(&cfg, store).await?;
            org_cli::org(o, &auth).await
        }
        Command::Audit { account, limit } => {
            let auth = engine(&cfg, store).await?;
            let account_id = match account {
                Some(a) => Some(find(&auth, &a).await?.id),
                None => None,
            };
            for e in auth
                .accounts()
                .audit_events(&AuditQuery {
                    account_id,
                    limit,
                    ..AuditQuery::default()
                })
                .await?
            {
                let at =
                    e.at.format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default();
                let who = e
                    .account_id
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{at}  {who}  {:<24} ip={} {}",
                    e.event,
                    e.ip.as_deref().unwrap_or("-"),
                    e.detail
                );
            }
            Ok(())
        }
    }
}

/// `warden hash-bench`: prints `MEDIAN_MS RATE_PER_S description`, where
/// MEDIAN_MS is the median time of one verification and RATE_PER_S the
/// verifications per second of `threads` threads verifying at once, on the
/// server's own hash pool (Argon2id is bound by memory bandwidth, so two at
/// once are each slower than one alone: the rate, not cores ÷ median, is what
/// the pool can do).
async fn hash_bench(cfg: &Config, n: usize, threads: usize) -> Result<(), Error> {
    let settings = cfg.settings().map_err(Error::BadRequest)?;
    let (n, threads) = (n.max(1), threads.max(1));
    let hasher = warden_core::password::Hasher::new(settings.hash, threads)?;
    let password = "warden-hash-bench-password";
    let phc = hasher.hash(password).await?;
    let started = std::time::Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..threads {
        let (hasher, phc) = (hasher.clone(), phc.clone());
        workers.spawn(async move {
            let mut ms = Vec::with_capacity(n);
            for _ in 0..n {
                let t = std::time::Instant::now();
                hasher.verify(password, Some(&phc)).await?;
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, Error>(ms)
        });
    }
    let mut ms = Vec::with_capacity(n * threads);
    while let Some(done) = workers.join_next().await {
        ms.extend(done.map_err(|e| Error::Internal(format!("hash-bench worker: {e}")))??);
    }
    let rate = ms.len() as f64 / started.elapsed().as_secs_f64();
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let h = settings.hash;
    println!(
        "{median:.2} {rate:.1} argon2id m={} t={} p={}: median of {} verifications, {threads} \
         thread(s) at once (warden)",
        h.memory_kib,
        h.iterations,
        h.parallelism,
        ms.len()
    );
    Ok(())
}

async fn engine(cfg: &Config, store: Arc<dyn Store>) -> Result<Auth, Error> {
    Auth::new(store, cfg.settings().map_err(Error::BadRequest)?).await
}

fn cli_client() -> ClientInfo {
    ClientInfo {
        ip: None,
        user_agent: Some("warden-cli".into()),
        actor: Some(warden_core::model::Actor::Cli),
    }
}

async fn find(auth: &Auth, key: &str) -> Result<Arc<Account>, Error> {
    if let Some(id) = AccountId::parse(key) {
        return auth.accounts().account(id).await;
    }
    let a = auth
        .accounts()
        .account_by_login(key)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Arc::new(a))
}

fn read_password(p: PasswordArgs) -> Result<String, Error> {
    if let Some(pw) = p.password {
        return Ok(pw);
    }
    if p.password_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(Error::internal)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    Err(Error::BadRequest(
        "give --password or --password-stdin".into(),
    ))
}

fn print_account(a: &Account) {
    println!(
        "{}  {}  kind={}  email={}  active={}  blocked={}  mfa={}  scopes=[{}]",
        a.id,
        a.login,
        a.kind.as_str(),
        a.email.as_deref().unwrap_or("-"),
        a.active,
        a.blocked,
        a.mfa_enabled,
        a.scopes.join(" ")
    );
}

async fn account(cmd: AccountCmd, auth: &Auth) -> Result<(), Error> {
    let client = cli_client();
    match cmd {
        AccountCmd::Create {
            login,
            password,
            email,
            scopes,
        } => {
            let password = read_password(password)?;
            let a = auth
                .accounts()
                .create_account(
                    NewAccount {
                        login,
                        password,
                        email,
                        scopes,
                        ..NewAccount::default()
                    },
                    &client,
                )
                .await?;
            print_account(&a);
        }
        AccountCmd::List { q, limit } => {
            let mut after = None;
            let mut left = limit;
            while left > 0 {
                let page = auth
                    .accounts()
                    .list_accounts(&AccountQuery {
                        search: q.clone(),
                        after,
                        limit: left.min(200),
                    })
                    .await?;
                for a in &page {
                    print_account(a);
                }
                left = left.saturating_sub(page.len() as u32);
                match page.last() {
                    Some(last) if page.len() == 200 => after = Some(last.id),
                    _ => break,
                }
            }
        }
        AccountCmd::Show { account } => print_account(find(auth, &account).await?.as_ref()),
        AccountCmd::Delete { account } => {
            let a = find(auth, &account).await?;
            auth.accounts().delete_account(a.id, &client).await?;
            println!("deleted {}", a.login);
        }
        AccountCmd::Block { account, reason } => {
            let a = find(auth, &account).await?;
            auth.accounts()
                .block_account(a.id, &reason, &client)
                .await?;
            println!("blocked {}", a.login);
        }
        AccountCmd::Unblock { account } => {
            let a = find(auth, &account).await?;
            auth.accounts().unblock_account(a.id, &client).await?;
            println!("unblocked {}", a.login);
        }
        AccountCmd::Scopes { account, scopes } => {
            let a = find(auth, &account).await?;
            let a = if scopes.is_empty() {
                (*a).clone()
            } else {
                auth.accounts().set_scopes(a.id, scopes, &client).await?
            };
            println!("{}", a.scopes.join(" "));
        }
        AccountCmd::DisableMfa { account } => {
            let a = find(auth, &account).await?;
            auth.mfa().disable_mfa(a.id, &client).await?;
            println!("second factor off for {}", a.login);
        }
        AccountCmd::Rename { account, new_login } => {
            let a = find(auth, &account).await?;
            let patch = warden_core::AccountPatch {
                login: Some(new_login),
                ..warden_core::AccountPatch::default()
            };
            let renamed = auth.accounts().update_account(a.id, patch, &client).await?;
            println!("renamed {} to {}", a.login, renamed.login);
        }
        AccountCmd::Import { file } => {
            let mut out = std::io::stdout();
            let summary = if file.as_os_str() == "-" {
                import_accounts(auth, std::io::stdin().lock(), &mut out, &client).await?
            } else {
                let f = std::fs::File::open(&file).map_err(|e| {
                    Error::BadRequest(format!("cannot read {}: {e}", file.display()))
                })?;
                import_accounts(auth, std::io::BufReader::new(f), &mut out, &client).await?
            };
            if summary.failed > 0 {
                return Err(Error::BadRequest(format!(
                    "{} line(s) not imported",
                    summary.failed
                )));
            }
        }
        AccountCmd::LoginCollisions => {
            let found = auth.accounts().login_collisions().await?;
            for c in &found {
                println!(
                    "{}\t{}\tlooks like\t{}\t{}\t{}",
                    c.account_id,
                    c.login,
                    c.with_id
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "-".into()),
                    c.with_login.as_deref().unwrap_or("-"),
                    if c.key_taken {
                        "same key: keeps its old key"
                    } else {
                        "look-alike"
                    },
                );
            }
            println!("{} login collision(s)", found.len());
        }
    }
    Ok(())
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn print_api_key(k: &warden_core::store::ApiKey) {
    let state = match (k.revoked_at, k.expires_at) {
        (Some(r), _) => format!("revoked {}", rfc3339(r)),
        (None, Some(e)) => format!("expires {}", rfc3339(e)),
        (None, None) => "never expires".to_owned(),
    };
    println!(
        "{}  account={}  name={:?}  scopes=[{}]  created {}  {state}",
        k.id,
        k.account_id,
        k.name,
        k.scopes.join(" "),
        rfc3339(k.created_at)
    );
}

fn api_key_id(s: &str) -> Result<warden_core::model::ApiKeyId, Error> {
    warden_core::model::ApiKeyId::parse(s)
        .ok_or_else(|| Error::BadRequest(format!("{s:?} is not an API key id")))
}

async fn api_key(cmd: ApiKeyCmd, auth: &Auth) -> Result<(), Error> {
    let client = cli_client();
    match cmd {
        ApiKeyCmd::Create {
            account,
            account_flag,
            name,
            scopes,
            expires_in_days,
        } => {
            let owner = match account.or(account_flag) {
                Some(a) => Some(find(auth, &a).await?.id),
                None => None,
            };
            let issued = auth
                .api_keys()
                .admin_create_api_key(
                    owner,
                    warden_core::api_key::NewApiKey {
                        name,
                        scopes: (!scopes.is_empty()).then_some(scopes),
                        expires_in_days,
                    },
                    &client,
                )
                .await?;
            let a = auth.accounts().account(issued.record.account_id).await?;
            eprint!("created for {} ({}): ", a.login, a.kind.as_str());
            print_api_key_to_stderr(&issued.record);
            eprintln!("the key is shown once; store it safely:");
            println!("{}", issued.key);
        }
        ApiKeyCmd::List { account, limit } => {
            let account_id = match account {
                Some(a) => Some(find(auth, &a).await?.id),
                None => None,
            };
            let keys = auth
                .api_keys()
                .admin_list_api_keys(&warden_core::store::ApiKeyQuery {
                    account_id,
                    include_revoked: true,
                    limit,
                })
                .await?;
            for k in &keys {
                print_api_key(k);
            }
        }
        ApiKeyCmd::Revoke { id } => {
            auth.api_keys()
                .revoke_api_key(None, api_key_id(&id)?, &client)
                .await?;
            println!("revoked {id}");
        }
        ApiKeyCmd::Renew {
            id,
            expires_in_days,
        } => {
            let k = auth
                .api_keys()
                .renew_api_key(None, api_key_id(&id)?, expires_in_days, &client)
                .await?;
            print_api_key(&k);
        }
    }
    Ok(())
}

fn print_api_key_to_stderr(k: &warden_core::store::ApiKey) {
    eprintln!(
        "{}  name={:?}  scopes=[{}]  expires {}",
        k.id,
        k.name,
        k.scopes.join(" "),
        k.expires_at.map_or_else(|| "never".to_owned(), rfc3339)
    );
}

async fn keys(cmd: KeysCmd, cfg: &Config, store: Arc<dyn Store>) -> Result<(), Error> {
    let settings = cfg.settings().map_err(Error::BadRequest)?;
    match cmd {
        KeysCmd::Rotate => {
            // Make sure a first key exists, then add the new one.
            Auth::new(store.clone(), settings.clone()).await?;
            let now = time::OffsetDateTime::now_utc();
            let kid = warden_core::rotate_signing_key(store.as_ref(), &settings, now).await?;
            println!("new signing key {kid}; older keys verify until their tokens expire");
        }
        KeysCmd::List => {
            for k in store.signing_keys().await? {
                let created = k
                    .created_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                let state = match k.retired_at {
                    None => "active".to_owned(),
                    Some(r) => format!(
                        "retired {}",
                        r.format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default()
                    ),
                };
                println!("{}  {}  created {created}  {state}", k.kid, k.alg);
            }
        }
    }
    Ok(())
}

async fn serve(cfg: Config, store: Arc<dyn Store>) -> Result<(), Error> {
    for w in cfg.warnings() {
        tracing::warn!("{w}");
    }
    let (warden, generated) = warden_server::build_warden(&cfg, store).await?;
    if let Some(secret) = generated {
        // Printed once: only its hash is stored.
        println!("Generated admin secret (shown once, store it safely): {secret}");
    }
    let background = warden.auth().upkeep().spawn_background(
        std::time::Duration::try_from(cfg.sync_interval.0)
            .unwrap_or(std::time::Duration::from_secs(1)),
    );
    let redis_listener = warden_server::start_redis(&cfg, &warden).await?;
    let app = warden_server::app(&cfg, &warden);
    let addr: SocketAddr = cfg
        .bind
        .parse()
        .map_err(|_| Error::BadRequest("WARDEN_BIND".into()))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Unavailable(format!("cannot listen on {addr}: {e}")))?;
    tracing::info!(%addr, store = warden.auth().store().backend(), "warden listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .map_err(Error::internal)?;
    // The buffered API-key uses (written in batches) go to the store before the exit.
    if !warden
        .auth()
        .api_keys()
        .flush_api_key_usage(std::time::Duration::from_secs(5))
        .await
    {
        tracing::warn!("API key usage not all written at shutdown");
    }
    background.abort();
    if let Some(l) = redis_listener {
        l.abort();
    }
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
