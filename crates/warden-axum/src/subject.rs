//! [`CurrentSubject`]: the caller of a route of an app that keeps its own
//! users and uses Warden's tokens for them (`warden_core::app_tokens`).

use crate::Warden;
use crate::error::ApiError;
use crate::extract::{Authenticated, access_token, extractor};
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use std::sync::Arc;
use warden_core::Error;
use warden_core::token::SubjectClaims;

/// The verified claims of any access token (`Authorization: Bearer`, or the
/// access cookie with the CSRF rule): an app subject's (`claims.is_app()`,
/// `claims.sub` is the app's own user id) or an account's (`sub` is the
/// account id as text; the account itself is not read, use
/// [`crate::CurrentAccount`] for that). Checked like every token: signature,
/// expiry, the revocation set (logout, refresh reuse, the session cap) and
/// the application's [`warden_core::hooks::TokenDenylist`], once per request.
/// The account extractors ([`crate::CurrentAccount`], [`crate::Claims`],
/// `/auth/me`, ...) refuse an app subject's token with 401 `invalid_token`.
/// `Fresh<CurrentSubject>` asks for a fresh token;
/// `Option<CurrentSubject>` is `None` without a token.
///
/// ```
/// use warden_axum::CurrentSubject;
/// async fn notes(CurrentSubject(claims): CurrentSubject) -> String {
///     match claims.is_app() {
///         true => format!("notes of user {}", claims.sub),
///         false => format!("notes of account {}", claims.sub),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CurrentSubject(pub Arc<SubjectClaims>);

/// A verified subject token (cached per request).
#[derive(Debug, Clone)]
struct Verified(Arc<SubjectClaims>);

/// The request's subject token, verified once per request.
pub(crate) async fn subject_claims(
    parts: &mut Parts,
    warden: &Warden,
) -> Result<Arc<SubjectClaims>, Error> {
    if let Some(Verified(claims)) = parts.extensions.get::<Verified>() {
        return Ok(claims.clone());
    }
    // An account extractor of this request verified the token already.
    if let Some(done) = parts.extensions.get::<Authenticated>() {
        let claims = Arc::new(done.claims.to_subject());
        parts.extensions.insert(Verified(claims.clone()));
        return Ok(claims);
    }
    let (token, _) = access_token(parts, warden)?;
    let claims = warden.auth().app_tokens().authenticate(token).await?;
    parts.extensions.insert(Verified(claims.clone()));
    Ok(claims)
}

async fn current_subject(parts: &mut Parts, warden: &Warden) -> Result<CurrentSubject, Error> {
    Ok(CurrentSubject(subject_claims(parts, warden).await?))
}

extractor!(CurrentSubject, current_subject, optional);
