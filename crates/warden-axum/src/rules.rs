//! Path rules: which authentication methods a path needs.
//!
//! A [`RulesLayer`] (from [`crate::Warden::rules_layer`]) looks at each
//! request's path, takes the **first** matching [`Rule`], authenticates the
//! request as the rule says and puts the resulting [`Principal`] into the
//! request extensions, where [`crate::RulePrincipal`], [`Principal`],
//! [`crate::CurrentAccount`] and the other extractors find it. A request no
//! rule matches passes through untouched.
//!
//! - Patterns: `"/api/admin/*"` matches `/api/admin` and everything below it,
//!   `"*"` matches every path, anything else matches the path exactly. The
//!   full request path is matched (also inside nested routers).
//! - Methods: `jwt` (access token), `session` (cookie session), `api_key`,
//!   or the name of a custom method.
//! - [`Strategy::Any`]: the first method whose credentials are present and
//!   good wins; when none succeeds, the first bad credential's error (or 401
//!   `unauthenticated` without any) is answered.
//!   [`Strategy::All`]: every method must succeed, for the same account.
//! - Optional methods ([`Rule::optional_methods`]) are tried after the
//!   required ones; their bad credentials are refused, missing ones are not.
//!   A rule with only optional methods lets anonymous requests through.
//! - Scopes ([`Rule::scopes`]): the primary principal (the first that
//!   authenticated) must hold each, else 403 `forbidden`.
//! - Organization permissions ([`Rule::org_permissions`]): the primary
//!   principal's access token must act for an organization whose role
//!   grants each, else 403 `forbidden`.
//!
//! ```
//! use axum::{Router, routing::get};
//! use warden_axum::{PathRules, Rule, RulePrincipal, Strategy, Warden};
//!
//! async fn admin(RulePrincipal(p): RulePrincipal) -> String {
//!     format!("admin via {}", p.method())
//! }
//!
//! # async fn run() -> Result<(), warden_core::Error> {
//! let warden = Warden::builder().memory().build().await?;
//! let rules = PathRules::new()
//!     .rule(Rule::new("/api/admin/*").methods(["jwt", "api_key"]).scopes(["admin"]))
//!     .rule(Rule::new("/api/report").methods(["jwt", "api_key"]).strategy(Strategy::All))
//!     .rule(Rule::new("/api/*").methods(["jwt", "session", "api_key"]))
//!     .rule(Rule::new("/public/*").optional_methods(["jwt"]));
//! let app: Router = Router::new()
//!     .route("/api/admin/stats", get(admin))
//!     .layer(warden.rules_layer(rules))
//!     .nest("/auth", warden.router())
//!     .with_state(warden.clone());
//! # Ok(()) }
//! ```

use crate::Warden;
use crate::error::problem;
use crate::extract::{Principal, check_scopes, run_method};
use axum::extract::{OriginalUri, Request};
use axum::response::Response;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use warden_core::Error;

/// Names of the built-in methods.
pub const BUILTIN_METHODS: &[&str] = &["jwt", "session", "api_key"];

/// How a rule combines its methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// One method suffices (the first that succeeds).
    #[default]
    Any,
    /// Every method must succeed, for the same account.
    All,
}

/// One path rule (FastSecure's `add_requirement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pattern: String,
    methods: Vec<String>,
    optional: Vec<String>,
    strategy: Strategy,
    scopes: Vec<String>,
    org_permissions: Vec<String>,
    explicit: bool,
}

impl Rule {
    /// A rule for a path pattern (`/exact`, `/prefix/*`, `*`), requiring by
    /// default any of `jwt`, `session`, `api_key`.
    pub fn new(pattern: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            methods: BUILTIN_METHODS.iter().map(|s| (*s).to_owned()).collect(),
            optional: Vec::new(),
            strategy: Strategy::Any,
            scopes: Vec::new(),
            org_permissions: Vec::new(),
            explicit: false,
        }
    }
    /// The methods the rule requires (combined by its [`Strategy`]).
    pub fn methods<I, T>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.methods = methods.into_iter().map(Into::into).collect();
        self.explicit = true;
        self
    }
    /// Methods tried after the required ones; missing credentials are fine.
    /// A rule whose only methods are optional admits anonymous requests.
    pub fn optional_methods<I, T>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let optional: Vec<String> = methods.into_iter().map(Into::into).collect();
        if self.explicit {
            self.methods.retain(|m| !optional.contains(m));
        } else {
            // Still the defaults: the optional methods replace them.
            self.methods.clear();
        }
        self.optional = optional;
        self
    }
    /// How the required methods combine.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }
    /// Scopes the caller must hold.
    pub fn scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
    /// Organization permissions the caller's role must grant: the primary
    /// principal must be an access token acting for an organization
    /// ([`crate::CurrentOrganization`]), else 403 `forbidden`.
    pub fn org_permissions<I, T>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.org_permissions = permissions.into_iter().map(Into::into).collect();
        self
    }
    /// The pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
    /// Whether the rule's pattern matches a path.
    pub fn matches(&self, path: &str) -> bool {
        let p = self.pattern.as_str();
        if p == "*" {
            return true;
        }
        match p.strip_suffix("/*") {
            Some(prefix) => {
                path == prefix
                    || path
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
            None => path == p,
        }
    }
}

/// An ordered list of rules; the first match wins.
#[derive(Debug, Clone, Default)]
pub struct PathRules {
    rules: Vec<Rule>,
}

impl PathRules {
    /// No rules.
    pub fn new() -> Self {
        Self::default()
    }
    /// Append a rule (checked after the earlier ones).
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }
    /// The first rule matching a path.
    pub fn find(&self, path: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(path))
    }
}

/// What the rules layer decided: the request's principal, or `None` when the
/// matching rule admits anonymous requests and none authenticated.
#[derive(Debug, Clone)]
pub(crate) struct RulesOutcome(pub Option<Principal>);

/// Every principal that authenticated under a matching rule (several under
/// [`Strategy::All`] or with optional methods), in rule order. Put into the
/// request extensions by the [`RulesLayer`].
#[derive(Debug, Clone, Default)]
pub struct Principals(pub Vec<Principal>);

async fn apply(
    rule: &Rule,
    parts: &mut axum::http::request::Parts,
    warden: &Warden,
) -> Result<Option<Principal>, Error> {
    let mut found: Vec<Principal> = Vec::new();
    let mut first_error: Option<Error> = None;
    match rule.strategy {
        Strategy::Any => {
            for m in &rule.methods {
                match run_method(m, parts, warden).await {
                    Ok(Some(p)) => {
                        found.push(p);
                        break;
                    }
                    Ok(None) => {}
                    Err(e @ Error::Internal(_)) => return Err(e),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if found.is_empty() && !rule.methods.is_empty() {
                return Err(first_error.unwrap_or(Error::Unauthenticated));
            }
        }
        Strategy::All => {
            for m in &rule.methods {
                match run_method(m, parts, warden).await? {
                    Some(p) => found.push(p),
                    None => return Err(Error::Unauthenticated),
                }
            }
        }
    }
    for m in &rule.optional {
        if let Some(p) = run_method(m, parts, warden).await? {
            found.push(p);
        }
    }
    let accounts: Vec<_> = found.iter().filter_map(Principal::account_id).collect();
    if accounts.windows(2).any(|w| w[0] != w[1]) {
        return Err(Error::Forbidden(
            "the credentials belong to different accounts".into(),
        ));
    }
    let primary = found.first().cloned();
    if !rule.scopes.is_empty() {
        match &primary {
            Some(p) => check_scopes(warden, p, &rule.scopes).await?,
            None => return Err(Error::Unauthenticated),
        }
    }
    if !rule.org_permissions.is_empty() {
        match &primary {
            Some(p) => crate::org::rule_check(warden, p, &rule.org_permissions)?,
            None => return Err(Error::Unauthenticated),
        }
    }
    if let Some(p) = &primary {
        parts.extensions.insert(p.clone());
    }
    parts.extensions.insert(Principals(found));
    Ok(primary)
}

/// The tower layer of [`PathRules`] (from [`crate::Warden::rules_layer`]).
#[derive(Clone)]
pub struct RulesLayer {
    warden: Warden,
    rules: Arc<PathRules>,
}

impl std::fmt::Debug for RulesLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulesLayer")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl RulesLayer {
    pub(crate) fn new(warden: Warden, rules: PathRules) -> Self {
        for rule in &rules.rules {
            for m in rule.methods.iter().chain(&rule.optional) {
                if m == "session" && warden.cookie_sessions().is_none() {
                    tracing::warn!(pattern = %rule.pattern, "rule names the session method but cookie sessions are off (WardenBuilder::sessions)");
                } else if !BUILTIN_METHODS.contains(&m.as_str()) && warden.method(m).is_none() {
                    tracing::error!(pattern = %rule.pattern, method = %m, "rule names an unregistered method (WardenBuilder::method); matching requests answer 500");
                }
            }
        }
        Self {
            warden,
            rules: Arc::new(rules),
        }
    }
}

impl<S> tower::Layer<S> for RulesLayer {
    type Service = RulesService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RulesService {
            inner,
            warden: self.warden.clone(),
            rules: self.rules.clone(),
        }
    }
}

/// The service a [`RulesLayer`] wraps around routes.
#[derive(Clone)]
pub struct RulesService<S> {
    inner: S,
    warden: Warden,
    rules: Arc<PathRules>,
}

impl<S> std::fmt::Debug for RulesService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulesService").finish_non_exhaustive()
    }
}

impl<S> tower::Service<Request> for RulesService<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let warden = self.warden.clone();
        let rules = self.rules.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let path = parts
                .extensions
                .get::<OriginalUri>()
                .map_or_else(|| parts.uri.path().to_owned(), |u| u.path().to_owned());
            if let Some(rule) = rules.find(&path) {
                match apply(rule, &mut parts, &warden).await {
                    Ok(p) => {
                        parts.extensions.insert(RulesOutcome(p));
                    }
                    Err(e) => return Ok(problem(&e)),
                }
            }
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}
