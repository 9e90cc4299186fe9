//! Email routes: verification, password reset by mail, email change.
//!
//! Mailed links look like `{public_url}{prefix}/email/verify?token=...` and
//! `{public_url}{prefix}/password/reset?token=...`: they are meant for a page
//! or app that POSTs the token to the routes below. `GET /email/verify?token=`
//! answers a tiny HTML page whose button does that POST.

use super::json;
use crate::Warden;
use crate::error::{ApiError, ApiJson, Problem};
use crate::extract::{Client, CurrentAccount};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

type ApiResult<T = Response> = Result<T, ApiError>;

/// `GET /email`.
#[derive(Serialize, ToSchema)]
pub struct EmailStatusBody {
    /// The account's address, if any.
    pub email: Option<String>,
    /// Whether it is verified.
    pub verified: bool,
}

/// `POST /email/verify`.
#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    /// The token of the mailed link.
    pub token: String,
}

/// `POST /password/forgot`.
#[derive(Deserialize, ToSchema)]
pub struct ForgotBody {
    /// The address of the account.
    pub email: String,
    /// The captcha response token, when the human check is on.
    #[serde(default)]
    pub captcha: Option<String>,
}

/// `POST /password/reset`.
#[derive(Deserialize, ToSchema)]
pub struct ResetBody {
    /// The token of the mailed link.
    pub token: String,
    /// The new password (the password rules apply).
    pub new_password: String,
}

/// `POST /email/change`.
#[derive(Deserialize, ToSchema)]
pub struct EmailChangeBody {
    /// The new address; a confirmation link goes there.
    pub new_email: String,
    /// The account's password.
    pub password: String,
}

/// The caller's email address and whether it is verified.
#[utoipa::path(get, path = "/auth/email", tag = "email", security(("bearer" = [])),
    responses((status = 200, body = EmailStatusBody), (status = 401, body = Problem)))]
pub async fn status(CurrentAccount(account): CurrentAccount) -> ApiResult {
    Ok(json(
        StatusCode::OK,
        &EmailStatusBody {
            email: account.email.clone(),
            verified: account.email_verified,
        },
    ))
}

/// Mail a verification link to the caller's address (a newer link voids the older).
#[utoipa::path(post, path = "/auth/email/verification", tag = "email", security(("bearer" = [])),
    responses((status = 202, description = "mail queued"),
        (status = 400, body = Problem, description = "bad_request: no email, or already verified"),
        (status = 401, body = Problem), (status = 429, body = Problem, description = "inside the cool-down (WARDEN_EMAIL_COOLDOWN); Retry-After")))]
pub async fn send_verification(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(account): CurrentAccount,
) -> ApiResult {
    w.auth()
        .email()
        .send_verification(account.id, &client)
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// Use a mailed token: verifies the address, or completes an email change.
#[utoipa::path(post, path = "/auth/email/verify", tag = "email", request_body = TokenBody,
    responses((status = 204), (status = 400, body = Problem, description = "invalid_token: unknown, expired or used"),
        (status = 409, body = Problem, description = "email_taken (email change)")))]
pub async fn verify(
    State(w): State<Warden>,
    Client(client): Client,
    ApiJson(b): ApiJson<TokenBody>,
) -> ApiResult {
    w.auth().email().verify_email(&b.token, &client).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /email/verify?token=`.
#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// A tiny HTML page for the mailed link: its button POSTs the token to
/// `POST /email/verify` (a GET alone changes nothing, so link scanners cannot
/// use the token).
pub async fn verify_page(Query(q): Query<TokenQuery>) -> Response {
    let token = html_escape(q.token.as_deref().unwrap_or_default());
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Confirm email</title></head><body>\
         <p id=\"m\">Confirm your email address.</p><button id=\"b\" data-token=\"{token}\">Confirm</button>\
         <script>document.getElementById('b').onclick=async function(){{\
         var r=await fetch(location.pathname,{{method:'POST',headers:{{'content-type':'application/json'}},\
         body:JSON.stringify({{token:this.dataset.token}})}});\
         document.getElementById('m').textContent=r.status==204?'Your email address is confirmed.':'This link is invalid or has expired.';\
         this.remove();}};</script></body></html>"
    );
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// Mail a password-reset link when an account has this address. Always 202,
/// in the same time: the lookup and the mail happen after the answer.
#[utoipa::path(post, path = "/auth/password/forgot", tag = "email", request_body = ForgotBody,
    responses((status = 202, description = "always, whether or not the address is known"), (status = 429, body = Problem),
        (status = 422, body = Problem, description = "field `captcha` when the human check is on and fails"),
        (status = 503, body = Problem, description = "captcha_unavailable")))]
pub async fn forgot(
    State(w): State<Warden>,
    Client(client): Client,
    ApiJson(b): ApiJson<ForgotBody>,
) -> ApiResult {
    if let Some(c) = &w.http().captcha {
        c.check(b.captcha.as_deref(), client.ip.as_deref()).await?;
    }
    let auth = w.auth().clone();
    tokio::spawn(async move {
        if let Err(e) = auth.email().request_password_reset(&b.email, &client).await {
            tracing::warn!(error = %e, "password reset request failed");
        }
    });
    Ok(StatusCode::ACCEPTED.into_response())
}

/// Set a new password with a mailed token; every session of the account is revoked.
#[utoipa::path(post, path = "/auth/password/reset", tag = "email", request_body = ResetBody,
    responses((status = 204), (status = 400, body = Problem, description = "invalid_token: unknown, expired or used"),
        (status = 422, body = Problem, description = "password rules")))]
pub async fn reset(
    State(w): State<Warden>,
    Client(client): Client,
    ApiJson(b): ApiJson<ResetBody>,
) -> ApiResult {
    w.auth()
        .email()
        .reset_password(&b.token, &b.new_password, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Ask to change the email (needs the password): a link goes to the new
/// address; the change happens when it is used with `POST /email/verify`.
#[utoipa::path(post, path = "/auth/email/change", tag = "email", security(("bearer" = [])), request_body = EmailChangeBody,
    responses((status = 202, description = "confirmation mailed to the new address"),
        (status = 401, body = Problem, description = "invalid_credentials"),
        (status = 409, body = Problem, description = "email_taken"), (status = 422, body = Problem)))]
pub async fn change(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(account): CurrentAccount,
    ApiJson(b): ApiJson<EmailChangeBody>,
) -> ApiResult {
    w.auth()
        .email()
        .request_email_change(account.id, &b.new_email, &b.password, &client)
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
