//! Who is signed in: the `warden_ui` cookie (warden-axum's
//! [`warden_axum::session_cookie::SessionCookie`]) resolved to a live
//! session of an active account, and the [`Member`] and [`AdminPage`]
//! extractors.

use crate::app::Keys;
use crate::{Page, Ui, url_encode};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use std::sync::Arc;
use warden_core::Error;
use warden_core::model::{Account, ClientInfo, Session};
use warden_core::token::Claims;

/// The signed-in account of a page and its session.
#[derive(Clone)]
pub struct Signed {
    /// The account (fresh from the store or the engine's cache).
    pub account: Arc<Account>,
    /// The session the `warden_ui` cookie names.
    pub session: Session,
}

impl Signed {
    /// Token-shaped claims for engine calls made on behalf of this session.
    /// `fresh` only right after the page re-checked the password.
    pub fn claims(&self, ui: &Ui, fresh: bool) -> Claims {
        ui.warden().auth().tokens().claims(
            self.account.id,
            self.session.id,
            &self.account.scopes,
            fresh,
            &self.session.amr,
            self.session.expires_at,
        )
    }

    /// Whether the account holds the `admin` scope.
    pub fn is_admin(&self) -> bool {
        self.account.has_scope("admin")
    }
}

/// The live session of the `warden_ui` cookie: the MAC is right, the session
/// is neither revoked nor expired (warden-axum's [`SessionCookie::live`],
/// which also touches it), the account is active and not blocked.
///
/// [`SessionCookie::live`]: warden_axum::session_cookie::SessionCookie::live
pub(crate) async fn signed_in(
    ui: &Ui,
    keys: &Keys,
    headers: &HeaderMap,
    client: &ClientInfo,
) -> Result<Option<Signed>, Error> {
    let Some(sid) = keys.session.session_id(headers) else {
        return Ok(None);
    };
    let auth = ui.warden().auth();
    let Some(session) = keys.session.live(auth, sid, client).await? else {
        return Ok(None);
    };
    let account = match auth.accounts().account(session.account_id).await {
        Ok(a) => a,
        Err(Error::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    if account.blocked || !account.active {
        return Ok(None);
    }
    Ok(Some(Signed { account, session }))
}

/// A page for signed-in accounts: otherwise 303 to sign-in (coming back here
/// afterwards for a GET).
pub struct Member {
    /// The page.
    pub page: Page,
    /// The signed-in account.
    pub signed: Signed,
}

impl FromRequestParts<Ui> for Member {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, ui: &Ui) -> Result<Self, Self::Rejection> {
        let method = parts.method.clone();
        let page = Page::from_request_parts(parts, ui).await?;
        match page.signed.clone() {
            Some(signed) => Ok(Member { page, signed }),
            None => {
                let mut to = ui.url("/sign-in");
                if method == Method::GET {
                    let back: String = url_encode(&page.uri);
                    to = format!("{to}?redirect_to={back}");
                }
                Err(page.redirect(&to, None))
            }
        }
    }
}

/// A page of the admin console: signed in with the `admin` scope, else 403.
pub struct AdminPage {
    /// The page.
    pub page: Page,
    /// The signed-in admin.
    pub signed: Signed,
}

impl FromRequestParts<Ui> for AdminPage {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, ui: &Ui) -> Result<Self, Self::Rejection> {
        let Member { mut page, signed } = Member::from_request_parts(parts, ui).await?;
        if !signed.is_admin() {
            return Err(page.message(
                StatusCode::FORBIDDEN,
                "Admins only",
                "This page needs the admin scope.",
            ));
        }
        // Audit events of the console's changes name the admin.
        page.client.actor = Some(warden_core::model::Actor::Account {
            id: signed.account.id,
            login: signed.account.login.clone(),
        });
        Ok(AdminPage { page, signed })
    }
}
