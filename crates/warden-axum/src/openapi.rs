//! The OpenAPI 3.1 document of the routes.

use crate::error::{FieldErrorBody, Problem};
use crate::routes::{admin, auth, dto};
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
    ),
    components(schemas(Problem, FieldErrorBody, dto::AccountBody, dto::TokenPairBody)),
    modifiers(&Security),
    tags((name = "accounts"), (name = "sessions"), (name = "admin"), (name = "service"))
)]
struct ApiDoc;

/// The OpenAPI document with the routes under `prefix` (`/auth` in the standalone server).
/// With `hide_admin`, admin routes are left out.
pub fn openapi(prefix: &str, hide_admin: bool) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let prefix = prefix.trim_end_matches('/');
    let paths = std::mem::take(&mut doc.paths.paths);
    for (path, item) in paths {
        if hide_admin && path.starts_with("/auth/admin") {
            continue;
        }
        let path = match path.strip_prefix("/auth") {
            Some(rest) => format!("{prefix}{rest}"),
            None => path,
        };
        doc.paths.paths.insert(path, item);
    }
    doc
}
