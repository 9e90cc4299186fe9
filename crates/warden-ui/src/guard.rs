//! The middleware of every page: security headers on each response, and on
//! each POST the same-origin check and the CSRF token (warden-axum's
//! [`Csrf`], signed double submit).

use crate::{BODY_LIMIT, CSRF_COOKIE, Page, Ui, message, status_of};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use warden_axum::csrf::{Csrf, same_origin};
use warden_axum::error::{ProblemOf, render};
use warden_core::Error;

/// Every request: security headers; every POST: same-origin and CSRF check.
pub(crate) async fn guard(State(ui): State<Ui>, req: Request, next: Next) -> Response {
    let form_post = req.method() == Method::POST
        && !req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
    let mut res = if req.method() == Method::POST {
        match check_post(&ui, req).await {
            Ok(req) => next.run(req).await,
            Err(res) => res,
        }
    } else {
        next.run(req).await
    };
    // The shared per-IP limit answers problem+json: a person gets a page,
    // rendered from the same error.
    if form_post && let Some(ProblemOf(e @ Error::TooManyAttempts { .. })) = res.extensions().get()
    {
        let e = e.clone();
        res = render(
            &e,
            Page::bare(&ui).message(status_of(&e), "Slow down", &message(&e)),
        );
    }
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, ui.0.csp.clone());
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// A POST must come from our own pages: `Origin` (when sent) names this host,
/// and the form's `_csrf` is the MAC of the CSRF cookie.
async fn check_post(ui: &Ui, req: Request) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    let refuse = |why: &str| {
        tracing::info!(reason = why, path = %parts.uri.path(), "page form refused");
        Page::bare(ui).message(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )
    };
    if !same_origin(&parts.headers, &ui.0.cfg.public_url) {
        return Err(refuse("origin"));
    }
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return Err(Page::bare(ui).message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "The form was larger than this site accepts.",
            ));
        }
    };
    // Forms send `_csrf`; the pages' own scripts (JSON bodies) send the same
    // token in `X-CSRF-Token`.
    let sent = match parts.headers.get("x-csrf-token") {
        Some(h) => h.to_str().ok().map(str::to_owned),
        None => serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| {
                pairs
                    .into_iter()
                    .find(|(k, _)| k == "_csrf")
                    .map(|(_, v)| v)
            }),
    };
    let Ok(keys) = ui.keys().await else {
        return Err(Page::bare(ui).unavailable());
    };
    if !Csrf::signed(CSRF_COOKIE, &keys.key).verify(&parts.headers, sent.as_deref()) {
        return Err(refuse("csrf"));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
