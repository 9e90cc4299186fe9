//! The pages anyone may open: sign-in (with the second-factor step and the
//! external providers), sign-up, email verification, forgotten password,
//! password reset, sign-out.

use super::{Flash, Page, Ui, UiForm, form_errors, safe_redirect, status_of, url_encode};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use warden_axum::error::render;
use warden_core::{Error, LoginOutcome, NewAccount};

/// Built-in templates of these pages (and the shared layout).
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("message.html", include_str!("../templates/message.html")),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    (
        "sign_in_mfa.html",
        include_str!("../templates/sign_in_mfa.html"),
    ),
    ("sign_up.html", include_str!("../templates/sign_up.html")),
    (
        "check_email.html",
        include_str!("../templates/check_email.html"),
    ),
    (
        "verify_email.html",
        include_str!("../templates/verify_email.html"),
    ),
    ("forgot.html", include_str!("../templates/forgot.html")),
    ("reset.html", include_str!("../templates/reset.html")),
];

/// The GET pages and sign-out.
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in_page))
        .route("/sign-up", get(sign_up_page))
        .route("/email/verify", get(verify_page))
        .route("/forgot-password", get(forgot_page))
        .route("/password/reset", get(reset_page))
        .route("/oauth/complete", get(oauth_complete))
        .route("/sign-out", post(sign_out))
}

/// The POSTs that check credentials or send mail: under the per-IP rate limit.
pub(crate) fn limited_routes() -> Router<Ui> {
    Router::new()
        .route("/sign-in", post(sign_in))
        .route("/sign-in/mfa", post(sign_in_mfa))
        .route("/sign-up", post(sign_up))
        .route("/email/verify", post(verify))
        .route("/forgot-password", post(forgot))
        .route("/password/reset", post(reset))
}

async fn home(page: Page) -> Response {
    let to = if page.signed.is_some() {
        page.ui.url("/account")
    } else {
        page.ui.url("/sign-in")
    };
    page.redirect(&to, None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RedirectQuery {
    redirect_to: Option<String>,
    /// A login to prefill (an OpenID client's `login_hint`).
    login: Option<String>,
}

/// The configured external providers: `(name, display name, start URL)`.
fn providers(page: &Page, redirect_to: Option<&str>) -> Vec<minijinja::Value> {
    let Some(oauth) = &page.ui.warden().http().oauth else {
        return Vec::new();
    };
    let mut done = page.ui.url("/oauth/complete");
    if let Some(to) = redirect_to {
        done = format!("{done}?next={}", url_encode(to));
    }
    oauth
        .providers
        .iter()
        .map(|p| {
            minijinja::context! {
                name => p.name(),
                display_name => p.display_name(),
                url => format!(
                    "{}/oauth/{}/authorize?redirect_to={}",
                    page.ui.config().api_prefix,
                    url_encode(p.name()),
                    url_encode(&done)
                ),
            }
        })
        .collect()
}

fn registration_open(page: &Page) -> bool {
    page.auth().settings().registration != warden_core::Registration::Closed
}

fn sign_in_form(
    page: &Page,
    status: StatusCode,
    login: &str,
    redirect_to: Option<&str>,
    remember: bool,
    error: Option<&Error>,
) -> Response {
    let (errors, alert) = error.map(form_errors).unwrap_or_default();
    page.render_status(
        status,
        "sign_in.html",
        minijinja::context! {
            login => login,
            remember => remember,
            redirect_to => redirect_to,
            providers => providers(page, redirect_to),
            registration_open => registration_open(page),
            errors => errors,
            alert => alert,
        },
    )
}

async fn sign_in_page(page: Page, Query(q): Query<RedirectQuery>) -> Response {
    let to = safe_redirect(&page.ui, q.redirect_to.as_deref());
    if page.signed.is_some() {
        return page.redirect(&page.after_sign_in(to.as_deref()), None);
    }
    let login: String = q.login.unwrap_or_default().chars().take(64).collect();
    sign_in_form(&page, StatusCode::OK, &login, to.as_deref(), false, None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignInForm {
    login: String,
    password: String,
    remember: Option<String>,
    redirect_to: Option<String>,
    #[serde(flatten)]
    captcha: CaptchaFields,
}

/// The human-check answer of a form, whichever widget produced it.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CaptchaFields {
    captcha: Option<String>,
    #[serde(rename = "g-recaptcha-response")]
    recaptcha: Option<String>,
    #[serde(rename = "h-captcha-response")]
    hcaptcha: Option<String>,
    #[serde(rename = "cf-turnstile-response")]
    turnstile: Option<String>,
}

impl CaptchaFields {
    fn answer(&self) -> Option<&str> {
        [
            &self.captcha,
            &self.recaptcha,
            &self.hcaptcha,
            &self.turnstile,
        ]
        .into_iter()
        .filter_map(|f| f.as_deref())
        .find(|s| !s.is_empty())
    }
}

async fn sign_in(page: Page, UiForm(f): UiForm<SignInForm>) -> Response {
    let w = page.ui.warden().clone();
    let to = safe_redirect(&page.ui, f.redirect_to.as_deref());
    let remember = f.remember.is_some();
    let captcha = f.captcha.answer();
    let ip = page.client.ip.clone();
    let outcome =
        match warden_axum::captcha::before_login(&w, &f.login, captcha, ip.as_deref()).await {
            Ok(()) => {
                page.auth()
                    .sessions()
                    .login_with_amr(&f.login, &f.password, remember, &["pwd"], &page.client)
                    .await
            }
            Err(e) => Err(e),
        };
    match outcome {
        Ok(LoginOutcome::Tokens(pair)) => {
            let dest = page.after_sign_in(to.as_deref());
            page.sign_in_to(pair.session_id, Some(&pair), &dest)
                .await
                .unwrap_or_else(|e| page.error(&e))
        }
        Ok(LoginOutcome::MfaRequired { mfa_token, .. }) => {
            mfa_form(&page, StatusCode::OK, &mfa_token, to.as_deref(), None)
        }
        Err(e) => render(
            &e,
            sign_in_form(
                &page,
                status_of(&e),
                &f.login,
                to.as_deref(),
                remember,
                Some(&e),
            ),
        ),
    }
}

fn mfa_form(
    page: &Page,
    status: StatusCode,
    mfa_token: &str,
    redirect_to: Option<&str>,
    error: Option<&Error>,
) -> Response {
    let (errors, alert) = match error {
        Some(Error::InvalidMfaCode) => (
            minijinja::context! { code => "That code is not right. Try the current one or a recovery code; if this keeps happening, start again." },
            None,
        ),
        Some(e) => form_errors(e),
        None => Default::default(),
    };
    page.render_status(
        status,
        "sign_in_mfa.html",
        minijinja::context! {
            mfa_token => mfa_token,
            redirect_to => redirect_to,
            errors => errors,
            alert => alert,
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MfaForm {
    mfa_token: String,
    code: String,
    redirect_to: Option<String>,
}

async fn sign_in_mfa(page: Page, UiForm(f): UiForm<MfaForm>) -> Response {
    let to = safe_redirect(&page.ui, f.redirect_to.as_deref());
    let code: String = f.code.chars().filter(|c| !c.is_whitespace()).collect();
    match page
        .auth()
        .mfa()
        .login_mfa_with_amr(&f.mfa_token, &code, &[], &page.client)
        .await
    {
        Ok(pair) => {
            let dest = page.after_sign_in(to.as_deref());
            page.sign_in_to(pair.session_id, Some(&pair), &dest)
                .await
                .unwrap_or_else(|e| page.error(&e))
        }
        Err(e @ Error::InvalidMfaCode) => render(
            &e,
            mfa_form(&page, status_of(&e), &f.mfa_token, to.as_deref(), Some(&e)),
        ),
        Err(e) => {
            // The step is over (expired, used, too many wrong codes): start again.
            let mut back = page.ui.url("/sign-in");
            if let Some(to) = &to {
                back = format!("{back}?redirect_to={}", url_encode(to));
            }
            let text = match e {
                Error::InvalidToken | Error::Unauthenticated | Error::TokenExpired => {
                    "The sign-in step expired. Sign in again.".to_owned()
                }
                other => super::message(&other),
            };
            page.redirect(&back, Some(Flash::alert(text)))
        }
    }
}

async fn sign_out(page: Page) -> Response {
    page.sign_out(Some(Flash::notice("You are signed out.")))
        .await
        .unwrap_or_else(|e| page.error(&e))
}

fn sign_up_form(
    page: &Page,
    status: StatusCode,
    login: &str,
    email: &str,
    error: Option<&Error>,
) -> Response {
    let (errors, alert) = error.map(form_errors).unwrap_or_default();
    page.render_status(
        status,
        "sign_up.html",
        minijinja::context! {
            login => login,
            email => email,
            email_required => page.auth().settings().require_verified_email,
            errors => errors,
            alert => alert,
        },
    )
}

async fn sign_up_page(page: Page) -> Response {
    if !registration_open(&page) {
        return page.message(
            StatusCode::FORBIDDEN,
            "Registration is closed",
            "New accounts are created by an administrator.",
        );
    }
    sign_up_form(&page, StatusCode::OK, "", "", None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignUpForm {
    login: String,
    email: String,
    password: String,
    #[serde(flatten)]
    captcha: CaptchaFields,
}

async fn sign_up(page: Page, UiForm(f): UiForm<SignUpForm>) -> Response {
    let w = page.ui.warden().clone();
    if let Some(c) = &w.http().captcha {
        let answer = f.captcha.answer();
        if let Err(e) = c.check(answer, page.client.ip.as_deref()).await {
            return render(
                &e,
                sign_up_form(&page, status_of(&e), &f.login, &f.email, Some(&e)),
            );
        }
    }
    let email = f.email.trim().to_owned();
    let input = NewAccount {
        login: f.login.clone(),
        password: f.password.clone(),
        email: (!email.is_empty()).then(|| email.clone()),
        ..NewAccount::default()
    };
    let account = match page.auth().accounts().register(input, &page.client).await {
        Ok(a) => a,
        Err(e) => {
            let e = match e {
                Error::LoginTaken => Error::field("login", "is taken; choose another"),
                Error::EmailTaken => Error::field("email", "is already used by an account"),
                other => other,
            };
            return render(
                &e,
                sign_up_form(&page, status_of(&e), &f.login, &f.email, Some(&e)),
            );
        }
    };
    metrics::counter!("warden_registrations_total").increment(1);
    if account.email.is_none() {
        return page.redirect(
            &page.ui.url("/sign-in"),
            Some(Flash::notice("Your account is ready. Sign in.")),
        );
    }
    // With require_verified_email the engine has mailed the link already.
    if !page.auth().settings().require_verified_email
        && let Err(e) = page
            .auth()
            .email()
            .send_verification(account.id, &page.client)
            .await
    {
        tracing::warn!(error = %e, "verification mail after sign-up failed");
    }
    page.render(
        "check_email.html",
        minijinja::context! { email => account.email },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenQuery {
    token: String,
}

async fn verify_page(page: Page, Query(q): Query<TokenQuery>) -> Response {
    let mut res = page.render(
        "verify_email.html",
        minijinja::context! { token => q.token },
    );
    no_referrer(res.headers_mut());
    res
}

fn no_referrer(h: &mut HeaderMap) {
    h.insert(
        header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
}

async fn verify(page: Page, UiForm(f): UiForm<TokenQuery>) -> Response {
    match page
        .auth()
        .email()
        .verify_email(&f.token, &page.client)
        .await
    {
        Ok(()) => page.render("verify_email.html", minijinja::context! { done => true }),
        Err(e) => render(
            &e,
            page.message(status_of(&e), "Confirm your email", &super::message(&e)),
        ),
    }
}

async fn forgot_page(page: Page) -> Response {
    page.render("forgot.html", minijinja::context! {})
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ForgotForm {
    email: String,
    #[serde(flatten)]
    captcha: CaptchaFields,
}

async fn forgot(page: Page, State(ui): State<Ui>, UiForm(f): UiForm<ForgotForm>) -> Response {
    let email = f.email.trim().to_owned();
    if email.is_empty() || !email.contains('@') {
        let e = Error::field("email", "enter the email address of your account");
        let (errors, _) = form_errors(&e);
        return render(
            &e,
            page.render_status(
                status_of(&e),
                "forgot.html",
                minijinja::context! { email => email, errors => errors },
            ),
        );
    }
    if let Some(c) = &ui.warden().http().captcha {
        let answer = f.captcha.answer();
        if let Err(e) = c.check(answer, page.client.ip.as_deref()).await {
            let (errors, alert) = form_errors(&e);
            return render(
                &e,
                page.render_status(
                    status_of(&e),
                    "forgot.html",
                    minijinja::context! { email => email, errors => errors, alert => alert },
                ),
            );
        }
    }
    // Same answer, in the same time, whether or not the address is known.
    let auth = page.auth().clone();
    let client = page.client.clone();
    tokio::spawn(async move {
        if let Err(e) = auth.email().request_password_reset(&email, &client).await {
            tracing::warn!(error = %e, "password reset request failed");
        }
    });
    page.redirect(
        &ui.url("/forgot-password"),
        Some(Flash::notice(
            "If an account has this address, a link to set a new password is on its way.",
        )),
    )
}

async fn reset_page(page: Page, Query(q): Query<TokenQuery>) -> Response {
    let mut res = page.render("reset.html", minijinja::context! { token => q.token });
    no_referrer(res.headers_mut());
    res
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResetForm {
    token: String,
    password: String,
}

async fn reset(page: Page, UiForm(f): UiForm<ResetForm>) -> Response {
    match page
        .auth()
        .email()
        .reset_password(&f.token, &f.password, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &page.ui.url("/sign-in"),
            Some(Flash::notice("Your new password is set. Sign in with it.")),
        ),
        Err(e) => {
            let e = match e {
                Error::Validation(errs) => Error::Validation(
                    errs.into_iter()
                        .map(|mut f| {
                            if f.field == "new_password" {
                                f.field = "password".into();
                            }
                            f
                        })
                        .collect(),
                ),
                other => other,
            };
            let (errors, alert) = form_errors(&e);
            render(
                &e,
                page.render_status(
                    status_of(&e),
                    "reset.html",
                    minijinja::context! { token => f.token, errors => errors, alert => alert },
                ),
            )
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OAuthDone {
    next: Option<String>,
    mfa_required: Option<String>,
    mfa_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    linked: Option<String>,
}

/// Back from an external provider (`{api}/oauth/{p}/callback` redirected
/// here): the session it opened (whose API cookies the callback set) becomes
/// this browser's page session too, or the second-factor step follows.
async fn oauth_complete(page: Page, headers: HeaderMap, Query(q): Query<OAuthDone>) -> Response {
    let to = safe_redirect(&page.ui, q.next.as_deref());
    if let Some(err) = q.error.as_deref() {
        let text = q
            .error_description
            .clone()
            .unwrap_or_else(|| format!("External sign-in failed ({err})."));
        let back = if page.signed.is_some() && q.linked.is_none() {
            page.ui.url("/account/identities")
        } else {
            page.ui.url("/sign-in")
        };
        return page.redirect(&back, Some(Flash::alert(text)));
    }
    if let Some(provider) = q.linked.as_deref() {
        return page.redirect(
            &page.ui.url("/account/identities"),
            Some(Flash::notice(format!("Linked {provider}."))),
        );
    }
    if q.mfa_required.is_some()
        && let Some(token) = q.mfa_token.as_deref()
    {
        return mfa_form(&page, StatusCode::OK, token, to.as_deref(), None);
    }
    let cookies = &page.ui.warden().http().cookies;
    let claims = match warden_axum::cookies::get(&headers, &cookies.access_name) {
        Some(t) => page.auth().sessions().authenticate(t).await,
        None => Err(Error::Unauthenticated),
    };
    let claims = match claims {
        Ok(c) => c,
        Err(_) => {
            return page.redirect(
                &page.ui.url("/sign-in"),
                Some(Flash::alert("External sign-in did not finish. Try again.")),
            );
        }
    };
    let dest = page.after_sign_in(to.as_deref());
    // The callback has set the API cookies of this session already.
    page.sign_in_to(claims.sid, None, &dest)
        .await
        .unwrap_or_else(|e| page.error(&e))
}
