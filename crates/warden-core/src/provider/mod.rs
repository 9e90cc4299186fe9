//! Warden as an OpenID Provider (OAuth 2.1 authorization server) for other
//! applications: the clients an administrator registers ([`clients`]), the
//! authorization-code flow with PKCE ([`authorize`]), the token endpoint's
//! grants ([`grants`]) and the endpoints around the tokens
//! ([`endpoints`]: userinfo, introspection, revocation, logout).
//!
//! The tokens a client gets belong to an ordinary Warden session tagged with
//! the client's id ([`crate::model::Session::client_id`]): it is listed with
//! the account's sessions, rotates its refresh token with the same reuse
//! detection, and ends with logout-all, a password change, a block or the
//! account's deletion like any other session. Its refresh token starts
//! `wcr_` (Warden's own `wrt_` and `wart_` paths refuse it, and this one
//! refuses theirs). Its access token is a JWT of RFC 9068 (`typ: at+jwt`,
//! `aud` and `client_id` = the client, `iss` = [`Settings::provider_issuer`]),
//! which Warden's own routes refuse because of its audience.
//!
//! [`Settings::provider_issuer`]: crate::Settings::provider_issuer

pub mod authorize;
pub mod clients;
pub mod endpoints;
pub mod grants;
mod id_token;

use crate::error::Error;
use crate::sessions::Sessions;
use crate::store::ProviderStore;
use std::sync::Arc;

/// The OpenID Connect scopes every client may ask for.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// Prefix of a client's refresh token.
pub const CLIENT_REFRESH_PREFIX: &str = "wcr_";
/// Prefix of a client id.
pub const CLIENT_ID_PREFIX: &str = "wc_";
/// Prefix of a client secret.
pub const CLIENT_SECRET_PREFIX: &str = "wcs_";
/// Lifetime of an authorization code, in seconds.
pub const CODE_TTL_SECS: i64 = 60;

/// The grant types a client may be registered for.
pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// An OAuth 2.0 error (RFC 6749 §4.1.2.1 and §5.2): its `error` code and a
/// human `error_description`. `Engine` is an error of Warden itself (a store
/// failure, ...), answered as Warden answers it.
#[derive(Debug)]
pub enum OAuthError {
    /// An RFC 6749 error.
    Protocol {
        /// `invalid_request`, `invalid_client`, `invalid_grant`, ...
        error: &'static str,
        /// Why.
        description: String,
    },
    /// Warden failed (503 when the store is down, ...).
    Engine(Error),
}

impl OAuthError {
    /// An RFC 6749 error.
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self::Protocol {
            error,
            description: description.into(),
        }
    }
    /// `invalid_request`.
    pub fn request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }
    /// `invalid_grant`.
    pub fn grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }
    /// `invalid_client` (answered with 401).
    pub fn client() -> Self {
        Self::new("invalid_client", "client authentication failed")
    }
    /// The `error` code (`server_error` / `temporarily_unavailable` for Warden's own).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Protocol { error, .. } => error,
            Self::Engine(Error::Unavailable(_) | Error::TooManyAttempts { .. }) => {
                "temporarily_unavailable"
            }
            Self::Engine(_) => "server_error",
        }
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        Self::Engine(e)
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Protocol { error, description } => write!(f, "{error}: {description}"),
            Self::Engine(e) => write!(f, "{e}"),
        }
    }
}

/// Warden's OpenID Provider (see the [module](self)); `auth.provider()`.
#[derive(Clone)]
pub struct Provider {
    pub(crate) store: Arc<dyn ProviderStore>,
    pub(crate) sessions: Sessions,
}

impl Provider {
    /// The issuer: `iss` of ID tokens and access tokens, the discovery base.
    #[allow(clippy::misnamed_getters)]
    pub fn issuer(&self) -> &str {
        &self.sessions.shared.settings.provider_issuer
    }

    fn now(&self) -> time::OffsetDateTime {
        self.sessions.shared.now()
    }
}

/// Split a space-separated `scope` parameter: sorted, without duplicates.
pub fn parse_scope(scope: Option<&str>) -> Vec<String> {
    let mut v: Vec<String> = (scope.unwrap_or_default().split(' '))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Whether `scope` is one of [`OIDC_SCOPES`].
pub fn is_oidc_scope(scope: &str) -> bool {
    OIDC_SCOPES.contains(&scope)
}
