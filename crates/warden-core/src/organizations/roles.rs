//! The roles of an organization: the built-in ones and the custom roles an
//! owner defines.

use super::Organizations;
use super::rules::{builtin_roles, check_permissions, check_role_name, invalid};
use crate::error::{Error, Result};
use crate::model::{AccountId, ClientInfo};
use crate::store::{OrgRole, is_builtin_role};
use uuid::Uuid;

fn owner(role: &str) -> bool {
    role == "owner"
}

impl Organizations {
    /// The built-in and custom roles of one of the caller's organizations.
    pub async fn roles(&self, caller: AccountId, id: Uuid) -> Result<Vec<OrgRole>> {
        self.member_of(caller, id).await?;
        let mut all = builtin_roles();
        all.extend(self.store.custom_roles(id).await?);
        Ok(all)
    }

    /// Add a custom role (owner). `RoleTaken` when the name is taken.
    pub async fn create_role(
        &self,
        caller: AccountId,
        id: Uuid,
        name: &str,
        permissions: &[String],
        client: &ClientInfo,
    ) -> Result<OrgRole> {
        self.with_role(caller, id, owner).await?;
        let name = check_role_name(name).map_err(invalid)?;
        if is_builtin_role(&name) {
            return Err(Error::RoleTaken);
        }
        let role = OrgRole {
            name,
            permissions: check_permissions(permissions).map_err(invalid)?,
            builtin: false,
        };
        let ev = self.event(
            "organization.role_created",
            Some(caller),
            id,
            client,
            serde_json::json!({"role": role.name, "permissions": role.permissions}),
        );
        self.store.insert_role(id, &role, &ev).await?;
        Ok(role)
    }

    /// Replace the permissions of a custom role (owner); built-in roles
    /// cannot be changed. Tokens of its members with the old permissions
    /// are refused from now on.
    pub async fn update_role(
        &self,
        caller: AccountId,
        id: Uuid,
        name: &str,
        permissions: &[String],
        client: &ClientInfo,
    ) -> Result<OrgRole> {
        self.with_role(caller, id, owner).await?;
        if is_builtin_role(name) {
            return Err(Error::BadRequest("built-in roles cannot be changed".into()));
        }
        let role = OrgRole {
            name: name.to_owned(),
            permissions: check_permissions(permissions).map_err(invalid)?,
            builtin: false,
        };
        let ev = self.event(
            "organization.role_updated",
            Some(caller),
            id,
            client,
            serde_json::json!({"role": role.name, "permissions": role.permissions}),
        );
        if !self.store.update_role(id, &role, self.now(), &ev).await? {
            return Err(Error::NotFound);
        }
        self.upkeep.sync().await?;
        Ok(role)
    }

    /// Delete a custom role (owner). Built-in roles cannot be deleted; a
    /// role a member or a pending invitation has is `RoleInUse`.
    pub async fn delete_role(
        &self,
        caller: AccountId,
        id: Uuid,
        name: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        self.with_role(caller, id, owner).await?;
        if is_builtin_role(name) {
            return Err(Error::BadRequest("built-in roles cannot be deleted".into()));
        }
        let ev = self.event(
            "organization.role_deleted",
            Some(caller),
            id,
            client,
            serde_json::json!({"role": name}),
        );
        if !self.store.delete_role(id, name, &ev).await? {
            return Err(Error::NotFound);
        }
        Ok(())
    }
}
