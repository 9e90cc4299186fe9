//! The endpoints around a client's tokens: userinfo (OIDC Core §5.3),
//! introspection (RFC 7662), revocation (RFC 7009) and RP-initiated logout
//! (OIDC RP-Initiated Logout 1.0).

use super::id_token::scope_claims;
use super::{CLIENT_REFRESH_PREFIX, OAuthError, Provider};
use crate::accounts::check_usable;
use crate::error::{Error, Result};
use crate::model::{AccountId, ClientInfo, SessionId};
use crate::store::OAuthClient;
use crate::token::SubjectClaims;
use serde_json::{Map, Value, json};

/// Where RP-initiated logout sends the browser, and what it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Logout {
    /// The registered `post_logout_redirect_uri` (with `state`), if one was asked for.
    pub location: Option<String>,
    /// The client session the hint named, revoked (if it was live).
    pub session: Option<SessionId>,
    /// The account of the hint.
    pub account: Option<AccountId>,
}

impl Provider {
    /// Verify a client's access token: signature, `iss`, `aud` = its
    /// `client_id`, expiry, and that its session is not revoked.
    pub async fn verify_access_token(&self, token: &str) -> Result<SubjectClaims> {
        let s = &self.sessions;
        let claims = s.shared.tokens.verify_client_token(token, self.issuer())?;
        s.admit(&claims).await?;
        Ok(claims)
    }

    /// The userinfo of a client's access token: `sub` and the claims of
    /// its `profile` and `email` scopes. A client-credentials token (no
    /// account) or a token without `openid` is `invalid_token`.
    pub async fn userinfo(&self, token: &str) -> Result<Map<String, Value>> {
        let claims = self.verify_access_token(token).await?;
        let scopes = claims.scopes();
        if !scopes.iter().any(|s| s == "openid") {
            return Err(Error::InvalidToken);
        }
        let id = AccountId::parse(&claims.sub).ok_or(Error::InvalidToken)?;
        let account = match self.sessions.accounts.account(id).await {
            Ok(a) => a,
            Err(Error::NotFound) => return Err(Error::InvalidToken),
            Err(e) => return Err(e),
        };
        check_usable(&account).map_err(|_| Error::InvalidToken)?;
        let mut m = Map::new();
        m.insert("sub".into(), json!(account.id.to_string()));
        m.extend(scope_claims(&account, &scopes));
        Ok(m)
    }

    /// RFC 7662 introspection by an authenticated client: an access token
    /// of that client that is valid and not revoked is `active` with its
    /// claims; anything else (another client's token, a refresh token, an
    /// expired or revoked one) is `{"active": false}`.
    pub async fn introspect(&self, client: &OAuthClient, token: &str) -> Result<Value> {
        let inactive = json!({"active": false});
        let claims = match self.verify_access_token(token).await {
            Ok(c) => c,
            Err(Error::InvalidToken | Error::TokenExpired) => return Ok(inactive),
            Err(e) => return Err(e),
        };
        if claims.aud.as_deref() != Some(client.client_id.as_str()) {
            return Ok(inactive);
        }
        Ok(json!({
            "active": true,
            "scope": claims.scope,
            "client_id": client.client_id,
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "exp": claims.exp,
            "iat": claims.iat,
            "nbf": claims.nbf,
            "jti": claims.jti,
            "sid": claims.sid,
            "token_type": "Bearer",
        }))
    }

    /// RFC 7009 revocation by an authenticated client: an access token of
    /// the client, or a refresh token (`wcr_`), ends its session. Unknown
    /// and already revoked tokens are no error. Audit: `oauth.token_revoked`.
    pub async fn revoke(
        &self,
        client: &OAuthClient,
        token: &str,
        info: &ClientInfo,
    ) -> std::result::Result<(), OAuthError> {
        let s = &self.sessions;
        if token.starts_with(CLIENT_REFRESH_PREFIX) {
            // The store finds a session by its current refresh token only
            // through a rotation: rotate, then end the session.
            let session = match s.rotate(token, CLIENT_REFRESH_PREFIX, info).await {
                Ok((session, _)) => session,
                Err(Error::InvalidRefreshToken | Error::RefreshTokenReused) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let ev = self.revoked_event(client, session.account_id, session.id, info);
            s.revoke_one(session.id, &ev).await?;
            return Ok(());
        }
        let claims = match s.shared.tokens.verify_client_token(token, self.issuer()) {
            Ok(c) => c,
            Err(_) => return Ok(()),
        };
        if claims.aud.as_deref() != Some(client.client_id.as_str()) {
            return Ok(());
        }
        let owner = AccountId::parse(&claims.sub)
            .unwrap_or_else(|| super::grants::client_owner(&client.client_id));
        let ev = self.revoked_event(client, owner, claims.sid, info);
        s.revoke_one(claims.sid, &ev).await?;
        Ok(())
    }

    fn revoked_event(
        &self,
        client: &OAuthClient,
        owner: AccountId,
        sid: SessionId,
        info: &ClientInfo,
    ) -> crate::model::AuditEvent {
        self.sessions.shared.audit(
            "oauth.token_revoked",
            Some(owner),
            info,
            json!({"client_id": client.client_id, "session_id": sid}),
        )
    }

    /// RP-initiated logout: check the `id_token_hint` (signed here, any
    /// age), its client (`client_id` must match when given) and the
    /// `post_logout_redirect_uri` (registered for that client, exactly), then
    /// end the client session the hint names. A redirect is only ever to a
    /// registered URI; without a valid hint there is none. Errors: a
    /// `post_logout_redirect_uri` that is not registered, or a hint of
    /// another client, is a validation error (shown on a page).
    pub async fn end_session(
        &self,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
        info: &ClientInfo,
    ) -> Result<Logout> {
        let hint = match id_token_hint.filter(|h| !h.is_empty()) {
            Some(h) => Some(
                self.sessions
                    .shared
                    .tokens
                    .verify_id_token_hint(h, self.issuer())
                    .map_err(|_| Error::field("id_token_hint", "not an ID token of this issuer"))?,
            ),
            None => None,
        };
        let aud = hint
            .as_ref()
            .and_then(|h| h.get("aud"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let client_id = match (aud, client_id.filter(|c| !c.is_empty())) {
            (Some(a), Some(c)) if a != c => {
                return Err(Error::field("client_id", "differs from the id_token_hint"));
            }
            (Some(a), _) => Some(a),
            (None, c) => c.map(str::to_owned),
        };
        let client = match &client_id {
            Some(c) => self.store.oauth_client(c).await?,
            None => None,
        };
        let location = match (post_logout_redirect_uri.filter(|u| !u.is_empty()), &client) {
            (None, _) => None,
            (Some(uri), Some(c)) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                let mut url = url::Url::parse(uri)
                    .map_err(|_| Error::field("post_logout_redirect_uri", "not a URI"))?;
                if let Some(st) = state {
                    url.query_pairs_mut().append_pair("state", st);
                }
                Some(String::from(url))
            }
            (Some(_), _) => {
                return Err(Error::field(
                    "post_logout_redirect_uri",
                    "not registered for this client",
                ));
            }
        };
        let sid = (hint.as_ref())
            .and_then(|h| h.get("sid"))
            .and_then(Value::as_str)
            .and_then(SessionId::parse);
        let account = (hint.as_ref())
            .and_then(|h| h.get("sub"))
            .and_then(Value::as_str)
            .and_then(AccountId::parse);
        if let (Some(sid), Some(account), Some(c)) = (sid, account, &client) {
            let s = &self.sessions;
            if let Some(session) = s.store.session(sid).await?
                && session.account_id == account
                && session.client_id.as_deref() == Some(c.client_id.as_str())
            {
                let ev = s.shared.audit(
                    "oauth.logout",
                    Some(account),
                    info,
                    json!({"client_id": c.client_id, "session_id": sid}),
                );
                s.revoke_one(sid, &ev).await?;
            }
        }
        Ok(Logout {
            location,
            session: sid,
            account,
        })
    }
}
