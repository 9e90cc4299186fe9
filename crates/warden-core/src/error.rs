//! The one error type of the Warden domain. Every variant has a stable `code`.

use serde::Serialize;

/// One broken field rule, reported with `validation_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The request field (e.g. `password`).
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

impl FieldError {
    /// Build a field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Errors of the Warden domain. The HTTP layer maps each variant to a status and
/// a stable machine-readable `code` (see API.md).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Malformed input (400 `bad_request`).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No credentials on a protected route (401).
    #[error("authentication required")]
    Unauthenticated,
    /// Bad signature, malformed token, wrong alg/iss/aud or revoked session (401).
    #[error("invalid token")]
    InvalidToken,
    /// Access token past `exp` (401).
    #[error("token expired")]
    TokenExpired,
    /// Wrong login or password (401); identical for unknown logins.
    #[error("login or password is wrong")]
    InvalidCredentials,
    /// Unknown, expired or revoked refresh token (401).
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// An already rotated refresh token was presented: the session is revoked (401).
    #[error("refresh token reused; the session has been revoked")]
    RefreshTokenReused,
    /// The route needs a fresh access token (401).
    #[error("a fresh token is required")]
    FreshTokenRequired,
    /// Wrong TOTP or recovery code (401).
    #[error("invalid MFA code")]
    InvalidMfaCode,
    /// The second factor has not been passed (401).
    #[error("second factor required")]
    MfaRequired,
    /// Unknown, revoked or expired API key (401).
    #[error("invalid API key")]
    InvalidApiKey,
    /// Unknown, expired or used mail token (verification, reset, email change) (400).
    #[error("invalid or expired token")]
    InvalidMailToken,
    /// Authenticated but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// Account blocked by an admin (403).
    #[error("account is blocked")]
    AccountBlocked,
    /// Account not active (403).
    #[error("account is not active")]
    AccountInactive,
    /// Unknown resource, or one that belongs to another account (404).
    #[error("not found")]
    NotFound,
    /// Login already taken (409).
    #[error("login is taken")]
    LoginTaken,
    /// Email already taken (409).
    #[error("email is taken")]
    EmailTaken,
    /// Body over the limit (413).
    #[error("payload too large")]
    PayloadTooLarge,
    /// Field rules broken (422).
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// Lockout or rate limit (429) with the seconds to wait.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until another attempt may succeed.
        retry_after: u64,
    },
    /// A dependency (store, counter backend) cannot be reached (503).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The human-check (captcha) provider cannot be reached (503).
    #[error("the human check is unavailable; try again")]
    CaptchaUnavailable,
    /// The external identity is already linked to an account (409).
    #[error("this external identity is already linked to an account")]
    IdentityTaken,
    /// Removing this would leave the account with no way to sign in (409).
    #[error("this is the last way to sign in; set a password or link another identity first")]
    LastSignInMethod,
    /// An OAuth / OpenID Connect sign-in failed: denied consent, bad or used
    /// `state` or `code`, an ID token that does not verify (400). The text is
    /// safe to show.
    #[error("external sign-in failed: {0}")]
    OAuthFailed(String),
    /// The OAuth / OpenID Connect provider cannot be reached or answered
    /// nonsense (502).
    #[error("the sign-in provider is unavailable; try again")]
    OAuthProviderUnavailable,
    /// Anything else (500). The message is logged, never sent to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable machine-readable code of API.md.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Unauthenticated => "unauthenticated",
            Error::InvalidToken => "invalid_token",
            Error::TokenExpired => "token_expired",
            Error::InvalidCredentials => "invalid_credentials",
            Error::InvalidRefreshToken => "invalid_refresh_token",
            Error::RefreshTokenReused => "refresh_token_reused",
            Error::FreshTokenRequired => "fresh_token_required",
            Error::InvalidMfaCode => "invalid_mfa_code",
            Error::MfaRequired => "mfa_required",
            Error::InvalidApiKey => "invalid_api_key",
            Error::InvalidMailToken => "invalid_token",
            Error::Forbidden(_) => "forbidden",
            Error::AccountBlocked => "account_blocked",
            Error::AccountInactive => "account_inactive",
            Error::NotFound => "not_found",
            Error::LoginTaken => "login_taken",
            Error::EmailTaken => "email_taken",
            Error::PayloadTooLarge => "payload_too_large",
            Error::Validation(_) => "validation_failed",
            Error::TooManyAttempts { .. } => "too_many_attempts",
            Error::Unavailable(_) => "service_unavailable",
            Error::CaptchaUnavailable => "captcha_unavailable",
            Error::IdentityTaken => "identity_taken",
            Error::LastSignInMethod => "last_sign_in_method",
            Error::OAuthFailed(_) => "oauth_failed",
            Error::OAuthProviderUnavailable => "oauth_provider_unavailable",
            Error::Internal(_) => "internal_error",
        }
    }

    /// The HTTP status this error maps to.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) | Error::InvalidMailToken | Error::OAuthFailed(_) => 400,
            Error::Unauthenticated
            | Error::InvalidToken
            | Error::TokenExpired
            | Error::InvalidCredentials
            | Error::InvalidRefreshToken
            | Error::RefreshTokenReused
            | Error::FreshTokenRequired
            | Error::InvalidMfaCode
            | Error::MfaRequired
            | Error::InvalidApiKey => 401,
            Error::Forbidden(_) | Error::AccountBlocked | Error::AccountInactive => 403,
            Error::NotFound => 404,
            Error::LoginTaken
            | Error::EmailTaken
            | Error::IdentityTaken
            | Error::LastSignInMethod => 409,
            Error::OAuthProviderUnavailable => 502,
            Error::PayloadTooLarge => 413,
            Error::Validation(_) => 422,
            Error::TooManyAttempts { .. } => 429,
            Error::Unavailable(_) | Error::CaptchaUnavailable => 503,
            Error::Internal(_) => 500,
        }
    }

    /// The text safe to show a client. 5xx never carry internals.
    pub fn public_detail(&self) -> String {
        match self {
            Error::Internal(_) => "internal error".to_owned(),
            Error::Unavailable(_) => "a backing service is unavailable; try again".to_owned(),
            other => other.to_string(),
        }
    }

    /// Shorthand for a single-field validation error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    /// Shorthand for an internal error from anything displayable.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }
}

/// Result alias of the domain.
pub type Result<T, E = Error> = std::result::Result<T, E>;
