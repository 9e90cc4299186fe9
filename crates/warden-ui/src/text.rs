//! Text and small helpers of the pages: the message of an engine error,
//! form field errors, redirects, template values, URL encoding.

use crate::Ui;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use warden_axum::error::http_parts;
use warden_core::Error;

/// `redirect_to` when it is a local path or an allow-listed URL.
pub fn safe_redirect(ui: &Ui, redirect_to: Option<&str>) -> Option<String> {
    let to = redirect_to.filter(|t| !t.is_empty())?;
    warden_core::oauth::check_redirect(&ui.0.cfg.redirect_allowlist, Some(to)).ok()
}

/// A bare 303.
pub fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// The text shown for an engine error on a page.
pub fn message(e: &Error) -> String {
    match e {
        Error::InvalidCredentials => "Invalid login or password.".into(),
        Error::AccountBlocked => "This account is blocked. Contact the administrator.".into(),
        Error::AccountInactive => {
            "This account is not active yet. Confirm your email address first.".into()
        }
        Error::TooManyAttempts { retry_after } => {
            format!("Too many attempts. Try again in {retry_after} seconds.")
        }
        Error::InvalidMfaCode => "That code is not right. Try the current one.".into(),
        Error::InvalidMailToken => "This link is invalid or has expired.".into(),
        Error::InvalidToken | Error::TokenExpired | Error::Unauthenticated => {
            "Your sign-in has expired. Sign in again.".into()
        }
        Error::Validation(errs) => errs
            .iter()
            .map(|f| format!("{}: {}", f.field.replace('_', " "), f.message))
            .collect::<Vec<_>>()
            .join("; "),
        Error::Internal(_) => "Something went wrong on our side. Try again.".into(),
        Error::Unavailable(_) => "The service is unavailable right now. Try again.".into(),
        other => {
            let mut s = other.to_string();
            if let Some(first) = s.get(..1) {
                let up = first.to_uppercase();
                s.replace_range(..1, &up);
            }
            if !s.ends_with('.') {
                s.push('.');
            }
            s
        }
    }
}

/// Field errors of a validation error, by field name, for the templates'
/// `errors` map; other errors become the page's `alert`.
pub fn form_errors(e: &Error) -> (minijinja::Value, Option<String>) {
    match e {
        Error::Validation(errs) => {
            let map: std::collections::BTreeMap<String, String> = errs
                .iter()
                .map(|f| (f.field.clone(), f.message.clone()))
                .collect();
            (to_value(&map), None)
        }
        other => (minijinja::Value::from(()), Some(message(other))),
    }
}

/// The HTTP status of an engine error: its row in the one table
/// ([`warden_axum::error::http_parts`]).
pub fn status_of(e: &Error) -> StatusCode {
    http_parts(e).status
}

/// Any serializable value as a template value.
pub fn to_value<T: Serialize>(v: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

/// Percent-encode a query value.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
