//! Passkey (WebAuthn) routes: registration for a signed-in account,
//! passkey-only sign-up, discoverable sign-in, list / rename / delete, and
//! the admin counterparts.
//!
//! Every ceremony is `begin` → `navigator.credentials.create()` / `get()` →
//! `finish`. `begin` answers `{challenge_id, options}`; `options` is
//! `{"publicKey": {...}}` with binary fields (`challenge`, `user.id`,
//! `excludeCredentials[].id`, `allowCredentials[].id`) in base64url, to be
//! decoded to `ArrayBuffer`s before the call. `finish` takes the credential
//! as JSON with binary fields in base64url (`PublicKeyCredential.toJSON()`
//! gives exactly that), plus `authenticatorAttachment`.

use super::auth::token_response;
use super::{json, parse_id};
use crate::Warden;
use crate::error::{ApiError, ApiJson, Problem};
use crate::extract::{AdminCaller, Authenticated, Client, current_account};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_core::model::AccountId;
use warden_core::store::Passkey;
use warden_core::{Error, PasskeyChallenge};

type ApiResult<T = Response> = Result<T, ApiError>;

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A registered passkey.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PasskeyBody {
    /// Passkey id (UUID v7).
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Registration time (RFC 3339).
    pub created_at: String,
    /// Last sign-in with it (RFC 3339), if any.
    pub last_used_at: Option<String>,
    /// The authenticator may sync it to other devices (a synced passkey).
    pub backup_eligible: bool,
    /// It is currently backed up / synced.
    pub backup_state: bool,
}

impl From<&Passkey> for PasskeyBody {
    fn from(p: &Passkey) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
            backup_eligible: p.backup_eligible,
            backup_state: p.backup_state,
        }
    }
}

/// The answer of every `begin` route.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyChallengeBody {
    /// Send it back to the matching `finish` route within 5 minutes; single use.
    pub challenge_id: String,
    /// `{"publicKey": PublicKeyCredentialCreationOptions | PublicKeyCredentialRequestOptions}`
    /// with binary fields in base64url.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

impl From<PasskeyChallenge> for PasskeyChallengeBody {
    fn from(c: PasskeyChallenge) -> Self {
        Self {
            challenge_id: c.challenge_id,
            options: c.options,
        }
    }
}

/// `POST /passkeys/register/begin`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RegisterBeginBody {
    /// A name for the new passkey (1–64 characters; default `Passkey`).
    #[serde(default)]
    pub name: Option<String>,
}

/// `POST /passkeys/register/finish`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterFinishBody {
    /// From `register/begin`.
    pub challenge_id: String,
    /// The result of `navigator.credentials.create()` as JSON (binary fields base64url).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// A name; overrides the one given to `begin`.
    #[serde(default)]
    pub name: Option<String>,
}

/// `POST /passkeys/signup/begin`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupBeginBody {
    /// Login (the rules of `/register`).
    pub login: String,
    /// Email (required when accounts must verify their email).
    #[serde(default)]
    pub email: Option<String>,
    /// The captcha response token, when the human check is on.
    #[serde(default)]
    pub captcha: Option<String>,
}

/// `POST /passkeys/signup/finish`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupFinishBody {
    /// From `signup/begin`.
    pub challenge_id: String,
    /// The result of `navigator.credentials.create()` as JSON (binary fields base64url).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// `POST /passkeys/login/finish`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginFinishBody {
    /// From `login/begin`.
    pub challenge_id: String,
    /// The result of `navigator.credentials.get()` as JSON (binary fields
    /// base64url, `response.userHandle` included), with `authenticatorAttachment`.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// Long session (720 h) instead of short (24 h).
    #[serde(default)]
    pub remember: bool,
}

/// `PATCH /passkeys/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameBody {
    /// The new name (1–64 characters).
    pub name: String,
}

fn passkey_id(s: &str) -> Result<Uuid, ApiError> {
    parse_id(s, |s| Uuid::parse_str(s).ok())
}

/// Begin registering a passkey for the signed-in account (a session token;
/// an API key cannot manage passkeys). Its other passkeys are excluded.
#[utoipa::path(post, path = "/auth/passkeys/register/begin", tag = "passkeys", security(("bearer" = [])),
    request_body(content = RegisterBeginBody, description = "optional"),
    responses((status = 200, body = PasskeyChallengeBody, description = "options for navigator.credentials.create()"),
        (status = 401, body = Problem), (status = 403, body = Problem, description = "passkeys not configured; account blocked or inactive"),
        (status = 422, body = Problem, description = "bad name, or 50 passkeys already"), (status = 429, body = Problem)))]
pub async fn register_begin(
    State(w): State<Warden>,
    auth: Authenticated,
    body: Bytes,
) -> ApiResult {
    let b: RegisterBeginBody = optional_json(&body)?;
    let account = current_account(&w, &auth.claims).await?;
    let c = w
        .auth()
        .passkeys()
        .passkey_register_begin(account.id, b.name.as_deref())
        .await?;
    Ok(json(StatusCode::OK, &PasskeyChallengeBody::from(c)))
}

/// Finish registering: the passkey is stored (audit `passkey.registered`).
#[utoipa::path(post, path = "/auth/passkeys/register/finish", tag = "passkeys", security(("bearer" = [])),
    request_body = RegisterFinishBody,
    responses((status = 201, body = PasskeyBody), (status = 400, body = Problem, description = "invalid_token (unknown, used or expired challenge) / bad_request (the credential does not verify: wrong origin, challenge or signature; registered already)"),
        (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn register_finish(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
    ApiJson(b): ApiJson<RegisterFinishBody>,
) -> ApiResult {
    let account = current_account(&w, &auth.claims).await?;
    let p = w
        .auth()
        .passkeys()
        .passkey_register_finish(
            account.id,
            &b.challenge_id,
            &b.credential,
            b.name.as_deref(),
            &client,
        )
        .await?;
    Ok(json(StatusCode::CREATED, &PasskeyBody::from(&p)))
}

/// Begin a passkey-only sign-up (no password). Same login and email rules,
/// closed-registration rule and human check as `/register`.
#[utoipa::path(post, path = "/auth/passkeys/signup/begin", tag = "passkeys", request_body = SignupBeginBody,
    responses((status = 200, body = PasskeyChallengeBody, description = "options for navigator.credentials.create()"),
        (status = 403, body = Problem, description = "registration closed, or passkeys not configured"),
        (status = 409, body = Problem, description = "login_taken / email_taken"),
        (status = 422, body = Problem, description = "field rules; field `captcha`"), (status = 429, body = Problem),
        (status = 503, body = Problem, description = "captcha_unavailable")))]
pub async fn signup_begin(
    State(w): State<Warden>,
    Client(client): Client,
    ApiJson(b): ApiJson<SignupBeginBody>,
) -> ApiResult {
    if let Some(c) = &w.http().captcha {
        c.check(b.captcha.as_deref(), client.ip.as_deref()).await?;
    }
    let c = w
        .auth()
        .passkeys()
        .passkey_signup_begin(&b.login, b.email.as_deref(), &client)
        .await?;
    Ok(json(StatusCode::OK, &PasskeyChallengeBody::from(c)))
}

/// Finish a passkey-only sign-up: the account (without a password) and its
/// passkey are created together and signed in: a TokenPair and cookies as
/// `/login`. When accounts must verify their email first, 201 `{"account"}`
/// and no session.
#[utoipa::path(post, path = "/auth/passkeys/signup/finish", tag = "passkeys", request_body = SignupFinishBody,
    responses((status = 200, body = crate::routes::dto::TokenPairBody, description = "signed in (amr hwk or swk)"),
        (status = 201, body = crate::routes::dto::AccountEnvelope, description = "created, inactive until the email is verified"),
        (status = 400, body = Problem, description = "invalid_token / bad_request (the credential does not verify)"),
        (status = 409, body = Problem, description = "login_taken / email_taken since begin"), (status = 429, body = Problem)))]
pub async fn signup_finish(
    State(w): State<Warden>,
    Client(client): Client,
    ApiJson(b): ApiJson<SignupFinishBody>,
) -> ApiResult {
    let done = w
        .auth()
        .passkeys()
        .passkey_signup_finish(&b.challenge_id, &b.credential, &client)
        .await?;
    metrics::counter!("warden_registrations_total").increment(1);
    match done.tokens {
        Some(pair) => Ok(token_response(&w, &pair)),
        None => Ok(json(
            StatusCode::CREATED,
            &crate::routes::dto::AccountEnvelope {
                account: crate::routes::dto::AccountBody::from(&done.account),
                tokens: None,
            },
        )),
    }
}

/// Begin a passkey sign-in with a discoverable credential: no login name.
/// Send no body or `{}`. The options carry no `mediation`; add
/// `mediation: "conditional"` for the autofill UI.
#[utoipa::path(post, path = "/auth/passkeys/login/begin", tag = "passkeys",
    responses((status = 200, body = PasskeyChallengeBody, description = "options for navigator.credentials.get()"),
        (status = 403, body = Problem, description = "passkeys not configured"), (status = 429, body = Problem)))]
pub async fn login_begin(State(w): State<Warden>) -> ApiResult {
    let c = w.auth().passkeys().passkey_login_begin().await?;
    Ok(json(StatusCode::OK, &PasskeyChallengeBody::from(c)))
}

/// Finish a passkey sign-in: a TokenPair and cookies exactly as `/login`,
/// never an MFA step (a passkey is two factors). The session `amr` is
/// `["hwk"]` when `authenticatorAttachment` is `cross-platform`, else `["swk"]`.
#[utoipa::path(post, path = "/auth/passkeys/login/finish", tag = "passkeys", request_body = LoginFinishBody,
    responses((status = 200, body = crate::routes::dto::TokenPairBody),
        (status = 400, body = Problem, description = "invalid_token (unknown, used or expired challenge) / bad_request (not a credential)"),
        (status = 401, body = Problem, description = "invalid_credentials: unknown passkey, or it does not verify"),
        (status = 403, body = Problem, description = "account_blocked / account_inactive"), (status = 429, body = Problem)))]
pub async fn login_finish(
    State(w): State<Warden>,
    Client(client): Client,
    ApiJson(b): ApiJson<LoginFinishBody>,
) -> ApiResult {
    let outcome = w
        .auth()
        .passkeys()
        .passkey_login_finish(&b.challenge_id, &b.credential, b.remember, &client)
        .await;
    metrics::counter!("warden_logins_total", "outcome" => if outcome.is_ok() { "success" } else { "failure" }).increment(1);
    Ok(token_response(&w, &outcome?))
}

/// The passkeys of the signed-in account, oldest first.
#[utoipa::path(get, path = "/auth/passkeys", tag = "passkeys", security(("bearer" = [])),
    responses((status = 200, body = [PasskeyBody]), (status = 401, body = Problem)))]
pub async fn list(State(w): State<Warden>, auth: Authenticated) -> ApiResult {
    let list = w.auth().passkeys().list(auth.claims.sub).await?;
    let body: Vec<PasskeyBody> = list.iter().map(PasskeyBody::from).collect();
    Ok(json(StatusCode::OK, &body))
}

/// Rename one of the account's passkeys.
#[utoipa::path(patch, path = "/auth/passkeys/{id}", tag = "passkeys", security(("bearer" = [])),
    params(("id" = String, Path, description = "passkey id")), request_body = RenameBody,
    responses((status = 200, body = PasskeyBody), (status = 404, body = Problem, description = "unknown, or another account's"),
        (status = 422, body = Problem)))]
pub async fn rename(
    State(w): State<Warden>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RenameBody>,
) -> ApiResult {
    let id = passkey_id(&id)?;
    let p = w
        .auth()
        .passkeys()
        .rename_passkey(auth.claims.sub, id, &b.name)
        .await?;
    Ok(json(StatusCode::OK, &PasskeyBody::from(&p)))
}

/// Delete one of the account's passkeys. Refused with 409
/// `last_sign_in_method` when the account has no password, no external
/// identity and no other passkey.
#[utoipa::path(delete, path = "/auth/passkeys/{id}", tag = "passkeys", security(("bearer" = [])),
    params(("id" = String, Path, description = "passkey id")),
    responses((status = 204), (status = 404, body = Problem, description = "unknown, or another account's"),
        (status = 409, body = Problem, description = "last_sign_in_method")))]
pub async fn delete(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult {
    let id = passkey_id(&id)?;
    w.auth()
        .passkeys()
        .delete_passkey(auth.claims.sub, id, false, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The passkeys of an account (admin).
#[utoipa::path(get, path = "/auth/admin/accounts/{id}/passkeys", tag = "admin",
    params(("id" = String, Path, description = "account id")), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = [PasskeyBody]), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn admin_list(
    State(w): State<Warden>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let account = parse_id(&id, AccountId::parse)?;
    w.auth().accounts().account(account).await?;
    let list = w.auth().passkeys().list(account).await?;
    let body: Vec<PasskeyBody> = list.iter().map(PasskeyBody::from).collect();
    Ok(json(StatusCode::OK, &body))
}

/// Delete a passkey of an account (admin; audit `passkey.deleted` with
/// `actor: admin`). The last sign-in method rule holds here too.
#[utoipa::path(delete, path = "/auth/admin/accounts/{id}/passkeys/{pid}", tag = "admin",
    params(("id" = String, Path, description = "account id"), ("pid" = String, Path, description = "passkey id")),
    security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "last_sign_in_method")))]
pub async fn admin_delete(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path((id, pid)): Path<(String, String)>,
) -> ApiResult {
    let account = parse_id(&id, AccountId::parse)?;
    let pid = passkey_id(&pid)?;
    w.auth()
        .passkeys()
        .delete_passkey(account, pid, true, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An optional JSON body: empty means the default.
fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError(Error::BadRequest(format!("invalid JSON body: {e}"))))
}
