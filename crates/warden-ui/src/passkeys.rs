//! Passkeys on the pages: "Sign in with a passkey" on the sign-in page and
//! the account's "Passkeys" tab (add, rename, remove). The WebAuthn
//! ceremonies run in the browser (`static/ui.js`): it POSTs JSON to the
//! `begin`/`finish` routes here with the form token in `X-CSRF-Token`; the
//! engine does the checking (`warden_core::passkey`).

use super::{Flash, Member, Page, Ui, UiForm, form_errors, message, status_of};
use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Path, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use warden_axum::error::render;
use warden_core::Error;

/// Built-in templates of these pages.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[(
    "account/passkeys.html",
    include_str!("../templates/account/passkeys.html"),
)];

/// The account tab.
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
        .route("/account/passkeys", get(list))
        .route("/account/passkeys/begin", post(register_begin))
        .route("/account/passkeys/finish", post(register_finish))
        .route("/account/passkeys/{id}/rename", post(rename))
        .route("/account/passkeys/{id}/delete", post(delete))
}

/// Sign-in with a passkey: under the per-IP rate limit.
pub(crate) fn limited_routes() -> Router<Ui> {
    Router::new()
        .route("/passkeys/sign-in/begin", post(sign_in_begin))
        .route("/passkeys/sign-in/finish", post(sign_in_finish))
}

/// A JSON body from the pages' script (after the CSRF check).
pub struct UiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Ui> for UiJson<T> {
    type Rejection = Response;
    async fn from_request(req: Request, _: &Ui) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), super::BODY_LIMIT)
            .await
            .unwrap_or_default();
        serde_json::from_slice(&bytes)
            .map(UiJson)
            .map_err(|_| json_error(&Error::BadRequest("the request could not be read".into())))
    }
}

/// An error for the pages' script: `{"error": "<text for a person>"}`.
fn json_error(e: &Error) -> Response {
    render(e, Json(serde_json::json!({"error": message(e)})))
}

/// `{"redirect": to}` carrying the cookies a redirect response would set
/// (the page session, the flash).
fn json_redirect(redirect: Response, to: &str) -> Response {
    let mut res = Json(serde_json::json!({"redirect": to})).into_response();
    for v in redirect.headers().get_all(header::SET_COOKIE) {
        res.headers_mut().append(header::SET_COOKIE, v.clone());
    }
    res
}

async fn sign_in_begin(page: Page) -> Response {
    match page.auth().passkeys().passkey_login_begin().await {
        Ok(c) => Json(c).into_response(),
        Err(e) => json_error(&e),
    }
}

#[derive(Deserialize)]
struct SignInFinish {
    challenge_id: String,
    credential: serde_json::Value,
    #[serde(default)]
    remember: bool,
    #[serde(default)]
    redirect_to: Option<String>,
}

async fn sign_in_finish(page: Page, UiJson(b): UiJson<SignInFinish>) -> Response {
    let pair = match page
        .auth()
        .passkeys()
        .passkey_login_finish(&b.challenge_id, &b.credential, b.remember, &page.client)
        .await
    {
        Ok(p) => p,
        Err(Error::InvalidCredentials) => {
            return json_error(&Error::Forbidden(
                "This passkey is not known here. Sign in with your password, then add it on the Passkeys page.".into(),
            ));
        }
        Err(e) => return json_error(&e),
    };
    let dest = page.after_sign_in(b.redirect_to.as_deref());
    match page.sign_in_to(pair.session_id, Some(&pair), &dest).await {
        Ok(res) => json_redirect(res, &dest),
        Err(e) => json_error(&e),
    }
}

async fn list(m: Member) -> Response {
    render_list(&m, StatusCode::OK, None).await
}

async fn render_list(m: &Member, status: StatusCode, error: Option<&Error>) -> Response {
    let page = &m.page;
    let auth = page.auth();
    let enabled = auth.settings().webauthn.is_some();
    let passkeys = if enabled {
        match auth.passkeys().list(m.signed.account.id).await {
            Ok(p) => p,
            Err(e) => return page.error(&e),
        }
    } else {
        Vec::new()
    };
    let rows: Vec<serde_json::Value> = passkeys
        .iter()
        .map(|p| {
            serde_json::json!({
                "id": p.id.to_string(),
                "name": p.name,
                "created": super::account::when(p.created_at),
                "last_used": p.last_used_at.map(super::account::when),
                "synced": p.backup_state,
                "syncable": p.backup_eligible,
            })
        })
        .collect();
    let (errors, alert) = error.map(form_errors).unwrap_or_default();
    page.render_status(
        status,
        "account/passkeys.html",
        minijinja::context! {
            tab => "passkeys",
            enabled => enabled,
            passkeys => super::to_value(&rows),
            has_password => m.signed.account.password_hash.is_some(),
            errors => errors,
            alert => alert,
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RegisterBegin {
    name: Option<String>,
}

async fn register_begin(m: Member, UiJson(b): UiJson<RegisterBegin>) -> Response {
    let name = b.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    match m
        .page
        .auth()
        .passkeys()
        .passkey_register_begin(m.signed.account.id, name)
        .await
    {
        Ok(c) => Json(c).into_response(),
        Err(e) => json_error(&e),
    }
}

#[derive(Deserialize)]
struct RegisterFinish {
    challenge_id: String,
    credential: serde_json::Value,
    #[serde(default)]
    name: Option<String>,
}

async fn register_finish(m: Member, UiJson(b): UiJson<RegisterFinish>) -> Response {
    let page = &m.page;
    let name = b.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    match page
        .auth()
        .passkeys()
        .passkey_register_finish(
            m.signed.account.id,
            &b.challenge_id,
            &b.credential,
            name,
            &page.client,
        )
        .await
    {
        Ok(_) => {
            let to = page.ui.url("/account/passkeys");
            json_redirect(
                page.redirect(&to, Some(Flash::notice("Passkey added."))),
                &to,
            )
        }
        Err(e) => json_error(&e),
    }
}

fn passkey_id(s: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(s).ok()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RenameForm {
    name: String,
}

async fn rename(m: Member, Path(id): Path<String>, UiForm(f): UiForm<RenameForm>) -> Response {
    let page = &m.page;
    let Some(id) = passkey_id(&id) else {
        return page.error(&Error::NotFound);
    };
    match page
        .auth()
        .passkeys()
        .rename_passkey(m.signed.account.id, id, &f.name)
        .await
    {
        Ok(_) => page.redirect(
            &page.ui.url("/account/passkeys"),
            Some(Flash::notice("Passkey renamed.")),
        ),
        Err(e @ Error::Validation(_)) => render(&e, render_list(&m, status_of(&e), Some(&e)).await),
        Err(e) => page.error(&e),
    }
}

async fn delete(m: Member, Path(id): Path<String>) -> Response {
    let page = &m.page;
    let Some(id) = passkey_id(&id) else {
        return page.error(&Error::NotFound);
    };
    let to = page.ui.url("/account/passkeys");
    match page
        .auth()
        .passkeys()
        .delete_passkey(m.signed.account.id, id, false, &page.client)
        .await
    {
        Ok(()) => page.redirect(&to, Some(Flash::notice("Passkey removed."))),
        Err(e @ Error::LastSignInMethod) => page.redirect(&to, Some(Flash::alert(message(&e)))),
        Err(e) => page.error(&e),
    }
}
