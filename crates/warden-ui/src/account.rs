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
use warden_core::Error;
use warden_core::api_key::{KEY_PREFIX, NewApiKey};
use warden_core::model::{ApiKeyId, SessionId};
use warden_core::oauth::OAuthState;

/// Built-in templates of these pages.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "account/nav.html",
        include_str!("../templates/account/nav.html"),
    ),
    (
        "account/profile.html",
        include_str!("../templates/account/profile.html"),
    ),
    (
        "account/password.html",
        include_str!("../templates/account/password.html"),
    ),
    (
        "account/two_factor.html",
        include_str!("../templates/account/two_factor.html"),
    ),
    (
        "account/sessions.html",
        include_str!("../templates/account/sessions.html"),
    ),
    (
        "account/api_keys.html",
        include_str!("../templates/account/api_keys.html"),
    ),
    (
        "account/api_key_usage.html",
        include_str!("../templates/account/api_key_usage.html"),
    ),
    (
        "account/identities.html",
        include_str!("../templates/account/identities.html"),
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
            profile_page(
                &page,
                &signed,
                status_of(&e),
                minijinja::context! { new_login => new_login },
                Some(&e),
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
        return profile_page(
            &page,
            &signed,
            status_of(&e),
            minijinja::context! { new_email => new_email },
            Some(&e),
        );
    }
    match page
        .auth()
        .request_email_change(signed.account.id, &new_email, &f.password, &page.client)
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
            profile_page(
                &page,
                &signed,
                status_of(&e),
                minijinja::context! { new_email => new_email },
                Some(&e),
            )
        }
    }
}

async fn send_verification(Member { page, signed }: Member) -> Response {
    let back = page.ui.url("/account");
    match page
        .auth()
        .send_verification(signed.account.id, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &back,
            Some(Flash::notice(
                "A verification link is on its way. Open it to confirm your address.",
            )),
        ),
        Err(e) => page.redirect(&back, Some(Flash::alert(super::message(&e)))),
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
            return password_form(&page, &signed, status_of(&e), Some(&e));
        }
    } else if f.current_password.is_empty() {
        let e = Error::field("current_password", "enter your current password");
        return password_form(&page, &signed, status_of(&e), Some(&e));
    }
    // The engine re-checks the current password: that is the re-authentication.
    let claims = signed.claims(&page.ui, true);
    match page
        .auth()
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
            password_form(&page, &signed, status_of(&e), Some(&e))
        }
    }
}

// ----- two-factor -----------------------------------------------------------

/// What the two-factor page shows.
#[derive(Default)]
struct TwoFactorView {
    setup: Option<warden_core::TotpSetup>,
    recovery_codes: Option<Vec<String>>,
    errors: minijinja::Value,
    alert: Option<String>,
}

async fn two_factor_page(
    page: &Page,
    signed: &Signed,
    status: StatusCode,
    view: TwoFactorView,
) -> Response {
    let auth = page.auth();
    // The account as it is now (the setup may just have changed it).
    let account = auth
        .account(signed.account.id)
        .await
        .unwrap_or_else(|_| signed.account.clone());
    let codes_left = if account.mfa_enabled {
        match auth.recovery_codes_left(account.id).await {
            Ok(n) => Some(n),
            Err(e) => return page.error(&e),
        }
    } else {
        None
    };
    let setup = view.setup.map(|s| {
        minijinja::context! {
            secret => s.secret,
            qr => STANDARD.encode(s.qr_svg.as_bytes()),
        }
    });
    page.render_status(
        status,
        "account/two_factor.html",
        minijinja::context! {
            tab => "two-factor",
            otp_available => auth.settings().otp_enabled,
            mfa_enabled => account.mfa_enabled,
            codes_left => codes_left,
            setup => setup,
            recovery_codes => view.recovery_codes,
            errors => view.errors,
            alert => view.alert,
        },
    )
}

async fn two_factor(Member { page, signed }: Member) -> Response {
    two_factor_page(&page, &signed, StatusCode::OK, TwoFactorView::default()).await
}

async fn totp_setup(Member { page, signed }: Member) -> Response {
    match page
        .auth()
        .totp_setup(signed.account.id, &page.client)
        .await
    {
        Ok(setup) => {
            let view = TwoFactorView {
                setup: Some(setup),
                ..TwoFactorView::default()
            };
            two_factor_page(&page, &signed, StatusCode::OK, view).await
        }
        Err(e) => page.redirect(
            &page.ui.url("/account/two-factor"),
            Some(Flash::alert(super::message(&e))),
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodeForm {
    code: String,
}

async fn totp_confirm(Member { page, signed }: Member, UiForm(f): UiForm<CodeForm>) -> Response {
    let code: String = f.code.chars().filter(|c| !c.is_whitespace()).collect();
    let auth = page.auth();
    match auth
        .totp_confirm(signed.account.id, &code, &page.client)
        .await
    {
        Ok(codes) => {
            let view = TwoFactorView {
                recovery_codes: Some(codes),
                ..TwoFactorView::default()
            };
            // Shown once (every page is `Cache-Control: no-store`).
            two_factor_page(&page, &signed, StatusCode::OK, view).await
        }
        Err(e @ Error::InvalidMfaCode) => {
            // The setup stays pending: show the same secret again.
            let setup = match auth.totp_pending(signed.account.id).await {
                Ok(s) => s,
                Err(e) => return page.error(&e),
            };
            let view = TwoFactorView {
                setup,
                errors: minijinja::context! {
                    code => "That code is not right. Enter the current code from your app."
                },
                ..TwoFactorView::default()
            };
            two_factor_page(&page, &signed, status_of(&e), view).await
        }
        Err(e) => page.redirect(
            &page.ui.url("/account/two-factor"),
            Some(Flash::alert(super::message(&e))),
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordOnly {
    password: String,
}

async fn totp_disable(
    Member { page, signed }: Member,
    UiForm(f): UiForm<PasswordOnly>,
) -> Response {
    match page
        .auth()
        .totp_disable(signed.account.id, &f.password, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &page.ui.url("/account/two-factor"),
            Some(Flash::notice("Two-factor sign-in is turned off.")),
        ),
        Err(e) => {
            let e = match e {
                Error::InvalidCredentials => Error::field("password", "is not right"),
                other => other,
            };
            let (errors, alert) = form_errors(&e);
            let view = TwoFactorView {
                errors,
                alert,
                ..TwoFactorView::default()
            };
            two_factor_page(&page, &signed, status_of(&e), view).await
        }
    }
}

// ----- sessions -------------------------------------------------------------

async fn sessions(Member { page, signed }: Member) -> Response {
    let list = match page.auth().sessions(signed.account.id).await {
        Ok(l) => l,
        Err(e) => return page.error(&e),
    };
    let rows: Vec<minijinja::Value> = list
        .iter()
        .map(|s| {
            minijinja::context! {
                id => s.id.to_string(),
                device => device(s.user_agent.as_deref()),
                user_agent => s.user_agent.clone(),
                ip => s.ip.clone(),
                created => when(s.created_at),
                created_iso => iso(s.created_at),
                last_seen => when(s.last_seen_at),
                last_seen_iso => iso(s.last_seen_at),
                current => s.id == signed.session.id,
            }
        })
        .collect();
    let others = list.iter().filter(|s| s.id != signed.session.id).count();
    page.render(
        "account/sessions.html",
        minijinja::context! { tab => "sessions", sessions => rows, others => others },
    )
}

async fn revoke_session(Member { page, signed }: Member, Path(id): Path<String>) -> Response {
    let Some(sid) = SessionId::parse(&id) else {
        return not_found(&page);
    };
    if sid == signed.session.id {
        return page
            .sign_out(Some(Flash::notice("You are signed out.")))
            .await
            .unwrap_or_else(|e| page.error(&e));
    }
    match page
        .auth()
        .revoke_own_session(signed.account.id, sid, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &page.ui.url("/account/sessions"),
            Some(Flash::notice("That session is signed out.")),
        ),
        Err(e) => page.error(&e),
    }
}

async fn revoke_others(Member { page, signed }: Member) -> Response {
    let auth = page.auth();
    let list = match auth.sessions(signed.account.id).await {
        Ok(l) => l,
        Err(e) => return page.error(&e),
    };
    let mut n = 0u32;
    for s in list.iter().filter(|s| s.id != signed.session.id) {
        match auth
            .revoke_own_session(signed.account.id, s.id, &page.client)
            .await
        {
            Ok(()) => n += 1,
            // Ended meanwhile.
            Err(Error::NotFound) => {}
            Err(e) => return page.error(&e),
        }
    }
    let text = match n {
        0 => "There were no other sessions.".to_owned(),
        1 => "Signed out 1 other session.".to_owned(),
        n => format!("Signed out {n} other sessions."),
    };
    page.redirect(&page.ui.url("/account/sessions"), Some(Flash::notice(text)))
}

// ----- API keys -------------------------------------------------------------

/// The public part of a key string (`wdn_<id>`), to recognise a key by.
fn key_prefix(id: ApiKeyId) -> String {
    format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(id.0.as_bytes()))
}

fn expiry_default(page: &Page) -> u32 {
    page.auth().settings().api_key_ttl_days
}

async fn api_keys_page(
    page: &Page,
    signed: &Signed,
    status: StatusCode,
    extra: minijinja::Value,
) -> Response {
    let auth = page.auth();
    let account = signed.account.id;
    let keys = match auth.list_api_keys(account).await {
        Ok(k) => k,
        Err(e) => return page.error(&e),
    };
    let now = auth.now();
    let mut rows = Vec::with_capacity(keys.len());
    for k in &keys {
        let last = auth
            .api_key_usage(Some(account), k.id, 1)
            .await
            .ok()
            .and_then(|u| u.into_iter().next());
        let expired = k.expires_at.is_some_and(|e| e <= now);
        rows.push(minijinja::context! {
            id => k.id.to_string(),
            prefix => key_prefix(k.id),
            name => k.name.clone(),
            scopes => k.scopes.join(" "),
            created => when(k.created_at),
            created_iso => iso(k.created_at),
            expires => k.expires_at.map(when),
            expires_iso => k.expires_at.map(iso),
            last_used => last.as_ref().map(|u| when(u.at)),
            last_used_iso => last.as_ref().map(|u| iso(u.at)),
            status => if expired { "expired" } else { "active" },
        });
    }
    let settings = auth.settings();
    let base = minijinja::context! {
        tab => "api-keys",
        keys => rows,
        values => minijinja::context! {},
        account_scopes => signed.account.scopes.join(" "),
        default_days => expiry_default(page),
        allow_no_expiry => settings.api_key_allow_no_expiry,
    };
    page.render_status(
        status,
        "account/api_keys.html",
        minijinja::context! { ..extra, ..base },
    )
}

async fn api_keys(Member { page, signed }: Member) -> Response {
    api_keys_page(&page, &signed, StatusCode::OK, minijinja::context! {}).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateKeyForm {
    name: String,
    scopes: String,
    expires_in_days: String,
}

async fn create_api_key(
    Member { page, signed }: Member,
    UiForm(f): UiForm<CreateKeyForm>,
) -> Response {
    let values = minijinja::context! {
        name => f.name.clone(),
        scopes => f.scopes.clone(),
        expires_in_days => f.expires_in_days.clone(),
    };
    let fail = |e: Error| {
        let (errors, alert) = form_errors(&e);
        (
            status_of(&e),
            minijinja::context! { values => values.clone(), errors => errors, alert => alert },
        )
    };
    let days = f.expires_in_days.trim();
    let expires_in_days = if days.is_empty() {
        None
    } else {
        match days.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                let (status, ctx) = fail(Error::field(
                    "expires_in_days",
                    "must be a whole number of days",
                ));
                return api_keys_page(&page, &signed, status, ctx).await;
            }
        }
    };
    let scopes: Vec<String> = f.scopes.split_whitespace().map(str::to_owned).collect();
    let input = NewApiKey {
        name: f.name.trim().to_owned(),
        scopes: (!scopes.is_empty()).then_some(scopes),
        expires_in_days,
    };
    match page
        .auth()
        .create_api_key(signed.account.id, input, &page.client)
        .await
    {
        Ok(issued) => {
            let ctx = minijinja::context! {
                new_key => issued.key,
                new_key_name => issued.record.name,
            };
            api_keys_page(&page, &signed, StatusCode::OK, ctx).await
        }
        Err(e) => {
            let (status, ctx) = fail(e);
            api_keys_page(&page, &signed, status, ctx).await
        }
    }
}

async fn revoke_api_key(Member { page, signed }: Member, Path(id): Path<String>) -> Response {
    let Some(id) = ApiKeyId::parse(&id) else {
        return not_found(&page);
    };
    let auth = page.auth();
    let name = match auth.api_key(Some(signed.account.id), id).await {
        Ok(k) => k.name,
        Err(e) => return page.error(&e),
    };
    match auth
        .revoke_api_key(Some(signed.account.id), id, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &page.ui.url("/account/api-keys"),
            Some(Flash::notice(format!("The key {name} is revoked."))),
        ),
        Err(e) => page.error(&e),
    }
}

async fn renew_api_key(Member { page, signed }: Member, Path(id): Path<String>) -> Response {
    let Some(id) = ApiKeyId::parse(&id) else {
        return not_found(&page);
    };
    match page
        .auth()
        .renew_api_key(Some(signed.account.id), id, None, &page.client)
        .await
    {
        Ok(k) => {
            let until = k
                .expires_at
                .map(|t| format!("now expires {}", when(t)))
                .unwrap_or_else(|| "now never expires".into());
            page.redirect(
                &page.ui.url("/account/api-keys"),
                Some(Flash::notice(format!("The key {} {until}.", k.name))),
            )
        }
        Err(e) => page.error(&e),
    }
}

async fn api_key_usage(Member { page, signed }: Member, Path(id): Path<String>) -> Response {
    let Some(id) = ApiKeyId::parse(&id) else {
        return not_found(&page);
    };
    let auth = page.auth();
    let key = match auth.api_key(Some(signed.account.id), id).await {
        Ok(k) if k.revoked_at.is_none() => k,
        Ok(_) => return not_found(&page),
        Err(e) => return page.error(&e),
    };
    let usage = match auth.api_key_usage(Some(signed.account.id), id, 200).await {
        Ok(u) => u,
        Err(e) => return page.error(&e),
    };
    let rows: Vec<minijinja::Value> = usage
        .iter()
        .map(|u| {
            minijinja::context! {
                at => when(u.at),
                at_iso => iso(u.at),
                ip => u.ip.clone(),
                method => u.method.clone(),
                path => u.path.clone(),
            }
        })
        .collect();
    page.render(
        "account/api_key_usage.html",
        minijinja::context! {
            tab => "api-keys",
            key => minijinja::context! {
                id => key.id.to_string(),
                name => key.name,
                prefix => key_prefix(key.id),
            },
            usage => rows,
        },
    )
}

// ----- identities -----------------------------------------------------------

async fn identities(Member { page, signed }: Member) -> Response {
    let list = match page.auth().identities(signed.account.id).await {
        Ok(l) => l,
        Err(e) => return page.error(&e),
    };
    let oauth = page.ui.warden().http().oauth.clone();
    let display = |name: &str| {
        oauth
            .as_ref()
            .and_then(|c| c.provider(name))
            .map(|p| p.display_name().to_owned())
            .unwrap_or_else(|| name.to_owned())
    };
    let linked: Vec<minijinja::Value> = list
        .iter()
        .map(|i| {
            minijinja::context! {
                id => i.id.to_string(),
                provider => display(&i.provider),
                subject => i.subject.clone(),
                email => i.email.clone(),
                linked => when(i.created_at),
                linked_iso => iso(i.created_at),
            }
        })
        .collect();
    let available: Vec<minijinja::Value> = oauth
        .iter()
        .flat_map(|c| c.providers.iter())
        .filter(|p| !list.iter().any(|i| i.provider == p.name()))
        .map(|p| {
            minijinja::context! {
                name => p.name(),
                display_name => p.display_name(),
            }
        })
        .collect();
    page.render(
        "account/identities.html",
        minijinja::context! {
            tab => "identities",
            identities => linked,
            providers => available,
            has_password => signed.account.password_hash.is_some(),
        },
    )
}

async fn unlink_identity(Member { page, signed }: Member, Path(id): Path<String>) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return not_found(&page);
    };
    let back = page.ui.url("/account/identities");
    match page
        .auth()
        .unlink_identity(signed.account.id, id, &page.client)
        .await
    {
        Ok(()) => page.redirect(&back, Some(Flash::notice("The identity is unlinked."))),
        Err(Error::NotFound) => not_found(&page),
        Err(e @ Error::LastSignInMethod) => page.redirect(
            &back,
            Some(Flash::alert(format!(
                "{} Set a password or link another identity first.",
                super::message(&e)
            ))),
        ),
        Err(e) => page.redirect(&back, Some(Flash::alert(super::message(&e)))),
    }
}

/// Start linking an external identity: the authorization request remembers
/// this account, and the provider's answer comes back through the JSON
/// callback, which links it and sends the browser to `{ui}/oauth/complete`.
async fn link_identity(
    Member { page, signed }: Member,
    State(ui): State<Ui>,
    Path(provider): Path<String>,
) -> Response {
    let w = ui.warden();
    let Some(config) = w.http().oauth.as_ref() else {
        return not_found(&page);
    };
    let Some(p) = config.provider(&provider) else {
        return not_found(&page);
    };
    let mut state = OAuthState::new(p.name(), p.uses_nonce(), ui.url("/oauth/complete"));
    state.link_account = Some(signed.account.id);
    let back = ui.url("/account/identities");
    match config
        .start(page.auth(), &w.http().prefix, p.as_ref(), &state)
        .await
    {
        Ok(url) => super::see_other(&url),
        Err(e) => page.redirect(&back, Some(Flash::alert(super::message(&e)))),
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
