//! The organization claims of an access token: `org` (the id), `org_role`,
//! the role's permissions (claim `org_permissions`, or the name of
//! [`crate::Settings::org_permissions_claim`]) and `org_epoch`, the epoch of
//! the session's organization claims (see
//! [`crate::store::ActiveOrganization`]).

use super::rules::builtin_permissions;
use crate::error::Result;
use crate::model::{AccountId, SessionId};
use crate::store::{ActiveOrg, OrganizationStore};
use crate::token::Claims;
use serde_json::{Map, Value};

/// Claim of the organization id.
pub const ORG_CLAIM: &str = "org";
/// Claim of the member's role.
pub const ORG_ROLE_CLAIM: &str = "org_role";
/// Claim of the epoch of the session's organization claims.
pub const ORG_EPOCH_CLAIM: &str = "org_epoch";

/// The organization claims of a session of `account` (empty when it acts
/// for no organization, or is no longer a member of it); `read`: the
/// organization it acts for, when already read.
pub(crate) async fn org_claims(
    store: &dyn OrganizationStore,
    permissions_claim: &str,
    session: SessionId,
    account: AccountId,
    read: ActiveOrg,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    let active = match read {
        ActiveOrg::Read(active) => active,
        ActiveOrg::Unread => store.active_organization(session).await?,
    };
    let Some(active) = active else {
        return Ok(out);
    };
    let Some(org) = active.organization else {
        return Ok(out);
    };
    let Some(member) = store.membership(org, account).await? else {
        return Ok(out);
    };
    let permissions: Vec<String> = match builtin_permissions(&member.role) {
        Some(p) => p.iter().map(|s| (*s).to_owned()).collect(),
        None => (store.custom_roles(org).await?.into_iter())
            .find(|r| r.name == member.role)
            .map(|r| r.permissions)
            .unwrap_or_default(),
    };
    out.insert(ORG_CLAIM.into(), Value::String(org.to_string()));
    out.insert(ORG_ROLE_CLAIM.into(), Value::String(member.role));
    out.insert(permissions_claim.into(), permissions.into());
    out.insert(ORG_EPOCH_CLAIM.into(), active.epoch.into());
    Ok(out)
}

/// The organization id and role a token acts for, read without copying.
fn org_and_role<S>(claims: &Claims<S>) -> Option<(uuid::Uuid, &str)> {
    let org = claims.extra.get(ORG_CLAIM)?.as_str()?;
    let org = uuid::Uuid::parse_str(org).ok()?;
    Some((org, claims.extra.get(ORG_ROLE_CLAIM)?.as_str()?))
}

/// The `org_epoch` of a token that acts for an organization (0 when the
/// claim is missing); `None` for a token that acts for none. This is what
/// every request checks against the revocation set, so it reads only these
/// claims.
pub(crate) fn token_org_epoch<S>(claims: &Claims<S>) -> Option<i64> {
    org_and_role(claims)?;
    Some(epoch_of(claims))
}

fn epoch_of<S>(claims: &Claims<S>) -> i64 {
    (claims.extra.get(ORG_EPOCH_CLAIM))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// The organization claims a verified token carries: id, role, permissions
/// (read from `permissions_claim`) and epoch. None without an `org` claim.
pub fn token_org<S>(claims: &Claims<S>, permissions_claim: &str) -> Option<TokenOrg> {
    let (id, role) = org_and_role(claims)?;
    let permissions = (claims.extra.get(permissions_claim))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Some(TokenOrg {
        id,
        role: role.to_owned(),
        permissions,
        epoch: epoch_of(claims),
    })
}

/// The organization an access token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOrg {
    /// The organization id (`org`).
    pub id: uuid::Uuid,
    /// The member's role (`org_role`).
    pub role: String,
    /// The role's permissions.
    pub permissions: Vec<String>,
    /// The epoch of the claims (`org_epoch`).
    pub epoch: i64,
}

impl TokenOrg {
    /// Whether the role grants `permission`.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}
