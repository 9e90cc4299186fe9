//! [`Ui`]: the pages of one [`Warden`], their settings, compiled templates,
//! assets, Content-Security-Policy, cookie key and router.

use crate::{
    CSS, JS, KEY_SETTING, SESSION_COOKIE, UiConfig, account, admin, guard, orgs, passkeys, public,
    templates,
};
use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use warden_axum::Warden;
use warden_axum::cookies::{self, CookieAttrs, CookieKey};
use warden_axum::csrf::origin_of;
use warden_axum::session_cookie::SessionCookie;
use warden_core::Error;

/// The hosted pages of one server.
#[derive(Clone)]
pub struct Ui(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) warden: Warden,
    pub(crate) cfg: UiConfig,
    pub(crate) env: minijinja::Environment<'static>,
    css: String,
    js: String,
    keys: tokio::sync::OnceCell<Keys>,
    pub(crate) csp: HeaderValue,
}

/// The pages' cookie key and the session cookie signed with it.
#[derive(Clone)]
pub(crate) struct Keys {
    /// Signs the CSRF token and the flash cookie.
    pub(crate) key: CookieKey,
    /// The `warden_ui` cookie.
    pub(crate) session: SessionCookie,
}

impl FromRef<Ui> for Warden {
    fn from_ref(ui: &Ui) -> Warden {
        ui.0.warden.clone()
    }
}

impl Ui {
    /// The pages of `warden`. A template override that does not compile is
    /// logged and the built-in templates are used (start-up checks overrides
    /// with [`crate::load_templates`] first).
    pub fn new(warden: &Warden, cfg: UiConfig) -> Self {
        let env = templates::load_templates(cfg.template_dir.as_deref()).unwrap_or_else(|e| {
            tracing::error!(error = %e, "page templates: using the built-in ones");
            templates::load_templates(None).unwrap_or_default()
        });
        let dir = cfg.template_dir.as_deref();
        let css = templates::static_file(dir, "ui.css", CSS);
        let js = templates::static_file(dir, "ui.js", JS);
        let csp = csp(&cfg);
        Self(Arc::new(Inner {
            warden: warden.clone(),
            cfg,
            env,
            css,
            js,
            keys: tokio::sync::OnceCell::new(),
            csp,
        }))
    }

    /// The engine handle.
    pub fn warden(&self) -> &Warden {
        &self.0.warden
    }

    /// The settings.
    pub fn config(&self) -> &UiConfig {
        &self.0.cfg
    }

    /// `path` under the pages' base (`/ui` + `path`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0.cfg.path)
    }

    /// The cookie-signing key (generated once and kept in the store's
    /// settings so every node shares it) and the session cookie.
    pub(crate) async fn keys(&self) -> Result<&Keys, Error> {
        self.0
            .keys
            .get_or_try_init(|| async {
                let key = CookieKey::load(self.0.warden.auth(), KEY_SETTING).await?;
                let session = SessionCookie::new(SESSION_COOKIE, key.clone(), "session")
                    .path(&self.0.cfg.path)
                    .secure(self.0.cfg.secure_cookies);
                Ok::<_, Error>(Keys { key, session })
            })
            .await
    }

    /// The router of the pages, to be nested at [`UiConfig::path`] (or use
    /// [`crate::pages`], which nests it).
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let limited = Router::new()
            .merge(public::limited_routes())
            .merge(passkeys::limited_routes())
            .merge(account::limited_routes())
            .merge(orgs::limited_routes())
            .route_layer(middleware::from_fn_with_state(
                self.0.warden.clone(),
                warden_axum::rate_limited,
            ));
        Router::new()
            .route("/static/ui.css", get(css))
            .route("/static/ui.js", get(js))
            .merge(public::routes())
            .merge(account::routes())
            .merge(admin::routes())
            .merge(passkeys::routes())
            .merge(orgs::routes())
            .merge(crate::provider::routes())
            .merge(limited)
            .fallback(not_found)
            .method_not_allowed_fallback(warden_axum::error::method_not_allowed)
            .layer(middleware::from_fn_with_state(self.clone(), guard::guard))
            .with_state(self.clone())
    }

    /// A `Set-Cookie` of the pages: `HttpOnly`, `SameSite=Lax`, the pages'
    /// path, `Secure` per [`UiConfig::secure_cookies`].
    pub(crate) fn cookie(
        &self,
        name: &str,
        value: &str,
        max_age: Option<i64>,
    ) -> Option<HeaderValue> {
        let path = if self.0.cfg.path.is_empty() {
            "/"
        } else {
            &self.0.cfg.path
        };
        cookies::set_cookie(
            name,
            value,
            &CookieAttrs {
                path,
                max_age,
                http_only: true,
                secure: self.0.cfg.secure_cookies,
                domain: None,
            },
        )
    }
}

/// The pages' Content-Security-Policy: no inline script; forms may post to
/// self and to an allow-listed app; the human-check widget loads its script
/// and frames from the provider.
fn csp(cfg: &UiConfig) -> HeaderValue {
    let mut form_action = String::from("'self'");
    for entry in &cfg.redirect_allowlist {
        if let Some(origin) = origin_of(entry) {
            form_action.push(' ');
            form_action.push_str(&origin);
        }
    }
    let (extra, frames) = match &cfg.captcha {
        Some(c) => (
            format!(" {}", c.origins),
            format!("frame-src {}; ", c.origins),
        ),
        None => (String::new(), String::new()),
    };
    let csp = format!(
        "default-src 'none'; script-src 'self'{extra}; style-src 'self'{extra}; img-src 'self' data:; \
         connect-src 'self'{extra}; {frames}form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

async fn css(State(ui): State<Ui>) -> Response {
    asset(&ui.0.css, "text/css; charset=utf-8")
}

async fn js(State(ui): State<Ui>) -> Response {
    asset(&ui.0.js, "text/javascript; charset=utf-8")
}

fn asset(body: &str, kind: &'static str) -> Response {
    let mut res = (StatusCode::OK, body.to_owned()).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

async fn not_found(page: crate::Page) -> Response {
    page.message(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
    )
}
