//! The API.md routes.

pub mod admin;
pub mod api_keys;
pub mod auth;
pub mod dto;
pub mod email;
pub mod mfa;
pub mod oauth;
pub mod oauth_clients;
pub mod org_extra;
pub mod organizations;
pub mod passkeys;
pub mod provider;
pub mod service_accounts;

use crate::Warden;
use crate::error::{ApiError, problem};
use crate::extract::client_info;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use warden_core::Error;

/// Middleware: the per-IP rate limit of the credential routes (shared through
/// Redis when configured). Use with `axum::middleware::from_fn_with_state`.
pub async fn rate_limited(State(warden): State<Warden>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let ip = client_info(&parts, &warden)
        .ip
        .unwrap_or_else(|| "unknown".into());
    if let Err(secs) = limit_key(&warden, &ip).await {
        return problem(&Error::TooManyAttempts { retry_after: secs });
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Take one request of `key` from the rate limit (`rate_limit_per_minute`,
/// shared through Redis when configured): the seconds to wait when over it.
pub(crate) async fn limit_key(warden: &Warden, key: &str) -> Result<(), u64> {
    let now = warden.auth().now();
    let shared = match warden.shared_limiter() {
        Some(limit) => match limit
            .check(key, now, warden.http().rate_limit_per_minute)
            .await
        {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "shared rate limit unavailable; limiting per node");
                None
            }
        },
        None => None,
    };
    let checked = match shared {
        Some(r) => r,
        None => warden.limiter().check(key, now),
    };
    if checked.is_err() {
        metrics::counter!("warden_rate_limited_total").increment(1);
    }
    checked
}

/// Every response of the auth routes: `Cache-Control: no-store` unless the
/// handler chose otherwise. A plain function layer: no boxed future on the
/// request path.
fn finish(mut res: Response) -> Response {
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

async fn not_found() -> ApiError {
    ApiError(Error::NotFound)
}

pub(crate) fn router<S>(warden: &Warden) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Warden: FromRef<S>,
{
    let limited = Router::new()
        .route("/register", post(auth::register))
        .route("/login", post(auth::login))
        .route("/password", post(auth::change_password))
        .route("/fresh", post(auth::fresh))
        // Always routed: accounts that enrolled keep signing in even when
        // WARDEN_OTP_ENABLED=false stops new enrolments.
        .route("/login/mfa", post(mfa::login_mfa))
        .route("/email/verify", post(email::verify).get(email::verify_page))
        .route("/email/change", post(email::change))
        .route("/password/forgot", post(email::forgot))
        .route("/password/reset", post(email::reset))
        // Each authorize stores a state row and each callback calls the provider.
        .route("/oauth/{provider}/authorize", get(oauth::authorize))
        .route("/oauth/{provider}/callback", get(oauth::callback))
        .route("/passkeys/register/begin", post(passkeys::register_begin))
        .route("/passkeys/register/finish", post(passkeys::register_finish))
        .route("/passkeys/signup/begin", post(passkeys::signup_begin))
        .route("/passkeys/signup/finish", post(passkeys::signup_finish))
        .route("/passkeys/login/begin", post(passkeys::login_begin))
        .route("/passkeys/login/finish", post(passkeys::login_finish))
        // The OpenID Provider's endpoints that check a client secret.
        .route("/oauth2/token", post(provider::token))
        .route("/oauth2/introspect", post(provider::introspect))
        .route("/oauth2/revoke", post(provider::revoke))
        // Invitation tokens are secrets too.
        .route("/invitations/accept", post(org_extra::accept))
        .route("/invitations/decline", post(org_extra::decline));
    let limited = if warden.cookie_sessions().is_some() {
        limited
            .route("/session/login", post(crate::session::login))
            .route("/session/login/mfa", post(crate::session::login_mfa))
    } else {
        limited
    };
    let limited = limited.route_layer(middleware::from_fn_with_state(warden.clone(), rate_limited));
    let open = Router::new()
        .route("/refresh", post(auth::refresh))
        .route("/logout", post(auth::logout))
        .route("/logout/all", post(auth::logout_all))
        .route("/me", get(auth::me))
        .route("/email", get(email::status))
        .route("/email/verification", post(email::send_verification))
        .route("/sessions", get(auth::sessions))
        .route("/oauth/providers", get(oauth::providers))
        .route("/identities", get(oauth::identities))
        .route("/identities/{id}", delete(oauth::unlink))
        .route("/sessions/{id}", delete(auth::revoke_session))
        .route("/login/change", post(auth::change_login))
        .route("/admin/accounts", get(admin::list).post(admin::create))
        .route(
            "/admin/accounts/{id}",
            get(admin::get).patch(admin::patch).delete(admin::delete),
        )
        .route(
            "/admin/accounts/{id}/block",
            post(admin::block).get(admin::block_status),
        )
        .route("/admin/accounts/{id}/unblock", post(admin::unblock))
        .route("/admin/accounts/{id}/mfa", delete(admin::disable_mfa))
        .route(
            "/admin/accounts/{id}/sessions",
            delete(admin::revoke_sessions),
        )
        .route("/admin/audit", get(admin::audit))
        .route("/passkeys", get(passkeys::list))
        .route(
            "/passkeys/{id}",
            delete(passkeys::delete).patch(passkeys::rename),
        )
        .route("/admin/accounts/{id}/passkeys", get(passkeys::admin_list))
        .route(
            "/admin/accounts/{id}/passkeys/{pid}",
            delete(passkeys::admin_delete),
        )
        .route("/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/api-keys/{id}", delete(api_keys::revoke))
        .route("/api-keys/{id}/renew", post(api_keys::renew))
        .route("/api-keys/{id}/usage", get(api_keys::usage))
        .route(
            "/admin/api-keys",
            get(api_keys::admin_list).post(service_accounts::create_api_key),
        )
        .route("/admin/api-keys/{id}", delete(api_keys::admin_revoke))
        .route(
            "/admin/api-keys/{id}/renew",
            post(service_accounts::renew_api_key),
        )
        .route("/admin/api-keys/{id}/usage", get(api_keys::admin_usage))
        .route(
            "/admin/service-accounts",
            post(service_accounts::create_service_account),
        )
        .route(
            "/oauth2/userinfo",
            get(provider::userinfo).post(provider::userinfo),
        )
        .route(
            "/admin/oauth-clients",
            get(oauth_clients::list).post(oauth_clients::create),
        )
        .route(
            "/admin/oauth-clients/{id}",
            get(oauth_clients::get)
                .patch(oauth_clients::patch)
                .delete(oauth_clients::delete),
        )
        .route(
            "/admin/oauth-clients/{id}/secret",
            post(oauth_clients::rotate_secret),
        );
    let open = open.merge(organization_routes());
    let open = if warden.auth().settings().otp_enabled {
        open.route("/mfa/totp/setup", post(mfa::totp_setup))
            .route("/mfa/totp/confirm", post(mfa::totp_confirm))
            .route("/mfa/totp", delete(mfa::totp_disable))
    } else {
        open
    };
    let open = if warden.cookie_sessions().is_some() {
        open.route("/session/logout", post(crate::session::logout))
    } else {
        open
    };
    limited
        .merge(open)
        .fallback(not_found)
        .method_not_allowed_fallback(crate::error::method_not_allowed)
        .layer(tower::util::MapResponseLayer::new(finish))
        .layer(DefaultBodyLimit::max(warden.http().body_limit))
}

/// The organization routes (API.md "Organizations"), outside the per-IP
/// limit (invitation sends have their own, `WARDEN_INVITATION_SENDS`).
fn organization_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Warden: FromRef<S>,
{
    use axum::routing::patch;
    use org_extra as x;
    use organizations as o;
    Router::new()
        .route("/organizations", get(o::mine).post(o::create))
        .route(
            "/organizations/{id}",
            get(o::get).patch(o::patch).delete(o::delete),
        )
        .route("/organizations/{id}/activate", post(o::activate))
        .route("/organizations/{id}/members", get(o::members))
        .route(
            "/organizations/{id}/members/{account_id}",
            patch(o::set_role).delete(o::remove),
        )
        .route(
            "/organizations/{id}/invitations",
            get(x::invitations).post(x::invite),
        )
        .route(
            "/organizations/{id}/invitations/{iid}",
            delete(x::revoke_invitation),
        )
        .route(
            "/organizations/{id}/roles",
            get(x::roles).post(x::create_role),
        )
        .route(
            "/organizations/{id}/roles/{name}",
            patch(x::update_role).delete(x::delete_role),
        )
        .route("/admin/organizations", get(x::admin_list))
        .route(
            "/admin/organizations/{id}",
            get(x::admin_get).delete(x::admin_delete),
        )
        .route("/admin/organizations/{id}/members", get(x::admin_members))
}

pub(crate) fn jwks_router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Warden: FromRef<S>,
{
    Router::new()
        .route("/.well-known/jwks.json", get(auth::jwks))
        .method_not_allowed_fallback(crate::error::method_not_allowed)
}

/// The OpenID Provider's discovery documents, at the root.
pub(crate) fn provider_router<S>(pages: provider::ProviderPages) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Warden: FromRef<S>,
{
    let (a, b) = (pages.clone(), pages);
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move |State(w): State<Warden>| provider::discovery(w, a.clone())),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(move |State(w): State<Warden>| provider::discovery(w, b.clone())),
        )
        .method_not_allowed_fallback(crate::error::method_not_allowed)
}

/// Parse a path id, answering 404 for anything that is not a UUID.
pub(crate) fn parse_id<T>(s: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, ApiError> {
    f(s).ok_or(ApiError(Error::NotFound))
}

pub(crate) fn json<T: serde::Serialize>(status: axum::http::StatusCode, body: &T) -> Response {
    (status, axum::Json(body)).into_response()
}
