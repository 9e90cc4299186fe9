//! Admin routes of service accounts and admin-issued API keys (API.md
//! "Service accounts and admin-issued API keys"). Listing, revoking and the
//! usage log of any key are the admin routes of [`super::api_keys`].

use super::api_keys::{ApiKeyBody, key_id, renew_body};
use super::dto::AccountBody;
use super::json;
use crate::Warden;
use crate::error::{ApiError, ApiJson, Problem};
use crate::extract::{AdminCaller, Client};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_core::api_key::NewApiKey;
use warden_core::model::AccountId;
use warden_core::{Error, NewServiceAccount};

type ApiResult<T = Response> = Result<T, ApiError>;

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `POST /admin/service-accounts`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountBody {
    /// The account's name, which is its login (3–64 letters, digits, `_ . - @`; unique).
    pub name: String,
    /// Granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Application properties (a JSON object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
}

/// `POST /admin/api-keys`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminCreateApiKeyBody {
    /// The key's name (1–100 characters). Without `account_id` it is also the
    /// login of the new service account (login rules apply, 409 `login_taken`).
    pub name: String,
    /// The owner. Absent: a new service account named after the key is
    /// created with it, in one transaction.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The key's scopes. A service account's scopes are widened to hold them;
    /// for a person's account each must be one of the person's (else 422).
    /// Absent: the owner's scopes (none for a new service account).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Days until the key expires (default `WARDEN_API_KEY_TTL_DAYS`, 15).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A key issued by an admin: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminApiKeyCreatedBody {
    /// Key id.
    pub id: Uuid,
    /// The key (`wdn_...`). Shown once; only its hash is stored.
    pub key: String,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// The owner (the new service account when none was given).
    pub account_id: Uuid,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Expiry (RFC 3339); null: never.
    pub expires_at: Option<String>,
}

/// Create a service account: no password, never signs in, acts through its API keys.
#[utoipa::path(post, path = "/auth/admin/service-accounts", tag = "admin", request_body = ServiceAccountBody, security(("bearer" = []), ("admin_secret" = []), ("api_key" = [])),
    responses((status = 201, body = AccountBody, description = "the account, `kind: service`"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "login_taken"), (status = 422, body = Problem)))]
pub async fn create_service_account(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    ApiJson(b): ApiJson<ServiceAccountBody>,
) -> ApiResult {
    let a = w
        .auth()
        .accounts()
        .create_service_account(
            NewServiceAccount {
                name: b.name,
                scopes: b.scopes,
                properties: b.properties,
            },
            &client,
        )
        .await?;
    Ok(json(StatusCode::CREATED, &AccountBody::from(&a)))
}

/// Issue an API key for an account, or for a new service account named after it.
#[utoipa::path(post, path = "/auth/admin/api-keys", tag = "admin", request_body = AdminCreateApiKeyBody, security(("bearer" = []), ("admin_secret" = []), ("api_key" = [])),
    responses((status = 201, body = AdminApiKeyCreatedBody), (status = 401, body = Problem), (status = 403, body = Problem, description = "not an admin, or the owner is blocked"),
        (status = 404, body = Problem, description = "unknown account_id"), (status = 409, body = Problem, description = "login_taken (new service account)"),
        (status = 422, body = Problem)))]
pub async fn create_api_key(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    ApiJson(b): ApiJson<AdminCreateApiKeyBody>,
) -> ApiResult {
    let account = match b.account_id.as_deref() {
        None => None,
        Some(s) => Some(
            AccountId::parse(s)
                .ok_or_else(|| Error::field("account_id", "must be an account id"))?,
        ),
    };
    let issued = w
        .auth()
        .api_keys()
        .admin_create_api_key(
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
        &AdminApiKeyCreatedBody {
            id: k.id.0,
            key: issued.key.clone(),
            name: k.name.clone(),
            scopes: k.scopes.clone(),
            account_id: k.account_id.0,
            created_at: rfc3339(k.created_at),
            expires_at: k.expires_at.map(rfc3339),
        },
    ))
}

/// Give any key that is not revoked a new expiry, counted from now.
#[utoipa::path(post, path = "/auth/admin/api-keys/{id}/renew", tag = "admin", params(("id" = String, Path, description = "key id")),
    request_body(content = super::api_keys::RenewApiKeyBody, description = "optional"), security(("bearer" = []), ("admin_secret" = []), ("api_key" = [])),
    responses((status = 200, body = ApiKeyBody), (status = 404, body = Problem, description = "unknown or revoked"), (status = 422, body = Problem)))]
pub async fn renew_api_key(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let b = renew_body(&body)?;
    let k = w
        .auth()
        .api_keys()
        .renew_api_key(None, key_id(&id)?, b.expires_in_days, &client)
        .await?;
    Ok(json(StatusCode::OK, &ApiKeyBody::new(&k, w.auth().now())))
}
