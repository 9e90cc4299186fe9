//! The one mapping of [`warden_core::Error`] to RFC 9457 problem+json.

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

/// Build the problem response for an error.
pub fn problem(e: &Error) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e {
        Error::Internal(msg) => tracing::error!(error = %msg, "internal error"),
        Error::Unavailable(msg) => tracing::warn!(error = %msg, "backing service unavailable"),
        _ => {}
    }
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
    let mut res = (status, bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Error::TooManyAttempts { retry_after } = e
        && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
    {
        h.insert(header::RETRY_AFTER, v);
    }
    if status == StatusCode::UNAUTHORIZED {
        h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
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

/// Turn a bare error response of the framework (405, 404 without a body) into problem+json.
pub fn ensure_problem(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || res.headers().contains_key(header::CONTENT_TYPE)
    {
        return res;
    }
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "bad_request",
        s if s.is_server_error() => "internal_error",
        _ => "bad_request",
    };
    let body = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        code,
        detail: status.canonical_reason().unwrap_or("error").to_lowercase(),
        errors: None,
    };
    let (mut parts, _) = res.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(
        parts,
        axum::body::Body::from(serde_json::to_vec(&body).unwrap_or_default()),
    )
}
