//! Rows of the organization tables as domain values (see
//! [`crate::organizations`]).

use crate::codec::{from_json_list, from_json_value, from_ts};
use crate::dialect::{Dialect, Record};
use warden_core::error::{Error, Result};
use warden_core::model::AccountId;
use warden_core::store::{Invitation, InvitationState, Membership, OrgRole, Organization};

pub(crate) fn org_row<D: Dialect>(row: &Record<D>) -> Result<Organization> {
    Ok(Organization {
        id: row.get("id")?,
        slug: row.get("slug")?,
        name: row.get("name")?,
        properties: from_json_value(&row.get::<String>("properties")?)?,
        created_at: from_ts(row.get("created_at")?)?,
    })
}

pub(crate) fn member_row<D: Dialect>(row: &Record<D>) -> Result<Membership> {
    Ok(Membership {
        organization: row.get("organization_id")?,
        account_id: AccountId(row.get("account_id")?),
        login: row.get("login")?,
        role: row.get("role")?,
        joined_at: from_ts(row.get("joined_at")?)?,
    })
}

pub(crate) fn role_row<D: Dialect>(row: &Record<D>) -> Result<OrgRole> {
    Ok(OrgRole {
        name: row.get("name")?,
        permissions: from_json_list(&row.get::<String>("permissions")?)?,
        builtin: false,
    })
}

pub(crate) fn invitation_row<D: Dialect>(row: &Record<D>) -> Result<Invitation> {
    let state: String = row.get("state")?;
    Ok(Invitation {
        id: row.get("id")?,
        organization: row.get("organization_id")?,
        email: row.get("email")?,
        role: row.get("role")?,
        inviter: AccountId(row.get("inviter")?),
        state: InvitationState::parse(&state)
            .ok_or_else(|| Error::Internal(format!("bad invitation state {state:?}")))?,
        created_at: from_ts(row.get("created_at")?)?,
        expires_at: from_ts(row.get("expires_at")?)?,
    })
}
