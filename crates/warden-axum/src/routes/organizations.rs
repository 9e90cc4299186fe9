//! Organization routes (API.md "Organizations"): organizations, members,
//! acting for an organization. Invitations, roles and the admin
//! counterparts are in [`super::org_extra`]. Every id of an organization
//! the caller is not a member of answers 404.

use super::auth::token_response;
use super::json;
use crate::Warden;
use crate::error::{ApiError, ApiJson, Problem};
use crate::extract::{Authenticated, Client, CurrentAccount};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_core::Error;
use warden_core::model::AccountId;
use warden_core::organizations::{NewOrganization, OrganizationPatch};
use warden_core::store::{Invitation, Membership, OrgRole, Organization};

pub(super) type ApiResult<T = Response> = Result<T, ApiError>;

pub(super) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// An organization id of a path (anything else: 404).
pub(super) fn org_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError(Error::NotFound))
}

fn member_id(s: &str) -> Result<AccountId, ApiError> {
    AccountId::parse(s).ok_or(ApiError(Error::NotFound))
}

/// API.md `Organization`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationBody {
    /// Id.
    pub id: Uuid,
    /// Unique slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// The application's JSON object.
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
    /// Creation time (RFC 3339).
    pub created_at: String,
}

impl From<&Organization> for OrganizationBody {
    fn from(o: &Organization) -> Self {
        Self {
            id: o.id,
            slug: o.slug.clone(),
            name: o.name.clone(),
            properties: o.properties.clone(),
            created_at: rfc3339(o.created_at),
        }
    }
}

/// One of the caller's organizations with the caller's role.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyOrganizationBody {
    /// The organization.
    pub organization: OrganizationBody,
    /// The caller's role in it.
    pub role: String,
}

/// API.md `Membership`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipBody {
    /// The organization id.
    pub organization: Uuid,
    /// The member.
    pub account_id: Uuid,
    /// The member's login.
    pub login: String,
    /// The member's role.
    pub role: String,
    /// When the account joined (RFC 3339).
    pub joined_at: String,
}

impl From<&Membership> for MembershipBody {
    fn from(m: &Membership) -> Self {
        Self {
            organization: m.organization,
            account_id: m.account_id.0,
            login: m.login.clone(),
            role: m.role.clone(),
            joined_at: rfc3339(m.joined_at),
        }
    }
}

/// API.md `Role`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleBody {
    /// Name.
    pub name: String,
    /// Permission strings.
    pub permissions: Vec<String>,
    /// Whether it is `owner`, `admin` or `member`.
    pub builtin: bool,
}

impl From<&OrgRole> for RoleBody {
    fn from(r: &OrgRole) -> Self {
        Self {
            name: r.name.clone(),
            permissions: r.permissions.clone(),
            builtin: r.builtin,
        }
    }
}

/// A pending invitation.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationBody {
    /// Id.
    pub id: Uuid,
    /// The invited address.
    pub email: String,
    /// The role the invitee gets.
    pub role: String,
    /// Who sent it.
    pub inviter: Uuid,
    /// When it was sent (RFC 3339).
    pub created_at: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

impl From<&Invitation> for InvitationBody {
    fn from(i: &Invitation) -> Self {
        Self {
            id: i.id,
            email: i.email.clone(),
            role: i.role.clone(),
            inviter: i.inviter.0,
            created_at: rfc3339(i.created_at),
            expires_at: rfc3339(i.expires_at),
        }
    }
}

/// `POST /organizations`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganizationBody {
    /// Lower-case letters, digits and `-`, 3–63 characters, not UUID-shaped.
    pub slug: String,
    /// Name (1–100 characters).
    pub name: String,
    /// A JSON object (at most 16 KiB).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
}

/// `PATCH /organizations/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchOrganizationBody {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New properties (replacing the old).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
}

/// `PATCH /organizations/{id}/members/{account_id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRoleBody {
    /// The new role (built-in or custom).
    pub role: String,
}

/// Create an organization; the caller becomes its owner.
#[utoipa::path(post, path = "/auth/organizations", tag = "organizations", security(("bearer" = [])), request_body = CreateOrganizationBody,
    responses((status = 201, body = OrganizationBody), (status = 409, body = Problem, description = "slug_taken"), (status = 422, body = Problem)))]
pub async fn create(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(me): CurrentAccount,
    ApiJson(b): ApiJson<CreateOrganizationBody>,
) -> ApiResult {
    let new = NewOrganization {
        slug: b.slug,
        name: b.name,
        properties: b.properties,
    };
    let org = w.auth().organizations().create(&me, new, &client).await?;
    Ok(json(StatusCode::CREATED, &OrganizationBody::from(&org)))
}

/// The caller's organizations with the caller's role in each.
#[utoipa::path(get, path = "/auth/organizations", tag = "organizations", security(("bearer" = [])),
    responses((status = 200, body = [MyOrganizationBody]), (status = 401, body = Problem)))]
pub async fn mine(State(w): State<Warden>, CurrentAccount(me): CurrentAccount) -> ApiResult {
    let list = w.auth().organizations().mine(me.id).await?;
    let body: Vec<MyOrganizationBody> = (list.iter())
        .map(|(o, role)| MyOrganizationBody {
            organization: OrganizationBody::from(o),
            role: role.clone(),
        })
        .collect();
    Ok(json(StatusCode::OK, &body))
}

/// One of the caller's organizations.
#[utoipa::path(get, path = "/auth/organizations/{id}", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = OrganizationBody), (status = 404, body = Problem)))]
pub async fn get(
    State(w): State<Warden>,
    CurrentAccount(me): CurrentAccount,
    Path(id): Path<String>,
) -> ApiResult {
    let org = w.auth().organizations().get(me.id, org_id(&id)?).await?;
    Ok(json(StatusCode::OK, &OrganizationBody::from(&org)))
}

/// Change name or properties (owner, admin).
#[utoipa::path(patch, path = "/auth/organizations/{id}", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = PatchOrganizationBody,
    responses((status = 200, body = OrganizationBody), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(me): CurrentAccount,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PatchOrganizationBody>,
) -> ApiResult {
    let patch = OrganizationPatch {
        name: b.name,
        properties: b.properties,
    };
    let orgs = w.auth().organizations();
    let org = orgs.update(me.id, org_id(&id)?, patch, &client).await?;
    Ok(json(StatusCode::OK, &OrganizationBody::from(&org)))
}

/// Delete an organization (owner): its invitations stop working, tokens
/// acting for it are refused.
#[utoipa::path(delete, path = "/auth/organizations/{id}", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(me): CurrentAccount,
    Path(id): Path<String>,
) -> ApiResult {
    let orgs = w.auth().organizations();
    orgs.delete(me.id, org_id(&id)?, &client).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Members (any member).
#[utoipa::path(get, path = "/auth/organizations/{id}/members", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = [MembershipBody]), (status = 404, body = Problem)))]
pub async fn members(
    State(w): State<Warden>,
    CurrentAccount(me): CurrentAccount,
    Path(id): Path<String>,
) -> ApiResult {
    let list = w
        .auth()
        .organizations()
        .members(me.id, org_id(&id)?)
        .await?;
    let body: Vec<MembershipBody> = list.iter().map(MembershipBody::from).collect();
    Ok(json(StatusCode::OK, &body))
}

/// Change a member's role (owner, admin; only an owner makes or changes
/// owners). Takes effect on the member's next request.
#[utoipa::path(patch, path = "/auth/organizations/{id}/members/{account_id}", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path), ("account_id" = String, Path)), request_body = MemberRoleBody,
    responses((status = 200, body = MembershipBody), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "last_owner"), (status = 422, body = Problem)))]
pub async fn set_role(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(me): CurrentAccount,
    Path((id, member)): Path<(String, String)>,
    ApiJson(b): ApiJson<MemberRoleBody>,
) -> ApiResult {
    let (id, member) = (org_id(&id)?, member_id(&member)?);
    let orgs = w.auth().organizations();
    let m = orgs.set_role(me.id, id, member, &b.role, &client).await?;
    Ok(json(StatusCode::OK, &MembershipBody::from(&m)))
}

/// Remove a member (owner, admin), or leave (the member itself).
#[utoipa::path(delete, path = "/auth/organizations/{id}/members/{account_id}", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path), ("account_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "last_owner")))]
pub async fn remove(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(me): CurrentAccount,
    Path((id, member)): Path<(String, String)>,
) -> ApiResult {
    let (id, member) = (org_id(&id)?, member_id(&member)?);
    w.auth()
        .organizations()
        .remove(me.id, id, member, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Act for the organization: a new token pair whose access token carries
/// `org`, `org_role` and the role's permissions (the refresh token is
/// replaced; the earlier one counts as reused).
#[utoipa::path(post, path = "/auth/organizations/{id}/activate", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path, description = "id or slug")),
    responses((status = 200, body = crate::routes::dto::TokenPairBody), (status = 401, body = Problem, description = "no session token"), (status = 404, body = Problem)))]
pub async fn activate(
    State(w): State<Warden>,
    Client(client): Client,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult {
    let orgs = w.auth().organizations();
    let pair = orgs.activate(&auth.claims, &id, &client).await?;
    Ok(token_response(&w, &pair))
}
