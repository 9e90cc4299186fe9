//! The pages of Warden's OpenID Provider: the authorization endpoint
//! (`/oauth2/authorize`: the browser signs in through the hosted sign-in,
//! then consents, then goes back to the client with a code) and
//! RP-initiated logout (`/oauth2/logout`). The rules are in
//! [`warden_core::provider`]; these handlers only move the browser.

use super::{Member, Page, Ui, UiForm, see_other, url_encode};
use axum::Router;
use axum::extract::RawQuery;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use warden_core::provider::authorize::{AuthorizeError, AuthorizeRequest, Checked, Next};
use warden_core::provider::is_oidc_scope;

/// Built-in templates of these pages.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    ("consent.html", include_str!("../templates/consent.html")),
    ("continue.html", include_str!("../templates/continue.html")),
    (
        "signed_out.html",
        include_str!("../templates/signed_out.html"),
    ),
];

/// The provider's pages.
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
        .route("/oauth2/authorize", get(authorize).post(consent))
        .route("/oauth2/logout", get(logout).post(logout_form))
}

/// Where these pages are, for the provider's discovery document
/// ([`warden_axum::Warden::provider_router`]).
pub fn pages(cfg: &crate::UiConfig) -> warden_axum::ProviderPages {
    warden_axum::ProviderPages {
        authorize: format!("{}/oauth2/authorize", cfg.path),
        end_session: format!("{}/oauth2/logout", cfg.path),
    }
}

/// Our own marker on the authorization URL after a forced sign-in.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Marker {
    login_after: Option<i64>,
    resume: Option<String>,
}

fn parse(query: &str) -> (AuthorizeRequest, Marker) {
    let req = serde_urlencoded::from_str(query).unwrap_or_default();
    let marker: Marker = serde_urlencoded::from_str(query).unwrap_or_default();
    (req, marker)
}

/// Send the browser on to the client. After a form post (the consent
/// form, or the sign-in that led here: `resume`) this is a page that moves
/// on by itself: a redirect would be checked against the `form-action` of
/// the page that posted, which names only Warden and allow-listed apps.
fn to_client(page: &Page, location: &str, client: &str, after_post: bool) -> Response {
    if !after_post {
        return see_other(location);
    }
    page.render(
        "continue.html",
        minijinja::context! { to => location, client => client },
    )
}

/// What the check of a request answers when it fails.
fn refused(page: &Page, e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(text) => {
            page.message(StatusCode::BAD_REQUEST, "Sign-in request refused", &text)
        }
        AuthorizeError::Redirect { location } => see_other(&location),
        AuthorizeError::Engine(e) => page.error(&e),
    }
}

/// A human text of a scope for the consent page.
fn describe(scope: &str) -> String {
    match scope {
        "openid" => "Know who you are (your account id)".into(),
        "profile" => "See your login name".into(),
        "email" => "See your email address".into(),
        "offline_access" => "Stay signed in when you are away".into(),
        other => format!("Use your permission \u{201c}{other}\u{201d}"),
    }
}

async fn authorize(page: Page, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let (req, marker) = parse(&query);
    let provider = page.auth().provider().clone();
    let checked = match provider.check_authorize(&req).await {
        Ok(c) => c,
        Err(e) => return refused(&page, e),
    };
    let signed = page
        .signed
        .as_ref()
        .map(|s| (s.account.as_ref(), &s.session));
    let next = match provider
        .next_step(&checked, signed, marker.login_after)
        .await
    {
        Ok(n) => n,
        Err(e) => return page.error(&e),
    };
    let after_post = marker.resume.is_some();
    if let Some(location) = provider.interaction_required(&checked, &next) {
        return to_client(&page, &location, &checked.client.name, after_post);
    }
    match next {
        Next::SignIn => sign_in_first(&page, &checked, &query).await,
        Next::Consent => consent_page(&page, &checked, &query),
        Next::Grant => grant(&page, &checked, false, after_post).await,
    }
}

/// Send the browser to the hosted sign-in, coming back here afterwards. A
/// browser signed in already (`prompt=login`, `max_age`) is signed out
/// first, and the way back says after when a sign-in counts.
async fn sign_in_first(page: &Page, checked: &Checked, query: &str) -> Response {
    let mut back = format!("{}?{query}", page.ui.url("/oauth2/authorize"));
    if !query.split('&').any(|p| p.starts_with("resume=")) {
        back.push_str("&resume=1");
    }
    if page.signed.is_some() || checked.prompt_login {
        let now = page.auth().now().unix_timestamp();
        back = format!("{back}&login_after={now}");
    }
    let mut to = format!(
        "{}?redirect_to={}",
        page.ui.url("/sign-in"),
        url_encode(&back)
    );
    if let Some(hint) = &checked.login_hint {
        to = format!("{to}&login={}", url_encode(hint));
    }
    if page.signed.is_none() {
        return see_other(&to);
    }
    match page.sign_out(None).await {
        Ok(mut res) => {
            if let Ok(v) = to.parse() {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res
        }
        Err(e) => page.error(&e),
    }
}

fn consent_page(page: &Page, checked: &Checked, query: &str) -> Response {
    let scopes: Vec<minijinja::Value> = (checked.scopes.iter())
        .filter(|s| {
            is_oidc_scope(s) || page.signed.as_ref().is_some_and(|m| m.account.has_scope(s))
        })
        .map(|s| minijinja::context! { name => s, text => describe(s) })
        .collect();
    let origin = url::Url::parse(&checked.redirect_uri)
        .ok()
        .map(|u| u.origin().ascii_serialization());
    page.render(
        "consent.html",
        minijinja::context! {
            client => checked.client.name.clone(),
            origin => origin,
            scopes => scopes,
            request => query,
        },
    )
}

async fn grant(page: &Page, checked: &Checked, consented: bool, after_post: bool) -> Response {
    let Some(signed) = &page.signed else {
        return page.error(&warden_core::Error::Unauthenticated);
    };
    match (page.auth().provider())
        .grant(
            &signed.account,
            &signed.session,
            checked,
            consented,
            &page.client,
        )
        .await
    {
        Ok(location) => to_client(page, &location, &checked.client.name, after_post),
        Err(e) => page.error(&e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConsentForm {
    request: String,
    decision: String,
}

/// The consent form: allow issues the code, deny answers `access_denied`.
async fn consent(member: Member, UiForm(f): UiForm<ConsentForm>) -> Response {
    let page = member.page;
    let (req, _) = parse(&f.request);
    let provider = page.auth().provider().clone();
    let checked = match provider.check_authorize(&req).await {
        Ok(c) => c,
        Err(e) => return refused(&page, e),
    };
    if f.decision != "allow" {
        let location = provider.denied_location(&checked);
        return to_client(&page, &location, &checked.client.name, true);
    }
    grant(&page, &checked, true, true).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogoutQuery {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

async fn logout(page: Page, RawQuery(query): RawQuery) -> Response {
    let q: LogoutQuery = serde_urlencoded::from_str(&query.unwrap_or_default()).unwrap_or_default();
    end_session(page, q).await
}

async fn logout_form(page: Page, UiForm(q): UiForm<LogoutQuery>) -> Response {
    end_session(page, q).await
}

/// RP-initiated logout. With a valid `id_token_hint` the client's session
/// and the browser's Warden session end, and the browser goes to the
/// registered `post_logout_redirect_uri` (or the signed-out page). Without
/// one, a signed-in browser is asked to confirm (the sign-out form).
async fn end_session(page: Page, q: LogoutQuery) -> Response {
    let provider = page.auth().provider().clone();
    let outcome = provider
        .end_session(
            q.id_token_hint.as_deref(),
            q.client_id.as_deref(),
            q.post_logout_redirect_uri.as_deref(),
            q.state.as_deref(),
            &page.client,
        )
        .await;
    let logout = match outcome {
        Ok(l) => l,
        Err(e @ warden_core::Error::Validation(_)) => {
            return page.message(
                StatusCode::BAD_REQUEST,
                "Sign-out request refused",
                &super::message(&e),
            );
        }
        Err(e) => return page.error(&e),
    };
    let browser_matches = match (&page.signed, logout.account) {
        (Some(s), Some(a)) => s.account.id == a,
        _ => false,
    };
    if page.signed.is_some() && !browser_matches {
        // No proof that the request comes from the account's client: ask.
        return page.render("signed_out.html", minijinja::context! { confirm => true });
    }
    let to = (logout.location.clone()).unwrap_or_else(|| page.ui.url("/oauth2/logout"));
    if page.signed.is_none() {
        return match logout.location {
            Some(l) => see_other(&l),
            None => page.render("signed_out.html", minijinja::context! { confirm => false }),
        };
    }
    match page.sign_out(None).await {
        Ok(mut res) => {
            if let Ok(v) = to.parse() {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res
        }
        Err(e) => page.error(&e),
    }
}
