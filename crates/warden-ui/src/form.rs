//! [`UiForm`]: a page form's body.

use crate::{BODY_LIMIT, Page, Ui};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use serde::de::DeserializeOwned;

/// A form body, parsed after the CSRF check (fields missing from the form
/// take their defaults: mark form structs `#[serde(default)]`).
pub struct UiForm<T>(pub T);

impl<T: DeserializeOwned> axum::extract::FromRequest<Ui> for UiForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, ui: &Ui) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .unwrap_or_default();
        serde_urlencoded::from_bytes(&bytes)
            .map(UiForm)
            .map_err(|_| {
                Page::bare(ui).message(
                    StatusCode::BAD_REQUEST,
                    "Bad form",
                    "The form could not be read. Go back, reload the page and try again.",
                )
            })
    }
}
