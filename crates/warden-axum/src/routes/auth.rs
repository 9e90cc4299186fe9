//! Accounts and sessions routes.

use super::dto::*;
use super::{json, parse_id};
use crate::error::{ApiError, ApiJson, Problem};
use crate::extract::{Authenticated, Client, CurrentAccount, check_csrf, current_account};
use crate::{Warden, cookies};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use warden_core::model::SessionId;
use warden_core::{Error, LoginOutcome, NewAccount, TokenPair};

type ApiResult<T = Response> = Result<T, ApiError>;

/// Answer a token pair as JSON and set the access, refresh and CSRF cookies.
pub(crate) fn token_response(warden: &Warden, pair: &TokenPair) -> Response {
    let mut res = json(StatusCode::OK, &TokenPairBody::from(pair));
    for v in warden.http().cookies.for_pair(pair) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn clear_cookies(warden: &Warden, res: &mut Response) {
    for v in warden.http().cookies.cleared() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Register a new account.
#[utoipa::path(post, path = "/auth/register", tag = "accounts", request_body = RegisterBody,
    responses((status = 201, body = AccountEnvelope, description = "`{account}`; with `WARDEN_REGISTER_SIGNS_IN=true` (and no email verification required) `{account, tokens}` and the login cookies"), (status = 409, body = Problem, description = "login_taken / email_taken"),
        (status = 422, body = Problem, description = "field rules; field `captcha` when the human check is on and fails"), (status = 429, body = Problem), (status = 403, body = Problem, description = "registration closed"),
        (status = 503, body = Problem, description = "captcha_unavailable")))]
pub async fn register(
    State(w): State<Warden>,
    Client(client): Client,
    ApiJson(b): ApiJson<RegisterBody>,
) -> ApiResult {
    if let Some(c) = &w.http().captcha {
        c.check(b.captcha.as_deref(), client.ip.as_deref()).await?;
    }
    let input = NewAccount {
        login: b.login,
        password: b.password,
        email: b.email,
        properties: b.properties,
        ..NewAccount::default()
    };
    let (account, tokens) = w.auth().sessions().register(input, &client).await?;
    metrics::counter!("warden_registrations_total").increment(1);
    let mut res = json(
        StatusCode::CREATED,
        &AccountEnvelope {
            account: AccountBody::from(&account),
            tokens: tokens.as_ref().map(TokenPairBody::from),
        },
    );
    for v in tokens.iter().flat_map(|t| w.http().cookies.for_pair(t)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// Password login.
#[utoipa::path(post, path = "/auth/login", tag = "sessions", request_body = LoginBody,
    responses((status = 200, body = TokenPairBody, description = "TokenPair, or {mfa_required, mfa_token, methods} for an MFA account"),
        (status = 401, body = Problem, description = "invalid_credentials"), (status = 403, body = Problem, description = "account_blocked / account_inactive"),
        (status = 429, body = Problem, description = "lockout or rate limit; Retry-After"),
        (status = 422, body = Problem, description = "field `scopes`: not scopes of the account; field `captcha`: after a failed attempt for the login, when the human check is on"),
        (status = 503, body = Problem, description = "captcha_unavailable")))]
pub async fn login(
    State(w): State<Warden>,
    Client(client): Client,
    ApiJson(b): ApiJson<LoginBody>,
) -> ApiResult {
    crate::captcha::before_login(&w, &b.login, b.captcha.as_deref(), client.ip.as_deref()).await?;
    let outcome = w
        .auth()
        .sessions()
        .login_scoped(&b.login, &b.password, b.remember, b.scopes, &client)
        .await;
    metrics::counter!("warden_logins_total", "outcome" => if outcome.is_ok() { "success" } else { "failure" }).increment(1);
    match outcome? {
        LoginOutcome::Tokens(pair) => match b.organization.as_deref() {
            None => Ok(token_response(&w, &pair)),
            Some(org) => {
                let orgs = w.auth().organizations();
                Ok(token_response(
                    &w,
                    &orgs.after_login(pair, org, &client).await?,
                ))
            }
        },
        LoginOutcome::MfaRequired { mfa_token, methods } => Ok(json(
            StatusCode::OK,
            &serde_json::json!({"mfa_required": true, "mfa_token": mfa_token, "methods": methods}),
        )),
    }
}

/// Rotate the refresh token (from the body, or the refresh cookie).
#[utoipa::path(post, path = "/auth/refresh", tag = "sessions", request_body(content = RefreshBody, description = "or an empty body with the refresh cookie"),
    responses((status = 200, body = TokenPairBody), (status = 401, body = Problem, description = "invalid_refresh_token / refresh_token_reused")))]
pub async fn refresh(
    State(w): State<Warden>,
    Client(client): Client,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let parsed: RefreshBody = if body.iter().all(u8::is_ascii_whitespace) {
        RefreshBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|_| ApiError(Error::BadRequest("malformed JSON body".into())))?
    };
    let token = match parsed.refresh_token {
        Some(t) => t,
        None => {
            let t = cookies::get(&headers, &w.http().cookies.refresh_name)
                .ok_or(ApiError(Error::InvalidRefreshToken))?;
            check_csrf(&method, &headers, &w)?;
            t.to_owned()
        }
    };
    let orgs = w.auth().organizations();
    let pair = orgs
        .refresh(&token, parsed.organization.as_deref(), &client)
        .await;
    metrics::counter!("warden_refreshes_total", "outcome" => if pair.is_ok() { "success" } else { "failure" }).increment(1);
    Ok(token_response(&w, &pair?))
}

/// Revoke the current session.
#[utoipa::path(post, path = "/auth/logout", tag = "sessions", security(("bearer" = [])),
    responses((status = 204, description = "the session's access tokens are refused from now on"), (status = 401, body = Problem)))]
pub async fn logout(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
) -> ApiResult {
    w.auth().sessions().logout(&auth.claims, &client).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    clear_cookies(&w, &mut res);
    Ok(res)
}

/// Revoke every session of the account.
#[utoipa::path(post, path = "/auth/logout/all", tag = "sessions", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout_all(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
) -> ApiResult {
    w.auth()
        .sessions()
        .logout_all(auth.claims.sub, &client)
        .await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    clear_cookies(&w, &mut res);
    Ok(res)
}

/// The signed-in account.
#[utoipa::path(get, path = "/auth/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = AccountBody), (status = 401, body = Problem)))]
pub async fn me(State(w): State<Warden>, CurrentAccount(account): CurrentAccount) -> ApiResult {
    let body = w.account_json().body(&account)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Live sessions of the account.
#[utoipa::path(get, path = "/auth/sessions", tag = "sessions", security(("bearer" = [])),
    responses((status = 200, body = [SessionBody]), (status = 401, body = Problem)))]
pub async fn sessions(State(w): State<Warden>, auth: Authenticated) -> ApiResult {
    let list = w.auth().sessions().list(auth.claims.sub).await?;
    let body: Vec<SessionBody> = list
        .iter()
        .map(|s| SessionBody::new(s, s.id == auth.claims.sid))
        .collect();
    Ok(json(StatusCode::OK, &body))
}

/// Revoke one of the account's sessions.
#[utoipa::path(delete, path = "/auth/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 204), (status = 404, body = Problem, description = "unknown, or another account's")))]
pub async fn revoke_session(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult {
    let sid = parse_id(&id, SessionId::parse)?;
    w.auth()
        .sessions()
        .revoke_own_session(auth.claims.sub, sid, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Change the password (needs a fresh token); other sessions are revoked.
#[utoipa::path(post, path = "/auth/password", tag = "accounts", security(("bearer" = [])), request_body = PasswordBody,
    responses((status = 204), (status = 401, body = Problem, description = "fresh_token_required / invalid_credentials"), (status = 422, body = Problem)))]
pub async fn change_password(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
    ApiJson(b): ApiJson<PasswordBody>,
) -> ApiResult {
    current_account(&w, &auth.claims).await?;
    w.auth()
        .accounts()
        .change_password(&auth.claims, &b.current_password, &b.new_password, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Re-enter the password for a fresh access token in the same session.
#[utoipa::path(post, path = "/auth/fresh", tag = "sessions", security(("bearer" = [])), request_body = FreshBody,
    responses((status = 200, body = TokenPairBody, description = "fresh access token; the refresh token is replaced too"), (status = 401, body = Problem)))]
pub async fn fresh(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
    ApiJson(b): ApiJson<FreshBody>,
) -> ApiResult {
    let pair = w
        .auth()
        .sessions()
        .fresh(&auth.claims, &b.password, &client)
        .await?;
    Ok(token_response(&w, &pair))
}

/// Change the login.
#[utoipa::path(post, path = "/auth/login/change", tag = "accounts", security(("bearer" = [])), request_body = LoginChangeBody,
    responses((status = 200, body = AccountBody), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn change_login(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
    ApiJson(b): ApiJson<LoginChangeBody>,
) -> ApiResult {
    current_account(&w, &auth.claims).await?;
    let account = w
        .auth()
        .accounts()
        .change_login(auth.claims.sub, &b.new_login, &client)
        .await?;
    Ok(json(StatusCode::OK, &AccountBody::from(&account)))
}

/// The public signing keys.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "service",
    responses((status = 200, description = "JWKS: current and still-valid retired keys")))]
pub async fn jwks(State(w): State<Warden>) -> Response {
    let mut res = json(StatusCode::OK, &w.auth().tokens().jwks());
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("public, max-age=300"),
    );
    res
}
