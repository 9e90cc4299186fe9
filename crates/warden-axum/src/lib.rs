//! # warden-axum
//!
//! Batteries-included authentication for [axum]: mount one router and get
//! register/login/refresh/logout, sessions, password changes, admin routes and
//! JWKS; protect your own routes with extractors.
//!
//! ```
//! use axum::{Router, routing::get};
//! use warden_axum::{Warden, CurrentAccount};
//!
//! async fn hello(CurrentAccount(account): CurrentAccount) -> String {
//!     format!("hello {}", account.login)
//! }
//!
//! # async fn run() -> Result<(), warden_core::Error> {
//! let warden = Warden::builder().memory().build().await?;
//! let app: Router = Router::new()
//!     .route("/hello", get(hello))
//!     .nest("/auth", warden.router())
//!     .with_state(warden.clone());
//! # Ok(()) }
//! ```
//!
//! Beyond [`CurrentAccount`]: [`Claims`], [`CurrentSession`], [`Principal`],
//! [`ApiKeyAuth`], [`Fresh`], [`RequireScopes`] (and `Option<...>` of each for
//! optional authentication); tokens for users the app keeps itself
//! ([`warden_core::app_tokens`], [`CurrentSubject`], a
//! [`warden_core::hooks::TokenDenylist`] set with
//! [`WardenBuilder::token_denylist`]); path rules ([`PathRules`], [`Warden::rules_layer`]);
//! server-side cookie sessions ([`SessionConfig`]); custom methods
//! ([`AuthMethod`]); hooks ([`Hooks`]). The `warden` server's configuration
//! model is [`config::Config`] ([`WardenBuilder::from_env`]); sign-in
//! providers ([`oauth`], features `oidc` and `github`), mail (`mail`, feature
//! `smtp`) and captcha verifiers ([`captcha`], feature `captcha`) come with
//! it, all on by default. The guide is `crates/warden-axum/README.md`
//! ("Use Warden in your axum app"), the runnable examples are in `examples/`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod account_json;
pub mod captcha;
pub mod config;
pub mod cookies;
pub mod csrf;
pub mod error;
mod extract;
mod guard;
#[cfg(feature = "smtp")]
pub mod mail;
pub mod method;
pub mod oauth;
pub mod openapi;
mod org;
mod routes;
pub use routes::provider::ProviderPages;
pub use routes::rate_limited;
pub mod rules;
pub mod session;
pub mod session_cookie;
mod subject;

/// Re-exported for implementing [`AuthMethod`].
pub use async_trait::async_trait;
pub use error::{ApiError, ApiJson, Problem};
pub use extract::{
    AdminCaller, ApiKeyAuth, Authenticated, Client, CurrentAccount, Principal, SessionAuth, Via,
};
pub use guard::{Claims, CurrentSession, Fresh, RequireScopes, RulePrincipal, ScopeList};
pub use method::{AuthMethod, Identity};
pub use org::{CurrentOrganization, PermissionList, RequireOrgPermission};
pub use rules::{PathRules, Principals, Rule, RulesLayer, Strategy};
pub use session::SessionConfig;
pub use subject::CurrentSubject;
pub use warden_core;
pub use warden_core::hooks::Hooks;

use axum::Router;
use axum::extract::FromRef;
use std::net::IpAddr;
use std::sync::Arc;
use warden_core::limits::RateLimiter;
use warden_core::store::{MemoryStore, Store};
use warden_core::{Auth, Settings};

/// One trusted proxy network (`10.0.0.0/8`, `127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("invalid IP address {a:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("invalid prefix in {s:?}"))?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }
}

impl IpNet {
    /// Whether `ip` is inside the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

/// The admin secret, kept only as its SHA-256 and compared in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminSecret([u8; 32]);

impl std::fmt::Debug for AdminSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminSecret([redacted])")
    }
}

impl AdminSecret {
    /// From the secret itself.
    pub fn new(secret: &str) -> Self {
        Self(warden_core::random::sha256(secret.as_bytes()))
    }
    /// From its SHA-256 (as stored when the server generated the secret).
    pub fn from_sha256(hash: [u8; 32]) -> Self {
        Self(hash)
    }
    /// Constant-time check of a presented secret.
    pub fn matches(&self, presented: &str) -> bool {
        warden_core::random::ct_eq(&warden_core::random::sha256(presented.as_bytes()), &self.0)
    }
}

/// HTTP settings of the router.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Where the router is mounted (`/auth`); used for the refresh cookie path.
    pub prefix: String,
    /// Cookie settings.
    pub cookies: cookies::CookieSettings,
    /// `X-Admin-Secret` value that authorises admin routes, if set.
    pub admin_secret: Option<AdminSecret>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Requests a minute per client IP on login, register, password and fresh routes (0: off).
    pub rate_limit_per_minute: u32,
    /// Request body limit in bytes (64 KiB).
    pub body_limit: usize,
    /// Also accept an API key in the `api_key` query parameter (false: only the
    /// `X-API-Key` header). Query strings end up in logs; keep it off if you can.
    pub api_key_query: bool,
    /// Human check on register, login after a failure and forgot-password (none).
    pub captcha: Option<captcha::Captcha>,
    /// OAuth 2.0 / OpenID Connect sign-in providers (none by default).
    pub oauth: Option<oauth::OAuthConfig>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self::with_prefix("/auth")
    }
}

impl HttpConfig {
    /// Defaults for a router mounted at `prefix`.
    pub fn with_prefix(prefix: &str) -> Self {
        let prefix = prefix.trim_end_matches('/').to_owned();
        Self {
            cookies: cookies::CookieSettings {
                access_name: "access".into(),
                refresh_name: "refresh".into(),
                csrf_name: "csrf".into(),
                path: "/".into(),
                refresh_path: format!("{prefix}/refresh"),
                secure: true,
                domain: None,
            },
            prefix,
            admin_secret: None,
            trusted_proxies: Vec::new(),
            rate_limit_per_minute: 30,
            body_limit: 64 * 1024,
            api_key_query: false,
            captcha: None,
            oauth: None,
        }
    }
}

struct Shared {
    auth: Auth,
    http: HttpConfig,
    limiter: RateLimiter,
    shared_limiter: std::sync::OnceLock<Arc<dyn warden_core::limits::SharedRateLimit>>,
    methods: Vec<(String, Arc<dyn AuthMethod>)>,
    sessions: Option<session::CookieSessions>,
    /// Tasks started by [`Warden::spawn`] that have not ended yet.
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// `GET /auth/me` bodies, one per version of an account.
    account_json: account_json::AccountJson,
}

/// The handle an application keeps: the engine, the HTTP settings, the router.
#[derive(Clone)]
pub struct Warden {
    shared: Arc<Shared>,
}

impl Warden {
    /// Start building a Warden.
    pub fn builder() -> WardenBuilder {
        WardenBuilder::default()
    }

    /// Wrap an engine with HTTP settings.
    pub fn new(auth: Auth, http: HttpConfig) -> Self {
        Self::assemble(auth, http, Vec::new(), None)
    }

    fn assemble(
        auth: Auth,
        http: HttpConfig,
        methods: Vec<(String, Arc<dyn AuthMethod>)>,
        sessions: Option<session::CookieSessions>,
    ) -> Self {
        let limiter = RateLimiter::new(http.rate_limit_per_minute);
        let account_json = account_json::AccountJson::new(auth.settings().account_cache_size);
        Self {
            shared: Arc::new(Shared {
                auth,
                http,
                limiter,
                shared_limiter: std::sync::OnceLock::new(),
                methods,
                sessions,
                in_flight: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
                account_json,
            }),
        }
    }

    /// Run `task` in the background after the answer (e.g. the lookup and
    /// mail of a password-reset request); [`Warden::settle`] waits for it.
    pub fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        use std::sync::atomic::Ordering;
        /// Counts the task as ended when it ends, also by a panic.
        struct Ended(Arc<std::sync::atomic::AtomicUsize>);
        impl Drop for Ended {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        let ended = Ended(Arc::clone(&self.shared.in_flight));
        tokio::spawn(async move {
            let _ended = ended;
            task.await;
        });
    }

    /// Wait until every task of [`Warden::spawn`] has ended and the mailer
    /// has delivered (or given up) every mail it accepted (a flush hook for
    /// tests and shutdown; gives up after `limit`). Answers whether they did.
    pub async fn settle(&self, limit: std::time::Duration) -> bool {
        use std::sync::atomic::Ordering;
        let start = std::time::Instant::now();
        let tasks = || self.shared.in_flight.load(Ordering::Acquire);
        warden_core::flush::wait_until(limit, || tasks() == 0).await
            && self
                .auth()
                .flush_mail(limit.saturating_sub(start.elapsed()))
                .await
    }

    /// The custom authentication methods, in registration order.
    pub fn methods(&self) -> impl Iterator<Item = (&str, &Arc<dyn AuthMethod>)> {
        self.shared.methods.iter().map(|(n, m)| (n.as_str(), m))
    }

    /// A custom method by name.
    pub fn method(&self, name: &str) -> Option<&Arc<dyn AuthMethod>> {
        self.shared
            .methods
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m)
    }

    /// The cookie-session settings, when cookie sessions are on.
    pub fn session_config(&self) -> Option<&SessionConfig> {
        self.shared.sessions.as_ref().map(|s| &s.config)
    }

    pub(crate) fn cookie_sessions(&self) -> Option<&session::CookieSessions> {
        self.shared.sessions.as_ref()
    }

    /// A layer that authenticates requests by path rules (see [`PathRules`]).
    pub fn rules_layer(&self, rules: PathRules) -> RulesLayer {
        RulesLayer::new(self.clone(), rules)
    }

    /// Run the engine's change-feed sync and housekeeping (which deletes
    /// expired sessions, cookie sessions included) until the handle is aborted.
    pub fn spawn_background(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        self.shared.auth.upkeep().spawn_background(every)
    }

    /// The engine.
    pub fn auth(&self) -> &Auth {
        &self.shared.auth
    }

    /// The HTTP settings.
    pub fn http(&self) -> &HttpConfig {
        &self.shared.http
    }

    pub(crate) fn account_json(&self) -> &account_json::AccountJson {
        &self.shared.account_json
    }

    pub(crate) fn limiter(&self) -> &RateLimiter {
        &self.shared.limiter
    }

    /// Keep the per-IP rate limit in a store shared by every node (e.g. Redis)
    /// instead of this process. When that store cannot answer, the limit of
    /// this process applies. Only the first call has an effect.
    pub fn set_shared_rate_limit(&self, limit: Arc<dyn warden_core::limits::SharedRateLimit>) {
        let _ = self.shared.shared_limiter.set(limit);
    }

    pub(crate) fn shared_limiter(&self) -> Option<&Arc<dyn warden_core::limits::SharedRateLimit>> {
        self.shared.shared_limiter.get()
    }

    /// The API.md routes, to be nested under the prefix (`/auth`).
    /// The router's state is the `Warden` itself; the caller supplies it with `with_state`.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Warden: FromRef<S>,
    {
        routes::router(self)
    }

    /// `GET /.well-known/jwks.json`, to be merged at the root.
    pub fn jwks_router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Warden: FromRef<S>,
    {
        routes::jwks_router()
    }

    /// The OpenID Provider's discovery documents
    /// (`/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server`),
    /// to be merged at the root next to the hosted pages that serve its
    /// authorization and logout endpoints at `pages`.
    pub fn provider_router<S>(&self, pages: ProviderPages) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Warden: FromRef<S>,
    {
        routes::provider_router(pages)
    }
}

/// Builds a [`Warden`].
///
/// ```
/// # async fn run() -> Result<(), warden_core::Error> {
/// use warden_axum::{Warden, SessionConfig};
/// let warden = Warden::builder()
///     .memory()
///     .prefix("/auth")
///     .sessions(SessionConfig::default())
///     .hook_after_login(|account, _session, _client| async move {
///         let _ = account.id;
///         Ok(())
///     })
///     .build()
///     .await?;
/// assert_eq!(warden.http().prefix, "/auth");
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct WardenBuilder {
    store: Option<Arc<dyn Store>>,
    settings: Option<Settings>,
    http: Option<HttpConfig>,
    prefix: Option<String>,
    clock: Option<Arc<dyn warden_core::clock::Clock>>,
    hooks: Hooks,
    methods: Vec<(String, Arc<dyn AuthMethod>)>,
    sessions: Option<SessionConfig>,
    admin_secret: Option<AdminSecret>,
    mail: Option<MailSource>,
    session_store: Option<SessionStoreMaker>,
}

/// Makes the session backend of [`WardenBuilder::session_store`] from the main store.
type SessionStoreMaker =
    Box<dyn FnOnce(Arc<dyn Store>) -> Arc<dyn warden_core::store::SessionBackend> + Send>;

/// The mailer of a builder: given, or made by [`WardenBuilder::build`].
type MailSetup = (
    Arc<dyn warden_core::mail::Mailer>,
    Arc<dyn warden_core::mail::MailRenderer>,
);
type MailMaker = Box<dyn FnOnce() -> Result<MailSetup, warden_core::Error> + Send>;
enum MailSource {
    Given(MailSetup),
    #[cfg_attr(not(feature = "smtp"), allow(dead_code))]
    Later(MailMaker),
}

impl WardenBuilder {
    /// Keep everything in memory: tests and examples. Nothing survives a
    /// restart and nothing is shared between processes; a real app calls
    /// [`WardenBuilder::store`] (`warden_store_sql::SqlStore`, ...) instead.
    /// [`WardenBuilder::build`] refuses a builder with neither.
    pub fn memory(mut self) -> Self {
        self.store = Some(Arc::new(MemoryStore::new()));
        self
    }
    /// Use a store.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }
    /// Keep sessions and refresh tokens in another backend than the store
    /// (FastSecure's `session_store=RedisSessionStore(..)`): `make` gets the
    /// store (where accounts, audit events and the change feed stay) and
    /// returns the session backend, e.g.
    /// `.session_store(move |main| Arc::new(redis.sessions(main)))` with a
    /// `warden_store_redis::Redis`. The engine then runs on
    /// [`warden_core::store::Layered::with_sessions`].
    pub fn session_store<F>(mut self, make: F) -> Self
    where
        F: FnOnce(Arc<dyn Store>) -> Arc<dyn warden_core::store::SessionBackend> + Send + 'static,
    {
        self.session_store = Some(Box::new(make));
        self
    }
    /// Domain settings.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = Some(settings);
        self
    }
    /// HTTP settings.
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = Some(http);
        self
    }
    /// Where the router will be mounted (`/auth` by default); sets the
    /// refresh-cookie path to match.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = Some(prefix.to_owned());
        self
    }
    /// The clock (tests use [`warden_core::clock::ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn warden_core::clock::Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
    /// Replace the application hooks.
    pub fn hooks(mut self, hooks: Hooks) -> Self {
        self.hooks = hooks;
        self
    }
    /// Called before a self-service registration: change the input or refuse
    /// with an error (see [`Hooks::before_register`]).
    pub fn hook_before_register<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(warden_core::NewAccount, warden_core::model::ClientInfo) -> Fut
            + Send
            + Sync
            + 'static,
        Fut: std::future::Future<Output = warden_core::Result<warden_core::NewAccount>>
            + Send
            + 'static,
    {
        self.hooks = self.hooks.before_register(f);
        self
    }
    /// Extra claims for every access token (see [`Hooks::extra_claims`]).
    pub fn hook_extra_claims<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(warden_core::model::Account, warden_core::model::Session) -> Fut
            + Send
            + Sync
            + 'static,
        Fut: std::future::Future<
                Output = warden_core::Result<serde_json::Map<String, serde_json::Value>>,
            > + Send
            + 'static,
    {
        self.hooks = self.hooks.extra_claims(f);
        self
    }
    /// Called after every login (see [`Hooks::after_login`]).
    pub fn hook_after_login<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(
                warden_core::model::Account,
                warden_core::model::Session,
                warden_core::model::ClientInfo,
            ) -> Fut
            + Send
            + Sync
            + 'static,
        Fut: std::future::Future<Output = warden_core::Result<()>> + Send + 'static,
    {
        self.hooks = self.hooks.after_login(f);
        self
    }
    /// Called after each invitation or membership change of an organization
    /// (see [`Hooks::on_organization_event`]); an error is logged.
    pub fn hook_organization_event<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(warden_core::hooks::OrgEvent) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = warden_core::Result<()>> + Send + 'static,
    {
        self.hooks = self.hooks.on_organization_event(f);
        self
    }
    /// Ask `denylist` at every access-token verification, account and app
    /// subject tokens alike (fastapi-jwt-auth's `token_in_denylist_loader`),
    /// after the built-in checks; it runs once per request that presents a
    /// token, so keep it cheap. It fails closed: a revoked token or an error
    /// is 401 `invalid_token`, `Error::Unavailable` is 503 (see
    /// [`warden_core::hooks::TokenDenylist`]).
    pub fn token_denylist(mut self, denylist: impl warden_core::hooks::TokenDenylist) -> Self {
        self.hooks = self.hooks.token_denylist(denylist);
        self
    }
    /// Register a custom authentication method under a name usable in
    /// [`Rule::methods`]; it is also tried by [`Principal`] and
    /// [`CurrentAccount`] after the built-in methods. Registering a name twice
    /// replaces the earlier method; the built-in names `jwt`, `session` and
    /// `api_key` cannot be taken (the registration is ignored with a warning).
    pub fn method(mut self, name: &str, method: impl AuthMethod) -> Self {
        if rules::BUILTIN_METHODS.contains(&name) {
            tracing::warn!(name, "a custom method cannot take a built-in name; ignored");
            return self;
        }
        self.methods.retain(|(n, _)| n != name);
        self.methods.push((name.to_owned(), Arc::new(method)));
        self
    }
    /// The `X-Admin-Secret` that authorises the admin routes (replaces the
    /// one of [`WardenBuilder::http`] or `WARDEN_ADMIN_SECRET`).
    pub fn admin_secret(mut self, secret: AdminSecret) -> Self {
        self.admin_secret = Some(secret);
        self
    }
    /// Send the mails of the email flows (verification, reset, email
    /// change) with `mailer`, rendered by `renderer` (with the `smtp`
    /// feature: `warden_axum::mail::SmtpMailer` and `Templates`).
    pub fn mailer(
        mut self,
        mailer: Arc<dyn warden_core::mail::Mailer>,
        renderer: Arc<dyn warden_core::mail::MailRenderer>,
    ) -> Self {
        self.mail = Some(MailSource::Given((mailer, renderer)));
        self
    }
    /// The mailer, made when the engine is built (inside the runtime).
    #[cfg(feature = "smtp")]
    pub(crate) fn mailer_with(
        mut self,
        make: impl FnOnce() -> Result<MailSetup, warden_core::Error> + Send + 'static,
    ) -> Self {
        self.mail = Some(MailSource::Later(Box::new(make)));
        self
    }
    /// Turn on server-side cookie sessions (the `session` method and the
    /// `POST {prefix}/session/login` and `/session/logout` routes).
    pub fn sessions(mut self, config: SessionConfig) -> Self {
        self.sessions = Some(config);
        self
    }
    /// Build the engine (creates a signing key on first use) and the handle.
    ///
    /// Errors: [`warden_core::Error::BadRequest`] when no store was chosen
    /// (call [`WardenBuilder::store`], or [`WardenBuilder::memory`] for a
    /// throw-away one).
    pub async fn build(self) -> Result<Warden, warden_core::Error> {
        let Some(store) = self.store else {
            return Err(warden_core::Error::BadRequest(
                "no store: call WardenBuilder::store(...) (or .memory() for tests)".into(),
            ));
        };
        let store: Arc<dyn Store> = match self.session_store {
            Some(make) => Arc::new(
                warden_core::store::Layered::new(store.clone(), store.clone())
                    .with_sessions(make(store)),
            ),
            None => store,
        };
        let settings = self.settings.unwrap_or_default();
        let auth = match self.clock {
            Some(clock) => Auth::with_clock(store, settings, clock).await?,
            None => Auth::new(store, settings).await?,
        };
        if !self.hooks.is_empty() {
            auth.set_hooks(self.hooks);
        }
        match self.mail {
            Some(MailSource::Given((mailer, renderer))) => auth.set_mailer(mailer, renderer),
            Some(MailSource::Later(make)) => {
                let (mailer, renderer) = make()?;
                auth.set_mailer(mailer, renderer);
            }
            None => {}
        }
        let mut http = self.http.unwrap_or_default();
        if let Some(secret) = self.admin_secret {
            http.admin_secret = Some(secret);
        }
        if let Some(prefix) = self.prefix {
            let prefix = prefix.trim_end_matches('/').to_owned();
            http.cookies.refresh_path = format!("{prefix}/refresh");
            http.prefix = prefix;
        }
        let sessions = match self.sessions {
            Some(config) => Some(session::CookieSessions::new(&auth, &http.cookies, config).await?),
            None => None,
        };
        Ok(Warden::assemble(auth, http, self.methods, sessions))
    }
}
