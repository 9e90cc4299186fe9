//! [`Page`]: what every page handler gets (cookies checked, the client, the
//! signed-in account) and how it answers (render, message, error, redirect,
//! sign in and out).

use crate::app::Keys;
use crate::signed::signed_in;
use crate::status_of;
use crate::{
    CSRF_COOKIE, FLASH_COOKIE, Flash, Signed, Ui, message, safe_redirect, see_other, to_value,
};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use warden_axum::Client;
use warden_axum::csrf::Csrf;
use warden_axum::error::render;
use warden_core::Error;
use warden_core::model::{ClientInfo, SessionId};

/// What every page handler gets: the request's cookies checked, the client,
/// the signed-in account if any.
pub struct Page {
    /// The pages.
    pub ui: Ui,
    keys: Option<Keys>,
    csrf_seed: String,
    new_csrf: bool,
    flash: Option<Flash>,
    had_flash: bool,
    /// IP and user agent.
    pub client: ClientInfo,
    /// The signed-in account, if any.
    pub signed: Option<Signed>,
    /// Path and query of this request.
    pub uri: String,
    /// This request's path under the pages' base (for the current nav item).
    pub path: String,
}

impl FromRequestParts<Ui> for Page {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, ui: &Ui) -> Result<Self, Self::Rejection> {
        let Ok(keys) = ui.keys().await else {
            return Err(Page::bare(ui).unavailable());
        };
        let Client(client) = Client::from_request_parts(parts, ui)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = &parts.headers;
        let (csrf_seed, new_csrf) = Csrf::signed(CSRF_COOKIE, &keys.key).seed(headers);
        let flash_cookie = warden_axum::cookies::get(headers, FLASH_COOKIE);
        let flash = flash_cookie.and_then(|v| Flash::open(&keys.key, v));
        let signed = match signed_in(ui, keys, headers, &client).await {
            Ok(s) => s,
            Err(_) => return Err(Page::bare(ui).unavailable()),
        };
        // The URI as the browser sent it (nesting strips the pages' base).
        let original = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map(|o| o.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let uri = original
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        Ok(Page {
            ui: ui.clone(),
            keys: Some(keys.clone()),
            csrf_seed,
            new_csrf,
            flash,
            had_flash: flash_cookie.is_some(),
            client,
            signed,
            path: original.path().to_owned(),
            uri,
        })
    }
}

impl Page {
    /// A page without request state (for errors before the request is read).
    pub(crate) fn bare(ui: &Ui) -> Page {
        Page {
            ui: ui.clone(),
            keys: None,
            csrf_seed: String::new(),
            new_csrf: false,
            flash: None,
            had_flash: false,
            client: ClientInfo::default(),
            signed: None,
            uri: String::new(),
            path: String::new(),
        }
    }

    /// The engine handle.
    pub fn auth(&self) -> &warden_core::Auth {
        self.ui.warden().auth()
    }

    /// The form token of this browser.
    pub fn csrf(&self) -> String {
        match &self.keys {
            Some(keys) if !self.csrf_seed.is_empty() => {
                Csrf::signed(CSRF_COOKIE, &keys.key).token(&self.csrf_seed)
            }
            _ => String::new(),
        }
    }

    /// Render `template` with `ctx` plus the common values: `ui` (base path),
    /// `api` (JSON prefix), `csrf`, `user` (`login`, `email`, `admin`),
    /// `flash`, `path`, `otp_enabled`.
    pub fn render(&self, template: &str, ctx: minijinja::Value) -> Response {
        self.render_status(StatusCode::OK, template, ctx)
    }

    /// [`Page::render`] with a status.
    pub fn render_status(
        &self,
        status: StatusCode,
        template: &str,
        ctx: minijinja::Value,
    ) -> Response {
        let user = self.signed.as_ref().map(|s| {
            minijinja::context! {
                id => s.account.id.to_string(),
                login => s.account.login.clone(),
                email => s.account.email.clone(),
                admin => s.is_admin(),
            }
        });
        let base = minijinja::context! {
            ui => self.ui.0.cfg.path.clone(),
            api => self.ui.0.cfg.api_prefix.clone(),
            csrf => self.csrf(),
            user => user,
            flash => to_value(&self.flash),
            path => self.path.clone(),
            otp_enabled => self.ui.0.cfg.otp_enabled,
            captcha => to_value(&self.ui.0.cfg.captcha),
            passkeys_enabled => self.auth().settings().webauthn.is_some(),
        };
        let ctx = minijinja::context! { ..ctx, ..base };
        let html = self
            .ui
            .0
            .env
            .get_template(template)
            .and_then(|t| t.render(ctx));
        let (status, html) = match html {
            Ok(h) => (status, h),
            Err(e) => {
                tracing::error!(error = %e, template, "page template failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><html lang=\"en\"><title>Error</title><h1>Something went wrong</h1></html>".to_owned(),
                )
            }
        };
        let mut res = (status, html).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        self.finish(&mut res);
        res
    }

    /// Set the CSRF cookie when new, and clear a shown flash.
    fn finish(&self, res: &mut Response) {
        if self.new_csrf
            && let Some(v) = self.ui.cookie(CSRF_COOKIE, &self.csrf_seed, None)
        {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        if self.had_flash
            && let Some(v) = self.ui.cookie(FLASH_COOKIE, "", Some(0))
        {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }

    /// A page with a heading and one paragraph (errors, confirmations).
    pub fn message(&self, status: StatusCode, title: &str, text: &str) -> Response {
        self.render_status(
            status,
            "message.html",
            minijinja::context! { title => title, text => text, is_error => status.is_client_error() || status.is_server_error() },
        )
    }

    pub(crate) fn unavailable(&self) -> Response {
        self.message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "The service is unavailable right now. Try again in a moment.",
        )
    }

    /// The page for an engine error that has no better place on the page: the
    /// HTML rendering of the error, with the status and headers of
    /// [`warden_axum::error::http_parts`] (logged there when internal).
    pub fn error(&self, e: &Error) -> Response {
        let title = if matches!(e, Error::NotFound) {
            "Not found"
        } else {
            "Something went wrong"
        };
        render(e, self.message(status_of(e), title, &message(e)))
    }

    /// 303 to `location` (a path under the pages or an allow-listed URL),
    /// showing `flash` on the next page.
    pub fn redirect(&self, location: &str, flash: Option<Flash>) -> Response {
        let mut res = see_other(location);
        if let Some(f) = flash
            && let Some(keys) = &self.keys
            && let Some(value) = f.seal(&keys.key)
            && let Some(v) = self.ui.cookie(FLASH_COOKIE, &value, Some(60))
        {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        res
    }

    /// Sign this browser in to `sid` (after a password, second factor,
    /// passkey or external sign-in): revoke the session it had (the id is
    /// cycled), set the page cookie (persistent for a remembered session)
    /// and, with the session's token `pair`, the JSON API's access, refresh
    /// and CSRF cookies — so the app `to` names (same site) finds the
    /// signed-in account as after `POST /auth/login` — and go to `to`.
    pub async fn sign_in_to(
        &self,
        sid: SessionId,
        pair: Option<&warden_core::TokenPair>,
        to: &str,
    ) -> Result<Response, Error> {
        let auth = self.auth();
        if let Some(old) = &self.signed
            && old.session.id != sid
        {
            auth.sessions()
                .revoke_own_session(old.account.id, old.session.id, &self.client)
                .await?;
        }
        let session = auth
            .store()
            .session(sid)
            .await?
            .ok_or(Error::InvalidToken)?;
        let max_age = session
            .long
            .then(|| (session.expires_at - auth.now()).whole_seconds().max(0));
        let keys = self.keys.as_ref().ok_or(Error::InvalidToken)?;
        let mut res = self.redirect(to, None);
        if let Some(v) = keys.session.set(sid, max_age) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        if let Some(pair) = pair {
            for v in self.ui.warden().http().cookies.for_pair(pair) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        Ok(res)
    }

    /// Sign this browser out (the session is revoked) and go to sign-in.
    pub async fn sign_out(&self, flash: Option<Flash>) -> Result<Response, Error> {
        if let Some(s) = &self.signed {
            self.auth()
                .sessions()
                .revoke_own_session(s.account.id, s.session.id, &self.client)
                .await?;
        }
        let mut res = self.redirect(&self.ui.url("/sign-in"), flash);
        if let Some(v) = self.keys.as_ref().and_then(|k| k.session.clear()) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        // The same session's API cookies go too.
        for v in self.ui.warden().http().cookies.cleared() {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        Ok(res)
    }

    /// Where to go after signing in: an allowed `redirect_to`, else the
    /// account page. Never another site unless allow-listed.
    pub fn after_sign_in(&self, redirect_to: Option<&str>) -> String {
        safe_redirect(&self.ui, redirect_to).unwrap_or_else(|| self.ui.url("/account"))
    }
}
