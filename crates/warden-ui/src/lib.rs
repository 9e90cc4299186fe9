//! Hosted pages for Warden under `/ui` (in the server: `WARDEN_UI_PATH`;
//! off with `WARDEN_UI=false`):
//! sign-in, sign-up, password reset, email verification, the account's
//! self-service pages, the organization pages (switcher, members, roles,
//! invitations, the acceptance page) and the admin console.
//!
//! Server-rendered minijinja templates (built in; a file of the same name in
//! `WARDEN_UI_TEMPLATE_DIR` replaces one), one stylesheet and one small script
//! served from the binary, no CDN. Every page works without JavaScript.
//!
//! - The signed-in browser holds `warden_ui`: an HttpOnly cookie naming a normal
//!   Warden session (`<session id>.<HMAC>`), so the pages' sessions show up in
//!   the session list, are revoked by logout-all, blocking and password
//!   changes, and reach every node. "Remember me" makes it persistent and the
//!   session long; otherwise it is a browser-session cookie on a short session.
//!   It is warden-axum's [`warden_axum::session_cookie::SessionCookie`], the
//!   same mechanism as the JSON API's cookie sessions.
//! - Every POST carries `_csrf`, the HMAC of a random HttpOnly cookie (signed
//!   double submit, warden-axum's [`warden_axum::csrf::Csrf`]); a POST whose
//!   `Origin` names another host is refused too.
//!
//! Mount the pages with [`pages`]; the `warden` server does exactly that,
//! filling [`UiConfig`] from its `WARDEN_*` settings.
//! - After a successful POST the handler answers 303 to a GET page; its notice
//!   travels in a signed, one-minute flash cookie.
//! - Responses carry a strict Content-Security-Policy (no inline script),
//!   `X-Frame-Options: DENY` and `Cache-Control: no-store`.
#![forbid(unsafe_code)]

pub mod account;
pub mod admin;
mod orgs;
pub mod passkeys;
pub mod provider;
pub mod public;

mod app;
mod flash;
mod form;
mod guard;
mod page;
mod signed;
mod templates;
mod text;

pub use app::Ui;
pub use flash::Flash;
pub use form::UiForm;
pub use page::Page;
pub use signed::{AdminPage, Member, Signed};
pub use templates::load_templates;
pub use text::{form_errors, message, safe_redirect, see_other, status_of, to_value, url_encode};

use axum::Router;
use axum::routing::get;
use serde::Serialize;
use std::path::PathBuf;
use warden_axum::Warden;

/// The session cookie of the pages.
pub const SESSION_COOKIE: &str = "warden_ui";
pub(crate) const CSRF_COOKIE: &str = "warden_ui_csrf";
pub(crate) const FLASH_COOKIE: &str = "warden_ui_flash";
pub(crate) const KEY_SETTING: &str = "ui_cookie_key";
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

pub(crate) const CSS: &str = include_str!("../templates/static/ui.css");
pub(crate) const JS: &str = include_str!("../templates/static/ui.js");

/// Settings of the hosted pages.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// Where the pages live (`/ui`).
    pub path: String,
    /// Folder whose files replace built-in templates of the same name.
    pub template_dir: Option<PathBuf>,
    /// The server's public URL (for the allowed `Origin` of form posts).
    pub public_url: String,
    /// Allowed absolute `redirect_to` values (as for OAuth).
    pub redirect_allowlist: Vec<String>,
    /// `Secure` on the pages' cookies.
    pub secure_cookies: bool,
    /// The JSON routes' prefix (`/auth`), for the OAuth buttons.
    pub api_prefix: String,
    /// TOTP enrolment offered.
    pub otp_enabled: bool,
    /// The human-check widget shown on the forms that need it.
    pub captcha: Option<CaptchaWidget>,
}

impl UiConfig {
    /// The pages' settings of a Warden configuration (`WARDEN_UI_PATH`,
    /// `WARDEN_UI_TEMPLATE_DIR`, `WARDEN_PUBLIC_URL`, `WARDEN_REDIRECT_ALLOWLIST`,
    /// `WARDEN_COOKIE_SECURE`, `WARDEN_PREFIX`, `WARDEN_OTP_ENABLED` and the
    /// captcha's provider and site key): what `warden serve` mounts.
    ///
    /// ```
    /// let cfg = warden_axum::config::Config::default();
    /// let ui = warden_ui::UiConfig::from_config(&cfg);
    /// assert_eq!(ui.path, "/ui");
    /// assert_eq!(ui.api_prefix, "/auth");
    /// ```
    pub fn from_config(cfg: &warden_axum::config::Config) -> Self {
        Self {
            path: cfg.ui_path.trim_end_matches('/').to_owned(),
            template_dir: cfg.ui_template_dir.as_deref().map(std::path::PathBuf::from),
            public_url: cfg.public_url.trim_end_matches('/').to_owned(),
            redirect_allowlist: cfg
                .redirect_allowlist
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            secure_cookies: cfg.cookie_secure,
            api_prefix: cfg.prefix.trim_end_matches('/').to_owned(),
            otp_enabled: cfg.otp_enabled,
            captcha: CaptchaWidget::of(&cfg.captcha_provider, cfg.captcha_site_key.as_deref()),
        }
    }
}

impl Default for UiConfig {
    /// Pages under `/ui`, the JSON routes under `/auth`, `Secure` cookies,
    /// TOTP offered, no human check, no allow-listed redirect targets.
    fn default() -> Self {
        Self {
            path: "/ui".to_owned(),
            template_dir: None,
            public_url: String::new(),
            redirect_allowlist: Vec::new(),
            secure_cookies: true,
            api_prefix: "/auth".to_owned(),
            otp_enabled: true,
            captcha: None,
        }
    }
}

/// The hosted pages of `warden` as a router to merge into an app: every page
/// under [`UiConfig::path`], and `{path}/` redirecting to `{path}`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::Router;
/// use axum::http::{Request, StatusCode};
/// use tower::ServiceExt as _;
/// use warden_axum::Warden;
/// use warden_ui::UiConfig;
///
/// let warden = Warden::builder().memory().build().await?;
/// let app: Router = Router::new()
///     .nest("/auth", warden.router())
///     .merge(warden_ui::pages(&warden, UiConfig::default()))
///     .with_state(warden.clone());
///
/// let res = app
///     .oneshot(Request::get("/ui/sign-in").body(axum::body::Body::empty())?)
///     .await?;
/// assert_eq!(res.status(), StatusCode::OK);
/// # Ok(()) }
/// ```
pub fn pages<S>(warden: &Warden, cfg: UiConfig) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let ui = Ui::new(warden, cfg);
    let base = ui.config().path.clone();
    if base.is_empty() {
        return ui.router();
    }
    let home = base.clone();
    Router::new().nest(&base, ui.router()).route(
        &format!("{base}/"),
        get(move || async move { see_other(&home) }),
    )
}

/// The provider widget of the human check (needs `WARDEN_CAPTCHA_SITE_KEY`).
#[derive(Debug, Clone, Serialize)]
pub struct CaptchaWidget {
    /// The CSS class the provider's script turns into a widget.
    pub class: &'static str,
    /// The provider's script.
    pub script: &'static str,
    /// The public site key.
    pub site_key: String,
    /// Origins the widget loads scripts and frames from (for the CSP).
    #[serde(skip)]
    pub origins: &'static str,
}

impl CaptchaWidget {
    /// The widget of `provider` (`recaptcha`, `hcaptcha`, `turnstile`) with
    /// its public `site_key`; `None` without a key or for another provider.
    pub fn of(provider: &str, site_key: Option<&str>) -> Option<Self> {
        let site_key = site_key.filter(|k| !k.is_empty())?.to_owned();
        let (class, script, origins) = match provider {
            "recaptcha" => (
                "g-recaptcha",
                "https://www.google.com/recaptcha/api.js",
                "https://www.google.com https://www.gstatic.com",
            ),
            "hcaptcha" => (
                "h-captcha",
                "https://js.hcaptcha.com/1/api.js",
                "https://hcaptcha.com https://*.hcaptcha.com",
            ),
            "turnstile" => (
                "cf-turnstile",
                "https://challenges.cloudflare.com/turnstile/v0/api.js",
                "https://challenges.cloudflare.com",
            ),
            _ => return None,
        };
        Some(Self {
            class,
            script,
            site_key,
            origins,
        })
    }
}
