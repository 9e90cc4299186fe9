//! Application hooks: veto or enrich a registration, add claims to access
//! tokens, react to a login. Every hook is async and optional; an error a hook
//! returns is answered as that error (e.g. [`crate::Error::Forbidden`] is a
//! `forbidden` refusal, [`crate::Error::Validation`] names the broken fields).
//!
//! ```
//! use warden_core::hooks::Hooks;
//! use warden_core::Error;
//!
//! let hooks = Hooks::new()
//!     .before_register(|mut input, _client| async move {
//!         if input.login.starts_with("admin") {
//!             return Err(Error::Forbidden("reserved login".into()));
//!         }
//!         input.properties = Some(serde_json::json!({"plan": "free"}));
//!         Ok(input)
//!     })
//!     .extra_claims(|account, _session| async move {
//!         let mut extra = serde_json::Map::new();
//!         extra.insert("tenant".into(), account.properties["tenant"].clone());
//!         Ok(extra)
//!     })
//!     .after_login(|account, _session, _client| async move {
//!         let _ = account.login; // e.g. send a notification
//!         Ok(())
//!     });
//! assert!(!hooks.is_empty());
//! ```

use crate::error::Result;
use crate::model::NewAccount;
use crate::model::{Account, ClientInfo, Session};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

type BeforeRegisterFn =
    Arc<dyn Fn(NewAccount, ClientInfo) -> BoxFuture<Result<NewAccount>> + Send + Sync>;
type ExtraClaimsFn = Arc<
    dyn Fn(Account, Session) -> BoxFuture<Result<serde_json::Map<String, serde_json::Value>>>
        + Send
        + Sync,
>;
type AfterLoginFn =
    Arc<dyn Fn(Account, Session, ClientInfo) -> BoxFuture<Result<()>> + Send + Sync>;

/// Claims an `extra_claims` hook may not set (they belong to Warden).
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss", "sub", "aud", "iat", "nbf", "exp", "jti", "sid", "scope", "fresh", "amr",
];

/// The set of application hooks of an [`crate::Auth`] (see [`crate::Auth::set_hooks`]).
#[derive(Clone, Default)]
pub struct Hooks {
    before_register: Option<BeforeRegisterFn>,
    extra_claims: Option<ExtraClaimsFn>,
    after_login: Option<AfterLoginFn>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("before_register", &self.before_register.is_some())
            .field("extra_claims", &self.extra_claims.is_some())
            .field("after_login", &self.after_login.is_some())
            .finish()
    }
}

impl Hooks {
    /// No hooks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no hook is set.
    pub fn is_empty(&self) -> bool {
        self.before_register.is_none() && self.extra_claims.is_none() && self.after_login.is_none()
    }

    /// Called on self-service registration before anything is validated or
    /// stored: return the (possibly changed) input, or an error to refuse.
    /// A passkey sign-up calls it too, with an empty `password` (the
    /// account gets none); a change to the password is ignored there.
    pub fn before_register<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(NewAccount, ClientInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<NewAccount>> + Send + 'static,
    {
        self.before_register = Some(Arc::new(move |a, c| Box::pin(f(a, c))));
        self
    }

    /// Called whenever an access token is signed (login, refresh, fresh): the
    /// returned claims go into the token. Names in [`RESERVED_CLAIMS`] are ignored.
    pub fn extra_claims<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Account, Session) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<serde_json::Map<String, serde_json::Value>>> + Send + 'static,
    {
        self.extra_claims = Some(Arc::new(move |a, s| Box::pin(f(a, s))));
        self
    }

    /// Called after a session was opened (password login, second factor).
    /// An error revokes the new session and fails the login.
    pub fn after_login<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Account, Session, ClientInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.after_login = Some(Arc::new(move |a, s, c| Box::pin(f(a, s, c))));
        self
    }

    pub(crate) async fn run_before_register(
        &self,
        input: NewAccount,
        client: &ClientInfo,
    ) -> Result<NewAccount> {
        match &self.before_register {
            Some(f) => f(input, client.clone()).await,
            None => Ok(input),
        }
    }

    pub(crate) async fn run_extra_claims(
        &self,
        account: &Account,
        session: &Session,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        match &self.extra_claims {
            Some(f) => {
                let mut extra = f(account.clone(), session.clone()).await?;
                extra.retain(|k, _| !RESERVED_CLAIMS.contains(&k.as_str()));
                Ok(extra)
            }
            None => Ok(serde_json::Map::new()),
        }
    }

    pub(crate) async fn run_after_login(
        &self,
        account: &Account,
        session: &Session,
        client: &ClientInfo,
    ) -> Result<()> {
        match &self.after_login {
            Some(f) => f(account.clone(), session.clone(), client.clone()).await,
            None => Ok(()),
        }
    }
}
