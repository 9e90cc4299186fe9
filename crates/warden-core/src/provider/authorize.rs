//! The authorization endpoint's rules (the hosted pages drive the browser):
//! check the request, decide whether the account must sign in again or
//! consent, and issue the single-use code. Errors that can be told to the
//! client go back to its registered redirect URI (RFC 6749 §4.1.2.1, with
//! `iss` per RFC 9207); an unknown client or an unregistered redirect URI
//! never redirects.

use super::clients::redirect_registered;
use super::{CODE_TTL_SECS, OAuthError, Provider, is_oidc_scope, parse_scope};
use crate::error::Result;
use crate::model::{Account, ClientInfo, Session};
use crate::random;
use crate::store::{AuthCode, CodeGrant, Consent, OAuthClient};
use time::Duration;

/// The query of an authorization request, as sent.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct AuthorizeRequest {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The client.
    pub client_id: Option<String>,
    /// A registered redirect URI.
    pub redirect_uri: Option<String>,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// Opaque value returned to the client.
    pub state: Option<String>,
    /// Put into the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method (`S256` only).
    pub code_challenge_method: Option<String>,
    /// `none`, `login`, `consent` (space-separated).
    pub prompt: Option<String>,
    /// Maximum seconds since the account signed in.
    pub max_age: Option<String>,
    /// The login to prefill on the sign-in page.
    pub login_hint: Option<String>,
}

/// A checked authorization request.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The client.
    pub client: OAuthClient,
    /// The (registered) redirect URI.
    pub redirect_uri: String,
    /// The client's `state`.
    pub state: Option<String>,
    /// Requested scopes (allowed for the client).
    pub scopes: Vec<String>,
    /// The `nonce`.
    pub nonce: Option<String>,
    /// The S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt=none`.
    pub prompt_none: bool,
    /// `prompt=login`.
    pub prompt_login: bool,
    /// `prompt=consent`.
    pub prompt_consent: bool,
    /// `max_age` in seconds.
    pub max_age: Option<i64>,
    /// `login_hint`.
    pub login_hint: Option<String>,
}

/// Why an authorization request failed.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or the redirect URI cannot be trusted: show this on a page.
    Page(String),
    /// Tell the client: redirect there with the error.
    Redirect {
        /// Where.
        location: String,
    },
    /// Warden failed.
    Engine(crate::Error),
}

impl From<crate::Error> for AuthorizeError {
    fn from(e: crate::Error) -> Self {
        Self::Engine(e)
    }
}

/// What the browser must do next for a checked request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Sign in (again): no session, `prompt=login`, or older than `max_age`.
    SignIn,
    /// Show the consent page.
    Consent,
    /// Issue the code now.
    Grant,
}

/// A URL with query parameters appended.
fn with_query(base: &str, params: &[(&str, Option<&str>)]) -> String {
    let Ok(mut url) = url::Url::parse(base) else {
        return base.to_owned();
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
    }
    url.into()
}

fn pkce_ok(challenge: &str) -> bool {
    (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

impl Provider {
    /// Where to send the browser with an error for the client.
    pub fn error_location(
        &self,
        redirect_uri: &str,
        state: Option<&str>,
        error: &OAuthError,
    ) -> String {
        let description = match error {
            OAuthError::Protocol { description, .. } => description.clone(),
            OAuthError::Engine(_) => "the server failed; try again".to_owned(),
        };
        with_query(
            redirect_uri,
            &[
                ("error", Some(error.code())),
                ("error_description", Some(&description)),
                ("state", state),
                ("iss", Some(self.issuer())),
            ],
        )
    }

    /// Check an authorization request: the client and redirect URI first
    /// (failures: [`AuthorizeError::Page`]), then the rest (failures:
    /// [`AuthorizeError::Redirect`] to the client).
    pub async fn check_authorize(
        &self,
        req: &AuthorizeRequest,
    ) -> std::result::Result<Checked, AuthorizeError> {
        let Some(client_id) = req.client_id.as_deref().filter(|c| !c.is_empty()) else {
            return Err(AuthorizeError::Page("The request names no client.".into()));
        };
        let Some(client) = self.store.oauth_client(client_id).await? else {
            return Err(AuthorizeError::Page(
                "The application is not registered.".into(),
            ));
        };
        let redirect_uri = match req.redirect_uri.as_deref() {
            Some(r) if redirect_registered(&client, r) => r.to_owned(),
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            _ => {
                return Err(AuthorizeError::Page(
                    "The redirect URI is not registered for this application.".into(),
                ));
            }
        };
        let state = req.state.clone();
        let fail = |e: OAuthError| AuthorizeError::Redirect {
            location: self.error_location(&redirect_uri, state.as_deref(), &e),
        };
        if !client.grant_types.iter().any(|g| g == "authorization_code") {
            return Err(fail(OAuthError::new(
                "unauthorized_client",
                "the client may not use the authorization code grant",
            )));
        }
        match req.response_type.as_deref() {
            Some("code") => {}
            Some(_) => {
                return Err(fail(OAuthError::new(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                )));
            }
            None => return Err(fail(OAuthError::request("response_type is missing"))),
        }
        let scopes = parse_scope(req.scope.as_deref());
        if let Some(bad) = (scopes.iter()).find(|s| !is_oidc_scope(s) && !client.scopes.contains(s))
        {
            return Err(fail(OAuthError::new(
                "invalid_scope",
                format!("the client may not ask for {bad:?}"),
            )));
        }
        let code_challenge = req.code_challenge.clone().filter(|c| !c.is_empty());
        match (&code_challenge, req.code_challenge_method.as_deref()) {
            (None, _) if client.public => {
                return Err(fail(OAuthError::request(
                    "a public client must use PKCE (code_challenge with S256)",
                )));
            }
            (None, Some(_)) => {
                return Err(fail(OAuthError::request("code_challenge is missing")));
            }
            (Some(_), m) if m != Some("S256") => {
                return Err(fail(OAuthError::request(
                    "code_challenge_method must be S256",
                )));
            }
            (Some(c), _) if !pkce_ok(c) => {
                return Err(fail(OAuthError::request("code_challenge is malformed")));
            }
            _ => {}
        }
        let prompts = parse_scope(req.prompt.as_deref());
        if let Some(bad) = prompts
            .iter()
            .find(|p| !matches!(p.as_str(), "none" | "login" | "consent"))
        {
            return Err(fail(OAuthError::request(format!(
                "prompt {bad:?} is not supported"
            ))));
        }
        let prompt_none = prompts.iter().any(|p| p == "none");
        if prompt_none && prompts.len() > 1 {
            return Err(fail(OAuthError::request(
                "prompt=none cannot be combined with other values",
            )));
        }
        let max_age = match req.max_age.as_deref().filter(|m| !m.is_empty()) {
            None => None,
            Some(m) => match m.parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    return Err(fail(OAuthError::request(
                        "max_age must be a number of seconds",
                    )));
                }
            },
        };
        Ok(Checked {
            client,
            redirect_uri,
            state: req.state.clone(),
            scopes,
            nonce: req.nonce.clone().filter(|n| !n.is_empty()),
            code_challenge,
            prompt_none,
            prompt_login: prompts.iter().any(|p| p == "login"),
            prompt_consent: prompts.iter().any(|p| p == "consent"),
            max_age,
            login_hint: req.login_hint.clone().filter(|h| !h.is_empty()),
        })
    }

    /// What comes next for `checked`, with the browser's signed-in
    /// `session` (if any). `reauthenticated_after`: the unix time after which
    /// a sign-in satisfies `prompt=login` (set once the browser came back
    /// from signing in again).
    pub async fn next_step(
        &self,
        checked: &Checked,
        signed: Option<(&Account, &Session)>,
        reauthenticated_after: Option<i64>,
    ) -> Result<Next> {
        let Some((account, session)) = signed else {
            return Ok(Next::SignIn);
        };
        let auth_time = session.created_at.unix_timestamp();
        let fresh_enough = reauthenticated_after.is_some_and(|t| auth_time >= t);
        if checked.prompt_login && !fresh_enough {
            return Ok(Next::SignIn);
        }
        if let Some(max) = checked.max_age
            && self.now().unix_timestamp() - auth_time > max
            && !fresh_enough
        {
            return Ok(Next::SignIn);
        }
        if checked.client.first_party && !checked.prompt_consent {
            return Ok(Next::Grant);
        }
        if checked.prompt_consent {
            return Ok(Next::Consent);
        }
        let consent = self
            .store
            .consent(account.id, &checked.client.client_id)
            .await?;
        let covered = consent.is_some_and(|c| checked.scopes.iter().all(|s| c.scopes.contains(s)));
        Ok(if covered { Next::Grant } else { Next::Consent })
    }

    /// The error location for `prompt=none` when the browser would have to
    /// sign in (`login_required`) or consent (`consent_required`).
    pub fn interaction_required(&self, checked: &Checked, next: &Next) -> Option<String> {
        let error = match next {
            Next::SignIn => OAuthError::new("login_required", "the account must sign in"),
            Next::Consent => OAuthError::new("consent_required", "the account must consent"),
            Next::Grant => return None,
        };
        checked
            .prompt_none
            .then(|| self.error_location(&checked.redirect_uri, checked.state.as_deref(), &error))
    }

    /// The browser refused consent: `access_denied` for the client.
    pub fn denied_location(&self, checked: &Checked) -> String {
        let e = OAuthError::new("access_denied", "the account did not consent");
        self.error_location(&checked.redirect_uri, checked.state.as_deref(), &e)
    }

    /// Issue the authorization code for the account signed in with
    /// `session` (consent recorded when `consented`, or for a first-party
    /// client) and answer where the browser goes: the redirect URI with
    /// `code`, `state` and `iss`. Audit: `oauth.consent_granted`,
    /// `oauth.code_issued`.
    pub async fn grant(
        &self,
        account: &Account,
        session: &Session,
        checked: &Checked,
        consented: bool,
        client: &ClientInfo,
    ) -> Result<String> {
        let cid = &checked.client.client_id;
        let now = self.now();
        // Account scopes only as far as the account has them.
        let scopes: Vec<String> = (checked.scopes.iter())
            .filter(|s| is_oidc_scope(s) || account.has_scope(s))
            .cloned()
            .collect();
        let known = self.store.consent(account.id, cid).await?;
        let covered = known
            .as_ref()
            .is_some_and(|c| scopes.iter().all(|s| c.scopes.contains(s)));
        if consented || !covered {
            let mut all = known.map(|c| c.scopes).unwrap_or_default();
            all.extend(scopes.iter().cloned());
            all.sort();
            all.dedup();
            let consent = Consent {
                account_id: account.id,
                client_id: cid.clone(),
                scopes: all,
                granted_at: now,
            };
            let ev = self.sessions.shared.audit(
                "oauth.consent_granted",
                Some(account.id),
                client,
                serde_json::json!({"client_id": cid, "scopes": consent.scopes, "first_party": !consented}),
            );
            self.store.put_consent(&consent, &ev).await?;
        }
        let code = random::token(32);
        let row = AuthCode {
            hash: random::sha256(code.as_bytes()),
            client_id: cid.clone(),
            account_id: account.id,
            grant: CodeGrant {
                redirect_uri: checked.redirect_uri.clone(),
                code_challenge: checked.code_challenge.clone(),
                nonce: checked.nonce.clone(),
                scopes,
                browser_session: session.id,
                auth_time: session.created_at.unix_timestamp(),
                amr: session.amr.clone(),
            },
            expires_at: now + Duration::seconds(CODE_TTL_SECS),
            used_at: None,
            session_id: None,
        };
        let ev = self.sessions.shared.audit(
            "oauth.code_issued",
            Some(account.id),
            client,
            serde_json::json!({"client_id": cid, "scopes": row.grant.scopes}),
        );
        self.store.insert_auth_code(&row, &ev).await?;
        Ok(with_query(
            &checked.redirect_uri,
            &[
                ("code", Some(&code)),
                ("state", checked.state.as_deref()),
                ("iss", Some(self.issuer())),
            ],
        ))
    }

    /// The consents of an account with their clients (those still registered).
    pub async fn consents(
        &self,
        account: crate::model::AccountId,
    ) -> Result<Vec<(Consent, OAuthClient)>> {
        let mut out = Vec::new();
        for c in self.store.consents_of(account).await? {
            if let Some(client) = self.store.oauth_client(&c.client_id).await? {
                out.push((c, client));
            }
        }
        Ok(out)
    }

    /// Withdraw the account's consent to a client and end the client's
    /// sessions of the account. `NotFound` without a consent. Audit:
    /// `oauth.consent_withdrawn`.
    pub async fn withdraw_consent(
        &self,
        account: crate::model::AccountId,
        client_id: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        let ev = self.sessions.shared.audit(
            "oauth.consent_withdrawn",
            Some(account),
            client,
            serde_json::json!({"client_id": client_id}),
        );
        if !self.store.delete_consent(account, client_id, &ev).await? {
            return Err(crate::Error::NotFound);
        }
        self.revoke_client_sessions(account, client_id, "oauth.consent_withdrawn", client)
            .await
    }
}
