//! A [`Config`] turned into the library's parts: the captcha verifier, the
//! sign-in providers, the mailer, and a [`WardenBuilder`] holding them all.
//! A setting whose cargo feature is off is an error, never silently ignored.

use super::Config;
use crate::captcha::Captcha;
use crate::oauth::{OAuthConfig, OAuthProvider};
use crate::{AdminSecret, WardenBuilder};
use std::sync::Arc;
use warden_core::Error;

fn set(v: &Option<String>) -> Option<String> {
    v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned)
}

#[cfg(not(all(
    feature = "oidc",
    feature = "github",
    feature = "captcha",
    feature = "smtp"
)))]
fn needs(setting: &str, feature: &str) -> String {
    format!("{setting} needs the `{feature}` cargo feature of warden-axum")
}

impl Config {
    /// The human check, if `captcha_provider` is set.
    pub fn captcha(&self) -> Result<Option<Captcha>, String> {
        let provider = self.captcha_provider.trim();
        if provider.is_empty() || provider == "none" {
            return Ok(None);
        }
        #[cfg(feature = "captcha")]
        {
            let default_url = crate::captcha::PROVIDERS
                .iter()
                .find(|(name, _)| *name == provider)
                .map(|(_, url)| *url)
                .ok_or_else(|| {
                    format!("WARDEN_CAPTCHA_PROVIDER must be none, recaptcha, hcaptcha or turnstile, not {provider:?}")
                })?;
            let url = self
                .captcha_verify_url
                .as_deref()
                .filter(|u| !u.is_empty())
                .unwrap_or(default_url);
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err("WARDEN_CAPTCHA_VERIFY_URL must be an http(s) URL".into());
            }
            let secret = self
                .captcha_secret
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or("WARDEN_CAPTCHA_PROVIDER needs WARDEN_CAPTCHA_SECRET")?;
            if !(0.0..=1.0).contains(&self.captcha_min_score) {
                return Err("WARDEN_CAPTCHA_MIN_SCORE must be between 0 and 1".into());
            }
            let verifier = crate::captcha::SiteVerify::new(url, secret, self.captcha_min_score)?;
            Ok(Some(Captcha::new(Arc::new(verifier))))
        }
        #[cfg(not(feature = "captcha"))]
        Err(needs("WARDEN_CAPTCHA_PROVIDER", "captcha"))
    }

    /// The sign-in providers (Google, GitHub, OpenID Connect issuers) and
    /// the redirect allowlist; `None` when no provider is configured.
    pub fn oauth(&self) -> Result<Option<OAuthConfig>, String> {
        #[cfg_attr(not(any(feature = "oidc", feature = "github")), allow(unused_mut))]
        let mut providers: Vec<Arc<dyn OAuthProvider>> = Vec::new();
        match (set(&self.google_client_id), set(&self.google_client_secret)) {
            #[cfg(feature = "oidc")]
            (Some(client_id), Some(client_secret)) => {
                providers.push(Arc::new(crate::oauth::OidcProvider::new(
                    crate::oauth::OidcSettings {
                        name: "google".into(),
                        display_name: Some("Google".into()),
                        issuer: self.google_issuer.clone(),
                        client_id,
                        client_secret,
                        scopes: None,
                    },
                )?));
            }
            #[cfg(not(feature = "oidc"))]
            (Some(_), Some(_)) => return Err(needs("WARDEN_GOOGLE_CLIENT_ID", "oidc")),
            (None, None) => {}
            _ => return Err("WARDEN_GOOGLE_CLIENT_ID and _SECRET go together".into()),
        }
        match (set(&self.github_client_id), set(&self.github_client_secret)) {
            #[cfg(feature = "github")]
            (Some(client_id), Some(client_secret)) => {
                providers.push(Arc::new(crate::oauth::GitHubProvider::new(
                    crate::oauth::GitHubSettings {
                        client_id,
                        client_secret,
                        authorize_url: self.github_authorize_url.clone(),
                        token_url: self.github_token_url.clone(),
                        api_url: self.github_api_url.clone(),
                    },
                )?));
            }
            #[cfg(not(feature = "github"))]
            (Some(_), Some(_)) => return Err(needs("WARDEN_GITHUB_CLIENT_ID", "github")),
            (None, None) => {}
            _ => return Err("WARDEN_GITHUB_CLIENT_ID and _SECRET go together".into()),
        }
        #[cfg(not(feature = "oidc"))]
        if !self.oidc_providers.is_empty() {
            return Err(needs("WARDEN_OIDC_*", "oidc"));
        }
        #[cfg(feature = "oidc")]
        for o in &self.oidc_providers {
            if providers.iter().any(|p| p.name() == o.name) {
                return Err(format!("OIDC provider {:?} is configured twice", o.name));
            }
            providers.push(Arc::new(crate::oauth::OidcProvider::new(o.clone())?));
        }
        let redirect_allowlist = self.redirect_allowlist();
        for entry in &redirect_allowlist {
            if !(entry.starts_with("https://") || entry.starts_with("http://"))
                || entry.contains(['\\', ' ', '@'])
            {
                return Err(format!(
                    "WARDEN_REDIRECT_ALLOWLIST: {entry:?} is not an http(s) origin or URL prefix"
                ));
            }
        }
        if providers.is_empty() {
            return Ok(None);
        }
        Ok(Some(OAuthConfig {
            providers,
            public_url: self.public_url.trim_end_matches('/').to_owned(),
            redirect_allowlist,
        }))
    }

    /// `redirect_allowlist` as a list (entries trimmed, empty ones dropped).
    pub fn redirect_allowlist(&self) -> Vec<String> {
        self.redirect_allowlist
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Check the mail settings without starting anything.
    pub(super) fn check_mail(&self) -> Result<(), String> {
        #[cfg(feature = "smtp")]
        {
            if let Some(url) = set(&self.smtp_url) {
                crate::mail::SmtpSettings::parse(&url)?;
            }
            self.smtp_from
                .parse::<lettre::message::Mailbox>()
                .map_err(|e| format!("WARDEN_SMTP_FROM {:?}: {e}", self.smtp_from))?;
            if self.outbox_dir.is_empty() {
                return Err("WARDEN_OUTBOX_DIR must not be empty".into());
            }
            if let Some(dir) = set(&self.template_dir) {
                crate::mail::Templates::load(Some(std::path::Path::new(&dir)))?;
            }
        }
        #[cfg(not(feature = "smtp"))]
        if set(&self.smtp_url).is_some() {
            return Err(needs("WARDEN_SMTP_URL", "smtp"));
        } else if set(&self.template_dir).is_some() {
            return Err(needs("WARDEN_TEMPLATE_DIR", "smtp"));
        }
        Ok(())
    }

    /// The mailer and templates: SMTP when `smtp_url` is set, else the
    /// outbox folder; either behind the retrying queue. Starts the queue's
    /// task, so it needs a Tokio runtime.
    #[cfg(feature = "smtp")]
    pub fn mail(&self) -> Result<crate::mail::MailSetup, String> {
        use crate::mail::{OutboxMailer, QUEUE_CAPACITY, QueuedMailer, RETRY_DELAYS, SmtpMailer};
        use warden_core::mail::Mailer;
        let templates =
            crate::mail::Templates::load(self.template_dir.as_deref().map(std::path::Path::new))?;
        let inner: Arc<dyn Mailer> = match set(&self.smtp_url) {
            Some(url) => Arc::new(SmtpMailer::new(&url, &self.smtp_from)?),
            None => {
                tracing::info!(dir = %self.outbox_dir, "no WARDEN_SMTP_URL: mails are written to the outbox folder");
                Arc::new(OutboxMailer::new(&self.outbox_dir, &self.smtp_from)?)
            }
        };
        let queued = QueuedMailer::spawn(inner, QUEUE_CAPACITY, RETRY_DELAYS.to_vec());
        Ok((Arc::new(queued), Arc::new(templates)))
    }
}

impl WardenBuilder {
    /// A builder configured by the process's `WARDEN_*` variables; see
    /// [`WardenBuilder::from_config`]. The store is still to be given
    /// ([`WardenBuilder::store`] or [`WardenBuilder::memory`]).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_config(&Config::load(None).map_err(Error::BadRequest)?)
    }

    /// [`WardenBuilder::from_env`] with the variables given:
    ///
    /// ```
    /// use warden_axum::WardenBuilder;
    /// let vars = [("WARDEN_ACCESS_TTL", "10m"), ("WARDEN_PREFIX", "/id")];
    /// let builder = WardenBuilder::from_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned())))?;
    /// assert!(WardenBuilder::from_vars([("WARDEN_ACCESS_TTL".to_owned(), "soon".to_owned())]).is_err());
    /// # Ok::<(), warden_core::Error>(())
    /// ```
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, Error> {
        Self::from_config(&Config::from_vars(vars).map_err(Error::BadRequest)?)
    }

    /// A builder with everything a [`Config`] names that the library serves:
    /// the domain settings, the HTTP settings (prefix, cookies, proxies, rate
    /// limit, body limit), the admin secret (`admin_secret`), the captcha,
    /// the sign-in providers and the mailer (started by
    /// [`WardenBuilder::build`]). Errors name the bad setting.
    pub fn from_config(cfg: &Config) -> Result<Self, Error> {
        let bad = Error::BadRequest;
        let settings = cfg.settings().map_err(bad)?;
        let mut http = cfg.http().map_err(bad)?;
        http.admin_secret = set(&cfg.admin_secret).map(|s| AdminSecret::new(&s));
        http.captcha = cfg.captcha().map_err(bad)?;
        http.oauth = cfg.oauth().map_err(bad)?;
        #[allow(unused_mut)]
        let mut builder = WardenBuilder::default().settings(settings).http(http);
        #[cfg(feature = "smtp")]
        {
            cfg.check_mail().map_err(bad)?;
            let cfg = cfg.clone();
            builder = builder.mailer_with(move || cfg.mail().map_err(Error::BadRequest));
        }
        #[cfg(not(feature = "smtp"))]
        cfg.check_mail().map_err(bad)?;
        Ok(builder)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::Duration;
    use warden_core::Registration;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn webauthn_vars() {
        let b = |v: &[(&str, &str)]| WardenBuilder::from_vars(vars(v));
        assert!(b(&[("WARDEN_WEBAUTHN_ORIGIN", "https://auth.example.com")]).is_ok());
        assert!(
            b(&[
                ("WARDEN_WEBAUTHN_ORIGIN", "https://auth.example.com"),
                ("WARDEN_WEBAUTHN_RP_ID", "example.com")
            ])
            .is_ok()
        );
        assert!(
            b(&[
                ("WARDEN_WEBAUTHN_ORIGIN", "https://auth.example.com"),
                ("WARDEN_WEBAUTHN_RP_ID", "example.org")
            ])
            .is_err()
        );
        assert!(b(&[("WARDEN_WEBAUTHN_RP_ID", "example.com")]).is_err());
    }

    #[cfg(all(feature = "oidc", feature = "captcha", feature = "smtp"))]
    #[tokio::test]
    async fn vars_reach_the_engine() {
        let v = vars(&[
            ("WARDEN_PREFIX", "/id"),
            ("WARDEN_ISSUER", "me"),
            ("WARDEN_ACCESS_TTL", "10m"),
            ("WARDEN_COOKIE_SECURE", "false"),
            ("WARDEN_REGISTRATION", "closed"),
            ("WARDEN_RATE_LIMIT_PER_MINUTE", "7"),
            ("WARDEN_TRUSTED_PROXIES", "10.0.0.0/8"),
            ("WARDEN_ADMIN_SECRET", "admin-secret-0123456789abcdef"),
            ("WARDEN_GOOGLE_CLIENT_ID", "g-id"),
            ("WARDEN_GOOGLE_CLIENT_SECRET", "g-secret"),
            ("WARDEN_CAPTCHA_PROVIDER", "turnstile"),
            ("WARDEN_CAPTCHA_SECRET", "c-secret"),
            ("PATH", "/bin"),
        ]);
        let w = WardenBuilder::from_vars(v)
            .unwrap()
            .memory()
            .build()
            .await
            .unwrap();
        assert_eq!(w.http().prefix, "/id");
        assert_eq!(w.http().cookies.refresh_path, "/id/refresh");
        assert!(!w.http().cookies.secure);
        assert_eq!(w.http().rate_limit_per_minute, 7);
        assert_eq!(w.http().trusted_proxies.len(), 1);
        assert!(
            w.http()
                .admin_secret
                .as_ref()
                .is_some_and(|s| s.matches("admin-secret-0123456789abcdef"))
        );
        assert!(w.http().captcha.is_some());
        let oauth = w.http().oauth.as_ref().unwrap();
        assert_eq!(oauth.providers[0].name(), "google");
        assert_eq!(w.auth().settings().issuer, "me");
        assert_eq!(w.auth().settings().access_ttl, Duration::minutes(10));
        assert_eq!(w.auth().settings().registration, Registration::Closed);
        for bad in [
            ("WARDEN_REGISTRATION", "maybe"),
            ("WARDEN_ACCESS_TTL", "soon"),
            ("WARDEN_GOOGLE_CLIENT_ID", "only-the-id"),
            ("WARDEN_SMTP_URL", "http://not-smtp"),
            ("WARDEN_NO_SUCH_SETTING", "1"),
        ] {
            assert!(WardenBuilder::from_vars(vars(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_store_is_chosen_explicitly() {
        let e = WardenBuilder::default().build().await.err().unwrap();
        assert!(e.to_string().contains("store") || matches!(e, Error::BadRequest(_)));
    }
}
