//! The `siteverify` protocol shared by reCAPTCHA (v2 and v3), hCaptcha and
//! Cloudflare Turnstile: POST `secret`, `response` and `remoteip` as a form,
//! read `{"success": bool, "score"?: number}`.

use super::CaptchaVerifier;
use async_trait::async_trait;
use std::time::Duration;
use warden_core::Error;

/// The known providers and their verify URLs.
pub const PROVIDERS: &[(&str, &str)] = &[
    (
        "recaptcha",
        "https://www.google.com/recaptcha/api/siteverify",
    ),
    ("hcaptcha", "https://api.hcaptcha.com/siteverify"),
    (
        "turnstile",
        "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    ),
];

/// A `siteverify` client.
pub struct SiteVerify {
    client: reqwest::Client,
    url: String,
    secret: String,
    min_score: f64,
}

impl std::fmt::Debug for SiteVerify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteVerify")
            .field("url", &self.url)
            .field("min_score", &self.min_score)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct Answer {
    success: bool,
    #[serde(default)]
    score: Option<f64>,
}

impl SiteVerify {
    /// A client for `url`; answers with a `score` (reCAPTCHA v3) below
    /// `min_score` count as refused.
    pub fn new(url: &str, secret: &str, min_score: f64) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("captcha HTTP client: {e}"))?;
        Ok(Self {
            client,
            url: url.to_owned(),
            secret: secret.to_owned(),
            min_score,
        })
    }
}

#[async_trait]
impl CaptchaVerifier for SiteVerify {
    async fn verify(&self, response: &str, remote_ip: Option<&str>) -> Result<bool, Error> {
        let mut form = vec![("secret", self.secret.as_str()), ("response", response)];
        if let Some(ip) = remote_ip {
            form.push(("remoteip", ip));
        }
        let unavailable = |e: &dyn std::fmt::Display| {
            tracing::warn!(url = %self.url, error = %e, "captcha provider unavailable");
            Error::CaptchaUnavailable
        };
        let res = self
            .client
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        if !res.status().is_success() {
            return Err(unavailable(&res.status()));
        }
        let answer: Answer = res.json().await.map_err(|e| unavailable(&e))?;
        Ok(answer.success && answer.score.is_none_or(|s| s >= self.min_score))
    }
}
