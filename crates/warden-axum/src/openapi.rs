//! The OpenAPI 3.1 document of the routes.

use crate::error::{FieldErrorBody, Problem};
use crate::routes::{
    admin, api_keys, auth, dto, email, mfa, oauth, oauth_clients, org_extra, organizations,
    passkeys, provider, service_accounts,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        c.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        c.add_security_scheme(
            "admin_secret",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Admin-Secret"))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Warden", description = "Batteries-included authentication: accounts, sessions, JWT access tokens with rotating refresh tokens, admin. Errors are RFC 9457 problem+json with a stable `code`."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout, auth::logout_all, auth::me,
        auth::sessions, auth::revoke_session, auth::change_password, auth::fresh, auth::change_login, auth::jwks,
        admin::list, admin::create, admin::get, admin::patch, admin::delete, admin::block, admin::unblock,
        admin::block_status, admin::disable_mfa, admin::revoke_sessions, admin::audit,
        mfa::totp_setup, mfa::totp_confirm, mfa::totp_disable, mfa::login_mfa,
        api_keys::create, api_keys::list, api_keys::revoke, api_keys::renew, api_keys::usage,
        api_keys::admin_list, api_keys::admin_revoke, api_keys::admin_usage,
        email::status, email::send_verification, email::verify, email::forgot, email::reset, email::change,
        oauth::providers, oauth::authorize, oauth::callback, oauth::identities, oauth::unlink,
        passkeys::register_begin, passkeys::register_finish, passkeys::signup_begin, passkeys::signup_finish,
        passkeys::login_begin, passkeys::login_finish, passkeys::list, passkeys::rename, passkeys::delete,
        passkeys::admin_list, passkeys::admin_delete,
        service_accounts::create_service_account, service_accounts::create_api_key, service_accounts::renew_api_key,
        oauth_clients::create, oauth_clients::list, oauth_clients::get, oauth_clients::patch, oauth_clients::delete,
        oauth_clients::rotate_secret, provider::token, provider::userinfo, provider::introspect, provider::revoke,
        organizations::create, organizations::mine, organizations::get, organizations::patch, organizations::delete,
        organizations::members, organizations::set_role, organizations::remove, organizations::activate,
        org_extra::invite, org_extra::invitations, org_extra::revoke_invitation, org_extra::accept, org_extra::decline,
        org_extra::roles, org_extra::create_role, org_extra::update_role, org_extra::delete_role,
        org_extra::admin_list, org_extra::admin_get, org_extra::admin_delete, org_extra::admin_members,
    ),
    components(schemas(Problem, FieldErrorBody, dto::AccountBody, dto::TokenPairBody)),
    modifiers(&Security),
    tags((name = "accounts"), (name = "sessions"), (name = "admin"), (name = "service"), (name = "mfa"), (name = "api-keys"), (name = "email"), (name = "oauth"), (name = "passkeys"), (name = "oauth-provider"), (name = "organizations"))
)]
struct ApiDoc;

/// The OpenAPI document with the routes under `prefix` (`/auth` in the standalone server).
/// With `hide` (`WARDEN_HIDE_DOCS`), the admin and API-key routes are left out.
pub fn openapi(prefix: &str, hide: bool) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let prefix = prefix.trim_end_matches('/');
    let paths = std::mem::take(&mut doc.paths.paths);
    for (path, item) in paths {
        if hide && (path.starts_with("/auth/admin") || path.starts_with("/auth/api-keys")) {
            continue;
        }
        let path = match path.strip_prefix("/auth") {
            Some(rest) => format!("{prefix}{rest}"),
            None => path,
        };
        doc.paths.paths.insert(path, item);
    }
    if hide {
        hide_api_keys(&mut doc);
    }
    doc
}

/// Leave the API-key tag, security scheme and schemas out of a hidden document.
fn hide_api_keys(doc: &mut utoipa::openapi::OpenApi) {
    if let Some(tags) = doc.tags.as_mut() {
        tags.retain(|t| t.name != "api-keys");
    }
    if let Some(c) = doc.components.as_mut() {
        c.security_schemes.remove("api_key");
        c.schemas.retain(|name, _| !name.contains("ApiKey"));
    }
}
