//! The one mapping of [`warden_core::Error`] to HTTP.
//!
//! [`http_parts`] is the table: for each variant the status, the stable
//! `code` and the headers (`Retry-After`, `WWW-Authenticate`). [`render`] is
//! the one place that applies a row to a response and logs internal errors;
//! every rendering of an error goes through it: [`problem`] (RFC 9457
//! problem+json, the API) and the hosted pages' HTML. Middleware and
//! extractors hand an `Error` to these instead of building responses.

use axum::Json;
use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use warden_core::{Error, FieldError};

/// An error answered as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// The problem document (RFC 9457 with Warden's `code` and `errors`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// HTTP reason phrase.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code (see API.md).
    pub code: &'static str,
    /// Human-readable detail.
    pub detail: String,
    /// Field errors (only with `validation_failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldErrorBody>>,
}

/// One field error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    /// Field name.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl From<&FieldError> for FieldErrorBody {
    fn from(f: &FieldError) -> Self {
        Self {
            field: f.field.clone(),
            message: f.message.clone(),
        }
    }
}

/// What HTTP makes of one error: its row in [`http_parts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpParts {
    /// The response status.
    pub status: StatusCode,
    /// The stable machine-readable code of API.md ([`Error::code`]).
    pub code: &'static str,
    /// `Retry-After`, in seconds: when the client may try again.
    pub retry_after: Option<u64>,
    /// The `WWW-Authenticate` challenge (RFC 6750) of a 401.
    pub www_authenticate: Option<&'static str>,
}

/// The challenge of every 401: a bearer token is what is missing or wrong.
const BEARER: Option<&str> = Some("Bearer");

/// `Retry-After` of a 503: a backing service that cannot be reached (a
/// database restarting, Redis reconnecting) is usually back within seconds.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// The one table from domain errors to HTTP: status, code and headers. It
/// names every variant (no catch-all), so a new variant does not compile
/// until it has a row.
pub fn http_parts(e: &Error) -> HttpParts {
    use StatusCode as S;
    const UNAVAILABLE: Option<u64> = Some(UNAVAILABLE_RETRY_AFTER);
    let (status, retry_after, www_authenticate) = match e {
        Error::BadRequest(_) => (S::BAD_REQUEST, None, None),
        Error::InvalidMailToken => (S::BAD_REQUEST, None, None),
        Error::OAuthFailed(_) => (S::BAD_REQUEST, None, None),
        Error::Unauthenticated => (S::UNAUTHORIZED, None, BEARER),
        Error::InvalidToken => (S::UNAUTHORIZED, None, BEARER),
        Error::TokenExpired => (S::UNAUTHORIZED, None, BEARER),
        Error::InvalidCredentials => (S::UNAUTHORIZED, None, BEARER),
        Error::InvalidRefreshToken => (S::UNAUTHORIZED, None, BEARER),
        Error::RefreshTokenReused => (S::UNAUTHORIZED, None, BEARER),
        Error::FreshTokenRequired => (S::UNAUTHORIZED, None, BEARER),
        Error::InvalidMfaCode => (S::UNAUTHORIZED, None, BEARER),
        Error::MfaRequired => (S::UNAUTHORIZED, None, BEARER),
        Error::InvalidApiKey => (S::UNAUTHORIZED, None, BEARER),
        Error::Forbidden(_) => (S::FORBIDDEN, None, None),
        Error::AccountBlocked => (S::FORBIDDEN, None, None),
        Error::AccountInactive => (S::FORBIDDEN, None, None),
        Error::NotFound => (S::NOT_FOUND, None, None),
        Error::MethodNotAllowed => (S::METHOD_NOT_ALLOWED, None, None),
        Error::LoginTaken => (S::CONFLICT, None, None),
        Error::EmailTaken => (S::CONFLICT, None, None),
        Error::IdentityTaken => (S::CONFLICT, None, None),
        Error::LastSignInMethod => (S::CONFLICT, None, None),
        Error::SlugTaken => (S::CONFLICT, None, None),
        Error::LastOwner => (S::CONFLICT, None, None),
        Error::RoleInUse => (S::CONFLICT, None, None),
        Error::RoleTaken => (S::CONFLICT, None, None),
        Error::PayloadTooLarge => (S::PAYLOAD_TOO_LARGE, None, None),
        Error::Validation(_) => (S::UNPROCESSABLE_ENTITY, None, None),
        Error::TooManyAttempts { retry_after } => (S::TOO_MANY_REQUESTS, Some(*retry_after), None),
        Error::Misconfigured(_) => (S::INTERNAL_SERVER_ERROR, None, None),
        Error::Internal(_) => (S::INTERNAL_SERVER_ERROR, None, None),
        Error::OAuthProviderUnavailable => (S::BAD_GATEWAY, None, None),
        Error::Unavailable(_) => (S::SERVICE_UNAVAILABLE, UNAVAILABLE, None),
        Error::CaptchaUnavailable => (S::SERVICE_UNAVAILABLE, UNAVAILABLE, None),
    };
    HttpParts {
        status,
        code: e.code(),
        retry_after,
        www_authenticate,
    }
}

/// Answer `e` with `body`, one rendering of it (the problem document, a
/// page): the status and headers of its row in [`http_parts`]. The one place
/// that sets `Retry-After` and `WWW-Authenticate` for an error, and the one
/// place that logs internal errors (and unreachable backing services).
pub fn render(e: &Error, body: impl IntoResponse) -> Response {
    let parts = http_parts(e);
    if let Error::Internal(msg) | Error::Misconfigured(msg) = e {
        tracing::error!(error = %msg, "internal error");
    } else if let Error::Unavailable(msg) = e {
        tracing::warn!(error = %msg, "backing service unavailable");
    }
    let mut res = body.into_response();
    *res.status_mut() = parts.status;
    let h = res.headers_mut();
    if let Some(secs) = parts.retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(challenge) = parts.www_authenticate {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    res
}

/// The error a problem+json response answers, kept in the response's
/// extensions: a layer that speaks to another audience (the hosted pages
/// answer a person with HTML) renders this value again instead of reading
/// the body back.
#[derive(Debug, Clone)]
pub struct ProblemOf(pub Error);

/// The problem+json rendering of an error (RFC 9457 with Warden's `code` and
/// `errors`), through [`render`]; the response carries [`ProblemOf`].
pub fn problem(e: &Error) -> Response {
    let status = http_parts(e).status;
    let body = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        code: e.code(),
        detail: e.public_detail(),
        errors: match e {
            Error::Validation(v) => Some(v.iter().map(FieldErrorBody::from).collect()),
            _ => None,
        },
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    let mut res = render(e, (headers, bytes));
    res.extensions_mut().insert(ProblemOf(e.clone()));
    res
}

/// The answer to a method a route does not have (405 `method_not_allowed`,
/// axum keeps the `Allow` header): use with
/// `Router::method_not_allowed_fallback`.
pub async fn method_not_allowed() -> ApiError {
    ApiError(Error::MethodNotAllowed)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem(&self.0)
    }
}

/// Map a JSON body rejection: syntax or content type → 400, wrong shape → 422,
/// too large → 413.
pub fn json_rejection(r: &JsonRejection) -> Error {
    match r {
        JsonRejection::JsonDataError(e) => {
            let msg = e.body_text();
            let field = field_from_serde(&msg).unwrap_or_else(|| "body".to_owned());
            Error::field(&field, clean_serde_message(&msg))
        }
        JsonRejection::JsonSyntaxError(_) => Error::BadRequest("malformed JSON body".into()),
        JsonRejection::MissingJsonContentType(_) => {
            Error::BadRequest("expected Content-Type: application/json".into())
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
        _ => Error::BadRequest("could not read the request body".into()),
    }
}

fn field_from_serde(msg: &str) -> Option<String> {
    // "missing field `password`" or "...: invalid type: ... at line"
    if let Some(i) = msg.find("missing field `") {
        let rest = &msg[i + 15..];
        return rest.split('`').next().map(str::to_owned);
    }
    if let Some(i) = msg.find("unknown variant") {
        let _ = i;
    }
    // axum prefixes "Failed to deserialize the JSON body into the target type: <path>: <msg>"
    let after = msg.split("target type: ").nth(1)?;
    let path = after.split(": ").next()?;
    if path
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '[' || c == ']')
    {
        return Some(path.to_owned());
    }
    None
}

fn clean_serde_message(msg: &str) -> String {
    let m = msg.split("target type: ").nth(1).unwrap_or(msg);
    let m = m.rsplit_once(" at line").map(|(a, _)| a).unwrap_or(m);
    m.to_owned()
}

/// `Json<T>` whose rejection is problem+json.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(r) => Err(ApiError(json_rejection(&r))),
        }
    }
}

/// `Query<T>` whose rejection is problem+json (422 naming the parameter).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(r) => Err(ApiError(Error::field(
                "query",
                clean_serde_message(&r.body_text()),
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (Error, u16, &'static str, Option<u64>, Option<&'static str>);

    /// Every variant once, with the row the table must give it: (error,
    /// status, code, Retry-After, WWW-Authenticate). A changed row fails here.
    fn rows() -> Vec<Row> {
        let b = Some("Bearer");
        vec![
            (
                Error::BadRequest("x".into()),
                400,
                "bad_request",
                None,
                None,
            ),
            (Error::Unauthenticated, 401, "unauthenticated", None, b),
            (Error::InvalidToken, 401, "invalid_token", None, b),
            (Error::TokenExpired, 401, "token_expired", None, b),
            (
                Error::InvalidCredentials,
                401,
                "invalid_credentials",
                None,
                b,
            ),
            (
                Error::InvalidRefreshToken,
                401,
                "invalid_refresh_token",
                None,
                b,
            ),
            (
                Error::RefreshTokenReused,
                401,
                "refresh_token_reused",
                None,
                b,
            ),
            (
                Error::FreshTokenRequired,
                401,
                "fresh_token_required",
                None,
                b,
            ),
            (Error::InvalidMfaCode, 401, "invalid_mfa_code", None, b),
            (Error::MfaRequired, 401, "mfa_required", None, b),
            (Error::InvalidApiKey, 401, "invalid_api_key", None, b),
            (Error::InvalidMailToken, 400, "invalid_token", None, None),
            (Error::Forbidden("no".into()), 403, "forbidden", None, None),
            (Error::AccountBlocked, 403, "account_blocked", None, None),
            (Error::AccountInactive, 403, "account_inactive", None, None),
            (Error::NotFound, 404, "not_found", None, None),
            (Error::LoginTaken, 409, "login_taken", None, None),
            (Error::EmailTaken, 409, "email_taken", None, None),
            (Error::PayloadTooLarge, 413, "payload_too_large", None, None),
            (
                Error::field("f", "bad"),
                422,
                "validation_failed",
                None,
                None,
            ),
            (
                Error::TooManyAttempts { retry_after: 42 },
                429,
                "too_many_attempts",
                Some(42),
                None,
            ),
            (
                Error::Unavailable("db".into()),
                503,
                "service_unavailable",
                Some(5),
                None,
            ),
            (
                Error::CaptchaUnavailable,
                503,
                "captcha_unavailable",
                Some(5),
                None,
            ),
            (Error::IdentityTaken, 409, "identity_taken", None, None),
            (
                Error::LastSignInMethod,
                409,
                "last_sign_in_method",
                None,
                None,
            ),
            (
                Error::OAuthFailed("state".into()),
                400,
                "oauth_failed",
                None,
                None,
            ),
            (
                Error::OAuthProviderUnavailable,
                502,
                "oauth_provider_unavailable",
                None,
                None,
            ),
            (
                Error::MethodNotAllowed,
                405,
                "method_not_allowed",
                None,
                None,
            ),
            (
                Error::Misconfigured("add x".into()),
                500,
                "internal_error",
                None,
                None,
            ),
            (
                Error::Internal("boom".into()),
                500,
                "internal_error",
                None,
                None,
            ),
            (Error::SlugTaken, 409, "slug_taken", None, None),
            (Error::LastOwner, 409, "last_owner", None, None),
            (Error::RoleInUse, 409, "role_in_use", None, None),
            (Error::RoleTaken, 409, "role_taken", None, None),
        ]
    }

    /// The rows above name every variant: this match has no catch-all, so a
    /// new variant fails to compile here until it has an expected row.
    fn row_index(e: &Error) -> usize {
        match e {
            Error::BadRequest(_) => 0,
            Error::Unauthenticated => 1,
            Error::InvalidToken => 2,
            Error::TokenExpired => 3,
            Error::InvalidCredentials => 4,
            Error::InvalidRefreshToken => 5,
            Error::RefreshTokenReused => 6,
            Error::FreshTokenRequired => 7,
            Error::InvalidMfaCode => 8,
            Error::MfaRequired => 9,
            Error::InvalidApiKey => 10,
            Error::InvalidMailToken => 11,
            Error::Forbidden(_) => 12,
            Error::AccountBlocked => 13,
            Error::AccountInactive => 14,
            Error::NotFound => 15,
            Error::LoginTaken => 16,
            Error::EmailTaken => 17,
            Error::PayloadTooLarge => 18,
            Error::Validation(_) => 19,
            Error::TooManyAttempts { .. } => 20,
            Error::Unavailable(_) => 21,
            Error::CaptchaUnavailable => 22,
            Error::IdentityTaken => 23,
            Error::LastSignInMethod => 24,
            Error::OAuthFailed(_) => 25,
            Error::OAuthProviderUnavailable => 26,
            Error::MethodNotAllowed => 27,
            Error::Misconfigured(_) => 28,
            Error::Internal(_) => 29,
            Error::SlugTaken => 30,
            Error::LastOwner => 31,
            Error::RoleInUse => 32,
            Error::RoleTaken => 33,
        }
    }

    #[test]
    fn every_variant_has_its_status_code_and_headers() {
        let rows = rows();
        for (i, (e, status, code, retry_after, challenge)) in rows.iter().enumerate() {
            assert_eq!(row_index(e), i, "{e:?} is listed once, in order");
            let p = http_parts(e);
            assert_eq!(p.status.as_u16(), *status, "{e:?}");
            assert_eq!(p.code, *code, "{e:?}");
            assert_eq!(p.code, e.code(), "{e:?}");
            assert_eq!(p.retry_after, *retry_after, "{e:?}");
            assert_eq!(p.www_authenticate, *challenge, "{e:?}");
        }
        assert_eq!(rows.len(), 34);
    }

    #[test]
    fn render_applies_the_row_to_any_body() {
        for (e, status, _, retry_after, challenge) in rows() {
            let res = render(&e, "a page");
            assert_eq!(res.status().as_u16(), status, "{e:?}");
            let h = res.headers();
            assert_eq!(
                h.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()),
                retry_after.map(|s| s.to_string()).as_deref(),
                "{e:?}"
            );
            assert_eq!(
                h.get(header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok()),
                challenge,
                "{e:?}"
            );
        }
    }

    #[tokio::test]
    async fn problem_is_the_json_rendering_of_the_row() {
        for (e, status, code, _, _) in rows() {
            let res = problem(&e);
            assert_eq!(res.status().as_u16(), status);
            assert_eq!(
                res.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
            assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
            assert!(res.extensions().get::<ProblemOf>().is_some());
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            assert_eq!(doc["status"], status, "{e:?}");
            assert_eq!(doc["code"], code, "{e:?}");
            assert_eq!(doc["detail"], e.public_detail().as_str(), "{e:?}");
        }
    }

    #[test]
    fn internals_never_reach_the_client() {
        assert_eq!(
            Error::Internal("secret".into()).public_detail(),
            "internal error"
        );
        assert!(
            !Error::Unavailable("postgres://u:pw@db".into())
                .public_detail()
                .contains("pw")
        );
    }
}
