//! The admin console (scope `admin`): accounts with search and paging, one
//! account's page (block/unblock, rename, scopes, second factor, sessions,
//! API keys: create, renew, revoke; delete), service accounts (created on the
//! accounts page, marked `service` in the list), the audit log with filters
//! and the OpenID Provider's clients.
//!
//! Every action calls the same engine operation, with the admin's client
//! info, as the JSON admin routes (`warden_axum::routes::admin`), so the
//! audit trail is the same whichever way an admin works. An admin cannot
//! block or delete their own account, nor drop their own `admin` scope, here.

use super::{AdminPage, Flash, Ui, UiForm, form_errors, status_of, to_value, url_encode};
use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};
use warden_axum::error::render;
use warden_core::model::{Account, AccountId, ApiKeyId, AuditEvent, normalize_login};
use warden_core::store::{AccountQuery, ApiKeyQuery, AuditQuery};
use warden_core::{Error, NewAccount};

mod account;
mod accounts;
mod audit;
mod clients;
mod service;

use account::*;
use accounts::*;
use audit::*;
use clients::*;
use service::*;

/// Built-in templates of these pages.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "admin/layout.html",
        include_str!("../../templates/admin/layout.html"),
    ),
    (
        "admin/accounts.html",
        include_str!("../../templates/admin/accounts.html"),
    ),
    (
        "admin/account.html",
        include_str!("../../templates/admin/account.html"),
    ),
    (
        "admin/audit.html",
        include_str!("../../templates/admin/audit.html"),
    ),
    (
        "admin/clients.html",
        include_str!("../../templates/admin/clients.html"),
    ),
];

/// Accounts per page unless `limit` says otherwise.
const PAGE_SIZE: u32 = 50;
/// Audit events per page unless `limit` says otherwise.
const AUDIT_PAGE_SIZE: usize = 50;
/// Audit events read per store query while filtering by type.
const AUDIT_BATCH: u32 = 500;
/// Store queries per audit page at most (a rare type in a long log is found
/// page by page).
const AUDIT_MAX_BATCHES: usize = 20;
/// API keys shown on an account's page.
const KEYS_SHOWN: u32 = 200;

/// The routes of these pages.
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/accounts", get(accounts).post(create))
        .route("/admin/accounts/{id}", get(account))
        .route("/admin/accounts/{id}/block", post(block))
        .route("/admin/accounts/{id}/unblock", post(unblock))
        .route("/admin/accounts/{id}/scopes", post(save_scopes))
        .route("/admin/accounts/{id}/mfa/disable", post(disable_mfa))
        .route(
            "/admin/accounts/{id}/sessions/revoke",
            post(revoke_sessions),
        )
        .route(
            "/admin/accounts/{id}/api-keys/{key}/revoke",
            post(revoke_key),
        )
        .route("/admin/accounts/{id}/delete", post(delete))
        .route("/admin/service-accounts", post(create_service))
        .route("/admin/accounts/{id}/rename", post(rename))
        .route("/admin/accounts/{id}/api-keys", post(create_key))
        .route("/admin/accounts/{id}/api-keys/{key}/renew", post(renew_key))
        .route(
            "/admin/accounts/{id}/passkeys/{pid}/delete",
            post(remove_passkey),
        )
        .route("/admin/audit", get(audit))
        .route("/admin/oauth-clients", get(clients).post(create_client))
        .route(
            "/admin/oauth-clients/{id}/secret",
            post(rotate_client_secret),
        )
        .route("/admin/oauth-clients/{id}/delete", post(delete_client))
}

async fn home(ap: AdminPage) -> Response {
    ap.page.redirect(&ap.page.ui.url("/admin/accounts"), None)
}

/// A query string read leniently: a malformed one counts as empty.
fn query<T: DeserializeOwned + Default>(raw: Option<String>) -> T {
    raw.and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default()
}

/// `YYYY-MM-DD HH:MM` in UTC (with seconds for the audit log).
fn when(t: OffsetDateTime, seconds: bool) -> serde_json::Value {
    let t = t.to_offset(UtcOffset::UTC);
    let text = if seconds {
        t.format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
    } else {
        t.format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
    };
    json!({
        "iso": t.format(&Rfc3339).unwrap_or_default(),
        "text": text.unwrap_or_default(),
    })
}

fn not_found(ap: &AdminPage) -> Response {
    ap.page.message(
        StatusCode::NOT_FOUND,
        "Account not found",
        "There is no account with this id.",
    )
}

fn parse_scopes(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in s.split(|c: char| c.is_whitespace() || c == ',') {
        if !scope.is_empty() && !out.iter().any(|x| x == scope) {
            out.push(scope.to_owned());
        }
    }
    out
}

fn account_row(a: &Account) -> serde_json::Value {
    json!({
        "id": a.id.to_string(),
        "kind": a.kind.as_str(),
        "login": a.login,
        "email": a.email,
        "email_verified": a.email_verified,
        "active": a.active,
        "blocked": a.blocked,
        "mfa": a.mfa_enabled,
        "scopes": a.scopes.join(" "),
        "created": when(a.created_at, false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_leniently() {
        let t = parse_when("2026-11-24T10:42", false).map(|t| t.unix_timestamp());
        assert_eq!(t, Some(1_795_516_920));
        let end = parse_when("2026-11-24T10:42", true).map(|t| t.unix_timestamp());
        assert_eq!(end, Some(1_795_516_980));
        assert!(parse_when("2026-11-24 10:42:05", false).is_some());
        assert!(parse_when("2026-11-24T10:42:05.123", false).is_some());
        assert!(parse_when("2026-11-24T10:42:05Z", false).is_some());
        let day = parse_when("2026-11-24", true).zip(parse_when("2026-11-24", false));
        assert_eq!(day.map(|(e, s)| (e - s).whole_hours()), Some(24));
        assert!(parse_when("yesterday", false).is_none());
        assert!(parse_when("2026-13-01", false).is_none());
        assert!(parse_when("2999-12-31", true).is_none());
        assert!(parse_when("1900-01-01", false).is_none());
    }

    #[test]
    fn cursors_and_types() {
        assert!(parse_cursor("1795516920000000000_2").is_some());
        assert!(parse_cursor("x_2").is_none());
        assert!(parse_cursor("1795516920000000000_0").is_none());
        assert!(parse_cursor("nope").is_none());
        assert!(type_matches(Some("account.blocked"), "account.blocked"));
        assert!(type_matches(Some("account"), "account.blocked"));
        assert!(type_matches(Some("account.*"), "account.blocked"));
        assert!(!type_matches(Some("account"), "accounts.x"));
        assert!(!type_matches(Some("login"), "account.blocked"));
        assert_eq!(
            parse_scopes("admin  read,write admin"),
            ["admin", "read", "write"]
        );
    }
}
