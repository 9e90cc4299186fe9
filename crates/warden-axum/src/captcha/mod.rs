//! An optional human check (captcha) on registration, on login after a
//! failed attempt for that login, and on `POST /password/forgot`.
//!
//! The client sends the provider's response token in the JSON field
//! `captcha`. A missing or refused token answers 422 with field `captcha`;
//! a provider that cannot be reached answers 503 `captcha_unavailable`.
//! Which logins failed recently is the engine's login gate's to remember
//! ([`warden_core::login_gate::LoginGate::failed_recently`]).
//!
//! [`SiteVerify`] (cargo feature `captcha`, on by default) speaks the
//! `siteverify` protocol of reCAPTCHA, hCaptcha and Cloudflare Turnstile;
//! [`crate::config::Config`] builds it from `WARDEN_CAPTCHA_*`.

#[cfg(feature = "captcha")]
mod site_verify;
#[cfg(feature = "captcha")]
pub use site_verify::{PROVIDERS, SiteVerify};

use async_trait::async_trait;
use std::sync::Arc;
use warden_core::Error;

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
}

impl std::fmt::Debug for Captcha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captcha").finish_non_exhaustive()
    }
}

impl Captcha {
    /// A human check with this verifier.
    pub fn new(verifier: Arc<dyn CaptchaVerifier>) -> Self {
        Self { verifier }
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
}

/// Before a password login: the check, when on and the login failed recently.
pub async fn before_login(
    w: &crate::Warden,
    login: &str,
    response: Option<&str>,
    remote_ip: Option<&str>,
) -> Result<(), Error> {
    match &w.http().captcha {
        Some(c) if w.auth().login_gate().failed_recently(login) => {
            c.check(response, remote_ip).await
        }
        _ => Ok(()),
    }
}
