//! One configuration model for the library and the `warden` server:
//! defaults → TOML file → a `.env` file → `WARDEN_*` variables (see
//! [`Config::load`]). Secrets may also come from `WARDEN_<NAME>_FILE`. A
//! `WARDEN_` variable or file key that names no setting is an error naming
//! the nearest one.
//!
//! Field `x` of [`Config`] is the variable `WARDEN_X`. [`Config::load`] reads
//! a file and the process environment (the server), [`Config::from_vars`] any
//! list of variables; [`crate::WardenBuilder::from_env`] and
//! [`crate::WardenBuilder::from_config`] turn a configuration into a builder
//! (settings, cookies, proxies, captcha, sign-in providers, mail). The store,
//! the listen address, logs and Redis are the application's to wire; the
//! server does it from the same fields.
//!
//! ```
//! use warden_axum::config::Config;
//! let vars = [("WARDEN_ACCESS_TTL", "10m"), ("WARDEN_PREFIX", "/id")];
//! let cfg = Config::from_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned())))?;
//! assert_eq!(cfg.access_ttl.0, time::Duration::minutes(10));
//! assert!(Config::from_vars([("WARDEN_ACCESS_TTL".to_owned(), "soon".to_owned())]).is_err());
//! # Ok::<(), String>(())
//! ```

mod check;
mod env;
mod values;
mod wire;

pub use crate::oauth::{OidcSettings, oidc_from_env, oidc_var};
pub use check::PoolOptions;
pub use env::unknown_env_vars;
pub use values::{Dur, List, parse_duration};

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};
use std::path::Path;
use time::Duration;
use warden_core::Settings;

/// Every setting of the server. Field `x` is `WARDEN_X` in the environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listen address.
    pub bind: String,
    /// `sqlite://path?mode=rwc` (default `./warden.db`), `sqlite::memory:`, or
    /// `postgres://user:pass@host:5432/db` (TLS through the URL's `sslmode=`:
    /// `disable`, `prefer`, `require`, `verify-ca`, `verify-full`, with
    /// `sslrootcert=` for a private CA), or `mysql://user:pass@host:3306/db`
    /// (also `mariadb://`; the database must exist).
    pub database_url: String,
    /// PostgreSQL and MySQL: connections in each node's pool.
    pub database_pool_size: u32,
    /// PostgreSQL: `statement_timeout` of every connection (0: none); MySQL:
    /// `innodb_lock_wait_timeout` (whole seconds, 0: 50 s). Waiting
    /// for a pooled connection is bounded by the same time (at least 1 s;
    /// 10 s when 0).
    pub database_statement_timeout: Dur,
    /// SQLite: `normal` (an answered write survives a crash of the process)
    /// or `full` (it survives a power loss too; an fsync per commit).
    pub sqlite_synchronous: String,
    /// Mount point of the auth routes.
    pub prefix: String,
    /// Shared secret for admin routes (`X-Admin-Secret`).
    pub admin_secret: Option<String>,
    /// HMAC secret for HS256/384/512 (at least 32 bytes).
    pub secret: Option<String>,
    /// JWT signing algorithm.
    pub jwt_alg: String,
    /// `iss` claim.
    pub issuer: String,
    /// `aud` claim.
    pub audience: Option<String>,
    /// Access-token lifetime.
    pub access_ttl: Dur,
    /// Session lifetime without `remember`.
    pub session_ttl: Dur,
    /// Session lifetime with `remember`.
    pub long_session_ttl: Dur,
    /// Clock-skew leeway on `exp`/`nbf` (max 30 s).
    pub leeway: Dur,
    /// Failures before a login is locked.
    pub block_tries: u32,
    /// First lock window (doubles each time).
    pub block_window: Dur,
    /// Argon2id memory (KiB).
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    pub argon2_iterations: u32,
    /// Argon2id parallelism.
    pub argon2_parallelism: u32,
    /// Concurrent password hashes (0: number of cores).
    pub hash_concurrency: usize,
    /// `open` or `closed`.
    pub registration: String,
    /// Requests a minute per IP on login/register/password/fresh (0: off).
    pub rate_limit_per_minute: u32,
    /// Access cookie name.
    pub cookie_name: String,
    /// Refresh cookie name.
    pub refresh_cookie_name: String,
    /// Access cookie path.
    pub cookie_path: String,
    /// `Secure` cookies.
    pub cookie_secure: bool,
    /// Cookie domain.
    pub cookie_domain: Option<String>,
    /// Proxies (IPs or CIDRs) whose `X-Forwarded-For` is trusted.
    pub trusted_proxies: List,
    /// Request body limit in bytes.
    pub body_limit: usize,
    /// Days of audit kept (0: forever).
    pub audit_retention_days: u32,
    /// Serve `/docs` and `/openapi.json`.
    pub docs: bool,
    /// Leave the admin and API-key routes out of the docs.
    pub hide_docs: bool,
    /// Serve the hosted pages (sign-in, sign-up, account, admin console).
    pub ui: bool,
    /// Where the hosted pages live (`/ui`). With the pages on, mailed links
    /// open them: `{public_url}{ui_path}/email/verify?token=...`.
    pub ui_path: String,
    /// Folder whose files replace built-in page templates of the same name
    /// (`base.html`, `sign_in.html`, ..., `static/ui.css`).
    pub ui_template_dir: Option<String>,
    /// `text` or `json` logs.
    pub log_format: String,
    /// Log filter (`info`, `warden=debug`, ...).
    pub log_level: String,
    /// How often each node pulls the revocation feed.
    pub sync_interval: Dur,
    /// `redis://host:port/db`: lockout counters, the per-IP rate limit and
    /// revocation wake-ups shared by every node. Unset: kept in each process;
    /// several nodes then still agree on revocations through the database
    /// change feed (within `sync_interval`), but each has its own lockout
    /// budget and rate limit.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and of the wake-up channel.
    pub redis_prefix: String,
    /// Where sessions and refresh tokens live: `database` (the default, in
    /// `database_url`) or `redis` (in `redis_url`, which must then be set;
    /// accounts, audit and the change feed stay in the database).
    pub session_store: String,
    /// Default lifetime of a new or renewed API key, in days (1–3650; 0 only
    /// with `api_key_allow_no_expiry`: keys never expire by default).
    pub api_key_ttl_days: u32,
    /// Allow `expires_in_days: 0` (API keys that never expire).
    pub api_key_allow_no_expiry: bool,
    /// Also accept an API key in the `api_key` query parameter (else only `X-API-Key`).
    pub api_key_query: bool,
    /// Usage records kept per API key, newest first (0: record nothing).
    pub api_key_usage_keep: u32,
    /// Offer TOTP enrolment (`/mfa/totp/*` routes).
    pub otp_enabled: bool,
    /// Issuer shown by authenticator apps (no `:`).
    pub otp_issuer: String,
    /// Wrong codes after which an `mfa_token` is dead.
    pub otp_block_tries: u32,
    /// Key that encrypts TOTP secrets at rest: 32 bytes, base64. Unset: generated
    /// on first start and kept in the database.
    pub encryption_key: Option<String>,
    /// Public base URL of the server; links in mails are
    /// `{public_url}{prefix}/email/verify?token=...` and
    /// `{public_url}{prefix}/password/reset?token=...`.
    pub public_url: String,
    /// `smtp://user:pass@host:port` (plain, or STARTTLS with `?tls=starttls`),
    /// `smtps://...` (implicit TLS) or `smtp://host:port?tls=starttls`. Unset:
    /// mails go to the outbox folder.
    pub smtp_url: Option<String>,
    /// `From` of every mail.
    pub smtp_from: String,
    /// Folder of `.eml` files when no SMTP server is configured.
    pub outbox_dir: String,
    /// Folder with `verify.txt`, `verify.html`, `reset.*`, `email-change.*`
    /// templates that replace the built-in ones.
    pub template_dir: Option<String>,
    /// Passkeys: the WebAuthn relying-party id, the host of the origin or a
    /// parent domain of it. Unset: the host of `webauthn_origin`.
    pub webauthn_rp_id: Option<String>,
    /// Passkeys: the name authenticators show.
    pub webauthn_rp_name: String,
    /// Passkeys: the origin of the pages that call the WebAuthn API. Unset:
    /// the origin of `public_url` (`http://localhost:PORT` when `public_url`
    /// is a loopback IP, since WebAuthn needs a domain name; passkeys are off
    /// for any other IP).
    pub webauthn_origin: Option<String>,
    /// Least time between two verification (or reset) mails of an account.
    pub email_cooldown: Dur,
    /// New accounts are inactive until their email is verified.
    pub require_verified_email: bool,
    /// Lifetime of an email-verification link.
    pub email_verify_ttl: Dur,
    /// Lifetime of a password-reset link.
    pub password_reset_ttl: Dur,
    /// Lifetime of an email-change link.
    pub email_change_ttl: Dur,
    /// Human check on register, login after a failure and forgot-password:
    /// `none` (or empty), `recaptcha` (v2 or v3), `hcaptcha` or `turnstile`.
    pub captcha_provider: String,
    /// The provider's secret key.
    pub captcha_secret: Option<String>,
    /// The `siteverify` URL (default: the provider's).
    pub captcha_verify_url: Option<String>,
    /// reCAPTCHA v3: answers with a lower score are refused.
    pub captcha_min_score: f64,
    /// The provider's site key: the hosted pages show the provider's widget
    /// (reCAPTCHA v2 checkbox, hCaptcha or Turnstile) on sign-in, sign-up and
    /// forgot-password.
    pub captcha_site_key: Option<String>,
    /// Allowed absolute `redirect_to` of the OAuth routes: comma-separated
    /// origins or URL prefixes (relative paths are always allowed).
    pub redirect_allowlist: String,
    /// Google sign-in: OAuth client id (with the secret, enables `google`).
    pub google_client_id: Option<String>,
    /// Google sign-in: OAuth client secret.
    pub google_client_secret: Option<String>,
    /// Google's OpenID Connect issuer (discovery base).
    pub google_issuer: String,
    /// GitHub sign-in: OAuth app client id (with the secret, enables `github`).
    pub github_client_id: Option<String>,
    /// GitHub sign-in: OAuth app client secret.
    pub github_client_secret: Option<String>,
    /// GitHub authorization endpoint.
    pub github_authorize_url: String,
    /// GitHub token endpoint.
    pub github_token_url: String,
    /// GitHub REST API base.
    pub github_api_url: String,
    /// OpenID Connect issuers (`[[oidc_providers]]` in TOML, or
    /// `WARDEN_OIDC_<NAME>_ISSUER`, `_CLIENT_ID`, `_CLIENT_SECRET`, `_SCOPES`,
    /// `_DISPLAY_NAME` variables).
    pub oidc_providers: Vec<OidcSettings>,
    /// Live sessions an account may have (0: no limit); one more sign-in
    /// revokes the least recently used ones at once.
    pub max_sessions_per_account: u32,
    /// `POST /register` also signs the new account in (tokens and cookies),
    /// except when `require_verified_email` is on.
    pub register_signs_in: bool,
    /// The access-token claim with the permissions of the member's role in
    /// the active organization (`org_permissions`).
    pub org_permissions_claim: String,
    /// Invitations an organization may send before it waits
    /// `invitation_window` (20).
    pub invitation_sends: u32,
    /// The wait after `invitation_sends` invitations (`1h`).
    pub invitation_window: Dur,
    /// Accounts each node keeps in memory by id (emptied when full).
    pub account_cache_size: usize,
    /// Verified access tokens each node keeps in memory, per cache (two:
    /// accounts' tokens, any subject's tokens; emptied when full).
    pub token_cache_size: usize,
    /// API-key records each node keeps in memory (each trusted for 30 s).
    pub api_key_cache_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            bind: "127.0.0.1:8080".into(),
            database_url: "sqlite://warden.db?mode=rwc".into(),
            database_pool_size: 10,
            database_statement_timeout: Dur(Duration::seconds(5)),
            sqlite_synchronous: "normal".into(),
            prefix: "/auth".into(),
            admin_secret: None,
            secret: None,
            jwt_alg: "EdDSA".into(),
            issuer: s.issuer,
            audience: None,
            access_ttl: Dur(s.access_ttl),
            session_ttl: Dur(s.session_ttl),
            long_session_ttl: Dur(s.long_session_ttl),
            leeway: Dur(s.leeway),
            block_tries: s.block_tries,
            block_window: Dur(s.block_window),
            argon2_memory_kib: s.hash.memory_kib,
            argon2_iterations: s.hash.iterations,
            argon2_parallelism: s.hash.parallelism,
            hash_concurrency: 0,
            registration: "open".into(),
            rate_limit_per_minute: 30,
            cookie_name: "access".into(),
            refresh_cookie_name: "refresh".into(),
            cookie_path: "/".into(),
            cookie_secure: true,
            cookie_domain: None,
            trusted_proxies: List::default(),
            body_limit: 64 * 1024,
            audit_retention_days: 90,
            docs: true,
            hide_docs: false,
            ui: true,
            ui_path: "/ui".into(),
            ui_template_dir: None,
            log_format: "text".into(),
            log_level: "info".into(),
            sync_interval: Dur(Duration::seconds(1)),
            redis_url: None,
            redis_prefix: "warden:".into(),
            session_store: "database".into(),
            api_key_ttl_days: s.api_key_ttl_days,
            api_key_allow_no_expiry: s.api_key_allow_no_expiry,
            api_key_query: false,
            api_key_usage_keep: s.api_key_usage_keep,
            otp_enabled: s.otp_enabled,
            otp_issuer: s.otp_issuer,
            otp_block_tries: s.otp_block_tries,
            encryption_key: None,
            public_url: "http://127.0.0.1:8080".into(),
            smtp_url: None,
            smtp_from: "Warden <no-reply@localhost>".into(),
            outbox_dir: "./outbox".into(),
            template_dir: None,
            webauthn_rp_id: None,
            webauthn_rp_name: "Warden".into(),
            webauthn_origin: None,
            email_cooldown: Dur(s.email_cooldown),
            require_verified_email: s.require_verified_email,
            email_verify_ttl: Dur(s.verify_email_ttl),
            password_reset_ttl: Dur(s.reset_password_ttl),
            email_change_ttl: Dur(s.change_email_ttl),
            captcha_provider: String::new(),
            captcha_secret: None,
            captcha_verify_url: None,
            captcha_min_score: 0.5,
            captcha_site_key: None,
            redirect_allowlist: String::new(),
            google_client_id: None,
            google_client_secret: None,
            google_issuer: "https://accounts.google.com".into(),
            github_client_id: None,
            github_client_secret: None,
            github_authorize_url: "https://github.com/login/oauth/authorize".into(),
            github_token_url: "https://github.com/login/oauth/access_token".into(),
            github_api_url: "https://api.github.com".into(),
            oidc_providers: Vec::new(),
            max_sessions_per_account: s.max_sessions_per_account,
            register_signs_in: s.register_signs_in,
            org_permissions_claim: s.org_permissions_claim.clone(),
            invitation_sends: s.invitation_sends,
            invitation_window: Dur(s.invitation_window),
            account_cache_size: s.account_cache_size,
            token_cache_size: s.token_cache_size,
            api_key_cache_size: s.api_key_cache_size,
        }
    }
}

/// Settings that may be given as `WARDEN_<NAME>_FILE`.
const SECRET_FILES: &[&str] = &[
    "admin_secret",
    "secret",
    "database_url",
    "encryption_key",
    "smtp_url",
    "redis_url",
    "google_client_secret",
    "github_client_secret",
];

/// `WARDEN_*` variables as a figment provider: the same keys and value
/// syntax as figment's `Env::prefixed("WARDEN_")`, from any list.
struct Vars(Vec<(String, String)>);

impl Provider for Vars {
    fn metadata(&self) -> Metadata {
        Metadata::named("`WARDEN_` environment variable(s)").interpolater(
            |_: &Profile, k: &[&str]| {
                k.iter()
                    .map(|k| k.to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(".")
            },
        )
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (k, v) in &self.0 {
            let k = k.trim();
            let Some(key) = k
                .get(..7)
                .filter(|p| p.eq_ignore_ascii_case("WARDEN_"))
                .and_then(|_| k.get(7..))
            else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            if key.is_empty()
                || key.starts_with("test_")
                || key == "config"
                || key.ends_with("_file")
                || key.starts_with("oidc_")
                || key.split('.').any(str::is_empty)
            {
                continue;
            }
            let Ok(value) = v.parse::<Value>();
            let (first, rest) = key.split_once('.').unwrap_or((key.as_str(), ""));
            let value = if rest.is_empty() {
                value
            } else {
                figment::util::nest(rest, value)
            };
            dict.insert(first.to_owned(), value);
        }
        Ok(Profile::Default.collect(dict))
    }
}

impl Config {
    /// Load from defaults, an optional TOML file, a `.env` file and the
    /// process environment, each winning over the one before: the `.env`
    /// file is `WARDEN_ENV_FILE` (which must exist) or, when present,
    /// `.env` in the working directory.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let vars = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        Self::load_from(file, env::with_env_file(vars)?)
    }

    /// From defaults and `WARDEN_*` variables (others are ignored), checked
    /// with [`Config::validate`].
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, String> {
        Self::load_from(None, vars)
    }

    /// Defaults, then the TOML `file` if any, then the variables (of which
    /// the last of a name wins). A `WARDEN_` variable or a key of the file
    /// that names no setting is an error naming the nearest setting.
    pub fn load_from(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, String> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        if let Some(var) = unknown_env_vars(vars.iter().cloned()).first() {
            return Err(env::unknown_variable(var));
        }
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(format!("config file {} does not exist", f.display()));
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(Vars(vars.clone()));
        for name in SECRET_FILES {
            let var = format!("WARDEN_{}_FILE", name.to_ascii_uppercase());
            if let Some((_, path)) = vars.iter().rev().find(|(k, _)| *k == var) {
                let v = std::fs::read_to_string(path)
                    .map_err(|e| format!("{var}: cannot read {path}: {e}"))?;
                fig = fig.merge(Serialized::default(name, v.trim().to_owned()));
            }
        }
        let mut cfg: Config = fig.extract().map_err(|e| match &e.kind {
            figment::error::Kind::UnknownField(key, _) => env::unknown_key(key),
            _ => one_line(&e.to_string()),
        })?;
        cfg.oidc_providers.extend(oidc_from_env(vars.into_iter())?);
        cfg.validate()?;
        Ok(cfg)
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300s"), Ok(Duration::seconds(300)));
        assert_eq!(parse_duration("5m"), Ok(Duration::minutes(5)));
        assert_eq!(parse_duration("24h"), Ok(Duration::hours(24)));
        assert_eq!(parse_duration("30d"), Ok(Duration::days(30)));
        assert_eq!(parse_duration("42"), Ok(Duration::seconds(42)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn postgres_pool_settings() {
        let c = Config::default();
        let pg = c.pool_options().unwrap();
        assert_eq!(pg.pool_size, 10);
        assert_eq!(pg.statement_timeout, std::time::Duration::from_secs(5));
        assert_eq!(pg.acquire_timeout, std::time::Duration::from_secs(5));
        let none = Config {
            database_statement_timeout: Dur(Duration::ZERO),
            ..Config::default()
        };
        let pg = none.pool_options().unwrap();
        assert!(pg.statement_timeout.is_zero());
        assert_eq!(pg.acquire_timeout, std::time::Duration::from_secs(10));
        for bad in [
            Config {
                database_pool_size: 0,
                ..Config::default()
            },
            Config {
                database_statement_timeout: Dur(Duration::seconds(-1)),
                ..Config::default()
            },
        ] {
            assert!(bad.validate().is_err());
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn session_store_is_database_or_redis_with_a_url() {
        let load = |v: &[(&str, &str)]| {
            Config::from_vars(v.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
        };
        assert!(!load(&[]).unwrap().sessions_in_redis().unwrap());
        let redis = load(&[
            ("WARDEN_SESSION_STORE", "redis"),
            ("WARDEN_REDIS_URL", "redis://127.0.0.1:6379"),
        ])
        .unwrap();
        assert!(redis.sessions_in_redis().unwrap());
        let e = load(&[("WARDEN_SESSION_STORE", "redis")]).unwrap_err();
        assert!(e.contains("WARDEN_REDIS_URL"), "{e}");
        let e = load(&[("WARDEN_SESSION_STORE", "memcached")]).unwrap_err();
        assert!(e.contains("database or redis"), "{e}");
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn vars_are_read_like_the_environment() {
        let vars = [
            ("WARDEN_ACCESS_TTL", "10m"),
            ("warden_cookie_secure", "false"),
            ("WARDEN_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
            ("WARDEN_TEST_POSTGRES_URL", "postgres://x"),
            ("WARDEN_OIDC_CORP_ISSUER", "https://idp.example.com"),
            ("WARDEN_OIDC_CORP_CLIENT_ID", "id"),
            ("WARDEN_OIDC_CORP_CLIENT_SECRET", "s"),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let c = Config::from_vars(vars).unwrap();
        assert_eq!(c.access_ttl.0, Duration::minutes(10));
        assert!(!c.cookie_secure);
        assert_eq!(c.trusted_proxies.0.len(), 2);
        assert_eq!(c.oidc_providers[0].name, "corp");
        let e = Config::from_vars([("WARDEN_BIDN".to_owned(), "x".to_owned())]).unwrap_err();
        assert_eq!(e, "unknown setting WARDEN_BIDN; did you mean WARDEN_BIND?");
    }
}
