//! OAuth 2.0 / OpenID Connect sign-in: the provider interface and its
//! configuration. The routes (`/oauth/providers`, `/oauth/{provider}/authorize`,
//! `/oauth/{provider}/callback`, `/identities`) are always mounted; with no
//! [`OAuthConfig`] in [`crate::HttpConfig::oauth`] the provider list is empty.
//!
//! A provider only does the HTTP part: build the authorization URL, and turn
//! a code into a verified [`ExternalProfile`] (code exchange with PKCE, ID
//! token signature and claims, or the provider's user API). The `warden`
//! server implements it for Google, GitHub and any OpenID Connect issuer.

use async_trait::async_trait;
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
