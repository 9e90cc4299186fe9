//! OAuth 2.0 / OpenID Connect sign-in: the provider interface and its
//! configuration. The routes (`/oauth/providers`, `/oauth/{provider}/authorize`,
//! `/oauth/{provider}/callback`, `/identities`) are always mounted; with no
//! [`OAuthConfig`] in [`crate::HttpConfig::oauth`] the provider list is empty.
//!
//! A provider only does the HTTP part: build the authorization URL, and turn
//! a code into a verified [`ExternalProfile`] (code exchange with PKCE, ID
//! token signature and claims, or the provider's user API). Implementations
//! for Google and any OpenID Connect issuer ([`OidcProvider`], cargo feature
//! `oidc`) and GitHub ([`GitHubProvider`], feature `github`) come with the
//! crate; both features are on by default. [`crate::config::Config`] builds
//! them from `WARDEN_GOOGLE_*`, `WARDEN_GITHUB_*` and `WARDEN_OIDC_<NAME>_*`.

#[cfg(feature = "github")]
pub mod github;
#[cfg(any(feature = "oidc", feature = "github"))]
mod http;
#[cfg(feature = "oidc")]
pub mod oidc;

#[cfg(feature = "github")]
pub use github::{GitHubProvider, GitHubSettings};
#[cfg(any(feature = "oidc", feature = "github"))]
pub use http::PROVIDER_TIMEOUT;
#[cfg(feature = "oidc")]
pub use oidc::OidcProvider;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use warden_core::Error;
use warden_core::oauth::ExternalProfile;

/// One sign-in provider.
#[async_trait]
pub trait OAuthProvider: Send + Sync {
    /// The name in the routes (`google`, `github`, `okta`, ...).
    fn name(&self) -> &str;
    /// A name to show on a button.
    fn display_name(&self) -> &str;
    /// Whether the provider issues ID tokens (then a `nonce` is sent and checked).
    fn uses_nonce(&self) -> bool;
    /// The URL to send the browser to, with `state`, the PKCE S256
    /// `code_challenge` and (OpenID Connect) `nonce`.
    /// Errors: [`Error::OAuthProviderUnavailable`] when discovery fails.
    async fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        pkce_challenge: &str,
        nonce: Option<&str>,
    ) -> Result<String, Error>;
    /// Exchange `code` (with the PKCE verifier) and return who signed in,
    /// verified. Errors: [`Error::OAuthFailed`] for a refused code or a token
    /// that does not verify; [`Error::OAuthProviderUnavailable`] for network
    /// failures and timeouts.
    async fn exchange(
        &self,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: Option<&str>,
    ) -> Result<ExternalProfile, Error>;
}

/// The configured providers and where the browser may be sent back to.
#[derive(Clone, Default)]
pub struct OAuthConfig {
    /// Providers, in the order of the provider list.
    pub providers: Vec<Arc<dyn OAuthProvider>>,
    /// The public base URL of the server (`WARDEN_PUBLIC_URL`), without a
    /// trailing slash; the callback URL is `{public_url}{prefix}/oauth/{provider}/callback`.
    pub public_url: String,
    /// Allowed absolute `redirect_to` values: origins or URL prefixes
    /// (`WARDEN_REDIRECT_ALLOWLIST`). Relative paths are always allowed.
    pub redirect_allowlist: Vec<String>,
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field(
                "providers",
                &self.providers.iter().map(|p| p.name()).collect::<Vec<_>>(),
            )
            .field("public_url", &self.public_url)
            .field("redirect_allowlist", &self.redirect_allowlist)
            .finish()
    }
}

impl OAuthConfig {
    /// The provider named `name`.
    pub fn provider(&self, name: &str) -> Option<&Arc<dyn OAuthProvider>> {
        self.providers.iter().find(|p| p.name() == name)
    }

    /// The redirect URI registered at the provider.
    ///
    /// ```
    /// let c = warden_axum::oauth::OAuthConfig {
    ///     public_url: "https://id.example.com/".into(),
    ///     ..Default::default()
    /// };
    /// assert_eq!(
    ///     c.callback_url("/auth", "github"),
    ///     "https://id.example.com/auth/oauth/github/callback"
    /// );
    /// ```
    pub fn callback_url(&self, prefix: &str, provider: &str) -> String {
        format!(
            "{}{}/oauth/{provider}/callback",
            self.public_url.trim_end_matches('/'),
            prefix.trim_end_matches('/')
        )
    }

    /// Start a sign-in (or a link, with `state.link_account`): keep `state`
    /// (hashed, single use) and answer the provider URL to send the browser to.
    pub async fn start(
        &self,
        auth: &warden_core::Auth,
        prefix: &str,
        provider: &dyn OAuthProvider,
        state: &warden_core::oauth::OAuthState,
    ) -> Result<String, Error> {
        let token = auth.identities().oauth_save_state(state).await?;
        let callback = self.callback_url(prefix, provider.name());
        provider
            .authorization_url(
                &callback,
                &token,
                &state.pkce_challenge(),
                state.nonce.as_deref(),
            )
            .await
    }
}

/// One OpenID Connect issuer, as configured (`WARDEN_OIDC_<NAME>_*`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcSettings {
    /// Provider name in the routes (lower case).
    pub name: String,
    /// Name to show (default: the name).
    pub display_name: Option<String>,
    /// Issuer URL; discovery is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Space or comma separated scopes (default `openid email profile`).
    pub scopes: Option<String>,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

const OIDC_SUFFIXES: &[&str] = &[
    "_client_secret_file",
    "_client_secret",
    "_client_id",
    "_display_name",
    "_issuer",
    "_scopes",
];

/// Split `WARDEN_OIDC_<NAME>_<FIELD>` into `(name, field)` (lower case).
pub fn oidc_var(var: &str) -> Option<(String, &'static str)> {
    let rest = var.strip_prefix("WARDEN_OIDC_")?.to_ascii_lowercase();
    OIDC_SUFFIXES.iter().find_map(|suffix| {
        let name = rest.strip_suffix(suffix)?;
        (!name.is_empty()).then(|| (name.to_owned(), *suffix))
    })
}

/// The OpenID Connect issuers named by `WARDEN_OIDC_<NAME>_ISSUER`,
/// `_CLIENT_ID`, `_CLIENT_SECRET` (or `_CLIENT_SECRET_FILE`), `_SCOPES` and
/// `_DISPLAY_NAME` variables, sorted by name.
pub fn oidc_from_env(
    vars: impl Iterator<Item = (String, String)>,
) -> Result<Vec<OidcSettings>, String> {
    let mut map: std::collections::BTreeMap<String, OidcSettings> = Default::default();
    for (k, v) in vars {
        let Some((name, field)) = oidc_var(&k) else {
            continue;
        };
        let e = map.entry(name.clone()).or_insert_with(|| OidcSettings {
            name: name.replace('_', "-"),
            ..Default::default()
        });
        match field {
            "_issuer" => e.issuer = v,
            "_client_id" => e.client_id = v,
            "_client_secret" => e.client_secret = v,
            "_client_secret_file" => {
                e.client_secret = std::fs::read_to_string(&v)
                    .map_err(|err| format!("{k}: cannot read {v}: {err}"))?
                    .trim()
                    .to_owned();
            }
            "_scopes" => e.scopes = Some(v),
            _ => e.display_name = Some(v),
        }
    }
    Ok(map.into_values().collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn oidc_vars_are_grouped() {
        let vars = [
            ("WARDEN_OIDC_MY_IDP_ISSUER", "https://idp.example.com"),
            ("WARDEN_OIDC_MY_IDP_CLIENT_ID", "id"),
            ("WARDEN_OIDC_MY_IDP_CLIENT_SECRET", "s"),
            ("WARDEN_OIDC_MY_IDP_SCOPES", "openid,email"),
            ("WARDEN_OTHER", "x"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let list = oidc_from_env(vars.into_iter()).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "my-idp");
        assert_eq!(list[0].client_id, "id");
        assert_eq!(list[0].scopes.as_deref(), Some("openid,email"));
        assert!(oidc_var("WARDEN_OIDC__ISSUER").is_none());
    }
}
