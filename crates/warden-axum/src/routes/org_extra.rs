//! Organization routes, continued: invitations, roles, and the admin
//! counterparts under `/admin/organizations`.

use super::json;
use super::organizations::{
    ApiResult, InvitationBody, MembershipBody, OrganizationBody, RoleBody, org_id,
};
use crate::Warden;
use crate::error::{ApiJson, ApiQuery, Problem};
use crate::extract::{AdminCaller, Client, CurrentAccount};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use warden_core::Error;

/// `POST /organizations/{id}/invitations`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    /// The address to invite.
    pub email: String,
    /// The role the invitee gets (default `member`).
    #[serde(default)]
    pub role: Option<String>,
}

/// A sent invitation (API.md: `{id, email, role, expires_at}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SentInvitationBody {
    /// Id.
    pub id: Uuid,
    /// The invited address.
    pub email: String,
    /// The role the invitee gets.
    pub role: String,
    /// When the link stops working (RFC 3339).
    pub expires_at: String,
}

/// `POST /invitations/accept` and `/decline`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationTokenBody {
    /// The token of the mailed link.
    pub token: String,
}

/// `POST /organizations/{id}/roles`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleBody {
    /// Lower-case letters, digits, `-` and `_`, 1–63 characters.
    pub name: String,
    /// Permission strings (`invoices:read`).
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// `PATCH /organizations/{id}/roles/{name}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoleBody {
    /// The new permission strings (replacing the old).
    pub permissions: Vec<String>,
}

/// Invite someone by email (owner, admin; only an owner invites owners):
/// a mail with a single-use link, valid 7 days.
#[utoipa::path(post, path = "/auth/organizations/{id}/invitations", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = InviteBody,
    responses((status = 201, body = SentInvitationBody), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem, description = "WARDEN_INVITATION_SENDS reached")))]
pub async fn invite(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(me): CurrentAccount,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<InviteBody>,
) -> ApiResult {
    let role = b.role.as_deref().unwrap_or("member");
    let orgs = w.auth().organizations();
    let sent = orgs
        .invite(&me, org_id(&id)?, &b.email, role, &client)
        .await?;
    let i = &sent.invitation;
    Ok(json(
        StatusCode::CREATED,
        &SentInvitationBody {
            id: i.id,
            email: i.email.clone(),
            role: i.role.clone(),
            expires_at: super::organizations::rfc3339(i.expires_at),
        },
    ))
}

/// Pending invitations (owner, admin), newest first.
#[utoipa::path(get, path = "/auth/organizations/{id}/invitations", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = [InvitationBody]), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn invitations(
    State(w): State<Warden>,
    CurrentAccount(me): CurrentAccount,
    Path(id): Path<String>,
) -> ApiResult {
    let list = w
        .auth()
        .organizations()
        .invitations(me.id, org_id(&id)?)
        .await?;
    let body: Vec<InvitationBody> = list.iter().map(InvitationBody::from).collect();
    Ok(json(StatusCode::OK, &body))
}

/// Revoke a pending invitation (owner, admin).
#[utoipa::path(delete, path = "/auth/organizations/{id}/invitations/{iid}", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path), ("iid" = String, Path)), responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_invitation(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(me): CurrentAccount,
    Path((id, iid)): Path<(String, String)>,
) -> ApiResult {
    let (id, iid) = (org_id(&id)?, org_id(&iid)?);
    let orgs = w.auth().organizations();
    orgs.revoke_invitation(me.id, id, iid, &client).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Accept an invitation: the caller's verified email must be the invited
/// address (else 403).
#[utoipa::path(post, path = "/auth/invitations/accept", tag = "organizations", security(("bearer" = [])), request_body = InvitationTokenBody,
    responses((status = 200, body = MembershipBody), (status = 400, body = Problem, description = "invalid_token: unknown, used, declined, revoked or expired"), (status = 403, body = Problem)))]
pub async fn accept(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(me): CurrentAccount,
    ApiJson(b): ApiJson<InvitationTokenBody>,
) -> ApiResult {
    let m = w
        .auth()
        .organizations()
        .accept(me.id, &b.token, &client)
        .await?;
    Ok(json(StatusCode::OK, &MembershipBody::from(&m)))
}

/// Decline an invitation (whoever holds the link).
#[utoipa::path(post, path = "/auth/invitations/decline", tag = "organizations", request_body = InvitationTokenBody,
    responses((status = 204), (status = 400, body = Problem, description = "invalid_token")))]
pub async fn decline(
    State(w): State<Warden>,
    Client(client): Client,
    ApiJson(b): ApiJson<InvitationTokenBody>,
) -> ApiResult {
    w.auth().organizations().decline(&b.token, &client).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The built-in and custom roles (any member).
#[utoipa::path(get, path = "/auth/organizations/{id}/roles", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = [RoleBody]), (status = 404, body = Problem)))]
pub async fn roles(
    State(w): State<Warden>,
    CurrentAccount(me): CurrentAccount,
    Path(id): Path<String>,
) -> ApiResult {
    let list = w.auth().organizations().roles(me.id, org_id(&id)?).await?;
    let body: Vec<RoleBody> = list.iter().map(RoleBody::from).collect();
    Ok(json(StatusCode::OK, &body))
}

/// Add a custom role (owner).
#[utoipa::path(post, path = "/auth/organizations/{id}/roles", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CreateRoleBody,
    responses((status = 201, body = RoleBody), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "role_taken"), (status = 422, body = Problem)))]
pub async fn create_role(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(me): CurrentAccount,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CreateRoleBody>,
) -> ApiResult {
    let orgs = w.auth().organizations();
    let role = (orgs.create_role(me.id, org_id(&id)?, &b.name, &b.permissions, &client)).await?;
    Ok(json(StatusCode::CREATED, &RoleBody::from(&role)))
}

/// Replace a custom role's permissions (owner); its members' tokens with
/// the old ones are refused from their next request.
#[utoipa::path(patch, path = "/auth/organizations/{id}/roles/{name}", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path), ("name" = String, Path)), request_body = UpdateRoleBody,
    responses((status = 200, body = RoleBody), (status = 400, body = Problem, description = "a built-in role"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_role(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(me): CurrentAccount,
    Path((id, name)): Path<(String, String)>,
    ApiJson(b): ApiJson<UpdateRoleBody>,
) -> ApiResult {
    let orgs = w.auth().organizations();
    let role = (orgs.update_role(me.id, org_id(&id)?, &name, &b.permissions, &client)).await?;
    Ok(json(StatusCode::OK, &RoleBody::from(&role)))
}

/// Delete a custom role (owner).
#[utoipa::path(delete, path = "/auth/organizations/{id}/roles/{name}", tag = "organizations", security(("bearer" = [])),
    params(("id" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = 400, body = Problem, description = "a built-in role"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "role_in_use")))]
pub async fn delete_role(
    State(w): State<Warden>,
    Client(client): Client,
    CurrentAccount(me): CurrentAccount,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult {
    let orgs = w.auth().organizations();
    orgs.delete_role(me.id, org_id(&id)?, &name, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Query of `GET /admin/organizations`.
#[derive(Deserialize, IntoParams)]
pub struct AdminOrgParams {
    /// Page size (1–200, default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of organizations.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationPage {
    /// The organizations, by id.
    pub items: Vec<OrganizationBody>,
    /// The cursor of the next page (null: last page).
    pub next_cursor: Option<String>,
}

/// Every organization (admin), by id.
#[utoipa::path(get, path = "/auth/admin/organizations", tag = "admin", params(AdminOrgParams), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = OrganizationPage), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn admin_list(
    State(w): State<Warden>,
    _: AdminCaller,
    ApiQuery(p): ApiQuery<AdminOrgParams>,
) -> ApiResult {
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::field("limit", "must be between 1 and 200").into());
    }
    let after = match p.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(Uuid::parse_str(c).map_err(|_| Error::field("cursor", "invalid cursor"))?),
    };
    let items = w.auth().organizations().list_all(after, limit + 1).await?;
    let more = items.len() > limit as usize;
    let items: Vec<_> = items.iter().take(limit as usize).collect();
    let next_cursor = if more {
        items.last().map(|o| o.id.to_string())
    } else {
        None
    };
    Ok(json(
        StatusCode::OK,
        &OrganizationPage {
            items: items.into_iter().map(OrganizationBody::from).collect(),
            next_cursor,
        },
    ))
}

/// One organization (admin).
#[utoipa::path(get, path = "/auth/admin/organizations/{id}", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = OrganizationBody), (status = 404, body = Problem)))]
pub async fn admin_get(
    State(w): State<Warden>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let org = w.auth().organizations().get_any(org_id(&id)?).await?;
    Ok(json(StatusCode::OK, &OrganizationBody::from(&org)))
}

/// Delete an organization (admin).
#[utoipa::path(delete, path = "/auth/admin/organizations/{id}", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn admin_delete(
    State(w): State<Warden>,
    caller: AdminCaller,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult {
    let actor = match &caller {
        AdminCaller::Account(a) => Some(a.id),
        AdminCaller::Secret => None,
    };
    let orgs = w.auth().organizations();
    orgs.delete_any(actor, org_id(&id)?, &client).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Members of an organization (admin).
#[utoipa::path(get, path = "/auth/admin/organizations/{id}/members", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("admin_secret" = [])),
    responses((status = 200, body = [MembershipBody]), (status = 404, body = Problem)))]
pub async fn admin_members(
    State(w): State<Warden>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let list = w.auth().organizations().members_any(org_id(&id)?).await?;
    let body: Vec<MembershipBody> = list.iter().map(MembershipBody::from).collect();
    Ok(json(StatusCode::OK, &body))
}
