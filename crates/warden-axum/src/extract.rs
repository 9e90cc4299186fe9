//! Extractors: who is calling, and with which credentials.

use crate::error::ApiError;
use crate::{Warden, cookies};
use axum::extract::{ConnectInfo, FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use warden_core::Error;
use warden_core::api_key::ApiKeyPrincipal;
use warden_core::model::{Account, AccountId, Actor, ClientInfo};
use warden_core::token::Claims;

/// Implement `FromRequestParts` for an extractor made by an
/// `async fn(&mut Parts, &Warden) -> Result<T, Error>`; with `optional`, also
/// `OptionalFromRequestParts`, where "no credentials" is `None` and bad ones
/// are still refused.
macro_rules! extractor {
    ($ty:ty, $make:path) => {
        impl<S> FromRequestParts<S> for $ty
        where
            S: Send + Sync,
            Warden: FromRef<S>,
        {
            type Rejection = ApiError;
            async fn from_request_parts(
                parts: &mut Parts,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                let warden = Warden::from_ref(state);
                Ok($make(parts, &warden).await?)
            }
        }
    };
    ($ty:ty, $make:path, optional) => {
        $crate::extract::extractor!($ty, $make);
        impl<S> OptionalFromRequestParts<S> for $ty
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
                $crate::extract::optional($make(parts, &warden).await)
            }
        }
    };
}
pub(crate) use extractor;

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
        // Set by `AdminCaller`, which admin handlers extract before `Client`.
        actor: parts.extensions.get::<Actor>().cloned(),
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
    let header = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    if crate::csrf::Csrf::plain(&warden.http().cookies.csrf_name).verify(headers, header) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "cookie-authenticated request without a CSRF header".into(),
        ))
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

/// The access token of a request: the bearer token, else the access cookie
/// (a state-changing request then needs the CSRF header); `Unauthenticated`
/// with neither. Account and app-subject tokens come in the same way.
pub(crate) fn access_token<'a>(parts: &'a Parts, warden: &Warden) -> Result<(&'a str, Via), Error> {
    if let Some(token) = bearer(&parts.headers)? {
        return Ok((token, Via::Bearer));
    }
    let Some(token) = cookies::get(&parts.headers, &warden.http().cookies.access_name) else {
        return Err(Error::Unauthenticated);
    };
    check_csrf(&parts.method, &parts.headers, warden)?;
    Ok((token, Via::Cookie))
}

/// The request's account token, verified once per request (the
/// application's denylist included): a second extractor reuses the result.
pub(crate) async fn authenticate(
    parts: &mut Parts,
    warden: &Warden,
) -> Result<Authenticated, Error> {
    if let Some(done) = parts.extensions.get::<Authenticated>() {
        return Ok(done.clone());
    }
    let (token, via) = access_token(parts, warden)?;
    let claims = warden.auth().sessions().authenticate(token).await?;
    let auth = Authenticated { claims, via };
    parts.extensions.insert(auth.clone());
    Ok(auth)
}

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    Warden: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let warden = Warden::from_ref(state);
        Ok(authenticate(parts, &warden).await?)
    }
}

/// An API key verified for this request, from the `X-API-Key` header (or the
/// `api_key` query parameter when [`crate::HttpConfig::api_key_query`] is on).
/// Its use is recorded in the key's usage log.
#[derive(Debug, Clone)]
pub struct ApiKeyAuth(pub ApiKeyPrincipal);

/// The API key presented with a request, if any.
fn api_key_credential<'a>(parts: &'a Parts, warden: &Warden) -> Result<Option<&'a str>, Error> {
    if let Some(v) = parts.headers.get("x-api-key") {
        return v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| Error::InvalidApiKey);
    }
    if warden.http().api_key_query
        && let Some(query) = parts.uri.query()
    {
        return Ok(query.split('&').find_map(|p| p.strip_prefix("api_key=")));
    }
    Ok(None)
}

/// Verify an API key and record its use (method, full path, client IP).
async fn authenticate_key(
    parts: &Parts,
    warden: &Warden,
    key: &str,
) -> Result<ApiKeyPrincipal, Error> {
    let ip = client_ip(parts, warden).map(|ip| ip.to_string());
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.path(), |u| u.path());
    warden
        .auth()
        .api_keys()
        .authenticate_api_key(key, ip.as_deref(), parts.method.as_str(), path)
        .await
}

impl<S> FromRequestParts<S> for ApiKeyAuth
where
    S: Send + Sync,
    Warden: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let warden = Warden::from_ref(state);
        Ok(api_key_auth(parts, &warden)
            .await?
            .ok_or(Error::Unauthenticated)?)
    }
}

/// A request authenticated by a server-side cookie session
/// (see [`crate::SessionConfig`]).
#[derive(Debug, Clone)]
pub struct SessionAuth {
    /// The live session record.
    pub session: Arc<warden_core::model::Session>,
}

/// Whoever is calling: an access token (`Authorization: Bearer` or the access
/// cookie), an API key, a cookie session or a custom method.
///
/// Without path rules, a request with an `Authorization` header is judged by
/// it alone; otherwise an API key, then the access cookie, then the session
/// cookie (when cookie sessions are on), then the custom methods in
/// registration order. Under [`crate::Warden::rules_layer`], the principal the
/// matching rule established is used.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A verified access token (method `jwt`).
    Token(Authenticated),
    /// A verified API key (method `api_key`).
    ApiKey(ApiKeyAuth),
    /// A live cookie session (method `session`).
    Session(SessionAuth),
    /// A custom method registered with [`crate::WardenBuilder::method`].
    Custom {
        /// The name the method was registered under.
        method: String,
        /// Who is calling, in the method's terms.
        subject: String,
        /// The Warden account, if the method maps to one.
        account_id: Option<AccountId>,
        /// Scopes the method granted.
        scopes: Vec<String>,
    },
}

impl Principal {
    /// The calling account (`None` for a custom method without an account).
    pub fn account_id(&self) -> Option<AccountId> {
        match self {
            Principal::Token(t) => Some(t.claims.sub),
            Principal::ApiKey(k) => Some(k.0.account.id),
            Principal::Session(s) => Some(s.session.account_id),
            Principal::Custom { account_id, .. } => *account_id,
        }
    }
    /// The method name: `jwt`, `api_key`, `session` or the custom method's name.
    pub fn method(&self) -> &str {
        match self {
            Principal::Token(_) => "jwt",
            Principal::ApiKey(_) => "api_key",
            Principal::Session(_) => "session",
            Principal::Custom { method, .. } => method,
        }
    }
    /// Whether the token, key or method carries a scope (for a key: one its
    /// owner still has). A cookie session carries no scopes of its own (this
    /// answers false; [`crate::RequireScopes`] and path rules use its
    /// account's scopes).
    pub fn has_scope(&self, scope: &str) -> bool {
        match self {
            Principal::Token(t) => t.claims.has_scope(scope),
            Principal::ApiKey(k) => k.0.has_scope(scope),
            Principal::Session(_) => false,
            Principal::Custom { scopes, .. } => scopes.iter().any(|s| s == scope),
        }
    }
}

impl Principal {
    /// Like [`Principal::has_scope`], but a cookie session has the scopes of
    /// its (loaded) account.
    pub(crate) async fn has_scope_with(&self, warden: &Warden, scope: &str) -> Result<bool, Error> {
        match self {
            Principal::Session(s) => Ok(current_account_by_id(warden, s.session.account_id)
                .await?
                .has_scope(scope)),
            other => Ok(other.has_scope(scope)),
        }
    }
}

/// The request's API key, verified once per request: a second extractor of the
/// same request reuses the result (and does not record a second use).
async fn api_key_auth(parts: &mut Parts, warden: &Warden) -> Result<Option<ApiKeyAuth>, Error> {
    if let Some(done) = parts.extensions.get::<ApiKeyAuth>() {
        return Ok(Some(done.clone()));
    }
    let Some(key) = api_key_credential(parts, warden)? else {
        return Ok(None);
    };
    let auth = ApiKeyAuth(authenticate_key(parts, warden, key).await?);
    parts.extensions.insert(auth.clone());
    Ok(Some(auth))
}

/// Access token from the `Authorization` header or the access cookie, if any.
pub(crate) async fn jwt_method(
    parts: &mut Parts,
    warden: &Warden,
) -> Result<Option<Principal>, Error> {
    match authenticate(parts, warden).await {
        Ok(a) => Ok(Some(Principal::Token(a))),
        Err(Error::Unauthenticated) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Run one method by name: `Ok(None)` when the request has no credential for it.
pub(crate) async fn run_method(
    name: &str,
    parts: &mut Parts,
    warden: &Warden,
) -> Result<Option<Principal>, Error> {
    match name {
        "jwt" => jwt_method(parts, warden).await,
        "api_key" => Ok(api_key_auth(parts, warden).await?.map(Principal::ApiKey)),
        "session" => match warden.cookie_sessions() {
            Some(s) => s.authenticate(parts, warden).await,
            None => Ok(None),
        },
        custom => {
            let Some(method) = warden.method(custom) else {
                return Err(Error::Internal(format!(
                    "unknown authentication method {custom:?}: register it with WardenBuilder::method"
                )));
            };
            Ok(method
                .authenticate(parts, warden)
                .await?
                .map(|id| Principal::Custom {
                    method: custom.to_owned(),
                    subject: id.subject,
                    account_id: id.account_id,
                    scopes: id.scopes,
                }))
        }
    }
}

pub(crate) async fn principal(parts: &mut Parts, warden: &Warden) -> Result<Principal, Error> {
    if let Some(p) = parts.extensions.get::<Principal>() {
        return Ok(p.clone());
    }
    if !parts.headers.contains_key(header::AUTHORIZATION)
        && let Some(key) = api_key_auth(parts, warden).await?
    {
        return Ok(Principal::ApiKey(key));
    }
    if let Some(p) = jwt_method(parts, warden).await? {
        return Ok(p);
    }
    if let Some(s) = warden.cookie_sessions()
        && let Some(p) = s.authenticate(parts, warden).await?
    {
        return Ok(p);
    }
    let names: Vec<String> = warden.methods().map(|(n, _)| n.to_owned()).collect();
    for name in names {
        if let Some(p) = run_method(&name, parts, warden).await? {
            return Ok(p);
        }
    }
    Err(Error::Unauthenticated)
}

/// Map "no credentials" to `None` for the `Option<...>` extractors.
pub(crate) fn optional<T>(r: Result<T, Error>) -> Result<Option<T>, ApiError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::Unauthenticated) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

extractor!(Principal, principal, optional);

impl<S> OptionalFromRequestParts<S> for ApiKeyAuth
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
        Ok(api_key_auth(parts, &warden).await?)
    }
}

/// The signed-in account: token valid (its session not revoked, so its second
/// factor passed), account active and not blocked; or an API key, cookie
/// session or custom method whose account is active and not blocked.
/// `Option<CurrentAccount>` is `None` without credentials but still rejects
/// bad ones.
///
/// ```
/// use warden_axum::CurrentAccount;
/// async fn me(CurrentAccount(account): CurrentAccount) -> String {
///     account.login.clone()
/// }
/// async fn greet(account: Option<CurrentAccount>) -> String {
///     match account {
///         Some(CurrentAccount(a)) => format!("hello {}", a.login),
///         None => "hello stranger".into(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CurrentAccount(pub Arc<Account>);

async fn current_account_by_id(warden: &Warden, id: AccountId) -> Result<Arc<Account>, Error> {
    let account = match warden.auth().accounts().account(id).await {
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

pub(crate) async fn account_of(warden: &Warden, p: &Principal) -> Result<Arc<Account>, Error> {
    match p {
        Principal::Token(auth) => current_account(warden, &auth.claims).await,
        Principal::ApiKey(key) => Ok(key.0.account.clone()),
        Principal::Session(s) => current_account_by_id(warden, s.session.account_id).await,
        Principal::Custom { account_id, .. } => match account_id {
            Some(id) => current_account_by_id(warden, *id).await,
            None => Err(Error::Forbidden(
                "this method does not act as an account".into(),
            )),
        },
    }
}

pub(crate) async fn current_account(
    warden: &Warden,
    claims: &Claims,
) -> Result<Arc<Account>, Error> {
    let account = match warden.auth().accounts().account(claims.sub).await {
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

async fn current_account_of(parts: &mut Parts, warden: &Warden) -> Result<CurrentAccount, Error> {
    let p = principal(parts, warden).await?;
    Ok(CurrentAccount(account_of(warden, &p).await?))
}

extractor!(CurrentAccount, current_account_of);

impl<S> OptionalFromRequestParts<S> for CurrentAccount
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
        match optional(principal(parts, &warden).await)? {
            Some(p) => Ok(Some(CurrentAccount(account_of(&warden, &p).await?))),
            None => Ok(None),
        }
    }
}

/// A caller allowed on admin routes: `X-Admin-Secret` (header only, constant-time
/// compare), an access token with scope `admin` whose account still has it, or
/// an API key with scope `admin` whose owner still has it.
#[derive(Debug, Clone)]
pub enum AdminCaller {
    /// Authorised by the shared secret.
    Secret,
    /// Authorised by an admin's token or API key.
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
                Some(expected) if expected.matches(given) => {
                    parts.extensions.insert(Actor::AdminSecret);
                    Ok(AdminCaller::Secret)
                }
                _ => Err(Error::Forbidden("invalid admin secret".into()).into()),
            };
        }
        let account = match principal(parts, &warden).await? {
            Principal::Token(auth) => {
                let account = current_account(&warden, &auth.claims).await?;
                (auth.claims.has_scope("admin") && account.has_scope("admin")).then_some(account)
            }
            // The key's scopes are already intersected with the owner's current ones.
            Principal::ApiKey(key) => key.0.has_scope("admin").then_some(key.0.account),
            // A cookie session acts with its account's scopes.
            p @ Principal::Session(_) => {
                let account = account_of(&warden, &p).await?;
                account.has_scope("admin").then_some(account)
            }
            // Custom methods never reach the admin API.
            Principal::Custom { .. } => None,
        };
        match account {
            Some(account) => {
                parts.extensions.insert(Actor::Account {
                    id: account.id,
                    login: account.login.clone(),
                });
                Ok(AdminCaller::Account(account))
            }
            None => Err(Error::Forbidden("the admin scope is required".into()).into()),
        }
    }
}

/// Check that a principal holds every scope (403 `forbidden` naming the first missing one).
pub(crate) async fn check_scopes<I, T>(
    warden: &Warden,
    p: &Principal,
    scopes: I,
) -> Result<(), Error>
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    for scope in scopes {
        let scope = scope.as_ref();
        if !p.has_scope_with(warden, scope).await? {
            return Err(Error::Forbidden(format!("the {scope} scope is required")));
        }
    }
    Ok(())
}
