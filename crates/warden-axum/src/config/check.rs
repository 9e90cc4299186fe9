//! Validation of a [`Config`] and the settings derived from it.

use super::Config;
use crate::{HttpConfig, IpNet};
use time::Duration;
use warden_core::password::HashParams;
use warden_core::token::SigningAlg;
use warden_core::{Registration, Settings, WebauthnSettings};

/// Connection-pool settings of a SQL store (`database_pool_size`,
/// `database_statement_timeout`), for `warden_store_sql::PgOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Connections in the pool.
    pub pool_size: u32,
    /// Statement timeout (PostgreSQL) or lock wait timeout (MySQL); zero: none.
    pub statement_timeout: std::time::Duration,
    /// Longest wait for a pooled connection.
    pub acquire_timeout: std::time::Duration,
}

/// The largest entry count of an in-memory cache (`WARDEN_*_CACHE_SIZE`).
const CACHE_SIZE_MAX: usize = 10_000_000;

impl Config {
    /// Valid settings that are probably not what was meant, one sentence
    /// each, for a warning at start-up: an access-token lifetime under a
    /// minute (a bare number is seconds; ConnectKit's and other packages'
    /// bare numbers are minutes).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let ttl = self.access_ttl.0;
        if ttl < Duration::seconds(60) {
            out.push(format!(
                "WARDEN_ACCESS_TTL is {} seconds: a bare number is seconds, not minutes \
                 (write 5m for five minutes)",
                ttl.whole_seconds()
            ));
        }
        out
    }

    /// Check every setting (start-up runs this; a one-line message names the
    /// bad one). The hosted pages' template overrides (`ui_template_dir`) are
    /// checked by the pages' crate when it loads them.
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
        self.sessions_in_redis()?;
        self.pool_options()?;
        self.check_mail()?;
        self.captcha()?;
        self.oauth()?;
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
        }
        if self.sync_interval.0 < Duration::milliseconds(100) {
            return Err("WARDEN_SYNC_INTERVAL must be at least 100ms".into());
        }
        Ok(())
    }

    /// Whether sessions live in Redis (`WARDEN_SESSION_STORE=redis`, which
    /// needs `WARDEN_REDIS_URL`) rather than in the database (`database`).
    pub fn sessions_in_redis(&self) -> Result<bool, String> {
        match self.session_store.as_str() {
            "database" => Ok(false),
            "redis" if self.redis_url.as_deref().is_some_and(|u| !u.is_empty()) => Ok(true),
            "redis" => Err("WARDEN_SESSION_STORE=redis needs WARDEN_REDIS_URL".into()),
            other => Err(format!(
                "WARDEN_SESSION_STORE must be database or redis, not {other:?}"
            )),
        }
    }

    /// Pool settings of a PostgreSQL or MySQL store.
    pub fn pool_options(&self) -> Result<PoolOptions, String> {
        if !(1..=1000).contains(&self.database_pool_size) {
            return Err("WARDEN_DATABASE_POOL_SIZE must be between 1 and 1000".into());
        }
        let timeout = self.database_statement_timeout.0;
        if timeout.is_negative() {
            return Err("WARDEN_DATABASE_STATEMENT_TIMEOUT must not be negative".into());
        }
        let statement_timeout = std::time::Duration::try_from(timeout)
            .map_err(|e| format!("WARDEN_DATABASE_STATEMENT_TIMEOUT: {e}"))?;
        Ok(PoolOptions {
            pool_size: self.database_pool_size,
            statement_timeout,
            acquire_timeout: if statement_timeout.is_zero() {
                std::time::Duration::from_secs(10)
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
        let claim = self.org_permissions_claim.as_str();
        if claim.is_empty()
            || warden_core::hooks::RESERVED_CLAIMS.contains(&claim)
            || ["org", "org_role", "org_epoch"].contains(&claim)
        {
            return Err(format!(
                "WARDEN_ORG_PERMISSIONS_CLAIM {claim:?} must be a claim name Warden does not use"
            ));
        }
        if !self.invitation_window.0.is_positive() {
            return Err("WARDEN_INVITATION_WINDOW must be positive".into());
        }
        for (name, size) in [
            ("ACCOUNT_CACHE_SIZE", self.account_cache_size),
            ("TOKEN_CACHE_SIZE", self.token_cache_size),
            ("API_KEY_CACHE_SIZE", self.api_key_cache_size),
        ] {
            if !(1..=CACHE_SIZE_MAX).contains(&size) {
                return Err(format!(
                    "WARDEN_{name} must be between 1 and {CACHE_SIZE_MAX}"
                ));
            }
        }
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
            max_sessions_per_account: self.max_sessions_per_account,
            register_signs_in: self.register_signs_in,
            provider_issuer: self.public_url.trim_end_matches('/').to_owned(),
            org_permissions_claim: self.org_permissions_claim.clone(),
            invitation_sends: self.invitation_sends.max(1),
            invitation_window: self.invitation_window.0,
            account_cache_size: self.account_cache_size,
            token_cache_size: self.token_cache_size,
            api_key_cache_size: self.api_key_cache_size,
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
                let url = url::Url::parse(&self.public_url)
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
            None => url::Url::parse(&origin)
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
