//! Domain settings. The server fills these from `WARDEN_*` configuration;
//! a library user builds them in code (every field has a sensible default).

use crate::password::HashParams;
use crate::token::SigningAlg;
use time::Duration;

/// Who may register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Anyone (default).
    Open,
    /// Only admins create accounts.
    Closed,
}

/// Settings of the domain engine.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `iss` claim.
    pub issuer: String,
    /// `aud` claim (optional).
    pub audience: Option<String>,
    /// Access-token lifetime (5 min).
    pub access_ttl: Duration,
    /// Session lifetime without `remember` (24 h).
    pub session_ttl: Duration,
    /// Session lifetime with `remember` (720 h).
    pub long_session_ttl: Duration,
    /// Clock-skew leeway (at most 30 s).
    pub leeway: Duration,
    /// Signing algorithm.
    pub jwt_alg: SigningAlg,
    /// HMAC secret for HS* algorithms.
    pub secret: Option<Vec<u8>>,
    /// Consecutive failures before a login is locked (5).
    pub block_tries: u32,
    /// First lock window; doubles on each further lock (60 s).
    pub block_window: Duration,
    /// Argon2id parameters.
    pub hash: HashParams,
    /// Concurrent password hashes (default: number of cores).
    pub hash_concurrency: usize,
    /// Who may register.
    pub registration: Registration,
    /// Audit retention (90 days; zero keeps forever).
    pub audit_retention: Duration,
    /// Default lifetime of a new or renewed API key in days (15; at most 3650).
    pub api_key_ttl_days: u32,
    /// Whether `expires_in_days: 0` (an API key that never expires) is allowed (false).
    pub api_key_allow_no_expiry: bool,
    /// Usage records kept per API key, newest first (1000; 0 records nothing).
    pub api_key_usage_keep: u32,
    /// TOTP second factor offered (true).
    pub otp_enabled: bool,
    /// Issuer shown by authenticator apps (`Warden`); must not contain `:`.
    pub otp_issuer: String,
    /// Wrong codes after which an `mfa_token` is dead (3).
    pub otp_block_tries: u32,
    /// Key that encrypts TOTP secrets at rest; `None`: generated once and kept
    /// in the store's settings.
    pub encryption_key: Option<crate::mfa::EncryptionKey>,
    /// Base of the links in mails: the public URL plus the route prefix
    /// (`http://127.0.0.1:8080/auth`). A link is `{base}/email/verify?token=...`
    /// or `{base}/password/reset?token=...`, meant for a page or app that POSTs
    /// the token.
    pub link_base: String,
    /// Least time between two verification mails of an account (60 s).
    pub email_cooldown: Duration,
    /// New accounts are inactive until their email is verified (false);
    /// registration then needs an email.
    pub require_verified_email: bool,
    /// Lifetime of an email-verification token (24 h).
    pub verify_email_ttl: Duration,
    /// Lifetime of a password-reset token (30 min).
    pub reset_password_ttl: Duration,
    /// Lifetime of an email-change token (24 h).
    pub change_email_ttl: Duration,
    /// The WebAuthn relying party of passkeys; `None`: passkeys are off.
    pub webauthn: Option<WebauthnSettings>,
    /// Live sessions an account may have (0: no limit). Opening one more
    /// revokes the least recently used ones at once.
    pub max_sessions_per_account: u32,
    /// `POST /register` also signs the new account in (false). Never when
    /// `require_verified_email` is set.
    pub register_signs_in: bool,
    /// The issuer of Warden's OpenID Provider (`WARDEN_PUBLIC_URL`, no
    /// trailing slash): the `iss` of ID tokens and client access tokens.
    pub provider_issuer: String,
    /// The claim of an access token that carries the permissions of the
    /// member's role in the active organization (`org_permissions`).
    pub org_permissions_claim: String,
    /// Invitations an organization may send before it waits
    /// `invitation_window` (20).
    pub invitation_sends: u32,
    /// The wait after `invitation_sends` invitations (1 hour).
    pub invitation_window: Duration,
    /// Accounts kept in memory by id (100,000); the cache is emptied when a
    /// new one would exceed it.
    pub account_cache_size: usize,
    /// Verified access tokens kept in memory (65,536), in each of two caches
    /// (accounts' tokens; any subject's tokens); a cache is emptied when a new
    /// token would exceed it.
    pub token_cache_size: usize,
    /// API-key records kept in memory (10,000), each trusted for 30 s.
    pub api_key_cache_size: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            issuer: "warden".to_owned(),
            audience: None,
            access_ttl: Duration::minutes(5),
            session_ttl: Duration::hours(24),
            long_session_ttl: Duration::hours(720),
            leeway: Duration::seconds(30),
            jwt_alg: SigningAlg::EdDSA,
            secret: None,
            block_tries: 5,
            block_window: Duration::seconds(60),
            hash: HashParams::default(),
            hash_concurrency: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            registration: Registration::Open,
            audit_retention: Duration::days(90),
            api_key_ttl_days: 15,
            api_key_allow_no_expiry: false,
            api_key_usage_keep: 1000,
            otp_enabled: true,
            otp_issuer: "Warden".to_owned(),
            otp_block_tries: 3,
            encryption_key: None,
            link_base: "http://127.0.0.1:8080/auth".to_owned(),
            email_cooldown: Duration::seconds(60),
            require_verified_email: false,
            verify_email_ttl: Duration::hours(24),
            reset_password_ttl: Duration::minutes(30),
            change_email_ttl: Duration::hours(24),
            webauthn: None,
            max_sessions_per_account: 0,
            register_signs_in: false,
            provider_issuer: "http://127.0.0.1:8080".to_owned(),
            org_permissions_claim: "org_permissions".to_owned(),
            invitation_sends: 20,
            invitation_window: Duration::hours(1),
            account_cache_size: 100_000,
            token_cache_size: 65_536,
            api_key_cache_size: 10_000,
        }
    }
}

/// The WebAuthn relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnSettings {
    /// Relying-party id: the host of `origin` or a parent domain of it
    /// (`example.com`). Passkeys are bound to it.
    pub rp_id: String,
    /// Name shown by the authenticator (`Warden`).
    pub rp_name: String,
    /// The origin of the pages that call the WebAuthn API
    /// (`https://auth.example.com`).
    pub origin: String,
}
