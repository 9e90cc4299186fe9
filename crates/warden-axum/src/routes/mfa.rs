//! Second-factor routes: TOTP enrolment and removal, and the MFA step of login.

use super::auth::token_response;
use super::json;
use crate::Warden;
use crate::error::{ApiError, ApiJson, Problem};
use crate::extract::{Client, CurrentAccount};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

type ApiResult<T = Response> = Result<T, ApiError>;

/// `POST /mfa/totp/setup`: the new secret, shown once.
#[derive(Serialize, ToSchema)]
pub struct TotpSetupBody {
    /// The secret in base 32 (for typing into an authenticator app).
    pub secret: String,
    /// `otpauth://totp/<issuer>:<login>?secret=...&issuer=...`.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// `POST /mfa/totp/confirm`.
#[derive(Deserialize, ToSchema)]
pub struct MfaCodeBody {
    /// A current 6-digit code of the new secret.
    pub code: String,
}

/// `POST /mfa/totp/confirm`: the recovery codes, shown once.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesBody {
    /// Ten single-use codes (`xxxx-xxxx-xxxx`).
    pub recovery_codes: Vec<String>,
}

/// `DELETE /mfa/totp`.
#[derive(Deserialize, ToSchema)]
pub struct MfaDisableBody {
    /// The account's password.
    pub password: String,
}

/// `POST /login/mfa`.
#[derive(Deserialize, ToSchema)]
pub struct LoginMfaBody {
    /// The `mfa_token` answered by `POST /login`.
    pub mfa_token: String,
    /// A 6-digit TOTP code or a recovery code.
    pub code: String,
}

/// Start TOTP enrolment (not active until confirmed; a second call replaces the pending secret).
#[utoipa::path(post, path = "/auth/mfa/totp/setup", tag = "mfa", security(("bearer" = [])),
    responses((status = 200, body = TotpSetupBody), (status = 400, body = Problem, description = "already enabled"),
        (status = 401, body = Problem)))]
pub async fn totp_setup(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(account): CurrentAccount,
) -> ApiResult {
    let setup = w.auth().mfa().totp_setup(account.id, &client).await?;
    Ok(json(
        StatusCode::OK,
        &TotpSetupBody {
            secret: setup.secret,
            otpauth_uri: setup.otpauth_uri,
            qr_svg: setup.qr_svg,
        },
    ))
}

/// Confirm enrolment with a current code: the second factor is on; the recovery codes are shown once.
#[utoipa::path(post, path = "/auth/mfa/totp/confirm", tag = "mfa", security(("bearer" = [])), request_body = MfaCodeBody,
    responses((status = 200, body = RecoveryCodesBody), (status = 400, body = Problem, description = "no pending setup"),
        (status = 401, body = Problem, description = "invalid_mfa_code")))]
pub async fn totp_confirm(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(account): CurrentAccount,
    ApiJson(b): ApiJson<MfaCodeBody>,
) -> ApiResult {
    let codes = w
        .auth()
        .mfa()
        .totp_confirm(account.id, &b.code, &client)
        .await?;
    Ok(json(
        StatusCode::OK,
        &RecoveryCodesBody {
            recovery_codes: codes,
        },
    ))
}

/// Turn the second factor off (needs the password); the secret and recovery codes are deleted.
#[utoipa::path(delete, path = "/auth/mfa/totp", tag = "mfa", security(("bearer" = [])), request_body = MfaDisableBody,
    responses((status = 204), (status = 401, body = Problem, description = "invalid_credentials")))]
pub async fn totp_disable(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(account): CurrentAccount,
    ApiJson(b): ApiJson<MfaDisableBody>,
) -> ApiResult {
    w.auth()
        .mfa()
        .totp_disable(account.id, &b.password, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Finish a login that answered `mfa_required` with a TOTP or recovery code.
#[utoipa::path(post, path = "/auth/login/mfa", tag = "sessions", request_body = LoginMfaBody,
    responses((status = 200, body = crate::routes::dto::TokenPairBody, description = "TokenPair and cookies; `amr` is [\"pwd\",\"otp\"]"),
        (status = 401, body = Problem, description = "invalid_mfa_code; after 3 wrong codes, on expiry (5 min) or reuse the mfa_token is dead"),
        (status = 403, body = Problem, description = "account_blocked / account_inactive"),
        (status = 429, body = Problem, description = "rate limit")))]
pub async fn login_mfa(
    State(w): State<Warden>,
    Client(client): Client,
    ApiJson(b): ApiJson<LoginMfaBody>,
) -> ApiResult {
    let pair = w
        .auth()
        .mfa()
        .login_mfa(&b.mfa_token, &b.code, &client)
        .await;
    metrics::counter!("warden_mfa_logins_total", "outcome" => if pair.is_ok() { "success" } else { "failure" }).increment(1);
    Ok(token_response(&w, &pair?))
}
