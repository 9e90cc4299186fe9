//! Extractors that guard application routes: token claims, the session
//! record, freshness, scopes and the principal established by path rules.

use crate::Warden;
use crate::error::ApiError;
use crate::extract::{Principal, authenticate, extractor, principal};
use crate::rules::RulesOutcome;
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use std::marker::PhantomData;
use std::sync::Arc;
use warden_core::Error;
use warden_core::model::Session;

/// The verified claims of the request's access token (`Authorization: Bearer`
/// or the access cookie); the session is not revoked.
///
/// ```
/// use warden_axum::Claims;
/// async fn whoami(Claims(claims): Claims) -> String {
///     format!("{} in session {}", claims.sub, claims.sid)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Claims(pub Arc<warden_core::token::Claims>);

async fn claims(parts: &mut Parts, warden: &Warden) -> Result<Claims, Error> {
    if let Some(Principal::Token(t)) = parts.extensions.get::<Principal>() {
        return Ok(Claims(t.claims.clone()));
    }
    Ok(Claims(authenticate(parts, warden).await?.claims))
}

extractor!(Claims, claims, optional);

/// The session record of the caller, read from the store: for an access token
/// its `sid`, for a cookie session the session itself. A revoked or expired
/// session is refused with 401 `invalid_token`; an API key or custom method
/// has no session (401 `unauthenticated`).
///
/// ```
/// use warden_axum::CurrentSession;
/// async fn session_info(CurrentSession(session): CurrentSession) -> String {
///     format!("signed in since {}", session.created_at)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CurrentSession(pub Session);

async fn current_session(parts: &mut Parts, warden: &Warden) -> Result<CurrentSession, Error> {
    let sid = match principal(parts, warden).await? {
        Principal::Token(t) => t.claims.sid,
        Principal::Session(s) => s.session.id,
        Principal::ApiKey(_) | Principal::Custom { .. } => return Err(Error::Unauthenticated),
    };
    let now = warden.auth().now();
    match warden.auth().store().session(sid).await? {
        Some(s) if s.is_live(now) && !warden.auth().sessions().is_revoked(sid) => {
            Ok(CurrentSession(s))
        }
        _ => Err(Error::InvalidToken),
    }
}

extractor!(CurrentSession, current_session, optional);

/// `T`, but only with a fresh access token (one issued by a password login or
/// `POST /auth/fresh`, not by a refresh; for an app subject, by
/// `AppTokens::issue` or `AppTokens::fresh`); otherwise 401
/// `fresh_token_required`. API keys, cookie sessions and custom methods are
/// never fresh. `Fresh<CurrentSubject>` guards a route of app subjects.
///
/// ```
/// use warden_axum::{CurrentAccount, Fresh};
/// async fn delete_everything(Fresh(CurrentAccount(account)): Fresh<CurrentAccount>) -> String {
///     format!("deleting the data of {}", account.login)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Fresh<T>(pub T);

impl<S, T> FromRequestParts<S> for Fresh<T>
where
    S: Send + Sync,
    Warden: FromRef<S>,
    T: FromRequestParts<S>,
{
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let warden = Warden::from_ref(state);
        let fresh = match principal(parts, &warden).await {
            Ok(Principal::Token(t)) => t.claims.fresh,
            Ok(_) => false,
            // No principal: maybe an app subject's token (never an account's).
            Err(Error::InvalidToken) => {
                let c = crate::subject::subject_claims(parts, &warden)
                    .await
                    .map_err(|e| ApiError(e).into_response())?;
                if !c.is_app() {
                    return Err(ApiError(Error::InvalidToken).into_response());
                }
                c.fresh
            }
            Err(e) => return Err(ApiError(e).into_response()),
        };
        if !fresh {
            return Err(ApiError(Error::FreshTokenRequired).into_response());
        }
        T::from_request_parts(parts, state)
            .await
            .map(Fresh)
            .map_err(IntoResponse::into_response)
    }
}

/// A list of scopes known at compile time, for [`RequireScopes`]. Declare one
/// with [`crate::scopes!`] or implement it by hand.
pub trait ScopeList: Send + Sync + 'static {
    /// Every scope the caller must have.
    const SCOPES: &'static [&'static str];
}

/// Declare a [`ScopeList`] marker type.
///
/// ```
/// warden_axum::scopes!(pub ReportsRead = ["reports:read"]);
/// warden_axum::scopes!(Admin = ["admin", "reports:read"]);
/// use warden_axum::ScopeList;
/// assert_eq!(Admin::SCOPES, &["admin", "reports:read"]);
/// ```
#[macro_export]
macro_rules! scopes {
    ($vis:vis $name:ident = [$($scope:literal),* $(,)?]) => {
        #[doc = concat!("Scopes: ", $($scope, " ",)*)]
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;
        impl $crate::ScopeList for $name {
            const SCOPES: &'static [&'static str] = &[$($scope),*];
        }
    };
}

/// The caller ([`Principal`]), who must hold every scope of `L`; otherwise 403
/// `forbidden` (401 without credentials). A token's scopes are its `scope`
/// claim, an API key's are those its owner still has, a cookie session has its
/// account's scopes, a custom method the ones it granted.
///
/// ```
/// use warden_axum::{RequireScopes, Principal};
/// warden_axum::scopes!(ReportsRead = ["reports:read"]);
///
/// async fn reports(RequireScopes(caller, ..): RequireScopes<ReportsRead>) -> String {
///     format!("reports for {:?}", caller.account_id())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RequireScopes<L: ScopeList>(pub Principal, pub PhantomData<L>);

impl<S, L> FromRequestParts<S> for RequireScopes<L>
where
    S: Send + Sync,
    Warden: FromRef<S>,
    L: ScopeList,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let warden = Warden::from_ref(state);
        let p = principal(parts, &warden).await?;
        crate::extract::check_scopes(&warden, &p, L::SCOPES).await?;
        Ok(RequireScopes(p, PhantomData))
    }
}

/// The principal the path-rules layer ([`crate::Warden::rules_layer`])
/// established for this request. 401 when the matching rule let the request
/// through without credentials (use `Option<RulePrincipal>` on such routes);
/// 500 naming the missing layer ("add warden.rules_layer()") when the layer
/// is not installed or no rule matched.
///
/// ```
/// use warden_axum::RulePrincipal;
/// async fn admin_page(RulePrincipal(p): RulePrincipal) -> String {
///     format!("authenticated by {}", p.method())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RulePrincipal(pub Principal);

fn missing_rules_layer() -> ApiError {
    ApiError(Error::Misconfigured(
        "misconfigured route: add warden.rules_layer() with a rule matching this path".to_owned(),
    ))
}

impl<S> FromRequestParts<S> for RulePrincipal
where
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<RulesOutcome>() {
            None => Err(missing_rules_layer()),
            Some(RulesOutcome(Some(p))) => Ok(RulePrincipal(p.clone())),
            Some(RulesOutcome(None)) => Err(ApiError(Error::Unauthenticated)),
        }
    }
}

impl<S> OptionalFromRequestParts<S> for RulePrincipal
where
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match parts.extensions.get::<RulesOutcome>() {
            None => Err(missing_rules_layer()),
            Some(RulesOutcome(p)) => Ok(p.clone().map(RulePrincipal)),
        }
    }
}
