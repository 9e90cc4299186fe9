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
        }
    }
}
