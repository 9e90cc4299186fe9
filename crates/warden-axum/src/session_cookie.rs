//! The one cookie-session mechanism: an `HttpOnly` cookie
//! `<session id>.<HMAC>` naming a normal Warden session.
//!
//! The JSON API's cookie sessions ([`crate::SessionConfig`], the `wsid`
//! cookie) and the hosted pages (`warden-ui`, the `warden_ui` cookie) both
//! use a [`SessionCookie`]: the session is a row of the store's `sessions`
//! (so it shows in the session list, is revoked by logout-all, blocking and
//! password changes and reaches every node); the cookie only names it, signed
//! with a [`CookieKey`] kept in the store's settings.
//!
//! ```
//! # async fn run() -> Result<(), warden_core::Error> {
//! use warden_axum::Warden;
//! use warden_axum::cookies::CookieKey;
//! use warden_axum::session_cookie::{SessionCookie, SessionLimits};
//!
//! let warden = Warden::builder().memory().build().await?;
//! let key = CookieKey::load(warden.auth(), "my_app_cookie_key").await?;
//! let cookie = SessionCookie::new("my_session", key, "session")
//!     .path("/app")
//!     .limits(SessionLimits {
//!         idle_timeout: Some(time::Duration::minutes(20)),
//!         ..SessionLimits::default()
//!     });
//! let sid = warden_core::model::SessionId::new();
//! assert_eq!(cookie.verify(&cookie.value(sid)), Some(sid));
//! # Ok(()) }
//! ```

use crate::cookies::{self, CookieAttrs, CookieKey};
use axum::http::{HeaderMap, HeaderValue};
use time::Duration;
use warden_core::model::{ClientInfo, Session, SessionId};
use warden_core::{Auth, Error};

/// When a named session still counts as signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// A session unused this long is revoked and refused (`None`: only the
    /// session's own expiry).
    pub idle_timeout: Option<Duration>,
    /// A session this long after its creation is revoked and refused.
    pub absolute_timeout: Option<Duration>,
    /// `last_seen_at` is written at most this often (1 min).
    pub touch_interval: Duration,
    /// An `amr` value the session must carry (`cookie` for the JSON cookie
    /// sessions), so a cookie cannot name a session opened another way.
    pub amr: Option<&'static str>,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle_timeout: None,
            absolute_timeout: None,
            touch_interval: Duration::minutes(1),
            amr: None,
        }
    }
}

/// A cookie that names a Warden session: its name, attributes, signing key
/// and [`SessionLimits`].
#[derive(Debug, Clone)]
pub struct SessionCookie {
    name: String,
    path: String,
    secure: bool,
    domain: Option<String>,
    key: CookieKey,
    purpose: &'static str,
    limits: SessionLimits,
}

impl SessionCookie {
    /// The cookie `name`, its values MACed under `key` for `purpose` (see
    /// [`CookieKey::mac`]); `Path=/`, `Secure`, no `Domain`, default limits.
    pub fn new(name: impl Into<String>, key: CookieKey, purpose: &'static str) -> Self {
        Self {
            name: name.into(),
            path: "/".to_owned(),
            secure: true,
            domain: None,
            key,
            purpose,
            limits: SessionLimits::default(),
        }
    }

    /// The cookie's `Path` (empty: `/`).
    pub fn path(mut self, path: &str) -> Self {
        self.path = if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        };
        self
    }

    /// Whether the cookie is `Secure`.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// The cookie's `Domain`.
    pub fn domain(mut self, domain: Option<String>) -> Self {
        self.domain = domain;
        self
    }

    /// When a named session still counts.
    pub fn limits(mut self, limits: SessionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cookie value that names `sid`.
    pub fn value(&self, sid: SessionId) -> String {
        self.key.sign(self.purpose, &sid.to_string())
    }

    /// The session a cookie value names, if its MAC is right.
    pub fn verify(&self, value: &str) -> Option<SessionId> {
        let (sid, mac) = value.split_once('.')?;
        if !self.key.check(self.purpose, sid, mac) {
            return None;
        }
        SessionId::parse(sid)
    }

    /// The request's cookie value, verified or not.
    pub fn get<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        cookies::get(headers, &self.name)
    }

    /// The session the request's cookie names, if any and signed right.
    pub fn session_id(&self, headers: &HeaderMap) -> Option<SessionId> {
        self.get(headers).and_then(|v| self.verify(v))
    }

    fn attrs(&self, max_age: Option<i64>) -> CookieAttrs<'_> {
        CookieAttrs {
            path: &self.path,
            max_age,
            http_only: true,
            secure: self.secure,
            domain: self.domain.as_deref(),
        }
    }

    /// The `Set-Cookie` that names `sid` (`max_age` `None`: until the
    /// browser closes).
    pub fn set(&self, sid: SessionId, max_age: Option<i64>) -> Option<HeaderValue> {
        cookies::set_cookie(&self.name, &self.value(sid), &self.attrs(max_age))
    }

    /// The `Set-Cookie` that deletes the cookie.
    pub fn clear(&self) -> Option<HeaderValue> {
        cookies::set_cookie(&self.name, "", &self.attrs(Some(0)))
    }

    /// The session `sid` if it still counts: not revoked, not expired,
    /// carrying the required `amr`, within the idle and absolute timeouts (a
    /// session past one is revoked). `last_seen_at` is touched at most once
    /// per [`SessionLimits::touch_interval`].
    pub async fn live(
        &self,
        auth: &Auth,
        sid: SessionId,
        client: &ClientInfo,
    ) -> Result<Option<Session>, Error> {
        if auth.sessions().is_revoked(sid) {
            return Ok(None);
        }
        let now = auth.now();
        let Some(session) = auth.store().session(sid).await? else {
            return Ok(None);
        };
        if !session.is_live(now) {
            return Ok(None);
        }
        if let Some(amr) = self.limits.amr
            && !session.amr.iter().any(|m| m == amr)
        {
            return Ok(None);
        }
        let overdue = self
            .limits
            .absolute_timeout
            .is_some_and(|t| session.created_at + t <= now);
        let idle = self
            .limits
            .idle_timeout
            .is_some_and(|t| session.last_seen_at + t <= now);
        if overdue || idle {
            auth.sessions()
                .revoke_own_session(session.account_id, sid, client)
                .await?;
            return Ok(None);
        }
        if session.last_seen_at + self.limits.touch_interval <= now {
            auth.store().touch_session(sid, now).await?;
        }
        Ok(Some(session))
    }
}
