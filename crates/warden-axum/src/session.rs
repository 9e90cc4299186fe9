//! Server-side cookie sessions: the `session` authentication method.
//!
//! A cookie session is a normal Warden session (the store's `sessions` rows:
//! account, created/last seen/expires, IP, user agent, revocation) opened by
//! `POST {prefix}/session/login` and marked with `cookie` in its `amr`. The
//! browser holds an opaque `HttpOnly` cookie `<session id>.<HMAC-SHA256 of
//! the id>`; the HMAC key is generated once and kept in the store's settings,
//! so nothing new is stored per session and every node can check the cookie.
//!
//! - idle timeout: a session unused for longer is revoked and refused
//!   (`last_seen_at` is updated at most once per [`SessionConfig::touch_interval`]);
//! - absolute timeout: counted from creation (and never beyond the engine's
//!   session lifetime, which also bounds the row's `expires_at`);
//! - [`SessionConfig::max_sessions_per_user`]: on login the oldest cookie
//!   sessions of the account beyond the limit are revoked;
//! - the id is cycled on login: a valid session cookie sent to the login
//!   route is revoked and a new session is opened;
//! - expired sessions are deleted by the engine's housekeeping
//!   ([`crate::Warden::spawn_background`]).
//!
//! State-changing requests authenticated by the session cookie need
//! `X-Requested-With` or a matching `X-CSRF-Token` (API.md), like the access
//! cookie. For an account with a second factor the cookie login answers
//! `{"mfa_required": true, "mfa_token", "methods"}` (like `POST {prefix}/login`)
//! and `POST {prefix}/session/login/mfa` `{mfa_token, code}` opens the session.
//!
//! ```
//! # async fn run() -> Result<(), warden_core::Error> {
//! use warden_axum::{SessionConfig, Warden};
//! let warden = Warden::builder()
//!     .memory()
//!     .sessions(SessionConfig {
//!         idle_timeout: time::Duration::minutes(15),
//!         max_sessions_per_user: 3,
//!         ..SessionConfig::default()
//!     })
//!     .build()
//!     .await?;
//! assert_eq!(warden.session_config().map(|c| c.max_sessions_per_user), Some(3));
//! # Ok(()) }
//! ```

use crate::Warden;
use crate::cookies::{CookieKey, CookieSettings};
use crate::error::{ApiError, ApiJson};
use crate::extract::{Client, Principal, SessionAuth, check_csrf, client_info};
use crate::routes::dto::{AccountBody, LoginBody};
use crate::routes::mfa::LoginMfaBody;
use crate::session_cookie::{SessionCookie, SessionLimits};
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use time::Duration;
use warden_core::model::{AccountId, ClientInfo, Session, SessionId};
use warden_core::{Auth, Error, LoginOutcome};

/// The `amr` value that marks a cookie session.
pub const COOKIE_AMR: &str = "cookie";
const KEY_SETTING: &str = "cookie_session_key";

/// Settings of server-side cookie sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Cookie name (`wsid`).
    pub cookie_name: String,
    /// A session unused this long ends (30 min).
    pub idle_timeout: Duration,
    /// A session ends this long after login, however used (12 h).
    pub absolute_timeout: Duration,
    /// Cookie sessions one account may hold; the oldest are revoked beyond
    /// it (5; 0: no limit).
    pub max_sessions_per_user: usize,
    /// `last_seen_at` is written at most this often (1 min).
    pub touch_interval: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            cookie_name: "wsid".to_owned(),
            idle_timeout: Duration::minutes(30),
            absolute_timeout: Duration::hours(12),
            max_sessions_per_user: 5,
            touch_interval: Duration::minutes(1),
        }
    }
}

/// Cookie sessions of one [`Warden`]: settings and the [`SessionCookie`].
pub(crate) struct CookieSessions {
    pub(crate) config: SessionConfig,
    cookie: SessionCookie,
}

impl CookieSessions {
    pub(crate) async fn new(
        auth: &Auth,
        cookies: &CookieSettings,
        config: SessionConfig,
    ) -> Result<Self, Error> {
        let key = CookieKey::load(auth, KEY_SETTING).await?;
        // The bare session id is MACed (empty purpose): the `wsid` format.
        let cookie = SessionCookie::new(config.cookie_name.clone(), key, "")
            .path(&cookies.path)
            .secure(cookies.secure)
            .domain(cookies.domain.clone())
            .limits(SessionLimits {
                idle_timeout: Some(config.idle_timeout),
                absolute_timeout: Some(config.absolute_timeout),
                touch_interval: config.touch_interval,
                amr: Some(COOKIE_AMR),
            });
        Ok(Self { config, cookie })
    }

    /// Authenticate by the session cookie: `Ok(None)` without one.
    pub(crate) async fn authenticate(
        &self,
        parts: &Parts,
        warden: &Warden,
    ) -> Result<Option<Principal>, Error> {
        let Some(value) = self.cookie.get(&parts.headers) else {
            return Ok(None);
        };
        let sid = self.cookie.verify(value).ok_or(Error::InvalidToken)?;
        check_csrf(&parts.method, &parts.headers, warden)?;
        let session = self
            .cookie
            .live(warden.auth(), sid, &client_info(parts, warden))
            .await?
            .ok_or(Error::InvalidToken)?;
        Ok(Some(Principal::Session(SessionAuth {
            session: Arc::new(session),
        })))
    }

    /// Revoke the oldest cookie sessions of an account beyond the limit.
    async fn evict(
        &self,
        warden: &Warden,
        account: AccountId,
        client: &ClientInfo,
    ) -> Result<(), Error> {
        let max = self.config.max_sessions_per_user;
        if max == 0 {
            return Ok(());
        }
        let mut sessions: Vec<Session> = warden
            .auth()
            .sessions()
            .list(account)
            .await?
            .into_iter()
            .filter(|s| s.amr.iter().any(|m| m == COOKIE_AMR))
            .collect();
        sessions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        for old in sessions.iter().skip(max) {
            warden
                .auth()
                .sessions()
                .revoke_own_session(account, old.id, client)
                .await?;
        }
        Ok(())
    }
}

fn not_enabled() -> Error {
    Error::NotFound
}

/// `POST {prefix}/session/login` `{login, password, remember?}`: opens a
/// cookie session, answers `200 {"account": Account, "session_id", "expires_at"}`
/// and sets the session cookie. A valid session cookie sent along is revoked
/// once the login succeeds (the id is cycled).
pub(crate) async fn login(
    State(w): State<Warden>,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(b): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let s = w.cookie_sessions().ok_or_else(not_enabled)?;
    crate::captcha::before_login(&w, &b.login, b.captcha.as_deref(), client.ip.as_deref()).await?;
    let outcome = w
        .auth()
        .sessions()
        .login_with_amr(
            &b.login,
            &b.password,
            b.remember,
            &["pwd", COOKIE_AMR],
            &client,
        )
        .await;
    let outcome = outcome?;
    match outcome {
        LoginOutcome::Tokens(pair) => open(&w, s, pair.session_id, &headers, &client).await,
        LoginOutcome::MfaRequired { mfa_token, methods } => {
            let body = serde_json::json!({"mfa_required": true, "mfa_token": mfa_token, "methods": methods});
            let mut res = (StatusCode::OK, axum::Json(body)).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
    }
}

/// `POST {prefix}/session/login/mfa` `{mfa_token, code}`: the second step of
/// a cookie login for an account with TOTP; answers like `/session/login`.
pub(crate) async fn login_mfa(
    State(w): State<Warden>,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(b): ApiJson<LoginMfaBody>,
) -> Result<Response, ApiError> {
    let s = w.cookie_sessions().ok_or_else(not_enabled)?;
    let pair = w
        .auth()
        .mfa()
        .login_mfa_with_amr(&b.mfa_token, &b.code, &[COOKIE_AMR], &client)
        .await?;
    open(&w, s, pair.session_id, &headers, &client).await
}

/// Answer a freshly opened cookie session: revoke the one the browser had
/// (the id is cycled), evict beyond the limit, set the cookie.
async fn open(
    w: &Warden,
    s: &CookieSessions,
    sid: SessionId,
    headers: &HeaderMap,
    client: &ClientInfo,
) -> Result<Response, ApiError> {
    if let Some(old) = s.cookie.session_id(headers)
        && old != sid
        && let Some(old) = w.auth().store().session(old).await?
        && old.is_live(w.auth().now())
    {
        w.auth()
            .sessions()
            .revoke_own_session(old.account_id, old.id, client)
            .await?;
    }
    let session = w
        .auth()
        .store()
        .session(sid)
        .await?
        .ok_or(Error::InvalidToken)?;
    let account = w.auth().accounts().account(session.account_id).await?;
    s.evict(w, account.id, client).await?;
    let end = (session.created_at + s.config.absolute_timeout).min(session.expires_at);
    let max_age = (end - w.auth().now()).whole_seconds().max(0);
    let body = serde_json::json!({
        "account": AccountBody::from(account.as_ref()),
        "session_id": session.id,
        "expires_at": end.unix_timestamp(),
    });
    let mut res = (StatusCode::OK, axum::Json(body)).into_response();
    if let Some(v) = s.cookie.set(session.id, Some(max_age)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `POST {prefix}/session/logout`: revokes the cookie session (204) and
/// clears the cookie. Without a valid session cookie: 401.
pub(crate) async fn logout(
    State(w): State<Warden>,
    Client(client): Client,
    parts: Parts,
) -> Result<Response, ApiError> {
    let s = w.cookie_sessions().ok_or_else(not_enabled)?;
    let Some(Principal::Session(auth)) = s.authenticate(&parts, &w).await? else {
        return Err(Error::Unauthenticated.into());
    };
    w.auth()
        .sessions()
        .revoke_own_session(auth.session.account_id, auth.session.id, &client)
        .await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Some(v) = s.cookie.clear() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}
