//! OAuth 2.0 / OpenID Connect sign-in routes and the identity list.

use super::auth::token_response;
use super::json;
use crate::Warden;
use crate::error::{ApiError, Problem, problem};
use crate::extract::{Authenticated, Client, authenticate};
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warden_core::model::ClientInfo;
use warden_core::oauth::{OAuthState, check_redirect, with_query};
use warden_core::store::Identity;
use warden_core::{Error, LoginOutcome};

type ApiResult<T = Response> = Result<T, ApiError>;

/// One configured sign-in provider.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderBody {
    /// Name in the routes.
    pub name: String,
    /// Name to show.
    pub display_name: String,
}

/// An external identity linked to the account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IdentityBody {
    /// Identity id (for `DELETE /identities/{id}`).
    pub id: uuid::Uuid,
    /// Provider name.
    pub provider: String,
    /// The email the provider reported when it was linked.
    pub email: Option<String>,
    /// When it was linked (RFC 3339).
    pub created_at: String,
}

impl From<&Identity> for IdentityBody {
    fn from(i: &Identity) -> Self {
        Self {
            id: i.id,
            provider: i.provider.clone(),
            email: i.email.clone(),
            created_at: i
                .created_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        }
    }
}

/// Query of the authorize route.
#[derive(Debug, Deserialize)]
pub struct AuthorizeQuery {
    redirect_to: Option<String>,
    link: Option<bool>,
}

/// Query of the callback route.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Whether the client asked for JSON rather than a browser redirect.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

fn found(location: &str) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// An error after the allow-listed `redirect_to` is known: problem+json for
/// JSON clients, else a redirect back with `error` and `error_description`.
fn fail(json_client: bool, redirect_to: &str, e: Error) -> Response {
    if json_client {
        return problem(&e);
    }
    if matches!(e, Error::Internal(_)) {
        tracing::error!(error = %e, "oauth sign-in failed");
    }
    metrics::counter!("warden_oauth_failures_total", "code" => e.code()).increment(1);
    found(&with_query(
        redirect_to,
        &[
            ("error", e.code()),
            ("error_description", &e.public_detail()),
        ],
    ))
}

/// The configured sign-in providers.
#[utoipa::path(get, path = "/auth/oauth/providers", tag = "oauth",
    responses((status = 200, body = [ProviderBody])))]
pub async fn providers(State(w): State<Warden>) -> ApiResult {
    let list: Vec<ProviderBody> = w
        .http()
        .oauth
        .iter()
        .flat_map(|c| c.providers.iter())
        .map(|p| ProviderBody {
            name: p.name().to_owned(),
            display_name: p.display_name().to_owned(),
        })
        .collect();
    Ok(json(StatusCode::OK, &list))
}

/// Start a sign-in (or, with `link=true` and a signed-in caller, the linking
/// of an identity): 302 to the provider with `state`, PKCE S256 and, for
/// OpenID Connect, `nonce`. The state lives 10 minutes, server side, single use.
#[utoipa::path(get, path = "/auth/oauth/{provider}/authorize", tag = "oauth",
    params(("provider" = String, Path, description = "provider name"),
        ("redirect_to" = Option<String>, Query, description = "where to go afterwards: a relative path, or an URL of WARDEN_REDIRECT_ALLOWLIST"),
        ("link" = Option<bool>, Query, description = "link the identity to the signed-in account (needs a bearer token or the access cookie)")),
    responses((status = 302, description = "to the provider"),
        (status = 400, body = Problem, description = "bad_request: redirect_to not allowed"),
        (status = 401, body = Problem, description = "link=true without a signed-in caller"),
        (status = 404, body = Problem, description = "unknown provider"),
        (status = 502, body = Problem, description = "oauth_provider_unavailable (JSON clients; browsers are redirected back with error)")))]
pub async fn authorize(
    State(w): State<Warden>,
    Path(provider): Path<String>,
    Query(q): Query<AuthorizeQuery>,
    mut parts: Parts,
) -> ApiResult {
    let config = w.http().oauth.as_ref().ok_or(Error::NotFound)?;
    let p = config.provider(&provider).ok_or(Error::NotFound)?.clone();
    let redirect_to = check_redirect(&config.redirect_allowlist, q.redirect_to.as_deref())?;
    let mut state = OAuthState::new(p.name(), p.uses_nonce(), redirect_to);
    if q.link == Some(true) {
        state.link_account = Some(authenticate(&mut parts, &w).await?.claims.sub);
    }
    match config
        .start(w.auth(), &w.http().prefix, p.as_ref(), &state)
        .await
    {
        Ok(url) => Ok(found(&url)),
        Err(e @ (Error::Internal(_) | Error::Unavailable(_))) => Err(e.into()),
        Err(e) => Ok(fail(wants_json(&parts.headers), &state.redirect_to, e)),
    }
}

/// The provider sends the browser back here. Signs in (302 to `redirect_to`
/// with the session cookies set, or 200 `TokenPair` for `Accept:
/// application/json`; accounts with a second factor get
/// `{mfa_required, mfa_token, methods}`, or `mfa_required=true&mfa_token=...`
/// on the redirect), or links the identity when the request was started with
/// `link=true` (302 with `linked=<provider>`, or 200 `IdentityBody`). Sessions
/// opened here carry `amr: ["ext"]`. Failures (denied consent, bad code,
/// provider down) are problem+json for JSON clients, else a 302 to
/// `redirect_to` with `error` (the problem `code`) and `error_description`.
#[utoipa::path(get, path = "/auth/oauth/{provider}/callback", tag = "oauth",
    params(("provider" = String, Path, description = "provider name"),
        ("code" = Option<String>, Query, description = "authorization code"),
        ("state" = Option<String>, Query, description = "state of the authorize step"),
        ("error" = Option<String>, Query, description = "error from the provider, e.g. access_denied")),
    responses((status = 200, body = crate::routes::dto::TokenPairBody, description = "JSON clients"),
        (status = 302, description = "browsers: back to redirect_to, with cookies or with error"),
        (status = 400, body = Problem, description = "oauth_failed: unknown state, denied consent, bad code, ID token that does not verify"),
        (status = 403, body = Problem, description = "registration closed, account blocked or inactive"),
        (status = 409, body = Problem, description = "identity_taken / email_taken (an account has the email but the provider does not vouch for it)"),
        (status = 502, body = Problem, description = "oauth_provider_unavailable")))]
pub async fn callback(
    State(w): State<Warden>,
    Path(provider): Path<String>,
    Query(q): Query<CallbackQuery>,
    Client(client): Client,
    headers: HeaderMap,
) -> ApiResult {
    let json_client = wants_json(&headers);
    let Some(state_param) = q.state.as_deref() else {
        return Err(Error::OAuthFailed("the state parameter is missing".into()).into());
    };
    let state = w.auth().identities().oauth_take_state(state_param).await?;
    let result = finish_callback(&w, &provider, &state, &q, &client, json_client).await;
    Ok(match result {
        Ok(res) => res,
        Err(e) => fail(json_client, &state.redirect_to, e),
    })
}

async fn finish_callback(
    w: &Warden,
    provider: &str,
    state: &OAuthState,
    q: &CallbackQuery,
    client: &ClientInfo,
    json_client: bool,
) -> Result<Response, Error> {
    let config = w.http().oauth.as_ref().ok_or(Error::NotFound)?;
    if state.provider != provider {
        return Err(Error::OAuthFailed("state of another provider".into()));
    }
    let p = config.provider(provider).ok_or(Error::NotFound)?;
    if let Some(err) = q.error.as_deref() {
        let err: String = err
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Err(Error::OAuthFailed(format!("the provider answered {err}")));
    }
    let code = q
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or_else(|| Error::OAuthFailed("the code parameter is missing".into()))?;
    let callback = config.callback_url(&w.http().prefix, provider);
    let profile = p
        .exchange(
            &callback,
            code,
            &state.pkce_verifier,
            state.nonce.as_deref(),
        )
        .await?;
    if let Some(account) = state.link_account {
        let identity = w
            .auth()
            .identities()
            .oauth_link(account, &profile, client)
            .await?;
        return Ok(if json_client {
            json(StatusCode::OK, &IdentityBody::from(&identity))
        } else {
            found(&with_query(&state.redirect_to, &[("linked", provider)]))
        });
    }
    let signed_in = w
        .auth()
        .identities()
        .oauth_sign_in(&profile, client)
        .await?;
    metrics::counter!("warden_oauth_logins_total", "provider" => provider.to_owned()).increment(1);
    Ok(match signed_in.outcome {
        LoginOutcome::Tokens(pair) => {
            let mut res = token_response(w, &pair);
            if !json_client {
                *res.status_mut() = StatusCode::FOUND;
                *res.body_mut() = axum::body::Body::empty();
                res.headers_mut().remove(header::CONTENT_TYPE);
                if let Ok(v) = HeaderValue::from_str(&state.redirect_to) {
                    res.headers_mut().insert(header::LOCATION, v);
                }
            }
            res
        }
        LoginOutcome::MfaRequired { mfa_token, methods } => {
            if json_client {
                json(
                    StatusCode::OK,
                    &serde_json::json!({"mfa_required": true, "mfa_token": mfa_token, "methods": methods}),
                )
            } else {
                found(&with_query(
                    &state.redirect_to,
                    &[("mfa_required", "true"), ("mfa_token", &mfa_token)],
                ))
            }
        }
    })
}

/// The external identities linked to the account.
#[utoipa::path(get, path = "/auth/identities", tag = "oauth", security(("bearer" = [])),
    responses((status = 200, body = [IdentityBody]), (status = 401, body = Problem)))]
pub async fn identities(State(w): State<Warden>, auth: Authenticated) -> ApiResult {
    let list = w.auth().identities().list(auth.claims.sub).await?;
    let body: Vec<IdentityBody> = list.iter().map(IdentityBody::from).collect();
    Ok(json(StatusCode::OK, &body))
}

/// Unlink an external identity. Refused with 409 `last_sign_in_method` when
/// the account has no password and this is its only identity.
#[utoipa::path(delete, path = "/auth/identities/{id}", tag = "oauth", security(("bearer" = [])),
    params(("id" = String, Path, description = "identity id")),
    responses((status = 204), (status = 404, body = Problem, description = "unknown, or another account's"),
        (status = 409, body = Problem, description = "last_sign_in_method")))]
pub async fn unlink(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult {
    let id = super::parse_id(&id, |s| uuid::Uuid::parse_str(s).ok())?;
    w.auth()
        .identities()
        .unlink_identity(auth.claims.sub, id, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
