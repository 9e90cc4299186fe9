//! Extractors: who is calling, and with which credentials.

use crate::error::ApiError;
use crate::{Warden, cookies};
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use warden_core::model::{Account, ClientInfo};
use warden_core::token::Claims;
use warden_core::{Error, random};

/// The client's IP and user agent (IP from the socket; `X-Forwarded-For` only
/// from trusted proxies).
#[derive(Debug, Clone)]
pub struct Client(pub ClientInfo);

fn client_ip(parts: &Parts, warden: &Warden) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    let trusted = &warden.http().trusted_proxies;
    if !trusted.iter().any(|n| n.contains(peer)) {
        return Some(peer);
    }
    // Walk X-Forwarded-For from the right; the first untrusted hop is the client.
    let hops: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !trusted.iter().any(|n| n.contains(hop)) {
            break;
        }
    }
    Some(client)
}

pub(crate) fn client_info(parts: &Parts, warden: &Warden) -> ClientInfo {
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect());
    ClientInfo {
        ip: client_ip(parts, warden).map(|ip| ip.to_string()),
        user_agent,
    }
}

impl<S> FromRequestParts<S> for Client
where
    S: Send + Sync,
    Warden: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let warden = Warden::from_ref(state);
        Ok(Client(client_info(parts, &warden)))
    }
}

/// Where the credentials came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `Authorization: Bearer`.
    Bearer,
    /// The access cookie.
    Cookie,
}

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Error> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| Error::InvalidToken)?;
    let (scheme, token) = v.split_once(' ').ok_or(Error::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::InvalidToken);
    }
    Ok(Some(token.trim()))
}

/// A state-changing request authenticated by cookie alone must carry
/// `X-Requested-With`, or an `X-CSRF-Token` equal to the CSRF cookie.
pub(crate) fn check_csrf(
    method: &Method,
    headers: &HeaderMap,
    warden: &Warden,
) -> Result<(), Error> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if headers.contains_key("x-requested-with") {
        return Ok(());
    }
    let cookie = cookies::get(headers, &warden.http().cookies.csrf_name);
    let header = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    match (cookie, header) {
        (Some(c), Some(h)) if !c.is_empty() && random::ct_eq(c.as_bytes(), h.as_bytes()) => Ok(()),
        _ => Err(Error::Forbidden(
            "cookie-authenticated request without a CSRF header".into(),
        )),
    }
}

/// A verified access token whose session is not revoked.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The token's claims.
    pub claims: Arc<Claims>,
    /// Where the token came from.
    pub via: Via,
}

pub(crate) fn authenticate(parts: &Parts, warden: &Warden) -> Result<Authenticated, Error> {
    if let Some(token) = bearer(&parts.headers)? {
        let claims = warden.auth().authenticate(token)?;
        return Ok(Authenticated {
            claims,
            via: Via::Bearer,
        });
    }
    let Some(token) = cookies::get(&parts.headers, &warden.http().cookies.access_name) else {
        return Err(Error::Unauthenticated);
    };
    check_csrf(&parts.method, &parts.headers, warden)?;
    let claims = warden.auth().authenticate(token)?;
    Ok(Authenticated {
        claims,
        via: Via::Cookie,
    })
}

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    Warden: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let warden = Warden::from_ref(state);
        Ok(authenticate(parts, &warden)?)
    }
}

/// The signed-in account: token valid, session live, account active and not blocked.
#[derive(Debug, Clone)]
pub struct CurrentAccount(pub Arc<Account>);

pub(crate) async fn current_account(
    warden: &Warden,
    claims: &Claims,
) -> Result<Arc<Account>, Error> {
    let account = match warden.auth().account(claims.sub).await {
        Ok(a) => a,
        Err(Error::NotFound) => return Err(Error::InvalidToken),
        Err(e) => return Err(e),
    };
    if account.blocked {
        return Err(Error::AccountBlocked);
    }
    if !account.active {
        return Err(Error::AccountInactive);
    }
    Ok(account)
}

impl<S> FromRequestParts<S> for CurrentAccount
where
    S: Send + Sync,
    Warden: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let warden = Warden::from_ref(state);
        let auth = authenticate(parts, &warden)?;
        Ok(CurrentAccount(
            current_account(&warden, &auth.claims).await?,
        ))
    }
}

/// A caller allowed on admin routes: `X-Admin-Secret` (header only, constant-time
/// compare) or an access token with scope `admin` whose account still has it.
#[derive(Debug, Clone)]
pub enum AdminCaller {
    /// Authorised by the shared secret.
    Secret,
    /// Authorised by an admin's token.
    Account(Arc<Account>),
}

impl<S> FromRequestParts<S> for AdminCaller
where
    S: Send + Sync,
    Warden: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let warden = Warden::from_ref(state);
        if let Some(given) = parts.headers.get("x-admin-secret") {
            let given = given
                .to_str()
                .map_err(|_| Error::Forbidden("invalid admin secret".into()))?;
            return match &warden.http().admin_secret {
                Some(expected) if expected.matches(given) => Ok(AdminCaller::Secret),
                _ => Err(Error::Forbidden("invalid admin secret".into()).into()),
            };
        }
        let auth = authenticate(parts, &warden)?;
        let account = current_account(&warden, &auth.claims).await?;
        if auth.claims.has_scope("admin") && account.has_scope("admin") {
            Ok(AdminCaller::Account(account))
        } else {
            Err(Error::Forbidden("the admin scope is required".into()).into())
        }
    }
}
