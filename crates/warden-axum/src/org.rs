//! Extractors of the organization a request acts for: the `org`, `org_role`
//! and permission claims of its access token (see
//! `POST /auth/organizations/{id}/activate`). The claims were checked when
//! the token was verified: a token whose organization claims are stale (a
//! role change, a removal) is refused before any extractor sees it.

use crate::Warden;
use crate::error::ApiError;
use crate::extract::{Principal, authenticate, extractor, optional};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use std::marker::PhantomData;
use warden_core::Error;
use warden_core::organizations::{TokenOrg, token_org};

/// The organization the caller's access token acts for: id, role and the
/// role's permissions. 401 without a token; 403 `forbidden` when the token
/// acts for no organization (API keys and cookie sessions never do).
/// `Option<CurrentOrganization>` is `None` in both cases but still refuses
/// bad credentials.
///
/// ```
/// use warden_axum::CurrentOrganization;
/// async fn invoices(CurrentOrganization(org): CurrentOrganization) -> String {
///     format!("invoices of {} (as {})", org.id, org.role)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CurrentOrganization(pub TokenOrg);

/// The organization claims of the request's token (None: it acts for none).
pub(crate) async fn token_organization(
    parts: &mut Parts,
    warden: &Warden,
) -> Result<Option<TokenOrg>, Error> {
    let claims = match parts.extensions.get::<Principal>() {
        Some(Principal::Token(t)) => t.claims.clone(),
        Some(_) => return Ok(None),
        None => authenticate(parts, warden).await?.claims,
    };
    let claim = &warden.auth().settings().org_permissions_claim;
    Ok(token_org(&claims, claim))
}

fn no_organization() -> Error {
    Error::Forbidden(
        "the token acts for no organization (POST /auth/organizations/{id}/activate)".into(),
    )
}

async fn current_organization(
    parts: &mut Parts,
    warden: &Warden,
) -> Result<CurrentOrganization, Error> {
    match token_organization(parts, warden).await? {
        Some(org) => Ok(CurrentOrganization(org)),
        None => Err(no_organization()),
    }
}

extractor!(CurrentOrganization, current_organization);

impl<S> axum::extract::OptionalFromRequestParts<S> for CurrentOrganization
where
    S: Send + Sync,
    Warden: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let warden = Warden::from_ref(state);
        let org = optional(token_organization(parts, &warden).await)?;
        Ok(org.flatten().map(CurrentOrganization))
    }
}

/// A list of organization permissions known at compile time, for
/// [`RequireOrgPermission`]. Declare one with [`crate::org_permissions!`].
pub trait PermissionList: Send + Sync + 'static {
    /// Every permission the caller's role must grant.
    const PERMISSIONS: &'static [&'static str];
}

/// Declare a [`PermissionList`] marker type.
///
/// ```
/// warden_axum::org_permissions!(pub InvoicesRead = ["invoices:read"]);
/// use warden_axum::PermissionList;
/// assert_eq!(InvoicesRead::PERMISSIONS, &["invoices:read"]);
/// ```
#[macro_export]
macro_rules! org_permissions {
    ($vis:vis $name:ident = [$($p:literal),* $(,)?]) => {
        #[doc = concat!("Organization permissions: ", $($p, " ",)*)]
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;
        impl $crate::PermissionList for $name {
            const PERMISSIONS: &'static [&'static str] = &[$($p),*];
        }
    };
}

/// The caller's organization, whose role must grant every permission of
/// `L`; otherwise 403 `forbidden` naming the first missing one (401 without
/// a token).
///
/// ```
/// use warden_axum::RequireOrgPermission;
/// warden_axum::org_permissions!(InvoicesRead = ["invoices:read"]);
///
/// async fn invoices(RequireOrgPermission(org, ..): RequireOrgPermission<InvoicesRead>) -> String {
///     format!("invoices of {}", org.id)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RequireOrgPermission<L: PermissionList>(pub TokenOrg, pub PhantomData<L>);

/// Check that `org` grants each of `permissions`.
pub(crate) fn check_org_permissions<I, T>(org: &TokenOrg, permissions: I) -> Result<(), Error>
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    for p in permissions {
        let p = p.as_ref();
        if !org.has_permission(p) {
            return Err(Error::Forbidden(format!(
                "the organization permission {p} is required"
            )));
        }
    }
    Ok(())
}

impl<S, L> FromRequestParts<S> for RequireOrgPermission<L>
where
    S: Send + Sync,
    Warden: FromRef<S>,
    L: PermissionList,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let warden = Warden::from_ref(state);
        let CurrentOrganization(org) = current_organization(parts, &warden).await?;
        check_org_permissions(&org, L::PERMISSIONS)?;
        Ok(RequireOrgPermission(org, PhantomData))
    }
}

/// The check of [`crate::Rule::org_permissions`] on the rule's principal.
pub(crate) fn rule_check(
    warden: &Warden,
    p: &Principal,
    permissions: &[String],
) -> Result<(), Error> {
    let Principal::Token(t) = p else {
        return Err(no_organization());
    };
    let claim = &warden.auth().settings().org_permissions_claim;
    let org = token_org(&t.claims, claim).ok_or_else(no_organization)?;
    check_org_permissions(&org, permissions)
}
