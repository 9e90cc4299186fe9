//! OAuth 2.0 / OpenID Connect providers for the `warden` server, over the
//! workspace's reqwest 0.13 (rustls), written by hand rather than with the
//! `openidconnect` crate (whose HTTP integration pulls in a second reqwest):
//!
//! - OpenID Connect (Google and any issuer): discovery
//!   (`{issuer}/.well-known/openid-configuration`, fetched on first use and
//!   cached; its `issuer` must equal the configured one), authorization code
//!   flow with PKCE S256, `state` and `nonce`; the code is exchanged with
//!   `client_secret_basic` (or `client_secret_post` when the issuer only
//!   supports that); the ID token is verified with the issuer's JWKS (key by
//!   `kid`, algorithm pinned by the JWK when it names one, never HMAC or
//!   `none`; the JWKS is cached and refetched on an unknown `kid` at most once
//!   a minute), `iss`, `aud` (and `azp` when several audiences), `exp` (60 s
//!   leeway) and `nonce` (constant-time);
//! - GitHub (OAuth 2.0 only): code exchange, then `GET /user` and
//!   `GET /user/emails` (the primary verified address is the verified email).
//!
//! Every request has a 10 s timeout and follows no redirects; failures are
//! `oauth_failed` (the provider refused) or `oauth_provider_unavailable`.
//! Secrets, codes and tokens are never logged.

use crate::config::Config;
use async_trait::async_trait;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use warden_axum::oauth::{OAuthConfig, OAuthProvider};
use warden_core::Error;
use warden_core::oauth::{ExternalProfile, url_encode, with_query};

/// Timeout of every request to a provider.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest time between two JWKS fetches for an unknown `kid`.
const JWKS_REFETCH: Duration = Duration::from_secs(60);
/// How long a discovery document is kept.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// One OpenID Connect issuer, as configured (`WARDEN_OIDC_<NAME>_*`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcSettings {
    /// Provider name in the routes (lower case).
    pub name: String,
    /// Name to show (default: the name).
    pub display_name: Option<String>,
    /// Issuer URL; discovery is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Space or comma separated scopes (default `openid email profile`).
    pub scopes: Option<String>,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

const OIDC_SUFFIXES: &[&str] = &[
    "_client_secret_file",
    "_client_secret",
    "_client_id",
    "_display_name",
    "_issuer",
    "_scopes",
];

/// Split `WARDEN_OIDC_<NAME>_<FIELD>` into `(name, field)` (lower case).
pub fn oidc_var(var: &str) -> Option<(String, &'static str)> {
    let rest = var.strip_prefix("WARDEN_OIDC_")?.to_ascii_lowercase();
    OIDC_SUFFIXES.iter().find_map(|suffix| {
        let name = rest.strip_suffix(suffix)?;
        (!name.is_empty()).then(|| (name.to_owned(), *suffix))
    })
}

/// The OpenID Connect issuers named by `WARDEN_OIDC_<NAME>_ISSUER`,
/// `_CLIENT_ID`, `_CLIENT_SECRET` (or `_CLIENT_SECRET_FILE`), `_SCOPES` and
/// `_DISPLAY_NAME` variables, sorted by name.
pub fn oidc_from_env(
    vars: impl Iterator<Item = (String, String)>,
) -> Result<Vec<OidcSettings>, String> {
    let mut map: std::collections::BTreeMap<String, OidcSettings> = Default::default();
    for (k, v) in vars {
        let Some((name, field)) = oidc_var(&k) else {
            continue;
        };
        let e = map.entry(name.clone()).or_insert_with(|| OidcSettings {
            name: name.replace('_', "-"),
            ..Default::default()
        });
        match field {
            "_issuer" => e.issuer = v,
            "_client_id" => e.client_id = v,
            "_client_secret" => e.client_secret = v,
            "_client_secret_file" => {
                e.client_secret = std::fs::read_to_string(&v)
                    .map_err(|err| format!("{k}: cannot read {v}: {err}"))?
                    .trim()
                    .to_owned();
            }
            "_scopes" => e.scopes = Some(v),
            _ => e.display_name = Some(v),
        }
    }
    Ok(map.into_values().collect())
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(PROVIDER_TIMEOUT)
        .connect_timeout(PROVIDER_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("warden")
        .build()
        .map_err(|e| format!("OAuth HTTP client: {e}"))
}

fn unavailable(provider: &str, what: &str, e: &dyn std::fmt::Display) -> Error {
    tracing::warn!(provider, what, error = %e, "OAuth provider unavailable");
    Error::OAuthProviderUnavailable
}

/// Read a JSON answer: 2xx parsed, 4xx `OAuthFailed` with the provider's
/// `error` code, anything else unavailable.
async fn read_json<T: serde::de::DeserializeOwned>(
    provider: &str,
    what: &str,
    res: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, Error> {
    let res = res.map_err(|e| unavailable(provider, what, &e))?;
    let status = res.status();
    if status.is_client_error() {
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        let code: String = body
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or("refused")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        tracing::info!(
            provider,
            what,
            status = status.as_u16(),
            code,
            "OAuth provider refused"
        );
        return Err(Error::OAuthFailed(format!(
            "the provider refused the {what} ({code})"
        )));
    }
    if !status.is_success() {
        return Err(unavailable(provider, what, &status));
    }
    res.json::<T>()
        .await
        .map_err(|e| unavailable(provider, what, &e))
}

fn scopes(s: Option<&str>, default: &str) -> String {
    let s = s
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(default);
    s.split([' ', ','])
        .filter(|x| !x.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(serde::de::IgnoredAny),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    aud: Audience,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Flag>,
    #[serde(default)]
    preferred_username: Option<String>,
}

/// An OpenID Connect provider found by discovery.
pub struct OidcProvider {
    settings: OidcSettings,
    scopes: String,
    http: reqwest::Client,
    discovery: RwLock<Option<(Discovery, Instant)>>,
    jwks: RwLock<Option<(JwkSet, Instant)>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// A provider for `settings` (nothing is fetched until first use).
    pub fn new(settings: OidcSettings) -> Result<Self, String> {
        let n = &settings.name;
        if n.is_empty()
            || !n
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!("OIDC provider name {n:?}: use a-z, 0-9 and -"));
        }
        let var = n.to_ascii_uppercase().replace('-', "_");
        if !(settings.issuer.starts_with("https://") || settings.issuer.starts_with("http://")) {
            return Err(format!("WARDEN_OIDC_{var}_ISSUER must be an http(s) URL"));
        }
        if settings.client_id.is_empty() || settings.client_secret.is_empty() {
            return Err(format!(
                "OIDC provider {n} needs WARDEN_OIDC_{var}_CLIENT_ID and _CLIENT_SECRET"
            ));
        }
        Ok(Self {
            scopes: scopes(settings.scopes.as_deref(), "openid email profile"),
            settings,
            http: client()?,
            discovery: RwLock::new(None),
            jwks: RwLock::new(None),
        })
    }

    fn name_str(&self) -> &str {
        &self.settings.name
    }

    async fn discovery(&self) -> Result<Discovery, Error> {
        if let Some((d, at)) = self.discovery.read().await.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(d.clone());
        }
        let issuer = self.settings.issuer.trim_end_matches('/');
        let url = format!("{issuer}/.well-known/openid-configuration");
        let d: Discovery = read_json(
            self.name_str(),
            "discovery",
            self.http.get(&url).send().await,
        )
        .await?;
        if d.issuer.trim_end_matches('/') != issuer {
            return Err(unavailable(
                self.name_str(),
                "discovery",
                &"the discovery document names another issuer",
            ));
        }
        *self.discovery.write().await = Some((d.clone(), Instant::now()));
        Ok(d)
    }

    async fn fetch_jwks(&self, d: &Discovery) -> Result<JwkSet, Error> {
        let set: JwkSet = read_json(
            self.name_str(),
            "jwks",
            self.http.get(&d.jwks_uri).send().await,
        )
        .await?;
        *self.jwks.write().await = Some((set.clone(), Instant::now()));
        Ok(set)
    }

    /// The key for `kid`: from the cache, else (at most once a minute) refetched.
    async fn key(&self, d: &Discovery, kid: Option<&str>) -> Result<Jwk, Error> {
        let pick = |set: &JwkSet| -> Option<Jwk> {
            match kid {
                Some(k) => set.find(k).cloned(),
                None if set.keys.len() == 1 => set.keys.first().cloned(),
                None => None,
            }
        };
        let cached = self.jwks.read().await.clone();
        if let Some((set, at)) = &cached {
            if let Some(k) = pick(set) {
                return Ok(k);
            }
            if at.elapsed() < JWKS_REFETCH {
                return Err(Error::OAuthFailed("the ID token has an unknown key".into()));
            }
        }
        let set = self.fetch_jwks(d).await?;
        pick(&set).ok_or_else(|| Error::OAuthFailed("the ID token has an unknown key".into()))
    }

    async fn verify_id_token(
        &self,
        d: &Discovery,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<IdClaims, Error> {
        let bad = |why: &str| Error::OAuthFailed(format!("the ID token {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| bad("is malformed"))?;
        let jwk = self.key(d, header.kid.as_deref()).await?;
        let alg = match jwk.common.key_algorithm {
            Some(ka) => {
                Algorithm::try_from(ka).map_err(|_| bad("uses an unsupported algorithm"))?
            }
            None => header.alg,
        };
        if alg != header.alg || alg.family() == jsonwebtoken::AlgorithmFamily::Hmac {
            return Err(bad("uses an unexpected algorithm"));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| bad("has an unusable key"))?;
        let mut v = Validation::new(alg);
        v.set_issuer(&[d.issuer.as_str()]);
        v.set_audience(&[self.settings.client_id.as_str()]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<IdClaims>(token, &key, &v).map_err(|e| {
            tracing::info!(provider = self.name_str(), error = %e, "ID token refused");
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => bad("has expired"),
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => bad("has another issuer"),
                jsonwebtoken::errors::ErrorKind::InvalidAudience => bad("has another audience"),
                _ => bad("does not verify"),
            }
        })?;
        let claims = data.claims;
        if let Audience::Many(list) = &claims.aud
            && list.len() > 1
            && claims.azp.as_deref() != Some(self.settings.client_id.as_str())
        {
            return Err(bad("has another authorized party"));
        }
        if let Some(expected) = nonce {
            let ok = claims
                .nonce
                .as_deref()
                .is_some_and(|n| warden_core::random::ct_eq(n.as_bytes(), expected.as_bytes()));
            if !ok {
                return Err(bad("has a wrong nonce"));
            }
        }
        Ok(claims)
    }
}

#[async_trait]
impl OAuthProvider for OidcProvider {
    fn name(&self) -> &str {
        self.name_str()
    }

    fn display_name(&self) -> &str {
        self.settings
            .display_name
            .as_deref()
            .unwrap_or(&self.settings.name)
    }

    fn uses_nonce(&self) -> bool {
        true
    }

    async fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        pkce_challenge: &str,
        nonce: Option<&str>,
    ) -> Result<String, Error> {
        let d = self.discovery().await?;
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", self.settings.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", self.scopes.as_str()),
            ("state", state),
            ("code_challenge", pkce_challenge),
            ("code_challenge_method", "S256"),
        ];
        if let Some(n) = nonce {
            params.push(("nonce", n));
        }
        Ok(with_query(&d.authorization_endpoint, &params))
    }

    async fn exchange(
        &self,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: Option<&str>,
    ) -> Result<ExternalProfile, Error> {
        let d = self.discovery().await?;
        let s = &self.settings;
        let post_only = d
            .token_endpoint_auth_methods_supported
            .as_ref()
            .is_some_and(|m| {
                !m.iter().any(|x| x == "client_secret_basic")
                    && m.iter().any(|x| x == "client_secret_post")
            });
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", pkce_verifier),
        ];
        let mut req = self
            .http
            .post(&d.token_endpoint)
            .header(reqwest::header::ACCEPT, "application/json");
        if post_only {
            form.push(("client_id", s.client_id.as_str()));
            form.push(("client_secret", s.client_secret.as_str()));
        } else {
            req = req.basic_auth(url_encode(&s.client_id), Some(url_encode(&s.client_secret)));
        }
        let answer: TokenAnswer =
            read_json(self.name_str(), "code", req.form(&form).send().await).await?;
        let id_token = answer
            .id_token
            .ok_or_else(|| Error::OAuthFailed("the provider sent no ID token".into()))?;
        let claims = self.verify_id_token(&d, &id_token, nonce).await?;
        let email_verified = match claims.email_verified {
            Some(Flag::Bool(b)) => b,
            Some(Flag::Text(t)) => t == "true",
            None => false,
        };
        Ok(ExternalProfile {
            provider: s.name.clone(),
            subject: claims.sub,
            email: claims.email,
            email_verified,
            preferred_login: claims.preferred_username,
        })
    }
}

/// GitHub endpoints and credentials.
#[derive(Clone)]
pub struct GitHubSettings {
    /// OAuth app client id.
    pub client_id: String,
    /// OAuth app client secret.
    pub client_secret: String,
    /// Authorization endpoint.
    pub authorize_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// REST API base (`/user`, `/user/emails`).
    pub api_url: String,
}

/// GitHub sign-in (OAuth 2.0 and the REST API).
pub struct GitHubProvider {
    settings: GitHubSettings,
    http: reqwest::Client,
}

impl std::fmt::Debug for GitHubProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubProvider")
            .field("client_id", &self.settings.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct GitHubUser {
    id: i64,
    #[serde(default)]
    login: Option<String>,
}

#[derive(Deserialize)]
struct GitHubEmail {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

impl GitHubProvider {
    /// A GitHub provider.
    pub fn new(settings: GitHubSettings) -> Result<Self, String> {
        for (name, url) in [
            ("WARDEN_GITHUB_AUTHORIZE_URL", &settings.authorize_url),
            ("WARDEN_GITHUB_TOKEN_URL", &settings.token_url),
            ("WARDEN_GITHUB_API_URL", &settings.api_url),
        ] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!("{name} must be an http(s) URL"));
            }
        }
        Ok(Self {
            settings,
            http: client()?,
        })
    }

    fn api(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!(
                "{}{path}",
                self.settings.api_url.trim_end_matches('/')
            ))
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
    }
}

#[async_trait]
impl OAuthProvider for GitHubProvider {
    fn name(&self) -> &str {
        "github"
    }

    fn display_name(&self) -> &str {
        "GitHub"
    }

    fn uses_nonce(&self) -> bool {
        false
    }

    async fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        pkce_challenge: &str,
        _nonce: Option<&str>,
    ) -> Result<String, Error> {
        Ok(with_query(
            &self.settings.authorize_url,
            &[
                ("client_id", self.settings.client_id.as_str()),
                ("redirect_uri", redirect_uri),
                ("scope", "read:user user:email"),
                ("state", state),
                ("code_challenge", pkce_challenge),
                ("code_challenge_method", "S256"),
                ("allow_signup", "true"),
            ],
        ))
    }

    async fn exchange(
        &self,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        _nonce: Option<&str>,
    ) -> Result<ExternalProfile, Error> {
        let s = &self.settings;
        let req = self
            .http
            .post(&s.token_url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("client_id", s.client_id.as_str()),
                ("client_secret", s.client_secret.as_str()),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", pkce_verifier),
            ]);
        let answer: TokenAnswer = read_json("github", "code", req.send().await).await?;
        // GitHub answers refused codes with 200 and an `error` field.
        let token = match (answer.access_token, answer.error) {
            (Some(t), None) if !t.is_empty() => t,
            (_, err) => {
                let code: String = err
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(64)
                    .collect();
                return Err(Error::OAuthFailed(format!(
                    "the provider refused the code ({code})"
                )));
            }
        };
        let user: GitHubUser =
            read_json("github", "user", self.api("/user", &token).send().await).await?;
        let emails: Vec<GitHubEmail> = read_json(
            "github",
            "emails",
            self.api("/user/emails", &token).send().await,
        )
        .await?;
        let primary = emails.into_iter().find(|e| e.primary && e.verified);
        Ok(ExternalProfile {
            provider: "github".into(),
            subject: user.id.to_string(),
            email_verified: primary.is_some(),
            email: primary.map(|e| e.email),
            preferred_login: user.login,
        })
    }
}

/// The OAuth configuration of a server configuration; `None` when no
/// provider is configured.
pub fn from_config(cfg: &Config) -> Result<Option<OAuthConfig>, String> {
    let mut providers: Vec<Arc<dyn OAuthProvider>> = Vec::new();
    let set = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    match (set(&cfg.google_client_id), set(&cfg.google_client_secret)) {
        (Some(client_id), Some(client_secret)) => {
            providers.push(Arc::new(OidcProvider::new(OidcSettings {
                name: "google".into(),
                display_name: Some("Google".into()),
                issuer: cfg.google_issuer.clone(),
                client_id,
                client_secret,
                scopes: None,
            })?));
        }
        (None, None) => {}
        _ => return Err("WARDEN_GOOGLE_CLIENT_ID and _SECRET go together".into()),
    }
    match (set(&cfg.github_client_id), set(&cfg.github_client_secret)) {
        (Some(client_id), Some(client_secret)) => {
            providers.push(Arc::new(GitHubProvider::new(GitHubSettings {
                client_id,
                client_secret,
                authorize_url: cfg.github_authorize_url.clone(),
                token_url: cfg.github_token_url.clone(),
                api_url: cfg.github_api_url.clone(),
            })?));
        }
        (None, None) => {}
        _ => return Err("WARDEN_GITHUB_CLIENT_ID and _SECRET go together".into()),
    }
    for o in &cfg.oidc_providers {
        if providers.iter().any(|p| p.name() == o.name) {
            return Err(format!("OIDC provider {:?} is configured twice", o.name));
        }
        providers.push(Arc::new(OidcProvider::new(o.clone())?));
    }
    let redirect_allowlist: Vec<String> = cfg
        .redirect_allowlist
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    for entry in &redirect_allowlist {
        if !(entry.starts_with("https://") || entry.starts_with("http://"))
            || entry.contains(['\\', ' ', '@'])
        {
            return Err(format!(
                "WARDEN_REDIRECT_ALLOWLIST: {entry:?} is not an http(s) origin or URL prefix"
            ));
        }
    }
    if providers.is_empty() {
        return Ok(None);
    }
    Ok(Some(OAuthConfig {
        providers,
        public_url: cfg.public_url.trim_end_matches('/').to_owned(),
        redirect_allowlist,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn oidc_vars_are_grouped() {
        let vars = [
            ("WARDEN_OIDC_MY_IDP_ISSUER", "https://idp.example.com"),
            ("WARDEN_OIDC_MY_IDP_CLIENT_ID", "id"),
            ("WARDEN_OIDC_MY_IDP_CLIENT_SECRET", "s"),
            ("WARDEN_OIDC_MY_IDP_SCOPES", "openid,email"),
            ("WARDEN_OTHER", "x"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let list = oidc_from_env(vars.into_iter()).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "my-idp");
        assert_eq!(list[0].client_id, "id");
        assert_eq!(scopes(list[0].scopes.as_deref(), "x"), "openid email");
        assert!(oidc_var("WARDEN_OIDC__ISSUER").is_none());
    }
}
