//! Custom authentication methods.
//!
//! An application implements [`AuthMethod`] and registers it by name with
//! [`crate::WardenBuilder::method`]. The name can then be used in path rules
//! ([`crate::Rule::methods`]) and a successful method yields
//! [`crate::Principal::Custom`].
//!
//! ```
//! use axum::http::request::Parts;
//! use warden_axum::{async_trait, AuthMethod, Identity, Warden};
//! use warden_core::Error;
//!
//! /// `X-Partner-Key: <secret>` for one partner system.
//! struct PartnerKey { secret: String }
//!
//! #[async_trait]
//! impl AuthMethod for PartnerKey {
//!     async fn authenticate(&self, parts: &Parts, _warden: &Warden) -> Result<Option<Identity>, Error> {
//!         let Some(given) = parts.headers.get("x-partner-key") else {
//!             return Ok(None); // no credential of this method: let others try
//!         };
//!         let given = given.to_str().map_err(|_| Error::InvalidToken)?;
//!         if warden_core::random::ct_eq(given.as_bytes(), self.secret.as_bytes()) {
//!             Ok(Some(Identity::new("partner").with_scopes(["reports"])))
//!         } else {
//!             Err(Error::InvalidToken) // a credential, but a bad one
//!         }
//!     }
//! }
//!
//! # async fn run() -> Result<(), Error> {
//! let warden = Warden::builder()
//!     .memory()
//!     .method("partner_key", PartnerKey { secret: "s3cret".into() })
//!     .build()
//!     .await?;
//! assert!(warden.method("partner_key").is_some());
//! # Ok(()) }
//! ```

use crate::Warden;
use async_trait::async_trait;
use axum::http::request::Parts;
use warden_core::Error;
use warden_core::model::AccountId;

/// What a custom method established about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Who is calling, in the method's own terms (a partner name, a device id).
    pub subject: String,
    /// The Warden account the caller acts as, if any. With an account,
    /// [`crate::CurrentAccount`] loads it and checks it is active and not blocked.
    pub account_id: Option<AccountId>,
    /// Scopes the method grants.
    pub scopes: Vec<String>,
}

impl Identity {
    /// A subject without account or scopes.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            account_id: None,
            scopes: Vec::new(),
        }
    }
    /// Acting as a Warden account.
    pub fn with_account(mut self, id: AccountId) -> Self {
        self.account_id = Some(id);
        self
    }
    /// With scopes.
    pub fn with_scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

/// An authentication method an application adds.
///
/// Return `Ok(None)` when the request carries no credential of this method
/// (other methods may then try), `Ok(Some(identity))` when it carries a good
/// one, and an error (e.g. [`Error::InvalidToken`], [`Error::InvalidApiKey`])
/// when it carries a bad one. Compare secrets with
/// [`warden_core::random::ct_eq`] and never log them.
#[async_trait]
pub trait AuthMethod: Send + Sync + 'static {
    /// Authenticate the request from its head.
    async fn authenticate(&self, parts: &Parts, warden: &Warden)
    -> Result<Option<Identity>, Error>;
}
