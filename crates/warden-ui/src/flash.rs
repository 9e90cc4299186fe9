//! [`Flash`]: a notice shown once on the next page, carried by a signed,
//! one-minute cookie (`warden_ui_flash`: base64url JSON `.` HMAC).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use warden_axum::cookies::CookieKey;

const PURPOSE: &str = "flash";

/// A notice shown once on the next page.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Flash {
    /// `notice` or `alert`.
    pub kind: String,
    /// The text.
    pub text: String,
}

impl Flash {
    /// A success notice.
    pub fn notice(text: impl Into<String>) -> Self {
        Self {
            kind: "notice".into(),
            text: text.into(),
        }
    }
    /// An error notice.
    pub fn alert(text: impl Into<String>) -> Self {
        Self {
            kind: "alert".into(),
            text: text.into(),
        }
    }

    /// The signed cookie value.
    pub(crate) fn seal(&self, key: &CookieKey) -> Option<String> {
        let json = serde_json::to_vec(self).ok()?;
        Some(key.sign(PURPOSE, &URL_SAFE_NO_PAD.encode(json)))
    }

    /// The notice of a cookie value whose MAC is right.
    pub(crate) fn open(key: &CookieKey, value: &str) -> Option<Self> {
        let payload = key.verify(PURPOSE, value)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}
