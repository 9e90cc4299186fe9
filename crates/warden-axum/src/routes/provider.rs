//! The OpenID Provider's JSON endpoints (under the prefix): token
//! (RFC 6749 §3.2), userinfo (OIDC Core §5.3), introspection (RFC 7662),
//! revocation (RFC 7009); and the discovery documents at the root (OIDC
//! Discovery 1.0, RFC 8414). The authorization and logout endpoints are
//! pages (crate `warden-ui`). Errors of the client endpoints are RFC 6749
//! §5.2 JSON (`error`, `error_description`), `invalid_client` with 401.

use crate::Warden;
use crate::error::{ApiError, render};
use crate::extract::Client;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::HashMap;
use warden_core::Error;
use warden_core::provider::grants::TokenRequest;
use warden_core::provider::{GRANT_TYPES, OAuthError, OIDC_SCOPES};
use warden_core::store::OAuthClient;

/// Where the pages of the provider live, for the discovery document.
#[derive(Debug, Clone)]
pub struct ProviderPages {
    /// The authorization endpoint's path (e.g. `/ui/oauth2/authorize`).
    pub authorize: String,
    /// The end-session endpoint's path (e.g. `/ui/oauth2/logout`).
    pub end_session: String,
}

fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// An RFC 6749 §5.2 error answer.
fn oauth_error(e: &OAuthError, basic: bool) -> Response {
    match e {
        OAuthError::Protocol { error, description } => {
            let status = if *error == "invalid_client" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            };
            let mut res = (
                status,
                axum::Json(json!({"error": error, "error_description": description})),
            )
                .into_response();
            if status == StatusCode::UNAUTHORIZED {
                let v = if basic {
                    "Basic realm=\"warden\""
                } else {
                    "Bearer realm=\"warden\""
                };
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(v));
            }
            no_store(res)
        }
        OAuthError::Engine(err) => no_store(render(
            err,
            axum::Json(
                json!({"error": e.code(), "error_description": "the server failed; try again"}),
            ),
        )),
    }
}

/// The form fields of a request body; a repeated field is `invalid_request`.
fn form(body: &Bytes) -> Result<HashMap<String, String>, OAuthError> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(OAuthError::request(format!("{k} is repeated")));
        }
    }
    Ok(out)
}

/// The client credentials of a request: HTTP Basic (`client_secret_basic`,
/// the id and secret form-urlencoded), else the body (`client_secret_post`,
/// or `none` with `client_id` alone). Returns (id, secret, used Basic).
fn credentials(
    headers: &HeaderMap,
    f: &HashMap<String, String>,
) -> Result<(String, Option<String>, bool), OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    if let Some(b64) = basic {
        if f.contains_key("client_secret") {
            return Err(OAuthError::request("use one client authentication method"));
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| OAuthError::client())?;
        let raw = String::from_utf8(raw).map_err(|_| OAuthError::client())?;
        let (id, secret) = raw.split_once(':').ok_or_else(OAuthError::client)?;
        let decode = |s: &str| -> String {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let id = decode(id);
        if f.get("client_id").is_some_and(|c| *c != id) {
            return Err(OAuthError::request(
                "client_id differs from the Basic credentials",
            ));
        }
        return Ok((id, Some(decode(secret)), true));
    }
    let id = f
        .get("client_id")
        .filter(|c| !c.is_empty())
        .ok_or_else(OAuthError::client)?;
    Ok((id.clone(), f.get("client_secret").cloned(), false))
}

/// Authenticate the calling client, then apply the per-client rate limit.
async fn calling_client(
    w: &Warden,
    headers: &HeaderMap,
    f: &HashMap<String, String>,
) -> Result<(OAuthClient, bool), (OAuthError, bool)> {
    let (id, secret, basic) = credentials(headers, f).map_err(|e| (e, false))?;
    let client = w
        .auth()
        .provider()
        .authenticate_client(&id, secret.as_deref())
        .await
        .map_err(|e| (e, basic))?;
    if let Err(secs) = super::limit_key(w, &format!("oauth-client:{}", client.client_id)).await {
        return Err((
            OAuthError::Engine(Error::TooManyAttempts { retry_after: secs }),
            basic,
        ));
    }
    Ok((client, basic))
}

/// The token endpoint (form body): `authorization_code` with PKCE,
/// `refresh_token`, `client_credentials`.
#[utoipa::path(post, path = "/auth/oauth2/token", tag = "oauth-provider",
    request_body(content_type = "application/x-www-form-urlencoded", description = "grant_type, code, redirect_uri, code_verifier, refresh_token, scope, client_id, client_secret"),
    responses((status = 200, description = "RFC 6749 §5.1 token response (with id_token for openid)"), (status = 400, description = "RFC 6749 §5.2 error"), (status = 401, description = "invalid_client")))]
pub async fn token(
    State(w): State<Warden>,
    Client(info): Client,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = match form(&body) {
        Ok(f) => f,
        Err(e) => return oauth_error(&e, false),
    };
    let (client, basic) = match calling_client(&w, &headers, &f).await {
        Ok(c) => c,
        Err((e, basic)) => return oauth_error(&e, basic),
    };
    let get = |k: &str| f.get(k).cloned();
    let req = TokenRequest {
        grant_type: get("grant_type"),
        code: get("code"),
        redirect_uri: get("redirect_uri"),
        code_verifier: get("code_verifier"),
        refresh_token: get("refresh_token"),
        scope: get("scope"),
    };
    match w.auth().provider().token(&client, req, &info).await {
        Ok(t) => no_store((StatusCode::OK, axum::Json(t)).into_response()),
        Err(e) => oauth_error(&e, basic),
    }
}

/// The bearer token of `Authorization`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// Userinfo of a client's access token with the `openid` scope (GET or POST).
#[utoipa::path(get, path = "/auth/oauth2/userinfo", tag = "oauth-provider", security(("bearer" = [])),
    responses((status = 200, description = "sub and the claims of the profile and email scopes"), (status = 401, description = "invalid_token")))]
pub async fn userinfo(State(w): State<Warden>, headers: HeaderMap) -> Result<Response, ApiError> {
    let token = bearer(&headers).ok_or(Error::Unauthenticated)?;
    let claims = w.auth().provider().userinfo(token).await?;
    Ok(no_store(
        (StatusCode::OK, axum::Json(Value::Object(claims))).into_response(),
    ))
}

/// RFC 7662 introspection by an authenticated client.
#[utoipa::path(post, path = "/auth/oauth2/introspect", tag = "oauth-provider",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token, token_type_hint, client authentication"),
    responses((status = 200, description = "{active, ...}"), (status = 401, description = "invalid_client")))]
pub async fn introspect(State(w): State<Warden>, headers: HeaderMap, body: Bytes) -> Response {
    let f = match form(&body) {
        Ok(f) => f,
        Err(e) => return oauth_error(&e, false),
    };
    let (client, basic) = match calling_client(&w, &headers, &f).await {
        Ok(c) => c,
        Err((e, basic)) => return oauth_error(&e, basic),
    };
    let Some(token) = f.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(&OAuthError::request("token is missing"), basic);
    };
    match w.auth().provider().introspect(&client, token).await {
        Ok(v) => no_store((StatusCode::OK, axum::Json(v)).into_response()),
        Err(e) => oauth_error(&OAuthError::Engine(e), basic),
    }
}

/// RFC 7009 revocation by an authenticated client (200 also for unknown tokens).
#[utoipa::path(post, path = "/auth/oauth2/revoke", tag = "oauth-provider",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token, token_type_hint, client authentication"),
    responses((status = 200, description = "revoked (or unknown)"), (status = 401, description = "invalid_client")))]
pub async fn revoke(
    State(w): State<Warden>,
    Client(info): Client,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = match form(&body) {
        Ok(f) => f,
        Err(e) => return oauth_error(&e, false),
    };
    let (client, basic) = match calling_client(&w, &headers, &f).await {
        Ok(c) => c,
        Err((e, basic)) => return oauth_error(&e, basic),
    };
    let Some(token) = f.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(&OAuthError::request("token is missing"), basic);
    };
    match w.auth().provider().revoke(&client, token, &info).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => oauth_error(&e, basic),
    }
}

/// The provider metadata (the same for both discovery documents).
pub(crate) fn metadata(w: &Warden, pages: &ProviderPages) -> Value {
    let issuer = w.auth().provider().issuer().to_owned();
    let api = format!("{issuer}{}", w.http().prefix.trim_end_matches('/'));
    let alg = w.auth().tokens().current_alg().name();
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{}", pages.authorize),
        "token_endpoint": format!("{api}/oauth2/token"),
        "userinfo_endpoint": format!("{api}/oauth2/userinfo"),
        "introspection_endpoint": format!("{api}/oauth2/introspect"),
        "revocation_endpoint": format!("{api}/oauth2/revoke"),
        "end_session_endpoint": format!("{issuer}{}", pages.end_session),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GRANT_TYPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [alg],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": OIDC_SCOPES,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "sid",
            "preferred_username", "name", "updated_at", "email", "email_verified"],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}

/// `GET /.well-known/openid-configuration` and
/// `GET /.well-known/oauth-authorization-server`.
pub(crate) async fn discovery(w: Warden, pages: ProviderPages) -> Response {
    let mut res = (StatusCode::OK, axum::Json(metadata(&w, &pages))).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}
