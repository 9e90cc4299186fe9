//! The token endpoint's grants: `authorization_code` (with PKCE),
//! `refresh_token` (rotating, with the reuse detection of every Warden
//! session) and `client_credentials` (`sub` = the client).

use super::{CLIENT_REFRESH_PREFIX, OAuthError, Provider, is_oidc_scope, parse_scope};
use crate::accounts::check_usable;
use crate::error::Error;
use crate::model::{Account, AccountId, AppSubject, ClientInfo, Session, SessionId};
use crate::random;
use crate::sessions::new_refresh;
use crate::store::{CodeUse, OAuthClient};
use crate::token::SubjectClaims;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

type Res<T> = std::result::Result<T, OAuthError>;

/// A token request's form fields (client authentication apart).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct TokenRequest {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    pub grant_type: Option<String>,
    /// The authorization code.
    pub code: Option<String>,
    /// The redirect URI of the authorization request.
    pub redirect_uri: Option<String>,
    /// The PKCE verifier.
    pub code_verifier: Option<String>,
    /// The refresh token.
    pub refresh_token: Option<String>,
    /// Requested scopes (refresh: a subset; client credentials: of the client's).
    pub scope: Option<String>,
}

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    /// RFC 9068 access token.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: i64,
    /// Rotating refresh token (`wcr_`), when the client has the grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// ID token, for the `openid` scope of a code exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Granted scopes.
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The owner id of a client's own (`client_credentials`) sessions.
pub fn client_owner(client_id: &str) -> AccountId {
    AccountId::of_app_subject(&client_subject(client_id))
}

fn client_subject(client_id: &str) -> String {
    format!("oauth-client:{client_id}")
}

fn allowed(client: &OAuthClient, grant: &str) -> Res<()> {
    if client.grant_types.iter().any(|g| g == grant) {
        Ok(())
    } else {
        Err(OAuthError::new(
            "unauthorized_client",
            format!("the client may not use the {grant} grant"),
        ))
    }
}

/// The scopes of a client session's access token: the OpenID scopes, and
/// the account's scopes as far as the account still has them.
fn live_scopes(account: &Account, scopes: &[String]) -> Vec<String> {
    (scopes.iter())
        .filter(|s| is_oidc_scope(s) || account.has_scope(s))
        .cloned()
        .collect()
}

impl Provider {
    /// Answer a token request of an authenticated client.
    pub async fn token(
        &self,
        client: &OAuthClient,
        req: TokenRequest,
        info: &ClientInfo,
    ) -> Res<TokenResponse> {
        match req.grant_type.as_deref() {
            Some("authorization_code") => self.code_grant(client, req, info).await,
            Some("refresh_token") => self.refresh_grant(client, req, info).await,
            Some("client_credentials") => self.client_grant(client, req, info).await,
            Some(other) => Err(OAuthError::new(
                "unsupported_grant_type",
                format!("{other:?} is not supported"),
            )),
            None => Err(OAuthError::request("grant_type is missing")),
        }
    }

    async fn code_grant(
        &self,
        client: &OAuthClient,
        req: TokenRequest,
        info: &ClientInfo,
    ) -> Res<TokenResponse> {
        allowed(client, "authorization_code")?;
        let code = req
            .code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::request("code is missing"))?;
        let sid = SessionId::new();
        let hash = random::sha256(code.as_bytes());
        let s = &self.sessions;
        let code = match self.store.use_auth_code(&hash, sid, self.now()).await? {
            CodeUse::Fresh(c) => c,
            CodeUse::Invalid => return Err(OAuthError::grant("the code is invalid or expired")),
            CodeUse::Reused(c) => {
                if let Some(issued) = c.session_id {
                    let ev = s.shared.audit(
                        "oauth.code_reused",
                        Some(c.account_id),
                        info,
                        serde_json::json!({"client_id": c.client_id, "session_id": issued}),
                    );
                    s.revoke_one(issued, &ev).await?;
                }
                return Err(OAuthError::grant(
                    "the code was used before; the tokens issued from it are revoked",
                ));
            }
        };
        if code.client_id != client.client_id {
            return Err(OAuthError::grant("the code was issued to another client"));
        }
        if req
            .redirect_uri
            .as_deref()
            .is_some_and(|r| r != code.grant.redirect_uri)
        {
            return Err(OAuthError::grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        match (&code.grant.code_challenge, req.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) => {
                let computed = URL_SAFE_NO_PAD.encode(random::sha256(verifier.as_bytes()));
                if !random::ct_eq(computed.as_bytes(), challenge.as_bytes()) {
                    return Err(OAuthError::grant("code_verifier does not match"));
                }
            }
            (Some(_), None) => return Err(OAuthError::grant("code_verifier is missing")),
            (None, Some(_)) => {
                return Err(OAuthError::grant(
                    "the authorization request had no code_challenge",
                ));
            }
            (None, None) => {}
        }
        let account = match s.accounts.account(code.account_id).await {
            Ok(a) => a,
            Err(Error::NotFound) => return Err(OAuthError::grant("the account is gone")),
            Err(e) => return Err(e.into()),
        };
        check_usable(&account).map_err(|e| OAuthError::grant(e.to_string()))?;
        let amr: Vec<&str> = code.grant.amr.iter().map(String::as_str).collect();
        let long = code.grant.scopes.iter().any(|x| x == "offline_access");
        let mut session = s.new_session(
            account.id,
            long,
            &amr,
            Some(code.grant.scopes.clone()),
            info,
            None,
        );
        session.id = sid;
        session.client_id = Some(client.client_id.clone());
        let (refresh, refresh_hash) = new_refresh(CLIENT_REFRESH_PREFIX);
        let ev = s.shared.audit(
            "oauth.token_issued",
            Some(account.id),
            info,
            serde_json::json!({"client_id": client.client_id, "session_id": sid, "grant_type": "authorization_code"}),
        );
        s.open_session(&session, &refresh_hash, &ev, info).await?;
        let scopes = live_scopes(&account, &code.grant.scopes);
        let (access, expires_in) =
            self.access_token(account.id.to_string(), client, &session, &scopes)?;
        let id_token = if scopes.iter().any(|x| x == "openid") {
            Some(self.id_token(&account, client, &session, &scopes, &code.grant, &access)?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token: access,
            token_type: "Bearer",
            expires_in,
            refresh_token: client
                .grant_types
                .iter()
                .any(|g| g == "refresh_token")
                .then_some(refresh),
            id_token,
            scope: scopes.join(" "),
        })
    }

    async fn refresh_grant(
        &self,
        client: &OAuthClient,
        req: TokenRequest,
        info: &ClientInfo,
    ) -> Res<TokenResponse> {
        allowed(client, "refresh_token")?;
        let token = req
            .refresh_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::request("refresh_token is missing"))?;
        let s = &self.sessions;
        let (session, refresh) = match s.rotate(&token, CLIENT_REFRESH_PREFIX, info).await {
            Ok(r) => r,
            Err(Error::RefreshTokenReused) => {
                return Err(OAuthError::grant(
                    "the refresh token was used before; its session is revoked",
                ));
            }
            Err(Error::InvalidRefreshToken) => {
                return Err(OAuthError::grant("the refresh token is invalid or expired"));
            }
            Err(e) => return Err(e.into()),
        };
        if session.client_id.as_deref() != Some(client.client_id.as_str()) || session.is_app() {
            return Err(OAuthError::grant(
                "the refresh token was issued to another client",
            ));
        }
        let account = match s.accounts.account(session.account_id).await {
            Ok(a) => a,
            Err(Error::NotFound) => return Err(OAuthError::grant("the account is gone")),
            Err(e) => return Err(e.into()),
        };
        check_usable(&account).map_err(|e| OAuthError::grant(e.to_string()))?;
        let mut scopes = live_scopes(&account, session.scopes.as_deref().unwrap_or_default());
        if req.scope.is_some() {
            let asked = parse_scope(req.scope.as_deref());
            if let Some(bad) = asked.iter().find(|x| !scopes.contains(x)) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    format!("{bad:?} was not granted"),
                ));
            }
            scopes = asked;
        }
        let (access, expires_in) =
            self.access_token(account.id.to_string(), client, &session, &scopes)?;
        Ok(TokenResponse {
            access_token: access,
            token_type: "Bearer",
            expires_in,
            refresh_token: Some(refresh),
            id_token: None,
            scope: scopes.join(" "),
        })
    }

    async fn client_grant(
        &self,
        client: &OAuthClient,
        req: TokenRequest,
        info: &ClientInfo,
    ) -> Res<TokenResponse> {
        allowed(client, "client_credentials")?;
        if client.public {
            return Err(OAuthError::new(
                "unauthorized_client",
                "a public client cannot use client_credentials",
            ));
        }
        let scopes = match req.scope.as_deref() {
            None => client.scopes.clone(),
            Some(_) => {
                let asked = parse_scope(req.scope.as_deref());
                if let Some(bad) = asked.iter().find(|x| !client.scopes.contains(x)) {
                    return Err(OAuthError::new(
                        "invalid_scope",
                        format!("the client may not ask for {bad:?}"),
                    ));
                }
                asked
            }
        };
        let s = &self.sessions;
        let owner = client_owner(&client.client_id);
        let app = AppSubject {
            subject: client_subject(&client.client_id),
            claims: serde_json::Map::new(),
        };
        let mut session = s.new_session(
            owner,
            false,
            &["client_secret"],
            Some(scopes.clone()),
            info,
            Some(app),
        );
        session.client_id = Some(client.client_id.clone());
        session.expires_at = session.created_at + s.shared.settings.access_ttl;
        // Never handed out: the client asks again when the token expires.
        let (_, hash) = new_refresh(CLIENT_REFRESH_PREFIX);
        let ev = s.shared.audit(
            "oauth.token_issued",
            Some(owner),
            info,
            serde_json::json!({"client_id": client.client_id, "session_id": session.id, "grant_type": "client_credentials"}),
        );
        s.open_session(&session, &hash, &ev, info).await?;
        let (access, expires_in) =
            self.access_token(client.client_id.clone(), client, &session, &scopes)?;
        Ok(TokenResponse {
            access_token: access,
            token_type: "Bearer",
            expires_in,
            refresh_token: None,
            id_token: None,
            scope: scopes.join(" "),
        })
    }

    /// An RFC 9068 access token of a client session for `sub`, and its lifetime.
    fn access_token(
        &self,
        sub: String,
        client: &OAuthClient,
        session: &Session,
        scopes: &[String],
    ) -> Res<(String, i64)> {
        let tokens = &self.sessions.shared.tokens;
        let mut claims: SubjectClaims = tokens.claims(
            sub,
            session.id,
            scopes,
            false,
            &session.amr,
            session.expires_at,
        );
        claims.iss = self.issuer().to_owned();
        claims.aud = Some(client.client_id.clone());
        claims
            .extra
            .insert("client_id".into(), client.client_id.clone().into());
        let token = tokens.sign(&claims)?;
        Ok((token, claims.exp - claims.iat))
    }
}
