//! Warden's tokens for users the application keeps itself (fastapi-jwt-auth's
//! `create_access_token(subject=...)`, FastSecure's token manager): the app
//! checks its user's credentials its own way, then asks for a session and a
//! token pair for that **app subject**, with the scopes and extra claims it
//! chooses. Verification, refresh rotation with reuse detection, freshness,
//! logout revocation (on every node, through the change feed), the session
//! cap and the application's [`crate::hooks::TokenDenylist`] work exactly as
//! for accounts, because an app subject's session is an ordinary stored
//! session ([`crate::model::Session::app`]) owned by
//! [`AccountId::of_app_subject`].
//!
//! An app subject is never an account, and the two are never confused:
//! - its access token carries `sub_kind: "app"` and `sub` = the app's subject;
//!   every account check ([`crate::Sessions::authenticate`], so `CurrentAccount`,
//!   `/auth/me`, the admin routes) refuses it with `invalid_token`, while
//!   [`AppTokens::authenticate`] accepts both kinds (see
//!   [`crate::token::Claims::is_app`]);
//! - its refresh token starts with `wart_` (an account's with `wrt_`), and
//!   each refresh path refuses the other's (`invalid_refresh_token`).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use warden_core::app_tokens::AppGrant;
//! use warden_core::{Auth, Error, Settings, model::ClientInfo, store::MemoryStore};
//!
//! let auth = Auth::new(Arc::new(MemoryStore::new()), Settings::default()).await?;
//! let apps = auth.app_tokens();
//! let client = ClientInfo::default();
//!
//! // The app has checked user 42's password itself.
//! let grant = AppGrant::new("user-42")
//!     .scopes(["notes:read", "notes:write"])
//!     .claim("tenant", "acme");
//! let pair = apps.issue(grant, &client).await?;
//! assert!(pair.refresh_token.starts_with("wart_"));
//!
//! let claims = apps.authenticate(&pair.access_token).await?;
//! assert_eq!(claims.sub, "user-42");
//! assert!(claims.is_app() && claims.fresh && claims.has_scope("notes:write"));
//! assert_eq!(claims.extra["tenant"], "acme");
//! // Never an account:
//! assert!(matches!(auth.sessions().authenticate(&pair.access_token).await, Err(Error::InvalidToken)));
//!
//! // Refresh rotates; the old refresh token presented again revokes the session.
//! let next = apps.refresh(&pair.refresh_token, &client).await?;
//! let again = apps.refresh(&pair.refresh_token, &client).await;
//! assert!(matches!(again, Err(Error::RefreshTokenReused)));
//! assert!(apps.authenticate(&next.access_token).await.is_err());
//!
//! // Logout refuses the session's access tokens at once.
//! let pair = apps.issue(AppGrant::new("user-42"), &client).await?;
//! let claims = apps.authenticate(&pair.access_token).await?;
//! apps.logout(&claims, &client).await?;
//! assert!(matches!(apps.authenticate(&pair.access_token).await, Err(Error::InvalidToken)));
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```

use crate::error::{Error, Result};
use crate::hooks::RESERVED_CLAIMS;
use crate::model::{AccountId, AppSubject, ClientInfo, Session};
use crate::sessions::{Sessions, TokenPair};
use crate::token::{MAX_TOKEN_LEN, SubjectClaims, SubjectKind};
use std::sync::Arc;

/// Prefix of an app subject's refresh token (an account's is `wrt_`).
pub const APP_REFRESH_PREFIX: &str = "wart_";
/// The longest app subject, in bytes.
pub const MAX_SUBJECT_LEN: usize = 255;
/// The largest set of extra claims, in bytes of JSON. (Besides the limits
/// of each field, the whole access token must stay within
/// [`MAX_TOKEN_LEN`], what a verifier accepts.)
pub const MAX_CLAIMS_LEN: usize = 3072;
/// The longest `scope` claim (the scopes joined by spaces), in bytes.
pub const MAX_SCOPES_LEN: usize = 1024;
/// The most `amr` entries.
const MAX_AMR: usize = 8;

/// What the application asks for when it issues tokens to a subject it
/// checked itself (see [`AppTokens::issue`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AppGrant {
    /// The app's own id of the user; the tokens' `sub` (1–255 bytes, no
    /// control characters).
    pub subject: String,
    /// Scopes the session's tokens carry (no spaces or control characters; sorted, deduplicated;
    /// at most [`MAX_SCOPES_LEN`] bytes joined).
    pub scopes: Vec<String>,
    /// Extra claims every access token of the session carries (not the
    /// names of [`RESERVED_CLAIMS`]; at most [`MAX_CLAIMS_LEN`] bytes of JSON).
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// A long session (`long_session_ttl`) instead of a short one.
    pub remember: bool,
    /// How the app authenticated the user (the tokens' `amr`); `["pwd"]`
    /// unless set.
    pub amr: Vec<String>,
}

impl AppGrant {
    /// A grant for `subject`: no scopes, no extra claims, a short session,
    /// `amr: ["pwd"]`.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            scopes: Vec::new(),
            claims: serde_json::Map::new(),
            remember: false,
            amr: vec!["pwd".to_owned()],
        }
    }
    /// The session's scopes.
    pub fn scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
    /// One extra claim of every access token of the session.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
    /// A long session ("remember me").
    pub fn remember(mut self, remember: bool) -> Self {
        self.remember = remember;
        self
    }
    /// The authentication methods (`amr`), e.g. `["pwd", "otp"]`.
    pub fn amr<I, T>(mut self, amr: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.amr = amr.into_iter().map(Into::into).collect();
        self
    }

    /// Check the fields; the scopes sorted and deduplicated.
    fn checked(mut self) -> Result<Self> {
        let s = &self.subject;
        if s.is_empty() || s.len() > MAX_SUBJECT_LEN || s.chars().any(char::is_control) {
            return Err(Error::field(
                "subject",
                format!("1 to {MAX_SUBJECT_LEN} bytes without control characters"),
            ));
        }
        self.scopes.sort();
        self.scopes.dedup();
        if let Some(bad) = (self.scopes.iter())
            .find(|x| x.is_empty() || x.contains(|c: char| c.is_whitespace() || c.is_control()))
        {
            return Err(Error::field(
                "scopes",
                format!("{bad:?} is not a scope (no spaces or control characters, not empty)"),
            ));
        }
        if self.scopes.join(" ").len() > MAX_SCOPES_LEN {
            return Err(Error::field(
                "scopes",
                format!("at most {MAX_SCOPES_LEN} bytes joined"),
            ));
        }
        let reserved: Vec<&str> = (self.claims.keys())
            .map(String::as_str)
            .filter(|k| RESERVED_CLAIMS.contains(k))
            .collect();
        if !reserved.is_empty() {
            return Err(Error::field(
                "claims",
                format!("reserved claim names: {}", reserved.join(" ")),
            ));
        }
        let len = serde_json::to_string(&self.claims)
            .map_err(Error::internal)?
            .len();
        if len > MAX_CLAIMS_LEN {
            return Err(Error::field(
                "claims",
                format!("at most {MAX_CLAIMS_LEN} bytes of JSON"),
            ));
        }
        if self.amr.len() > MAX_AMR || self.amr.iter().any(|m| m.is_empty() || m.len() > 32) {
            return Err(Error::field(
                "amr",
                format!("at most {MAX_AMR} methods of 1 to 32 bytes"),
            ));
        }
        Ok(self)
    }
}

/// Tokens for app subjects (see the [module](self)); `auth.app_tokens()`.
#[derive(Clone)]
pub struct AppTokens {
    pub(crate) sessions: Sessions,
}

/// The owner id of the session of verified claims: an app subject's or an account's.
fn owner_of(claims: &SubjectClaims) -> Result<AccountId> {
    if claims.is_app() {
        Ok(AccountId::of_app_subject(&claims.sub))
    } else {
        AccountId::parse(&claims.sub).ok_or(Error::InvalidToken)
    }
}

impl AppTokens {
    /// Open a session for an app subject the application has just
    /// authenticated, and answer its token pair: a fresh access token
    /// (`fresh: true`, `sub_kind: "app"`, the grant's scopes and claims) and
    /// a `wart_` refresh token. With `max_sessions_per_account` set, the
    /// subject's least recently used sessions over the limit are revoked.
    /// Audit: `app_token.issued`. Errors: a validation error naming
    /// `subject`, `scopes`, `claims` or `amr`.
    pub async fn issue(&self, grant: AppGrant, client: &ClientInfo) -> Result<TokenPair> {
        let grant = grant.checked()?;
        let s = &self.sessions;
        let owner = AccountId::of_app_subject(&grant.subject);
        let amr: Vec<&str> = grant.amr.iter().map(String::as_str).collect();
        let app = AppSubject {
            subject: grant.subject,
            claims: grant.claims,
        };
        let session = s.new_session(
            owner,
            grant.remember,
            &amr,
            Some(grant.scopes),
            client,
            Some(app),
        );
        let (refresh, hash) = crate::sessions::new_refresh(APP_REFRESH_PREFIX);
        let ev = s.shared.audit(
            "app_token.issued",
            Some(owner),
            client,
            serde_json::json!({
                "session_id": session.id,
                "subject": session.app.as_ref().map(|a| a.subject.as_str()),
                "amr": session.amr,
            }),
        );
        // Signed before the session is stored, so that a token too large to
        // verify leaves nothing behind.
        let pair = self.pair(&session, refresh, true)?;
        if pair.access_token.len() > MAX_TOKEN_LEN {
            return Err(Error::field(
                "claims",
                format!("the access token would be over {MAX_TOKEN_LEN} bytes"),
            ));
        }
        s.open_session(&session, &hash, &ev, client).await?;
        Ok(pair)
    }

    /// The access token and refresh token of an app subject's session.
    fn pair(&self, session: &Session, refresh: String, fresh: bool) -> Result<TokenPair> {
        let Some(app) = &session.app else {
            return Err(Error::InvalidRefreshToken);
        };
        let scopes = session.scopes.as_deref().unwrap_or_default();
        self.sessions.sign_pair(
            app.subject.clone(),
            Some(SubjectKind::App),
            session,
            scopes,
            fresh,
            app.claims.clone(),
            refresh,
        )
    }

    /// Rotate an app subject's refresh token (`wart_`): a new pair with
    /// `fresh: false`, the session's scopes and claims. A rotated token
    /// presented again revokes the session (`refresh_token_reused`); an
    /// account's refresh token (`wrt_`), an unknown, expired or revoked one
    /// is `invalid_refresh_token`. Audit: `token.refresh`.
    pub async fn refresh(&self, refresh_token: &str, client: &ClientInfo) -> Result<TokenPair> {
        let (session, refresh) = (self.sessions)
            .rotate(refresh_token, APP_REFRESH_PREFIX, client)
            .await?;
        self.pair(&session, refresh, false)
    }

    /// A fresh access token (`fresh: true`) for the live session of these
    /// claims, after the application re-checked its user's password (as
    /// `POST /auth/fresh` does for accounts); the refresh token is replaced
    /// too. `invalid_token` for an account's claims or a session that ended.
    /// Audit: `app_token.fresh`.
    pub async fn fresh(&self, claims: &SubjectClaims, client: &ClientInfo) -> Result<TokenPair> {
        if !claims.is_app() {
            return Err(Error::InvalidToken);
        }
        let s = &self.sessions;
        let (session, refresh) = s.reissue(claims.sid, APP_REFRESH_PREFIX).await?;
        s.audit
            .append_audit(&s.shared.audit(
                "app_token.fresh",
                Some(session.account_id),
                client,
                serde_json::json!({"session_id": session.id}),
            ))
            .await?;
        self.pair(&session, refresh, true)
    }

    /// Verify any subject's access token, an app subject's or an account's
    /// (`claims.is_app()` tells them apart; `sub` is text): the signature,
    /// `iss`/`aud`/`exp`/`nbf`, the revocation set (no store query), then
    /// the application's [`crate::hooks::TokenDenylist`], if installed.
    /// For an account's token the account itself is not read: use the
    /// account extractors when an account is wanted.
    pub async fn authenticate(&self, token: &str) -> Result<Arc<SubjectClaims>> {
        let claims = self.sessions.shared.tokens.verify_subject(token)?;
        self.sessions.admit(&claims).await?;
        Ok(claims)
    }

    /// Revoke the session of these claims: its refresh token and, from the
    /// next request on every node, its access tokens are refused. Audit:
    /// `app_token.logout` (`logout` for an account's claims, as
    /// [`crate::Sessions::logout`]).
    pub async fn logout(&self, claims: &SubjectClaims, client: &ClientInfo) -> Result<()> {
        let owner = owner_of(claims)?;
        let name = if claims.is_app() {
            "app_token.logout"
        } else {
            "logout"
        };
        let ev = self.sessions.shared.audit(
            name,
            Some(owner),
            client,
            serde_json::json!({"session_id": claims.sid}),
        );
        self.sessions.revoke_one(claims.sid, &ev).await
    }

    /// Revoke every session of an app subject (e.g. after the app changed
    /// its user's password or deleted the user); returns how many were live.
    /// Audit: `app_token.logout_all`.
    pub async fn logout_all(&self, subject: &str, client: &ClientInfo) -> Result<u64> {
        let s = &self.sessions;
        let owner = AccountId::of_app_subject(subject);
        let ev = s.shared.audit(
            "app_token.logout_all",
            Some(owner),
            client,
            serde_json::json!({"subject": subject}),
        );
        let n = (s.store)
            .revoke_sessions(owner, crate::store::Revoke::All, s.shared.now(), &ev)
            .await?;
        s.upkeep.sync().await?;
        Ok(n)
    }

    /// The live sessions of an app subject, newest first.
    pub async fn sessions(&self, subject: &str) -> Result<Vec<Session>> {
        let s = &self.sessions;
        (s.store)
            .live_sessions(AccountId::of_app_subject(subject), s.shared.now())
            .await
    }
}
