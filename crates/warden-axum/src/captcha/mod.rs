//! An optional human check (captcha) on registration, on login after a
//! failed attempt for that login, and on `POST /password/forgot`.
//!
//! The client sends the provider's response token in the JSON field
//! `captcha`. A missing or refused token answers 422 with field `captcha`;
//! a provider that cannot be reached answers 503 `captcha_unavailable`.
//! Which logins failed recently is remembered per process (one hour).
//!
//! [`SiteVerify`] (cargo feature `captcha`, on by default) speaks the
//! `siteverify` protocol of reCAPTCHA, hCaptcha and Cloudflare Turnstile;
//! [`crate::config::Config`] builds it from `WARDEN_CAPTCHA_*`.

#[cfg(feature = "captcha")]
mod site_verify;
#[cfg(feature = "captcha")]
pub use site_verify::{PROVIDERS, SiteVerify};

use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warden_core::Error;
use warden_core::model::normalize_login;

/// How long a failed login keeps the human check on for that login.
const FAILURE_MEMORY: Duration = Duration::from_secs(3600);
/// Logins remembered at most (the oldest half is dropped beyond).
const FAILURE_MAX: usize = 100_000;

/// Checks a captcha response token with its provider.
#[async_trait]
pub trait CaptchaVerifier: Send + Sync {
    /// `Ok(true)`: a human; `Ok(false)`: refused; `Err(Error::CaptchaUnavailable)`
    /// when the provider cannot be asked.
    async fn verify(&self, response: &str, remote_ip: Option<&str>) -> Result<bool, Error>;
}

/// The human check of a router.
#[derive(Clone)]
pub struct Captcha {
    verifier: Arc<dyn CaptchaVerifier>,
    failures: Arc<Mutex<HashMap<String, Instant>>>,
}

impl std::fmt::Debug for Captcha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captcha").finish_non_exhaustive()
    }
}

impl Captcha {
    /// A human check with this verifier.
    pub fn new(verifier: Arc<dyn CaptchaVerifier>) -> Self {
        Self {
            verifier,
            failures: Arc::default(),
        }
    }

    /// Check a response token (422 `captcha` when missing or refused).
    pub async fn check(
        &self,
        response: Option<&str>,
        remote_ip: Option<&str>,
    ) -> Result<(), Error> {
        let Some(response) = response.map(str::trim).filter(|r| !r.is_empty()) else {
            return Err(Error::field("captcha", "is required"));
        };
        if response.len() > 4096 {
            return Err(Error::field("captcha", "failed the human check"));
        }
        let passed = self.verifier.verify(response, remote_ip).await;
        metrics::counter!("warden_captcha_checks_total", "outcome" => match &passed {
            Ok(true) => "passed",
            Ok(false) => "refused",
            Err(_) => "unavailable",
        })
        .increment(1);
        match passed? {
            true => Ok(()),
            false => Err(Error::field("captcha", "failed the human check")),
        }
    }

    /// Whether a login needs the check (a recent failed attempt).
    pub fn login_needs_check(&self, login: &str) -> bool {
        let key = normalize_login(login);
        self.failures
            .lock()
            .get(&key)
            .is_some_and(|at| at.elapsed() < FAILURE_MEMORY)
    }

    /// Remember a failed login (or forget it after a success).
    pub fn login_outcome(&self, login: &str, failed: bool) {
        let key = normalize_login(login);
        let mut f = self.failures.lock();
        if !failed {
            f.remove(&key);
            return;
        }
        if f.len() >= FAILURE_MAX {
            f.retain(|_, at| at.elapsed() < FAILURE_MEMORY);
            if f.len() >= FAILURE_MAX {
                f.clear();
            }
        }
        f.insert(key, Instant::now());
    }
}

/// Before a password login: the check, when on and the login failed recently.
pub async fn before_login(
    w: &crate::Warden,
    login: &str,
    response: Option<&str>,
    remote_ip: Option<&str>,
) -> Result<(), Error> {
    match &w.http().captcha {
        Some(c) if c.login_needs_check(login) => c.check(response, remote_ip).await,
        _ => Ok(()),
    }
}

/// After a password login: remember a wrong password, forget it on success.
pub fn after_login<T>(w: &crate::Warden, login: &str, outcome: &Result<T, Error>) {
    if let Some(c) = &w.http().captcha {
        match outcome {
            Ok(_) => c.login_outcome(login, false),
            Err(Error::InvalidCredentials) => c.login_outcome(login, true),
            Err(_) => {}
        }
    }
}
