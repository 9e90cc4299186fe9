//! The one CSRF mechanism: a double-submit cookie, plain or signed, and the
//! same-origin check of form posts.
//!
//! - Plain ([`Csrf::plain`]): the JSON API's `csrf` cookie is readable by
//!   scripts and a state-changing request echoes it in `X-CSRF-Token` (or
//!   sends `X-Requested-With`, see API.md).
//! - Signed ([`Csrf::signed`]): an `HttpOnly` cookie holds a random seed and
//!   the form carries [`Csrf::token`], the seed's HMAC (the hosted pages'
//!   `_csrf` field). A script on a sibling subdomain that plants a cookie
//!   cannot forge the token without the key.
//!
//! ```
//! use axum::http::{HeaderMap, HeaderValue, header};
//! use warden_axum::csrf::Csrf;
//!
//! let mut headers = HeaderMap::new();
//! headers.insert(header::COOKIE, HeaderValue::from_static("csrf=abc"));
//! assert!(Csrf::plain("csrf").verify(&headers, Some("abc")));
//! assert!(!Csrf::plain("csrf").verify(&headers, Some("abd")));
//! ```

use crate::cookies::{self, CookieKey};
use axum::http::{HeaderMap, header};
use warden_core::random;

/// The purpose a signed CSRF token is MACed for.
const PURPOSE: &str = "csrf";

/// A double-submit CSRF check against the cookie `cookie`.
#[derive(Debug, Clone, Copy)]
pub struct Csrf<'a> {
    cookie: &'a str,
    key: Option<&'a CookieKey>,
}

impl<'a> Csrf<'a> {
    /// The token sent must equal the cookie's value.
    pub fn plain(cookie: &'a str) -> Self {
        Self { cookie, key: None }
    }

    /// The token sent must be the HMAC of the cookie's value under `key`.
    pub fn signed(cookie: &'a str, key: &'a CookieKey) -> Self {
        Self {
            cookie,
            key: Some(key),
        }
    }

    /// The cookie's name.
    pub fn cookie(&self) -> &'a str {
        self.cookie
    }

    /// The token a form or script sends for the cookie value `seed`.
    pub fn token(&self, seed: &str) -> String {
        match self.key {
            Some(key) => key.mac(PURPOSE, seed),
            None => seed.to_owned(),
        }
    }

    /// The cookie's value when it looks like a seed (22 to 64 characters),
    /// else a fresh one: `(seed, true)` when it must still be set.
    pub fn seed(&self, headers: &HeaderMap) -> (String, bool) {
        match cookies::get(headers, self.cookie) {
            Some(s) if s.len() >= 22 && s.len() <= 64 => (s.to_owned(), false),
            _ => (random::token(24), true),
        }
    }

    /// Whether `sent` is the token of the request's cookie (constant time;
    /// an empty or missing cookie never matches).
    pub fn verify(&self, headers: &HeaderMap, sent: Option<&str>) -> bool {
        match (cookies::get(headers, self.cookie), sent) {
            (Some(seed), Some(sent)) if !seed.is_empty() => match self.key {
                Some(key) => key.check(PURPOSE, seed, sent),
                None => random::ct_eq(seed.as_bytes(), sent.as_bytes()),
            },
            _ => false,
        }
    }
}

/// The `scheme://host` of a URL, if it has one.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// Whether a request's `Origin`, when it sends one, is this site: its host is
/// the request's `Host`, or it is `public_url`'s origin. Without `Origin`
/// (older browsers, same-origin GET-born forms) the CSRF token decides.
pub fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = origin.to_str().ok();
    let origin_host = origin.and_then(|o| o.split_once("://")).map(|(_, h)| h);
    let same_host = match (origin_host, host) {
        (Some(o), Some(h)) => o.eq_ignore_ascii_case(h),
        _ => false,
    };
    same_host || origin.map(str::to_owned) == origin_of(public_url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origins() {
        assert!(same_origin(&HeaderMap::new(), ""));
        let h = with(&[
            (header::ORIGIN, "https://a.example"),
            (header::HOST, "A.example"),
        ]);
        assert!(same_origin(&h, ""));
        let h = with(&[
            (header::ORIGIN, "https://evil.example"),
            (header::HOST, "a.example"),
        ]);
        assert!(!same_origin(&h, "https://a.example/x"));
        let h = with(&[
            (header::ORIGIN, "https://pub.example"),
            (header::HOST, "internal:8080"),
        ]);
        assert!(same_origin(&h, "https://pub.example/"));
        assert_eq!(origin_of("https://x.y/z?q"), Some("https://x.y".into()));
        assert_eq!(origin_of("/relative"), None);
    }

    #[test]
    fn an_empty_cookie_never_matches() {
        let h = with(&[(header::COOKIE, "csrf=")]);
        assert!(!Csrf::plain("csrf").verify(&h, Some("")));
        assert!(!Csrf::plain("csrf").verify(&HeaderMap::new(), Some("x")));
    }
}
