//! Admin routes of the OpenID Provider's clients (`/admin/oauth-clients`):
//! register, list, read, change, delete, rotate the secret.

use super::json;
use crate::Warden;
use crate::error::{ApiError, ApiJson, Problem};
use crate::extract::{AdminCaller, Client};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warden_core::provider::clients::{ClientPatch, NewClient};
use warden_core::store::OAuthClient;

type ApiResult<T = Response> = Result<T, ApiError>;

/// A registered client (never its secret, except once in `client_secret`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthClientBody {
    /// Client id.
    pub client_id: String,
    /// The secret: only in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Display name.
    pub name: String,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed grant types.
    pub grant_types: Vec<String>,
    /// Account scopes it may ask for.
    pub scopes: Vec<String>,
    /// Public client (PKCE, no secret).
    pub public: bool,
    /// Pre-consented.
    pub first_party: bool,
    /// Registration time (RFC 3339).
    pub created_at: String,
}

impl OAuthClientBody {
    /// From a stored client, with the secret if just made.
    pub fn new(c: &OAuthClient, secret: Option<String>) -> Self {
        Self {
            client_id: c.client_id.clone(),
            client_secret: secret,
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            grant_types: c.grant_types.clone(),
            scopes: c.scopes.clone(),
            public: c.public,
            first_party: c.first_party,
            created_at: super::dto::rfc3339(c.created_at),
        }
    }
}

/// Body of `POST /admin/oauth-clients`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientBody {
    /// Display name.
    pub name: String,
    /// Redirect URIs (exact match; loopback any port).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Default `["authorization_code", "refresh_token"]`.
    pub grant_types: Option<Vec<String>>,
    /// Account scopes it may ask for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Public client (no secret, PKCE required).
    #[serde(default)]
    pub public: bool,
    /// Pre-consented (no consent page).
    #[serde(default)]
    pub first_party: bool,
}

/// Body of `PATCH /admin/oauth-clients/{client_id}`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchClientBody {
    /// Display name.
    pub name: Option<String>,
    /// Redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Grant types.
    pub grant_types: Option<Vec<String>>,
    /// Scopes.
    pub scopes: Option<Vec<String>>,
    /// Pre-consented.
    pub first_party: Option<bool>,
}

/// Body of `POST /admin/oauth-clients/{client_id}/secret`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientSecretBody {
    /// The new secret (shown once).
    pub client_secret: String,
}

/// Register a client; a confidential client's secret is in the answer, once.
#[utoipa::path(post, path = "/auth/admin/oauth-clients", tag = "oauth-provider", request_body = CreateClientBody, security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 201, body = OAuthClientBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    ApiJson(b): ApiJson<CreateClientBody>,
) -> ApiResult {
    let new = NewClient {
        name: b.name,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        grant_types: b.grant_types,
        scopes: b.scopes,
        public: b.public,
        first_party: b.first_party,
    };
    let made = w.auth().provider().create_client(new, &client).await?;
    Ok(json(
        StatusCode::CREATED,
        &OAuthClientBody::new(&made.client, made.secret),
    ))
}

/// Every registered client.
#[utoipa::path(get, path = "/auth/admin/oauth-clients", tag = "oauth-provider", security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = [OAuthClientBody]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(State(w): State<Warden>, _: AdminCaller) -> ApiResult {
    let all = w.auth().provider().clients().await?;
    let body: Vec<OAuthClientBody> = all.iter().map(|c| OAuthClientBody::new(c, None)).collect();
    Ok(json(StatusCode::OK, &body))
}

/// One client.
#[utoipa::path(get, path = "/auth/admin/oauth-clients/{client_id}", tag = "oauth-provider", params(("client_id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = OAuthClientBody), (status = 404, body = Problem)))]
pub async fn get(State(w): State<Warden>, _: AdminCaller, Path(id): Path<String>) -> ApiResult {
    let c = w.auth().provider().client(&id).await?;
    Ok(json(StatusCode::OK, &OAuthClientBody::new(&c, None)))
}

/// Change a client's name, URIs, grant types, scopes or first-party flag.
#[utoipa::path(patch, path = "/auth/admin/oauth-clients/{client_id}", tag = "oauth-provider", params(("client_id" = String, Path)), request_body = PatchClientBody, security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = OAuthClientBody), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PatchClientBody>,
) -> ApiResult {
    let patch = ClientPatch {
        name: b.name,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        grant_types: b.grant_types,
        scopes: b.scopes,
        first_party: b.first_party,
    };
    let c = w
        .auth()
        .provider()
        .update_client(&id, patch, &client)
        .await?;
    Ok(json(StatusCode::OK, &OAuthClientBody::new(&c, None)))
}

/// Delete a client: every token issued to it is revoked.
#[utoipa::path(delete, path = "/auth/admin/oauth-clients/{client_id}", tag = "oauth-provider", params(("client_id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult {
    w.auth().provider().delete_client(&id, &client).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A new secret (the old one stops working at once).
#[utoipa::path(post, path = "/auth/admin/oauth-clients/{client_id}/secret", tag = "oauth-provider", params(("client_id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = ClientSecretBody), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rotate_secret(
    State(w): State<Warden>,
    _: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult {
    let client_secret = w.auth().provider().rotate_secret(&id, &client).await?;
    Ok(json(StatusCode::OK, &ClientSecretBody { client_secret }))
}
