//! API-key routes: the caller's own keys and the admin counterparts.
//!
//! Managing keys needs a session access token (bearer or cookie): a request
//! authenticated by an API key alone is refused with 401 `unauthenticated`, so
//! a leaked key cannot mint, renew or revoke keys.

use super::{json, parse_id};
use crate::Warden;
use crate::error::{ApiError, ApiQuery, Problem};
use crate::extract::{AdminCaller, Authenticated, Client, current_account};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use warden_core::Error;
use warden_core::api_key::NewApiKey;
use warden_core::model::{AccountId, ApiKeyId};
use warden_core::store::{ApiKey, ApiKeyQuery, ApiKeyUsage};

type ApiResult<T = Response> = Result<T, ApiError>;

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(super) fn key_id(s: &str) -> Result<ApiKeyId, ApiError> {
    parse_id(s, ApiKeyId::parse)
}

/// `POST /api-keys`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyBody {
    /// A name for you (1–100 characters).
    pub name: String,
    /// Scopes of the key; each must be one of the account's (else 422).
    /// Absent: the account's scopes at creation.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Days until the key expires (default `WARDEN_API_KEY_TTL_DAYS`, 15; at
    /// most 3650). `0`: never, only when `WARDEN_API_KEY_ALLOW_NO_EXPIRY=true`.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// `POST /api-keys/{id}/renew` (the body may be empty).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RenewApiKeyBody {
    /// Days from now until the key expires (same rules as at creation).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A new key: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreatedBody {
    /// Key id.
    pub id: Uuid,
    /// The key (`wdn_...`). Shown once; only its hash is stored.
    pub key: String,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Expiry (RFC 3339); null: never.
    pub expires_at: Option<String>,
}

/// A key without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyBody {
    /// Key id (also the `wdn_<id>_` part of the key, in base64).
    pub id: Uuid,
    /// Owner.
    pub account_id: Uuid,
    /// Name.
    pub name: String,
    /// Scopes (at use, only those the owner still has count).
    pub scopes: Vec<String>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Expiry (RFC 3339); null: never.
    pub expires_at: Option<String>,
    /// Whether the key is past its expiry.
    pub expired: bool,
    /// When revoked (admin listings only show revoked keys).
    pub revoked_at: Option<String>,
}

impl ApiKeyBody {
    pub(super) fn new(k: &ApiKey, now: OffsetDateTime) -> Self {
        Self {
            id: k.id.0,
            account_id: k.account_id.0,
            name: k.name.clone(),
            scopes: k.scopes.clone(),
            created_at: rfc3339(k.created_at),
            expires_at: k.expires_at.map(rfc3339),
            expired: k.expires_at.is_some_and(|e| e <= now),
            revoked_at: k.revoked_at.map(rfc3339),
        }
    }
}

/// One use of a key.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyUsageBody {
    /// Time (RFC 3339).
    pub at: String,
    /// Client IP.
    pub ip: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Request path (without the query string).
    pub path: String,
}

impl From<&ApiKeyUsage> for ApiKeyUsageBody {
    fn from(u: &ApiKeyUsage) -> Self {
        Self {
            at: rfc3339(u.at),
            ip: u.ip.clone(),
            method: u.method.clone(),
            path: u.path.clone(),
        }
    }
}

/// Query of the usage routes.
#[derive(Deserialize, IntoParams)]
pub struct UsageParams {
    /// At most this many (1–1000, default 100).
    limit: Option<u32>,
}

/// Query of `GET /admin/api-keys`.
#[derive(Deserialize, IntoParams)]
pub struct AdminListParams {
    /// Only this account's keys.
    account_id: Option<String>,
    /// At most this many, newest first (1–1000, default 100).
    limit: Option<u32>,
}

fn limit(given: Option<u32>, default: u32) -> Result<u32, Error> {
    let limit = given.unwrap_or(default);
    if !(1..=1000).contains(&limit) {
        return Err(Error::field("limit", "must be between 1 and 1000"));
    }
    Ok(limit)
}

fn usage_response(usage: &[ApiKeyUsage]) -> Response {
    let body: Vec<ApiKeyUsageBody> = usage.iter().map(ApiKeyUsageBody::from).collect();
    json(StatusCode::OK, &body)
}

/// The body of a renew route: empty, or [`RenewApiKeyBody`].
pub(super) fn renew_body(body: &[u8]) -> Result<RenewApiKeyBody, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RenewApiKeyBody::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            Error::field("expires_in_days", "must be a whole number of days")
        } else {
            Error::BadRequest("malformed JSON body".into())
        }
    })
}

/// The calling account, from a session token (not an API key).
async fn owner(w: &Warden, auth: &Authenticated) -> Result<AccountId, ApiError> {
    Ok(current_account(w, &auth.claims).await?.id)
}

/// Create an API key. The key is in this response only.
#[utoipa::path(post, path = "/auth/api-keys", tag = "api-keys", security(("bearer" = [])), request_body = CreateApiKeyBody,
    responses((status = 201, body = ApiKeyCreatedBody), (status = 401, body = Problem, description = "no session token (an API key cannot manage keys)"),
        (status = 422, body = Problem, description = "bad name, a scope the account lacks, bad expires_in_days, or 100 keys already")))]
pub async fn create(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
    crate::error::ApiJson(b): crate::error::ApiJson<CreateApiKeyBody>,
) -> ApiResult {
    let account = owner(&w, &auth).await?;
    let issued = w
        .auth()
        .api_keys()
        .create_api_key(
            account,
            NewApiKey {
                name: b.name,
                scopes: b.scopes,
                expires_in_days: b.expires_in_days,
            },
            &client,
        )
        .await?;
    let k = &issued.record;
    Ok(json(
        StatusCode::CREATED,
        &ApiKeyCreatedBody {
            id: k.id.0,
            key: issued.key.clone(),
            name: k.name.clone(),
            scopes: k.scopes.clone(),
            created_at: rfc3339(k.created_at),
            expires_at: k.expires_at.map(rfc3339),
        },
    ))
}

/// The account's keys (not revoked), newest first, never with a secret.
#[utoipa::path(get, path = "/auth/api-keys", tag = "api-keys", security(("bearer" = [])),
    responses((status = 200, body = [ApiKeyBody]), (status = 401, body = Problem)))]
pub async fn list(State(w): State<Warden>, auth: Authenticated) -> ApiResult {
    let account = owner(&w, &auth).await?;
    let keys = w.auth().api_keys().list_api_keys(account).await?;
    let now = w.auth().now();
    let body: Vec<ApiKeyBody> = keys.iter().map(|k| ApiKeyBody::new(k, now)).collect();
    Ok(json(StatusCode::OK, &body))
}

/// Revoke one of the account's keys; it is refused from the next request on.
#[utoipa::path(delete, path = "/auth/api-keys/{id}", tag = "api-keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "key id")),
    responses((status = 204), (status = 404, body = Problem, description = "unknown, revoked, or another account's")))]
pub async fn revoke(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult {
    let account = owner(&w, &auth).await?;
    w.auth()
        .api_keys()
        .revoke_api_key(Some(account), key_id(&id)?, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Give one of the account's keys a new expiry, counted from now (expired keys too).
#[utoipa::path(post, path = "/auth/api-keys/{id}/renew", tag = "api-keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "key id")), request_body(content = RenewApiKeyBody, description = "optional"),
    responses((status = 200, body = ApiKeyBody), (status = 404, body = Problem, description = "unknown, revoked, or another account's"), (status = 422, body = Problem)))]
pub async fn renew(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let b = renew_body(&body)?;
    let account = owner(&w, &auth).await?;
    let k = w
        .auth()
        .api_keys()
        .renew_api_key(Some(account), key_id(&id)?, b.expires_in_days, &client)
        .await?;
    Ok(json(StatusCode::OK, &ApiKeyBody::new(&k, w.auth().now())))
}

/// The usage log of one of the account's keys, newest first.
#[utoipa::path(get, path = "/auth/api-keys/{id}/usage", tag = "api-keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "key id"), UsageParams),
    responses((status = 200, body = [ApiKeyUsageBody]), (status = 404, body = Problem, description = "unknown, or another account's")))]
pub async fn usage(
    State(w): State<Warden>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<UsageParams>,
) -> ApiResult {
    let limit = limit(p.limit, 100)?;
    let account = owner(&w, &auth).await?;
    let usage = w
        .auth()
        .api_keys()
        .api_key_usage(Some(account), key_id(&id)?, limit)
        .await?;
    Ok(usage_response(&usage))
}

/// Every account's keys, or one account's, revoked ones included, newest first.
#[utoipa::path(get, path = "/auth/admin/api-keys", tag = "admin", params(AdminListParams), security(("bearer" = []), ("admin_secret" = []), ("api_key" = [])),
    responses((status = 200, body = [ApiKeyBody]), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn admin_list(
    State(w): State<Warden>,
    _: AdminCaller,
    ApiQuery(p): ApiQuery<AdminListParams>,
) -> ApiResult {
    let limit = limit(p.limit, 100)?;
    let account_id = match p.account_id.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            AccountId::parse(s)
                .ok_or_else(|| Error::field("account_id", "must be an account id"))?,
        ),
    };
    let keys = w
        .auth()
        .api_keys()
        .admin_list_api_keys(&ApiKeyQuery {
            account_id,
            include_revoked: true,
            limit,
        })
        .await?;
    let now = w.auth().now();
    let body: Vec<ApiKeyBody> = keys.iter().map(|k| ApiKeyBody::new(k, now)).collect();
    Ok(json(StatusCode::OK, &body))
}

/// Revoke any key.
#[utoipa::path(delete, path = "/auth/admin/api-keys/{id}", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("admin_secret" = []), ("api_key" = [])),
    responses((status = 204), (status = 404, body = Problem, description = "unknown or already revoked")))]
pub async fn admin_revoke(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult {
    w.auth()
        .api_keys()
        .revoke_api_key(None, key_id(&id)?, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The usage log of any key, newest first.
#[utoipa::path(get, path = "/auth/admin/api-keys/{id}/usage", tag = "admin", params(("id" = String, Path), UsageParams), security(("bearer" = []), ("admin_secret" = []), ("api_key" = [])),
    responses((status = 200, body = [ApiKeyUsageBody]), (status = 404, body = Problem)))]
pub async fn admin_usage(
    State(w): State<Warden>,
    _: AdminCaller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<UsageParams>,
) -> ApiResult {
    let limit = limit(p.limit, 100)?;
    let usage = w
        .auth()
        .api_keys()
        .api_key_usage(None, key_id(&id)?, limit)
        .await?;
    Ok(usage_response(&usage))
}
