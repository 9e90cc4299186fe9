//! Server configuration: defaults → TOML file (`--config`) → `WARDEN_*` environment.
//! Secrets may also come from `WARDEN_<NAME>_FILE`.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::path::Path;
use time::Duration;
use warden_axum::{HttpConfig, IpNet};
use warden_core::password::HashParams;
use warden_core::token::SigningAlg;
use warden_core::{Registration, Settings, WebauthnSettings};

/// A duration written `300s`, `5m`, `24h`, `30d`, or a bare number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}s", self.0.whole_seconds()))
    }
}

/// Parse `300s`, `5m`, `24h`, `30d` or `300`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (use 300s, 5m, 24h, 30d)"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("invalid duration unit in {s:?} (use s, m, h or d)")),
    };
    n.checked_mul(secs)
        .map(Duration::seconds)
        .ok_or_else(|| format!("duration {s:?} is too large"))
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration like 300s, 5m, 24h, 30d or a number of seconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                i64::try_from(v)
                    .map(|v| Dur(Duration::seconds(v)))
                    .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Ok(Dur(Duration::seconds(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A list given as an array or a comma-separated string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List(pub Vec<String>);

impl Serialize for List {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        Ok(List(match Raw::deserialize(d)? {
            Raw::One(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            Raw::Many(v) => v,
        }))
    }
}

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
    pub oidc_providers: Vec<crate::oauth::OidcSettings>,
}

impl Default for Config {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            bind: "127.0.0.1:8080".into(),
            database_url: "sqlite://warden.db?mode=rwc".into(),
            database_pool_size: 10,
            database_statement_timeout: Dur(Duration::seconds(5)),
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

fn known_keys() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// `WARDEN_` variables that name no setting (test-suite variables excepted).
pub fn unknown_env_vars(vars: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let known = known_keys();
    vars.filter_map(|(k, _)| {
        let rest = k.strip_prefix("WARDEN_")?.to_ascii_lowercase();
        if rest.starts_with("test_") || rest == "config" || crate::oauth::oidc_var(&k).is_some() {
            return None;
        }
        let base = rest
            .strip_suffix("_file")
            .filter(|b| SECRET_FILES.contains(b))
            .unwrap_or(&rest);
        (!known.iter().any(|x| x == base)).then_some(k)
    })
    .collect()
}

impl Config {
    /// Load from defaults, an optional TOML file and the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(format!("config file {} does not exist", f.display()));
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(Env::prefixed("WARDEN_").filter(|k| {
            let k = k.as_str().to_ascii_lowercase();
            !k.starts_with("test_")
                && k != "config"
                && !k.ends_with("_file")
                && !k.starts_with("oidc_")
        }));
        for name in SECRET_FILES {
            let var = format!("WARDEN_{}_FILE", name.to_ascii_uppercase());
            if let Ok(path) = std::env::var(&var) {
                let v = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{var}: cannot read {path}: {e}"))?;
                fig = fig.merge(Serialized::default(name, v.trim().to_owned()));
            }
        }
        let mut cfg: Config = fig.extract().map_err(|e| one_line(&e.to_string()))?;
        cfg.oidc_providers
            .extend(crate::oauth::oidc_from_env(std::env::vars())?);
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every setting (start-up runs this; a one-line message names the bad one).
    pub fn validate(&self) -> Result<(), String> {
        self.settings()?;
        self.http()?;
        self.bind.parse::<std::net::SocketAddr>().map_err(|_| {
            format!(
                "WARDEN_BIND: {:?} is not an address like 127.0.0.1:8080",
                self.bind
            )
        })?;
        if !self.prefix.starts_with('/') {
            return Err("WARDEN_PREFIX must start with /".into());
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err("WARDEN_LOG_FORMAT must be text or json".into());
        }
        self.pg_options()?;
        if let Some(url) = self.smtp_url.as_deref().filter(|u| !u.is_empty()) {
            crate::mail::SmtpSettings::parse(url)?;
        }
        self.smtp_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("WARDEN_SMTP_FROM {:?}: {e}", self.smtp_from))?;
        crate::captcha::from_config(self)?;
        crate::oauth::from_config(self)?;
        if self.outbox_dir.is_empty() {
            return Err("WARDEN_OUTBOX_DIR must not be empty".into());
        }
        if let Some(dir) = self.template_dir.as_deref().filter(|d| !d.is_empty()) {
            crate::mail::Templates::load(Some(std::path::Path::new(dir)))?;
        }
        if self.ui {
            let p = &self.ui_path;
            if !p.starts_with('/')
                || p.len() < 2
                || p.ends_with('/')
                || p == &self.prefix
                || !p[1..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'))
            {
                return Err(format!(
                    "WARDEN_UI_PATH {p:?} must look like /ui (a path other than WARDEN_PREFIX)"
                ));
            }
            let dir = self.ui_template_dir.as_deref().filter(|d| !d.is_empty());
            warden_ui::load_templates(dir.map(std::path::Path::new))?;
        }
        if self.sync_interval.0 < Duration::milliseconds(100) {
            return Err("WARDEN_SYNC_INTERVAL must be at least 100ms".into());
        }
        Ok(())
    }

    /// Pool settings of a PostgreSQL store.
    pub fn pg_options(&self) -> Result<warden_store_sql::PgOptions, String> {
        if !(1..=1000).contains(&self.database_pool_size) {
            return Err("WARDEN_DATABASE_POOL_SIZE must be between 1 and 1000".into());
        }
        let timeout = self.database_statement_timeout.0;
        if timeout.is_negative() {
            return Err("WARDEN_DATABASE_STATEMENT_TIMEOUT must not be negative".into());
        }
        let statement_timeout = std::time::Duration::try_from(timeout)
            .map_err(|e| format!("WARDEN_DATABASE_STATEMENT_TIMEOUT: {e}"))?;
        Ok(warden_store_sql::PgOptions {
            pool_size: self.database_pool_size,
            statement_timeout,
            acquire_timeout: if statement_timeout.is_zero() {
                warden_store_sql::PgOptions::default().acquire_timeout
            } else {
                statement_timeout.max(std::time::Duration::from_secs(1))
            },
        })
    }

    /// The domain settings.
    pub fn settings(&self) -> Result<Settings, String> {
        let jwt_alg: SigningAlg = self
            .jwt_alg
            .parse()
            .map_err(|e| format!("WARDEN_JWT_ALG: {e}"))?;
        if jwt_alg.is_hmac() && self.secret.as_ref().is_none_or(|s| s.len() < 32) {
            return Err(format!(
                "WARDEN_JWT_ALG={} needs WARDEN_SECRET of at least 32 bytes",
                jwt_alg.name()
            ));
        }
        if self.leeway.0 > Duration::seconds(30) || self.leeway.0.is_negative() {
            return Err("WARDEN_LEEWAY must be between 0s and 30s".into());
        }
        for (name, d) in [
            ("ACCESS_TTL", self.access_ttl),
            ("SESSION_TTL", self.session_ttl),
            ("LONG_SESSION_TTL", self.long_session_ttl),
            ("BLOCK_WINDOW", self.block_window),
        ] {
            if !d.0.is_positive() {
                return Err(format!("WARDEN_{name} must be positive"));
            }
        }
        if self.block_tries == 0 {
            return Err("WARDEN_BLOCK_TRIES must be at least 1".into());
        }
        let registration = match self.registration.as_str() {
            "open" => Registration::Open,
            "closed" => Registration::Closed,
            other => {
                return Err(format!(
                    "WARDEN_REGISTRATION must be open or closed, not {other:?}"
                ));
            }
        };
        let hash = HashParams {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        };
        argon2::Params::new(hash.memory_kib, hash.iterations, hash.parallelism, None)
            .map_err(|e| format!("WARDEN_ARGON2_*: {e}"))?;
        if self.otp_issuer.is_empty() || self.otp_issuer.contains(':') {
            return Err("WARDEN_OTP_ISSUER must be non-empty and must not contain ':'".into());
        }
        if self.otp_block_tries == 0 {
            return Err("WARDEN_OTP_BLOCK_TRIES must be at least 1".into());
        }
        let encryption_key = match self.encryption_key.as_deref().filter(|k| !k.is_empty()) {
            Some(k) => Some(
                warden_core::mfa::EncryptionKey::from_base64(k).map_err(|e| {
                    format!("WARDEN_ENCRYPTION_KEY {e} (use `openssl rand -base64 32`)")
                })?,
            ),
            None => None,
        };
        if self.api_key_ttl_days > warden_core::api_key::MAX_EXPIRY_DAYS
            || (self.api_key_ttl_days == 0 && !self.api_key_allow_no_expiry)
        {
            return Err(format!(
                "WARDEN_API_KEY_TTL_DAYS must be between 1 and {} (0 only with WARDEN_API_KEY_ALLOW_NO_EXPIRY=true)",
                warden_core::api_key::MAX_EXPIRY_DAYS
            ));
        }
        if self.api_key_usage_keep > 1_000_000 {
            return Err("WARDEN_API_KEY_USAGE_KEEP must be at most 1000000".into());
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://"))
            || self.public_url.contains(['?', '#', ' '])
        {
            return Err(
                "WARDEN_PUBLIC_URL must be an http:// or https:// URL without query".into(),
            );
        }
        if self.email_cooldown.0.is_negative() {
            return Err("WARDEN_EMAIL_COOLDOWN must not be negative".into());
        }
        for (name, d) in [
            ("EMAIL_VERIFY_TTL", self.email_verify_ttl),
            ("PASSWORD_RESET_TTL", self.password_reset_ttl),
            ("EMAIL_CHANGE_TTL", self.email_change_ttl),
        ] {
            if !d.0.is_positive() {
                return Err(format!("WARDEN_{name} must be positive"));
            }
        }
        let webauthn = self.webauthn()?;
        let defaults = Settings::default();
        Ok(Settings {
            issuer: self.issuer.clone(),
            audience: self.audience.clone().filter(|a| !a.is_empty()),
            access_ttl: self.access_ttl.0,
            session_ttl: self.session_ttl.0,
            long_session_ttl: self.long_session_ttl.0,
            leeway: self.leeway.0,
            jwt_alg,
            secret: self.secret.as_ref().map(|s| s.as_bytes().to_vec()),
            block_tries: self.block_tries,
            block_window: self.block_window.0,
            hash,
            hash_concurrency: if self.hash_concurrency == 0 {
                defaults.hash_concurrency
            } else {
                self.hash_concurrency
            },
            registration,
            audit_retention: Duration::days(i64::from(self.audit_retention_days)),
            api_key_ttl_days: self.api_key_ttl_days,
            api_key_allow_no_expiry: self.api_key_allow_no_expiry,
            api_key_usage_keep: self.api_key_usage_keep,
            otp_enabled: self.otp_enabled,
            otp_issuer: self.otp_issuer.clone(),
            otp_block_tries: self.otp_block_tries,
            encryption_key,
            // Mailed links open the hosted pages when they are served
            // (same relative paths: /email/verify, /password/reset).
            link_base: format!(
                "{}{}",
                self.public_url.trim_end_matches('/'),
                if self.ui {
                    self.ui_path.trim_end_matches('/')
                } else {
                    self.prefix.trim_end_matches('/')
                }
            ),
            email_cooldown: self.email_cooldown.0,
            require_verified_email: self.require_verified_email,
            verify_email_ttl: self.email_verify_ttl.0,
            reset_password_ttl: self.password_reset_ttl.0,
            change_email_ttl: self.email_change_ttl.0,
            webauthn,
        })
    }

    /// The passkey relying party: explicit settings are checked (a one-line
    /// error), derived ones from `public_url` leave passkeys off when unusable.
    fn webauthn(&self) -> Result<Option<WebauthnSettings>, String> {
        let set = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let (rp_id, origin) = (set(&self.webauthn_rp_id), set(&self.webauthn_origin));
        let rp_name = self.webauthn_rp_name.trim().to_owned();
        if rp_name.is_empty() {
            return Err("WARDEN_WEBAUTHN_RP_NAME must not be empty".into());
        }
        let explicit = rp_id.is_some() || origin.is_some();
        let origin = match origin {
            Some(o) => o,
            None => {
                let url = reqwest::Url::parse(&self.public_url)
                    .map_err(|e| format!("WARDEN_PUBLIC_URL: {e}"))?;
                let loopback = url
                    .host_str()
                    .and_then(|h| h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().ok())
                    .map(|ip| ip.is_loopback());
                match loopback {
                    None => url.origin().ascii_serialization(),
                    Some(true) if rp_id.is_none() || rp_id.as_deref() == Some("localhost") => {
                        match url.port() {
                            Some(p) => format!("{}://localhost:{p}", url.scheme()),
                            None => format!("{}://localhost", url.scheme()),
                        }
                    }
                    Some(_) if explicit => {
                        return Err("WARDEN_WEBAUTHN_ORIGIN is needed: WARDEN_PUBLIC_URL is an IP address and WebAuthn needs a domain name".into());
                    }
                    Some(_) => return Ok(None),
                }
            }
        };
        let rp_id = match rp_id {
            Some(r) => r,
            None => reqwest::Url::parse(&origin)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .ok_or_else(|| {
                    format!("WARDEN_WEBAUTHN_ORIGIN: {origin:?} is not a URL with a host")
                })?,
        };
        let w = WebauthnSettings {
            rp_id,
            rp_name,
            origin,
        };
        match w.validate() {
            Ok(()) => Ok(Some(w)),
            Err(e) if explicit => Err(format!(
                "WARDEN_WEBAUTHN_RP_ID / WARDEN_WEBAUTHN_ORIGIN: {e}"
            )),
            Err(e) => {
                tracing::info!(reason = %e, "passkeys are off: set WARDEN_WEBAUTHN_RP_ID and WARDEN_WEBAUTHN_ORIGIN");
                Ok(None)
            }
        }
    }

    /// The HTTP settings (the admin secret is added at start-up).
    pub fn http(&self) -> Result<HttpConfig, String> {
        let mut h = HttpConfig::with_prefix(&self.prefix);
        h.cookies.access_name = self.cookie_name.clone();
        h.cookies.refresh_name = self.refresh_cookie_name.clone();
        h.cookies.path = self.cookie_path.clone();
        h.cookies.secure = self.cookie_secure;
        h.cookies.domain = self.cookie_domain.clone();
        for name in [&self.cookie_name, &self.refresh_cookie_name] {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "cookie name {name:?} must be letters, digits, _ or -"
                ));
            }
        }
        h.trusted_proxies = self
            .trusted_proxies
            .0
            .iter()
            .map(|s| s.parse::<IpNet>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("WARDEN_TRUSTED_PROXIES: {e}"))?;
        h.rate_limit_per_minute = self.rate_limit_per_minute;
        if self.body_limit < 1024 {
            return Err("WARDEN_BODY_LIMIT must be at least 1024".into());
        }
        h.body_limit = self.body_limit;
        h.api_key_query = self.api_key_query;
        Ok(h)
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
        let pg = c.pg_options().unwrap();
        assert_eq!(pg.pool_size, 10);
        assert_eq!(pg.statement_timeout, std::time::Duration::from_secs(5));
        assert_eq!(pg.acquire_timeout, std::time::Duration::from_secs(5));
        let none = Config {
            database_statement_timeout: Dur(Duration::ZERO),
            ..Config::default()
        };
        let pg = none.pg_options().unwrap();
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
    fn unknown_vars_are_found() {
        let vars = vec![
            ("WARDEN_BIND".to_owned(), String::new()),
            ("WARDEN_ADMIN_SECRET_FILE".to_owned(), String::new()),
            ("WARDEN_TEST_POSTGRES_URL".to_owned(), String::new()),
            ("WARDEN_BIDN".to_owned(), String::new()),
        ];
        assert_eq!(
            unknown_env_vars(vars.into_iter()),
            vec!["WARDEN_BIDN".to_owned()]
        );
    }
}
