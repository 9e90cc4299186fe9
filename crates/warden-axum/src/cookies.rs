//! Cookie parsing and the `Set-Cookie` values for access, refresh and CSRF cookies.

use axum::http::{HeaderMap, HeaderValue, header};

/// The value of cookie `name` in the request, if any.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// Cookie attributes shared by the Warden cookies.
#[derive(Debug, Clone)]
pub struct CookieSettings {
    /// Access cookie name (`access`).
    pub access_name: String,
    /// Refresh cookie name (`refresh`).
    pub refresh_name: String,
    /// CSRF double-submit cookie name (`csrf`).
    pub csrf_name: String,
    /// Access cookie path (`/`).
    pub path: String,
    /// Refresh cookie path (the refresh route).
    pub refresh_path: String,
    /// `Secure` attribute (true unless `WARDEN_COOKIE_SECURE=false`).
    pub secure: bool,
    /// `Domain` attribute.
    pub domain: Option<String>,
}

impl CookieSettings {
    /// Build a `Set-Cookie` header value. `max_age` 0 deletes the cookie.
    pub fn build(
        &self,
        name: &str,
        value: &str,
        path: &str,
        max_age: i64,
        http_only: bool,
    ) -> Option<HeaderValue> {
        let mut s = format!("{name}={value}; Path={path}; Max-Age={max_age}; SameSite=Lax");
        if http_only {
            s.push_str("; HttpOnly");
        }
        if self.secure {
            s.push_str("; Secure");
        }
        if let Some(d) = &self.domain {
            s.push_str("; Domain=");
            s.push_str(d);
        }
        HeaderValue::from_str(&s).ok()
    }

    /// The access, refresh and (readable) CSRF cookies of a token pair, as
    /// `POST /login` sets them.
    pub fn for_pair(&self, pair: &warden_core::TokenPair) -> Vec<HeaderValue> {
        let csrf = warden_core::random::token(24);
        [
            self.build(
                &self.access_name,
                &pair.access_token,
                &self.path,
                pair.expires_in,
                true,
            ),
            self.build(
                &self.refresh_name,
                &pair.refresh_token,
                &self.refresh_path,
                pair.refresh_expires_in,
                true,
            ),
            self.build(
                &self.csrf_name,
                &csrf,
                &self.path,
                pair.refresh_expires_in,
                false,
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Cookies that delete the access, refresh and CSRF cookies.
    pub fn cleared(&self) -> Vec<HeaderValue> {
        [
            self.build(&self.access_name, "", &self.path, 0, true),
            self.build(&self.refresh_name, "", &self.refresh_path, 0, true),
            self.build(&self.csrf_name, "", &self.path, 0, false),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}
