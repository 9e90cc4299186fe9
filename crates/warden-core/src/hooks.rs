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

use crate::error::{Error, Result};
use crate::model::NewAccount;
use crate::model::{Account, ClientInfo, Session};
use crate::token::SubjectClaims;
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
type OrgEventFn = Arc<dyn Fn(OrgEvent) -> BoxFuture<Result<()>> + Send + Sync>;

/// A change of an organization's invitations or members, told to the
/// [`Hooks::on_organization_event`] hook after it was stored.
#[derive(Debug, Clone, PartialEq)]
pub enum OrgEvent {
    /// An invitation was sent (the token is never shown).
    InvitationSent(crate::store::Invitation),
    /// An invitation was accepted: the membership it made (or the one that was there).
    InvitationAccepted(crate::store::Invitation, crate::store::Membership),
    /// An invitation was declined.
    InvitationDeclined(crate::store::Invitation),
    /// An invitation was revoked.
    InvitationRevoked {
        /// The organization.
        organization: uuid::Uuid,
        /// The invitation.
        id: uuid::Uuid,
    },
    /// An account joined (as the creator of the organization, or by an invitation).
    MemberAdded(crate::store::Membership),
    /// A member got another role.
    RoleChanged {
        /// The membership with its new role.
        membership: crate::store::Membership,
        /// The role before.
        from: String,
    },
    /// A member was removed or left (the membership as it was).
    MemberRemoved(crate::store::Membership),
}

/// Claims an `extra_claims` hook may not set (they belong to Warden).
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss", "sub", "sub_kind", "aud", "iat", "nbf", "exp", "jti", "sid", "scope", "fresh", "amr",
];

/// The application's own revocation list, asked at every verification of an
/// access token (fastapi-jwt-auth's `token_in_denylist_loader`), on top of
/// Warden's built-in revocation (logout, refresh reuse, blocks: the
/// revocation set). Install it with [`Hooks::token_denylist`] (in
/// `warden-axum`: `WardenBuilder::token_denylist`).
///
/// **Cost**: it runs on every authenticated request, after the signature,
/// expiry and revocation-set checks have passed (a token refused by those
/// never reaches it), for account and app-subject tokens alike; without a
/// denylist nothing runs. Keep it to an in-memory lookup or one cheap remote
/// call (e.g. a Redis `SISMEMBER` of the `jti`).
///
/// **Errors fail closed**: `Ok(true)` refuses the token (401 `invalid_token`);
/// an `Err(Error::Unavailable(..))` refuses it with 503 (the list cannot be
/// read; the client may retry); any other error refuses it as revoked (401
/// `invalid_token`, the error is logged). A token is never accepted because
/// the list could not be asked.
///
/// ```
/// use std::collections::HashSet;
/// use std::sync::Mutex;
/// use warden_core::hooks::TokenDenylist;
/// use warden_core::token::SubjectClaims;
///
/// /// Refuses the tokens whose `jti` the application put on its list.
/// #[derive(Default)]
/// struct Denied(Mutex<HashSet<String>>);
///
/// #[async_trait::async_trait]
/// impl TokenDenylist for Denied {
///     async fn is_revoked(&self, claims: &SubjectClaims) -> warden_core::Result<bool> {
///         Ok(self.0.lock().unwrap().contains(&claims.jti))
///     }
/// }
/// let hooks = warden_core::hooks::Hooks::new().token_denylist(Denied::default());
/// assert!(!hooks.is_empty());
/// ```
#[async_trait::async_trait]
pub trait TokenDenylist: Send + Sync + 'static {
    /// Whether the application revoked this verified token. `claims.sub` is
    /// the account id as text for an account's token, the app's subject for
    /// an app subject's (`claims.is_app()`).
    async fn is_revoked(&self, claims: &SubjectClaims) -> Result<bool>;
}

/// The set of application hooks of an [`crate::Auth`] (see [`crate::Auth::set_hooks`]).
#[derive(Clone, Default)]
pub struct Hooks {
    before_register: Option<BeforeRegisterFn>,
    extra_claims: Option<ExtraClaimsFn>,
    after_login: Option<AfterLoginFn>,
    denylist: Option<Arc<dyn TokenDenylist>>,
    org_event: Option<OrgEventFn>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("before_register", &self.before_register.is_some())
            .field("extra_claims", &self.extra_claims.is_some())
            .field("after_login", &self.after_login.is_some())
            .field("token_denylist", &self.denylist.is_some())
            .field("on_organization_event", &self.org_event.is_some())
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
        self.before_register.is_none()
            && self.extra_claims.is_none()
            && self.after_login.is_none()
            && self.denylist.is_none()
            && self.org_event.is_none()
    }

    /// Called after an invitation or membership change of an organization
    /// was stored. An error is logged; the change stands.
    pub fn on_organization_event<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(OrgEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.org_event = Some(Arc::new(move |e| Box::pin(f(e))));
        self
    }

    pub(crate) async fn run_org_event(&self, event: OrgEvent) -> Result<()> {
        match &self.org_event {
            Some(f) => f(event).await,
            None => Ok(()),
        }
    }

    /// Ask `denylist` at every access-token verification (see
    /// [`TokenDenylist`] for its cost and how its errors are answered).
    pub fn token_denylist(mut self, denylist: impl TokenDenylist) -> Self {
        self.denylist = Some(Arc::new(denylist));
        self
    }

    /// The installed denylist, if any.
    pub(crate) fn denylist(&self) -> Option<Arc<dyn TokenDenylist>> {
        self.denylist.clone()
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

    /// Ask `denylist` about a verified token: `Ok` when it is not revoked,
    /// else the refusal (fails closed, see [`TokenDenylist`]).
    pub(crate) async fn check_denylist(
        denylist: &dyn TokenDenylist,
        claims: &SubjectClaims,
    ) -> Result<()> {
        match denylist.is_revoked(claims).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(Error::InvalidToken),
            Err(e @ Error::Unavailable(_)) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "token denylist failed; the token is refused");
                Err(Error::InvalidToken)
            }
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
