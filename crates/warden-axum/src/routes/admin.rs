//! Admin routes: `X-Admin-Secret` or a token with scope `admin`.

use super::dto::*;
use super::{json, parse_id};
use crate::Warden;
use crate::error::{ApiError, ApiJson, ApiQuery, Problem};
use crate::extract::{AdminCaller, Client};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;
use warden_core::model::AccountId;
use warden_core::store::{AccountQuery, AuditQuery};
use warden_core::{AccountPatch, Error, NewAccount};

type ApiResult<T = Response> = Result<T, ApiError>;

fn account_id(s: &str) -> Result<AccountId, ApiError> {
    parse_id(s, AccountId::parse)
}

/// Query of `GET /admin/accounts`.
#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// Page size (1–200, default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Case-insensitive search on login and email.
    q: Option<String>,
}

/// List accounts.
#[utoipa::path(get, path = "/auth/admin/accounts", tag = "admin", params(ListParams), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = AccountPage), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    State(w): State<Warden>,
    _: AdminCaller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult {
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::field("limit", "must be between 1 and 200").into());
    }
    let after = match p.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => {
            Some(AccountId::parse(c).ok_or_else(|| Error::field("cursor", "invalid cursor"))?)
        }
    };
    let search =
        p.q.filter(|q| !q.is_empty())
            .map(|q| q.chars().take(128).collect());
    let items = w
        .auth()
        .accounts()
        .list_accounts(&AccountQuery {
            search,
            after,
            limit: limit + 1,
        })
        .await?;
    let more = items.len() > limit as usize;
    let items: Vec<_> = items.iter().take(limit as usize).collect();
    let next_cursor = if more {
        items.last().map(|a| a.id.to_string())
    } else {
        None
    };
    Ok(json(
        StatusCode::OK,
        &AccountPage {
            items: items.into_iter().map(AccountBody::from).collect(),
            next_cursor,
        },
    ))
}

/// Create an account (any scopes), with a `password` or an imported
/// `password_hash` (exactly one; an unknown or malformed hash is 422 on
/// `password_hash`).
#[utoipa::path(post, path = "/auth/admin/accounts", tag = "admin", request_body = AdminCreateBody, security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 201, body = AccountBody), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    ApiJson(b): ApiJson<AdminCreateBody>,
) -> ApiResult {
    let input = NewAccount {
        login: b.login,
        password: b.password.unwrap_or_default(),
        password_hash: b.password_hash,
        email: b.email,
        properties: b.properties,
        scopes: b.scopes,
        active: b.active,
    };
    let a = w.auth().accounts().create_account(input, &client).await?;
    Ok(json(StatusCode::CREATED, &AccountBody::from(&a)))
}

/// One account.
#[utoipa::path(get, path = "/auth/admin/accounts/{id}", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = AccountBody), (status = 404, body = Problem)))]
pub async fn get(State(w): State<Warden>, _: AdminCaller, Path(id): Path<String>) -> ApiResult {
    let a = w.auth().accounts().account(account_id(&id)?).await?;
    Ok(json(StatusCode::OK, &AccountBody::from(a.as_ref())))
}

/// Change active, scopes, properties, email or login (a rename, audited as
/// `account.renamed` with the old and new login).
#[utoipa::path(patch, path = "/auth/admin/accounts/{id}", tag = "admin", params(("id" = String, Path)), request_body = AdminPatchBody, security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = AccountBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AdminPatchBody>,
) -> ApiResult {
    let id = account_id(&id)?;
    let patch = AccountPatch {
        active: b.active,
        scopes: b.scopes,
        properties: b.properties,
        email: b.email,
        login: b.login,
    };
    let a = w
        .auth()
        .accounts()
        .update_account(id, patch, &client)
        .await?;
    Ok(json(StatusCode::OK, &AccountBody::from(&a)))
}

/// Delete an account and its sessions.
#[utoipa::path(delete, path = "/auth/admin/accounts/{id}", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult {
    w.auth()
        .accounts()
        .delete_account(account_id(&id)?, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Block an account; all its sessions are revoked at once.
#[utoipa::path(post, path = "/auth/admin/accounts/{id}/block", tag = "admin", params(("id" = String, Path)), request_body = BlockBody, security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn block(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<BlockBody>,
) -> ApiResult {
    w.auth()
        .accounts()
        .block_account(account_id(&id)?, &b.reason, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Unblock an account and clear its lockout.
#[utoipa::path(post, path = "/auth/admin/accounts/{id}/unblock", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn unblock(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult {
    w.auth()
        .accounts()
        .unblock_account(account_id(&id)?, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Block status and reason.
#[utoipa::path(get, path = "/auth/admin/accounts/{id}/block", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = BlockStatusBody), (status = 404, body = Problem)))]
pub async fn block_status(
    State(w): State<Warden>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let (blocked, reason) = w.auth().accounts().block_status(account_id(&id)?).await?;
    Ok(json(StatusCode::OK, &BlockStatusBody { blocked, reason }))
}

/// Turn off the account's second factor.
#[utoipa::path(delete, path = "/auth/admin/accounts/{id}/mfa", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn disable_mfa(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult {
    w.auth()
        .mfa()
        .disable_mfa(account_id(&id)?, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Revoke every session of the account.
#[utoipa::path(delete, path = "/auth/admin/accounts/{id}/sessions", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_sessions(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult {
    w.auth()
        .sessions()
        .revoke_all_sessions(account_id(&id)?, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Query of `GET /admin/audit`.
#[derive(Deserialize, IntoParams)]
pub struct AuditParams {
    /// Only this account.
    account_id: Option<String>,
    /// At most this many (1–1000, default 100).
    limit: Option<u32>,
    /// At or after (RFC 3339).
    from: Option<String>,
    /// Before (RFC 3339).
    to: Option<String>,
}

fn parse_time(field: &str, s: Option<&str>) -> Result<Option<OffsetDateTime>, Error> {
    s.filter(|s| !s.is_empty())
        .map(|s| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map_err(|_| Error::field(field, "must be an RFC 3339 time"))
        })
        .transpose()
}

/// The audit trail, newest first.
#[utoipa::path(get, path = "/auth/admin/audit", tag = "admin", params(AuditParams), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = [AuditEventBody]), (status = 422, body = Problem)))]
pub async fn audit(
    State(w): State<Warden>,
    _: AdminCaller,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::field("limit", "must be between 1 and 1000").into());
    }
    let account_id = match p.account_id.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            AccountId::parse(s)
                .ok_or_else(|| Error::field("account_id", "must be an account id"))?,
        ),
    };
    let q = AuditQuery {
        account_id,
        from: parse_time("from", p.from.as_deref())?,
        to: parse_time("to", p.to.as_deref())?,
        limit,
    };
    let events = w.auth().accounts().audit_events(&q).await?;
    let body: Vec<AuditEventBody> = events.iter().map(AuditEventBody::from).collect();
    Ok(json(StatusCode::OK, &body))
}
