//! What the OpenID Connect and GitHub providers share: one HTTP client
//! setting (timeouts, no redirects), the error mapping of provider answers and
//! the scope list.

use serde::Deserialize;
use std::time::Duration;
use warden_core::Error;

/// Timeout of every request to a provider.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(PROVIDER_TIMEOUT)
        .connect_timeout(PROVIDER_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("warden")
        .build()
        .map_err(|e| format!("OAuth HTTP client: {e}"))
}

pub(crate) fn unavailable(provider: &str, what: &str, e: &dyn std::fmt::Display) -> Error {
    tracing::warn!(provider, what, error = %e, "OAuth provider unavailable");
    Error::OAuthProviderUnavailable
}

/// Read a JSON answer: 2xx parsed, 4xx `OAuthFailed` with the provider's
/// `error` code, anything else unavailable.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    provider: &str,
    what: &str,
    res: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, Error> {
    let res = res.map_err(|e| unavailable(provider, what, &e))?;
    let status = res.status();
    if status.is_client_error() {
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        let code: String = body
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or("refused")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        tracing::info!(
            provider,
            what,
            status = status.as_u16(),
            code,
            "OAuth provider refused"
        );
        return Err(Error::OAuthFailed(format!(
            "the provider refused the {what} ({code})"
        )));
    }
    if !status.is_success() {
        return Err(unavailable(provider, what, &status));
    }
    res.json::<T>()
        .await
        .map_err(|e| unavailable(provider, what, &e))
}

#[cfg_attr(not(feature = "oidc"), allow(dead_code))]
pub(crate) fn scopes(s: Option<&str>, default: &str) -> String {
    let s = s
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(default);
    s.split([' ', ','])
        .filter(|x| !x.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Deserialize)]
#[cfg_attr(not(all(feature = "oidc", feature = "github")), allow(dead_code))]
pub(crate) struct TokenAnswer {
    #[serde(default)]
    pub(crate) access_token: Option<String>,
    #[serde(default)]
    pub(crate) id_token: Option<String>,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn scope_lists() {
        assert_eq!(super::scopes(Some("openid,email"), "x"), "openid email");
        assert_eq!(super::scopes(None, "openid  email"), "openid email");
    }
}
