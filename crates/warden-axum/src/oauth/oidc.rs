//! The OpenID Connect provider (Google and any issuer), over the
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

use super::OidcSettings;
use super::http::{TokenAnswer, client, read_json, scopes, unavailable};
use crate::oauth::OAuthProvider;
use async_trait::async_trait;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use warden_core::Error;
use warden_core::oauth::{ExternalProfile, url_encode, with_query};

/// The shortest time between two JWKS fetches for an unknown `kid`.
const JWKS_REFETCH: Duration = Duration::from_secs(60);
/// How long a discovery document is kept.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

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
