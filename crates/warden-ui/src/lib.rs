//! Hosted pages for Warden under `/ui` (in the server: `WARDEN_UI_PATH`;
//! off with `WARDEN_UI=false`):
//! sign-in, sign-up, password reset, email verification, the account's
//! self-service pages and the admin console.
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
//! - Every POST carries `_csrf`, the HMAC of a random HttpOnly cookie (signed
//!   double submit); a POST whose `Origin` names another host is refused too.
//! - After a successful POST the handler answers 303 to a GET page; its notice
//!   travels in a signed, one-minute flash cookie.
//! - Responses carry a strict Content-Security-Policy (no inline script),
//!   `X-Frame-Options: DENY` and `Cache-Control: no-store`.
#![forbid(unsafe_code)]

pub mod account;
pub mod admin;
pub mod passkeys;
pub mod public;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use warden_axum::{Client, Warden};
use warden_core::model::{Account, ClientInfo, Session, SessionId};
use warden_core::token::Claims;
use warden_core::{Error, random};

/// The session cookie of the pages.
pub const SESSION_COOKIE: &str = "warden_ui";
const CSRF_COOKIE: &str = "warden_ui_csrf";
const FLASH_COOKIE: &str = "warden_ui_flash";
const KEY_SETTING: &str = "ui_cookie_key";
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

const CSS: &str = include_str!("../templates/static/ui.css");
const JS: &str = include_str!("../templates/static/ui.js");

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
/// # async fn run() -> Result<(), warden_core::Error> {
/// use axum::Router;
/// use warden_axum::Warden;
/// use warden_ui::UiConfig;
///
/// let warden = Warden::builder().memory().build().await?;
/// let app: Router = Router::new()
///     .nest("/auth", warden.router())
///     .merge(warden_ui::pages(&warden, UiConfig::default()))
///     .with_state(warden.clone());
/// # let _ = app;
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

/// The built-in templates of every page module, by name.
fn builtin_templates() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    public::TEMPLATES
        .iter()
        .chain(account::TEMPLATES)
        .chain(admin::TEMPLATES)
        .chain(passkeys::TEMPLATES)
}

/// Compile the page templates: the built-in ones, each replaced by the file of
/// the same name in `dir` when there is one. A broken override is an error.
pub fn load_templates(dir: Option<&Path>) -> Result<minijinja::Environment<'static>, String> {
    let mut env = minijinja::Environment::new();
    for (name, builtin) in builtin_templates() {
        let source = match dir.map(|d| d.join(name)) {
            Some(path) if path.is_file() => std::fs::read_to_string(&path)
                .map_err(|e| format!("WARDEN_UI_TEMPLATE_DIR: {}: {e}", path.display()))?,
            _ => (*builtin).to_owned(),
        };
        env.add_template_owned(*name, source)
            .map_err(|e| format!("page template {name}: {e}"))?;
    }
    Ok(env)
}

fn static_file(dir: Option<&Path>, name: &str, builtin: &'static str) -> String {
    dir.map(|d| d.join("static").join(name))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_else(|| builtin.to_owned())
}

/// The hosted pages of one server.
#[derive(Clone)]
pub struct Ui(Arc<Inner>);

struct Inner {
    warden: Warden,
    cfg: UiConfig,
    env: minijinja::Environment<'static>,
    css: String,
    js: String,
    key: tokio::sync::OnceCell<[u8; 32]>,
    csp: HeaderValue,
}

impl FromRef<Ui> for Warden {
    fn from_ref(ui: &Ui) -> Warden {
        ui.0.warden.clone()
    }
}

impl Ui {
    /// The pages of `warden`. A template override that does not compile is
    /// logged and the built-in templates are used (start-up checks overrides
    /// with [`load_templates`] first).
    pub fn new(warden: &Warden, cfg: UiConfig) -> Self {
        let env = load_templates(cfg.template_dir.as_deref()).unwrap_or_else(|e| {
            tracing::error!(error = %e, "page templates: using the built-in ones");
            load_templates(None).unwrap_or_default()
        });
        let dir = cfg.template_dir.as_deref();
        let css = static_file(dir, "ui.css", CSS);
        let js = static_file(dir, "ui.js", JS);
        // Forms may post to self and redirect to an allow-listed app.
        let mut form_action = String::from("'self'");
        for entry in &cfg.redirect_allowlist {
            if let Some(origin) = origin_of(entry) {
                form_action.push(' ');
                form_action.push_str(&origin);
            }
        }
        // The human-check widget loads its script and frames from the provider.
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
        let csp = HeaderValue::from_str(&csp)
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
        Self(Arc::new(Inner {
            warden: warden.clone(),
            cfg,
            env,
            css,
            js,
            key: tokio::sync::OnceCell::new(),
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

    /// The cookie-signing key, generated once and kept in the store's
    /// settings so every node shares it.
    async fn key(&self) -> Result<[u8; 32], Error> {
        self.0
            .key
            .get_or_try_init(|| async {
                let secret = self
                    .0
                    .warden
                    .auth()
                    .store()
                    .setting_or_insert(KEY_SETTING, &random::token(32))
                    .await?;
                Ok::<_, Error>(random::sha256(secret.as_bytes()))
            })
            .await
            .copied()
    }

    /// The router of the pages, to be nested at [`UiConfig::path`].
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let limited = Router::new()
            .merge(public::limited_routes())
            .merge(passkeys::limited_routes())
            .merge(account::limited_routes())
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
            .merge(limited)
            .fallback(not_found)
            .layer(middleware::from_fn_with_state(self.clone(), guard))
            .with_state(self.clone())
    }

    fn mac(&self, key: &[u8; 32], purpose: &str, value: &str) -> String {
        let mut msg = Vec::with_capacity(purpose.len() + 1 + value.len());
        msg.extend_from_slice(purpose.as_bytes());
        msg.push(b':');
        msg.extend_from_slice(value.as_bytes());
        random::hex(&random::hmac_sha256(key, &msg))
    }

    fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> Option<HeaderValue> {
        let path = if self.0.cfg.path.is_empty() {
            "/"
        } else {
            &self.0.cfg.path
        };
        let mut s = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age {
            s.push_str(&format!("; Max-Age={age}"));
        }
        if self.0.cfg.secure_cookies {
            s.push_str("; Secure");
        }
        HeaderValue::from_str(&s).ok()
    }
}

fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
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

async fn not_found(page: Page) -> Response {
    page.message(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
    )
}

/// Every request: security headers; every POST: same-origin and CSRF check.
async fn guard(State(ui): State<Ui>, req: Request, next: Next) -> Response {
    let form_post = req.method() == Method::POST
        && !req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
    let mut res = if req.method() == Method::POST {
        match check_post(&ui, req).await {
            Ok(req) => next.run(req).await,
            Err(res) => res,
        }
    } else {
        next.run(req).await
    };
    // The shared per-IP limit answers problem+json: a person gets a page.
    if form_post && res.status() == StatusCode::TOO_MANY_REQUESTS {
        let retry = res.headers().get(header::RETRY_AFTER).cloned();
        let secs = retry
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(60);
        res = Page::bare(&ui).message(
            StatusCode::TOO_MANY_REQUESTS,
            "Slow down",
            &message(&Error::TooManyAttempts { retry_after: secs }),
        );
        if let Some(v) = retry {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, ui.0.csp.clone());
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// A POST must come from our own pages: `Origin` (when sent) names this host,
/// and the form's `_csrf` is the MAC of the CSRF cookie.
async fn check_post(ui: &Ui, req: Request) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    let refuse = |why: &str| {
        tracing::info!(reason = why, path = %parts.uri.path(), "page form refused");
        Page::bare(ui).message(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )
    };
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, h)| h);
        let public = origin_of(&ui.0.cfg.public_url);
        let same = match (origin_host, host) {
            (Some(o), Some(h)) => o.eq_ignore_ascii_case(h),
            _ => false,
        } || origin.to_str().ok().map(str::to_owned) == public;
        if !same {
            return Err(refuse("origin"));
        }
    }
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return Err(Page::bare(ui).message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "The form was larger than this site accepts.",
            ));
        }
    };
    // Forms send `_csrf`; the pages' own scripts (JSON bodies) send the same
    // token in `X-CSRF-Token`.
    let sent = match parts.headers.get("x-csrf-token") {
        Some(h) => h.to_str().ok().map(str::to_owned),
        None => serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| {
                pairs
                    .into_iter()
                    .find(|(k, _)| k == "_csrf")
                    .map(|(_, v)| v)
            }),
    };
    let Ok(key) = ui.key().await else {
        return Err(Page::bare(ui).unavailable());
    };
    let seed = warden_axum::cookies::get(&parts.headers, CSRF_COOKIE);
    let ok = match (seed, sent) {
        (Some(seed), Some(sent)) if !seed.is_empty() => {
            random::ct_eq(ui.mac(&key, "csrf", seed).as_bytes(), sent.as_bytes())
        }
        _ => false,
    };
    if !ok {
        return Err(refuse("csrf"));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// A form body, parsed after the CSRF check (fields missing from the form
/// take their defaults: mark form structs `#[serde(default)]`).
pub struct UiForm<T>(pub T);

impl<T: DeserializeOwned> axum::extract::FromRequest<Ui> for UiForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, ui: &Ui) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .unwrap_or_default();
        serde_urlencoded::from_bytes(&bytes)
            .map(UiForm)
            .map_err(|_| {
                Page::bare(ui).message(
                    StatusCode::BAD_REQUEST,
                    "Bad form",
                    "The form could not be read. Go back, reload the page and try again.",
                )
            })
    }
}

/// A notice shown once on the next page.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Flash {
    /// `notice` or `alert`.
    pub kind: String,
    /// The text.
    pub text: String,
}

impl Flash {
    /// A success notice.
    pub fn notice(text: impl Into<String>) -> Self {
        Self {
            kind: "notice".into(),
            text: text.into(),
        }
    }
    /// An error notice.
    pub fn alert(text: impl Into<String>) -> Self {
        Self {
            kind: "alert".into(),
            text: text.into(),
        }
    }
}

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

/// What every page handler gets: the request's cookies checked, the client,
/// the signed-in account if any.
pub struct Page {
    /// The pages.
    pub ui: Ui,
    key: [u8; 32],
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
        let Ok(key) = ui.key().await else {
            return Err(Page::bare(ui).unavailable());
        };
        let Client(client) = Client::from_request_parts(parts, ui)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = &parts.headers;
        let (csrf_seed, new_csrf) = match warden_axum::cookies::get(headers, CSRF_COOKIE) {
            Some(s) if s.len() >= 22 && s.len() <= 64 => (s.to_owned(), false),
            _ => (random::token(24), true),
        };
        let flash_cookie = warden_axum::cookies::get(headers, FLASH_COOKIE);
        let flash = flash_cookie.and_then(|v| {
            let (payload, mac) = v.split_once('.')?;
            random::ct_eq(ui.mac(&key, "flash", payload).as_bytes(), mac.as_bytes())
                .then_some(())?;
            let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
            serde_json::from_slice::<Flash>(&bytes).ok()
        });
        let signed = match signed_in(ui, &key, headers).await {
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
            key,
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

/// The live session of the `warden_ui` cookie: the MAC is right, the session
/// is neither revoked nor expired, the account is active and not blocked.
async fn signed_in(ui: &Ui, key: &[u8; 32], headers: &HeaderMap) -> Result<Option<Signed>, Error> {
    let Some(value) = warden_axum::cookies::get(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some((sid, mac)) = value.split_once('.') else {
        return Ok(None);
    };
    if !random::ct_eq(ui.mac(key, "session", sid).as_bytes(), mac.as_bytes()) {
        return Ok(None);
    }
    let Some(sid) = SessionId::parse(sid) else {
        return Ok(None);
    };
    let auth = ui.warden().auth();
    if auth.is_revoked(sid) {
        return Ok(None);
    }
    let now = auth.now();
    let Some(session) = auth.store().session(sid).await? else {
        return Ok(None);
    };
    if !session.is_live(now) {
        return Ok(None);
    }
    let account = match auth.account(session.account_id).await {
        Ok(a) => a,
        Err(Error::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    if account.blocked || !account.active {
        return Ok(None);
    }
    if session.last_seen_at + time::Duration::minutes(1) <= now {
        auth.store().touch_session(sid, now).await?;
    }
    Ok(Some(Signed { account, session }))
}

impl Page {
    /// A page without request state (for errors before the request is read).
    fn bare(ui: &Ui) -> Page {
        Page {
            ui: ui.clone(),
            key: [0; 32],
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
        if self.csrf_seed.is_empty() {
            return String::new();
        }
        self.ui.mac(&self.key, "csrf", &self.csrf_seed)
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

    fn unavailable(&self) -> Response {
        self.message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "The service is unavailable right now. Try again in a moment.",
        )
    }

    /// The page for an engine error that has no better place on the page.
    pub fn error(&self, e: &Error) -> Response {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match e {
            Error::Internal(msg) => tracing::error!(error = %msg, "internal error"),
            Error::Unavailable(msg) => tracing::warn!(error = %msg, "backing service unavailable"),
            _ => {}
        }
        let title = if status == StatusCode::NOT_FOUND {
            "Not found"
        } else {
            "Something went wrong"
        };
        self.message(status, title, &message(e))
    }

    /// 303 to `location` (a path under the pages or an allow-listed URL),
    /// showing `flash` on the next page.
    pub fn redirect(&self, location: &str, flash: Option<Flash>) -> Response {
        let mut res = see_other(location);
        if let Some(f) = flash
            && let Ok(json) = serde_json::to_vec(&f)
        {
            let payload = URL_SAFE_NO_PAD.encode(json);
            let value = format!("{payload}.{}", self.ui.mac(&self.key, "flash", &payload));
            if let Some(v) = self.ui.cookie(FLASH_COOKIE, &value, Some(60)) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
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
            auth.revoke_own_session(old.account.id, old.session.id, &self.client)
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
        let value = format!(
            "{sid}.{}",
            self.ui.mac(&self.key, "session", &sid.to_string())
        );
        let mut res = self.redirect(to, None);
        if let Some(v) = self.ui.cookie(SESSION_COOKIE, &value, max_age) {
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
                .revoke_own_session(s.account.id, s.session.id, &self.client)
                .await?;
        }
        let mut res = self.redirect(&self.ui.url("/sign-in"), flash);
        if let Some(v) = self.ui.cookie(SESSION_COOKIE, "", Some(0)) {
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

/// `redirect_to` when it is a local path or an allow-listed URL.
pub fn safe_redirect(ui: &Ui, redirect_to: Option<&str>) -> Option<String> {
    let to = redirect_to.filter(|t| !t.is_empty())?;
    warden_core::oauth::check_redirect(&ui.0.cfg.redirect_allowlist, Some(to)).ok()
}

/// A bare 303.
pub fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// The text shown for an engine error on a page.
pub fn message(e: &Error) -> String {
    match e {
        Error::InvalidCredentials => "Invalid login or password.".into(),
        Error::AccountBlocked => "This account is blocked. Contact the administrator.".into(),
        Error::AccountInactive => {
            "This account is not active yet. Confirm your email address first.".into()
        }
        Error::TooManyAttempts { retry_after } => {
            format!("Too many attempts. Try again in {retry_after} seconds.")
        }
        Error::InvalidMfaCode => "That code is not right. Try the current one.".into(),
        Error::InvalidMailToken => "This link is invalid or has expired.".into(),
        Error::InvalidToken | Error::TokenExpired | Error::Unauthenticated => {
            "Your sign-in has expired. Sign in again.".into()
        }
        Error::Validation(errs) => errs
            .iter()
            .map(|f| format!("{}: {}", f.field.replace('_', " "), f.message))
            .collect::<Vec<_>>()
            .join("; "),
        Error::Internal(_) => "Something went wrong on our side. Try again.".into(),
        Error::Unavailable(_) => "The service is unavailable right now. Try again.".into(),
        other => {
            let mut s = other.to_string();
            if let Some(first) = s.get(..1) {
                let up = first.to_uppercase();
                s.replace_range(..1, &up);
            }
            if !s.ends_with('.') {
                s.push('.');
            }
            s
        }
    }
}

/// Field errors of a validation error, by field name, for the templates'
/// `errors` map; other errors become the page's `alert`.
pub fn form_errors(e: &Error) -> (minijinja::Value, Option<String>) {
    match e {
        Error::Validation(errs) => {
            let map: std::collections::BTreeMap<String, String> = errs
                .iter()
                .map(|f| (f.field.clone(), f.message.clone()))
                .collect();
            (to_value(&map), None)
        }
        other => (minijinja::Value::from(()), Some(message(other))),
    }
}

/// The status of an engine error as an HTTP status.
pub fn status_of(e: &Error) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
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

/// Any serializable value as a template value.
pub fn to_value<T: Serialize>(v: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

/// Percent-encode a query value.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
