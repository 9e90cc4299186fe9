//! Cookie parsing, `Set-Cookie` values (access, refresh and CSRF cookies,
//! and any other through [`set_cookie`]) and the signing key of cookie
//! values ([`CookieKey`]).

use axum::http::{HeaderMap, HeaderValue, header};
use warden_core::{Auth, Error, random};

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

/// The attributes of one `Set-Cookie` (always `SameSite=Lax`).
#[derive(Debug, Clone, Copy)]
pub struct CookieAttrs<'a> {
    /// `Path`.
    pub path: &'a str,
    /// `Max-Age` (0 deletes the cookie); `None`: a browser-session cookie.
    pub max_age: Option<i64>,
    /// `HttpOnly`: not readable by scripts.
    pub http_only: bool,
    /// `Secure`: sent over HTTPS only.
    pub secure: bool,
    /// `Domain`.
    pub domain: Option<&'a str>,
}

/// A `Set-Cookie` value:
/// `name=value; Path=..[; Max-Age=..]; SameSite=Lax[; HttpOnly][; Secure][; Domain=..]`.
pub fn set_cookie(name: &str, value: &str, attrs: &CookieAttrs<'_>) -> Option<HeaderValue> {
    let mut s = format!("{name}={value}; Path={}", attrs.path);
    if let Some(age) = attrs.max_age {
        s.push_str("; Max-Age=");
        s.push_str(&age.to_string());
    }
    s.push_str("; SameSite=Lax");
    if attrs.http_only {
        s.push_str("; HttpOnly");
    }
    if attrs.secure {
        s.push_str("; Secure");
    }
    if let Some(d) = attrs.domain {
        s.push_str("; Domain=");
        s.push_str(d);
    }
    HeaderValue::from_str(&s).ok()
}

/// The HMAC-SHA256 key of signed cookie values: generated once and kept in
/// the store's settings (under a name of the caller's choosing), so every
/// node checks what another node signed and nothing is stored per cookie.
#[derive(Clone)]
pub struct CookieKey([u8; 32]);

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey(..)")
    }
}

impl CookieKey {
    /// The key kept under `setting` in the store (created on first use).
    pub async fn load(auth: &Auth, setting: &str) -> Result<Self, Error> {
        let secret = auth
            .store()
            .setting_or_insert(setting, &random::token(32))
            .await?;
        Ok(Self(random::sha256(secret.as_bytes())))
    }

    /// The hex MAC of `value` for `purpose` (the MAC of `purpose:value`, so
    /// a value signed for one purpose is worthless for another). An empty
    /// purpose MACs the bare value (the `wsid` cookie's format); give every
    /// key either only the empty purpose or only named ones.
    pub fn mac(&self, purpose: &str, value: &str) -> String {
        let mac = if purpose.is_empty() {
            random::hmac_sha256(&self.0, value.as_bytes())
        } else {
            let mut msg = Vec::with_capacity(purpose.len() + 1 + value.len());
            msg.extend_from_slice(purpose.as_bytes());
            msg.push(b':');
            msg.extend_from_slice(value.as_bytes());
            random::hmac_sha256(&self.0, &msg)
        };
        random::hex(&mac)
    }

    /// `value.MAC`: a value the browser holds and cannot change.
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        format!("{value}.{}", self.mac(purpose, value))
    }

    /// The value of a [`CookieKey::sign`]ed string whose MAC is right
    /// (compared in constant time).
    pub fn verify<'a>(&self, purpose: &str, signed: &'a str) -> Option<&'a str> {
        let (value, mac) = signed.rsplit_once('.')?;
        self.check(purpose, value, mac).then_some(value)
    }

    /// Whether `mac` is the MAC of `value` for `purpose` (constant time).
    pub fn check(&self, purpose: &str, value: &str, mac: &str) -> bool {
        random::ct_eq(self.mac(purpose, value).as_bytes(), mac.as_bytes())
    }
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
        set_cookie(
            name,
            value,
            &CookieAttrs {
                path,
                max_age: Some(max_age),
                http_only,
                secure: self.secure,
                domain: self.domain.as_deref(),
            },
        )
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
