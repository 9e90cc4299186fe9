//! The signed-in account's own pages: profile (login and email), password,
//! two-factor enrolment, sessions, API keys and linked identities.
//!
//! Every POST answers 303 to a GET page with a flash notice, except the
//! one-time displays (recovery codes, a new API key), which are rendered
//! directly and never stored. Field errors are shown next to their field.

use super::{Flash, Member, Page, Signed, Ui, UiForm, form_errors, status_of};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use time::OffsetDateTime;
use warden_axum::error::render;
use warden_core::Error;
use warden_core::api_key::{KEY_PREFIX, NewApiKey};
use warden_core::model::{ApiKeyId, SessionId};
use warden_core::oauth::OAuthState;

mod api_keys;
mod identities;
mod sessions;
mod two_factor;

use api_keys::*;
use identities::*;
use sessions::*;
use two_factor::*;

/// Built-in templates of these pages.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "account/nav.html",
        include_str!("../../templates/account/nav.html"),
    ),
    (
        "account/profile.html",
        include_str!("../../templates/account/profile.html"),
    ),
    (
        "account/password.html",
        include_str!("../../templates/account/password.html"),
    ),
    (
        "account/two_factor.html",
        include_str!("../../templates/account/two_factor.html"),
    ),
    (
        "account/sessions.html",
        include_str!("../../templates/account/sessions.html"),
    ),
    (
        "account/api_keys.html",
        include_str!("../../templates/account/api_keys.html"),
    ),
    (
        "account/api_key_usage.html",
        include_str!("../../templates/account/api_key_usage.html"),
    ),
    (
        "account/identities.html",
        include_str!("../../templates/account/identities.html"),
    ),
];

/// The POSTs that check a password or a code: under the per-IP rate limit
/// (they count toward the lockout as well).
pub(crate) fn limited_routes() -> Router<Ui> {
    Router::new()
        .route("/account/email", post(change_email))
        .route("/account/password", post(change_password))
        .route("/account/two-factor/confirm", post(totp_confirm))
        .route("/account/two-factor/disable", post(totp_disable))
}

/// The routes of these pages.
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
        .route("/account", get(profile))
        .route("/account/login", post(change_login))
        .route("/account/email/verification", post(send_verification))
        .route("/account/password", get(password_page))
        .route("/account/two-factor", get(two_factor))
        .route("/account/two-factor/setup", post(totp_setup))
        .route("/account/sessions", get(sessions))
        .route("/account/sessions/revoke-others", post(revoke_others))
        .route("/account/sessions/{id}/revoke", post(revoke_session))
        .route(
            "/account/consents/{client_id}/withdraw",
            post(withdraw_consent),
        )
        .route("/account/api-keys", get(api_keys).post(create_api_key))
        .route("/account/api-keys/{id}", get(api_key_usage))
        .route("/account/api-keys/{id}/revoke", post(revoke_api_key))
        .route("/account/api-keys/{id}/renew", post(renew_api_key))
        .route("/account/identities", get(identities))
        .route("/account/identities/{id}/unlink", post(unlink_identity))
        .route("/account/identities/link/{provider}", post(link_identity))
}

/// A time as shown on the pages (UTC, to the minute).
pub(crate) fn when(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// A time for `<time datetime>`.
fn iso(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A short name for a user agent: "Firefox on Linux", else its start.
fn device(ua: Option<&str>) -> String {
    let Some(ua) = ua.map(str::trim).filter(|u| !u.is_empty()) else {
        return "Unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => o.to_owned(),
        (None, None) => {
            let short: String = ua.chars().take(40).collect();
            if short.len() < ua.len() {
                format!("{short}…")
            } else {
                short
            }
        }
    }
}

/// The 404 page for an id in a path that does not parse or is not ours.
fn not_found(page: &Page) -> Response {
    page.error(&Error::NotFound)
}

// ----- profile --------------------------------------------------------------

fn profile_page(
    page: &Page,
    signed: &Signed,
    status: StatusCode,
    values: minijinja::Value,
    error: Option<&Error>,
) -> Response {
    let (errors, alert) = error.map(form_errors).unwrap_or_default();
    let a = &signed.account;
    page.render_status(
        status,
        "account/profile.html",
        minijinja::context! {
            tab => "profile",
            login => a.login.clone(),
            email => a.email.clone(),
            email_verified => a.email_verified,
            has_password => a.password_hash.is_some(),
            created => when(a.created_at),
            created_iso => iso(a.created_at),
            values => values,
            errors => errors,
            alert => alert,
        },
    )
}

async fn profile(Member { page, signed }: Member) -> Response {
    profile_page(&page, &signed, StatusCode::OK, minijinja::context! {}, None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    new_login: String,
}

async fn change_login(Member { page, signed }: Member, UiForm(f): UiForm<LoginForm>) -> Response {
    let new_login = f.new_login.trim().to_owned();
    match page
        .auth()
        .accounts()
        .change_login(signed.account.id, &new_login, &page.client)
        .await
    {
        Ok(a) => page.redirect(
            &page.ui.url("/account"),
            Some(Flash::notice(format!("Your login is now {}.", a.login))),
        ),
        Err(e) => {
            let e = match e {
                Error::LoginTaken => Error::field("new_login", "is taken; choose another"),
                other => other,
            };
            render(
                &e,
                profile_page(
                    &page,
                    &signed,
                    status_of(&e),
                    minijinja::context! { new_login => new_login },
                    Some(&e),
                ),
            )
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EmailForm {
    new_email: String,
    password: String,
}

async fn change_email(Member { page, signed }: Member, UiForm(f): UiForm<EmailForm>) -> Response {
    let new_email = f.new_email.trim().to_owned();
    if signed.account.password_hash.is_none() {
        let e =
            Error::Forbidden("changing the email needs a password; this account has none".into());
        return render(
            &e,
            profile_page(
                &page,
                &signed,
                status_of(&e),
                minijinja::context! { new_email => new_email },
                Some(&e),
            ),
        );
    }
    match page
        .auth()
        .email().request_email_change(signed.account.id, &new_email, &f.password, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &page.ui.url("/account"),
            Some(Flash::notice(format!(
                "A confirmation link is on its way to {new_email}. Your email changes when you open it."
            ))),
        ),
        Err(e) => {
            let e = match e {
                Error::EmailTaken => Error::field("new_email", "is already used by an account"),
                Error::InvalidCredentials => Error::field("password", "is not right"),
                Error::BadRequest(msg) => Error::field("new_email", msg),
                other => other,
            };
            render(&e, profile_page(
                &page,
                &signed,
                status_of(&e),
                minijinja::context! { new_email => new_email },
                Some(&e),
            ))
        }
    }
}

async fn send_verification(Member { page, signed }: Member) -> Response {
    let back = page.ui.url("/account");
    match page
        .auth()
        .email()
        .send_verification(signed.account.id, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &back,
            Some(Flash::notice(
                "A verification link is on its way. Open it to confirm your address.",
            )),
        ),
        Err(e) => page.redirect(&back, Some(Flash::alert(crate::message(&e)))),
    }
}

// ----- password -------------------------------------------------------------

fn password_form(
    page: &Page,
    signed: &Signed,
    status: StatusCode,
    error: Option<&Error>,
) -> Response {
    let (errors, alert) = error.map(form_errors).unwrap_or_default();
    page.render_status(
        status,
        "account/password.html",
        minijinja::context! {
            tab => "password",
            has_password => signed.account.password_hash.is_some(),
            errors => errors,
            alert => alert,
        },
    )
}

/// How recent a sign-in must be to set a first password.
const SET_PASSWORD_WINDOW: time::Duration = time::Duration::minutes(10);

async fn password_page(Member { page, signed }: Member) -> Response {
    password_form(&page, &signed, StatusCode::OK, None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

async fn change_password(
    Member { page, signed }: Member,
    UiForm(f): UiForm<PasswordForm>,
) -> Response {
    let first = signed.account.password_hash.is_none();
    if first {
        // No password to re-check: a first password needs a recent sign-in.
        let recent = signed.session.created_at + SET_PASSWORD_WINDOW > page.auth().now();
        if !recent {
            let e = Error::Forbidden(
                "For your safety, sign out and in again, then set the password within 10 minutes."
                    .into(),
            );
            return render(&e, password_form(&page, &signed, status_of(&e), Some(&e)));
        }
    } else if f.current_password.is_empty() {
        let e = Error::field("current_password", "enter your current password");
        return render(&e, password_form(&page, &signed, status_of(&e), Some(&e)));
    }
    // The engine re-checks the current password: that is the re-authentication.
    let claims = signed.claims(&page.ui, true);
    match page
        .auth()
        .accounts()
        .change_password(&claims, &f.current_password, &f.new_password, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &page.ui.url("/account/password"),
            Some(Flash::notice(if first {
                "Your password is set. Every other session is signed out."
            } else {
                "Your password is changed. Every other session is signed out."
            })),
        ),
        Err(e) => {
            let e = match e {
                Error::InvalidCredentials => Error::field("current_password", "is not right"),
                Error::Validation(errs) => Error::Validation(
                    errs.into_iter()
                        .map(|mut fe| {
                            if fe.field == "password" {
                                fe.field = "new_password".into();
                            }
                            fe
                        })
                        .collect(),
                ),
                other => other,
            };
            render(&e, password_form(&page, &signed, status_of(&e), Some(&e)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::device;

    #[test]
    fn devices() {
        assert_eq!(
            device(Some(
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
            )),
            "Firefox on Linux"
        );
        assert_eq!(
            device(Some(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
            )),
            "Chrome on Windows"
        );
        assert_eq!(device(None), "Unknown device");
        assert_eq!(device(Some("test-browser/1.0")), "test-browser/1.0");
    }
}
