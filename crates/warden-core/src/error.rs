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

/// Errors of the Warden domain, each with a stable machine-readable
/// [`code`](Error::code) (see API.md). The domain knows no transport: the HTTP
/// status and headers of each variant are one table in `warden-axum`
/// (`warden_axum::error::http_parts`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Malformed input.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No credentials on a protected route.
    #[error("authentication required")]
    Unauthenticated,
    /// Bad signature, malformed token, wrong alg/iss/aud or revoked session.
    #[error("invalid token")]
    InvalidToken,
    /// Access token past `exp`.
    #[error("token expired")]
    TokenExpired,
    /// Wrong login or password; identical for unknown logins.
    #[error("login or password is wrong")]
    InvalidCredentials,
    /// Unknown, expired or revoked refresh token.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// An already rotated refresh token was presented: the session is revoked.
    #[error("refresh token reused; the session has been revoked")]
    RefreshTokenReused,
    /// The route needs a fresh access token.
    #[error("a fresh token is required")]
    FreshTokenRequired,
    /// Wrong TOTP or recovery code.
    #[error("invalid MFA code")]
    InvalidMfaCode,
    /// The second factor has not been passed.
    #[error("second factor required")]
    MfaRequired,
    /// Unknown, revoked or expired API key.
    #[error("invalid API key")]
    InvalidApiKey,
    /// Unknown, expired or used mail token (verification, reset, email change).
    #[error("invalid or expired token")]
    InvalidMailToken,
    /// Authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Account blocked by an admin.
    #[error("account is blocked")]
    AccountBlocked,
    /// Account not active.
    #[error("account is not active")]
    AccountInactive,
    /// Unknown resource, or one that belongs to another account.
    #[error("not found")]
    NotFound,
    /// Login already taken.
    #[error("login is taken")]
    LoginTaken,
    /// Email already taken.
    #[error("email is taken")]
    EmailTaken,
    /// Body over the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// Field rules broken.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// Lockout or rate limit, with the seconds to wait.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until another attempt may succeed.
        retry_after: u64,
    },
    /// A dependency (store, counter backend) cannot be reached.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The human-check (captcha) provider cannot be reached.
    #[error("the human check is unavailable; try again")]
    CaptchaUnavailable,
    /// The external identity is already linked to an account.
    #[error("this external identity is already linked to an account")]
    IdentityTaken,
    /// Removing this would leave the account with no way to sign in.
    #[error("this is the last way to sign in; set a password or link another identity first")]
    LastSignInMethod,
    /// The organization slug is another organization's.
    #[error("this slug is taken")]
    SlugTaken,
    /// The change would leave the organization without an owner.
    #[error("an organization must keep at least one owner")]
    LastOwner,
    /// A member or a pending invitation still has the role.
    #[error("the role is in use")]
    RoleInUse,
    /// The organization has a role of that name already (or it is built in).
    #[error("the organization has a role of this name")]
    RoleTaken,
    /// An OAuth / OpenID Connect sign-in failed: denied consent, bad or used
    /// `state` or `code`, an ID token that does not verify. The text is
    /// safe to show.
    #[error("external sign-in failed: {0}")]
    OAuthFailed(String),
    /// The OAuth / OpenID Connect provider cannot be reached or answered
    /// nonsense.
    #[error("the sign-in provider is unavailable; try again")]
    OAuthProviderUnavailable,
    /// The route exists, but not with the request's method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The application is wired wrong (e.g. an extractor needs a layer that is
    /// not installed): a fault of the code, not of the request. The text names
    /// the fix and is shown, as it carries no data.
    #[error("{0}")]
    Misconfigured(String),
    /// Anything else. The message is logged, never sent to the client.
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
            Error::SlugTaken => "slug_taken",
            Error::LastOwner => "last_owner",
            Error::RoleInUse => "role_in_use",
            Error::RoleTaken => "role_taken",
            Error::OAuthFailed(_) => "oauth_failed",
            Error::OAuthProviderUnavailable => "oauth_provider_unavailable",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::Misconfigured(_) | Error::Internal(_) => "internal_error",
        }
    }

    /// The text safe to show a client: internal and backing-service errors
    /// never carry their message.
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
