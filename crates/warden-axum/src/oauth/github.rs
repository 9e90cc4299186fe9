//! GitHub sign-in (OAuth 2.0 only): code exchange, then `GET /user` and
//! `GET /user/emails` (the primary verified address is the verified email).

use super::http::{TokenAnswer, client, read_json};
use crate::oauth::OAuthProvider;
use async_trait::async_trait;
use serde::Deserialize;
use warden_core::Error;
use warden_core::oauth::{ExternalProfile, with_query};

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
