//! [`OrganizationStore`] of [`SqlBackend`] (migration 0012). Every change
//! of members, roles and invitations first locks the organization's row
//! (`{FOR UPDATE}`), so the owner count of the last-owner rule and the
//! "role in use" check see no concurrent change (on SQLite, `BEGIN
//! IMMEDIATE` serializes the writers anyway). Changes that make
//! organization claims stale run in a feed transaction and append one
//! `OrgClaimsRevoked` entry per session.

use crate::backend::{SqlBackend, commit_if_changed, insert_audit, insert_feed};
use crate::codec::{json_list, json_value, ts};
use crate::dialect::{Dialect, Record, Tx};
use crate::org_rows::{invitation_row, member_row, org_row, role_row};
use crate::sql::sql;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{AccountId, AuditEvent, SessionId, normalize_email};
use warden_core::store::{
    ActiveOrganization, Change, Invitation, InvitationState, Membership, OrgRole, Organization,
    OrganizationStore, is_builtin_role,
};

macro_rules! org_cols {
    () => {
        "id, slug, name, properties, created_at"
    };
}
macro_rules! member_select {
    ($where:literal) => {
        sql!(concat!(
            "SELECT m.organization_id, m.account_id, a.login, m.role, m.joined_at \
             FROM org_members m JOIN accounts a ON a.id = m.account_id WHERE ",
            $where
        ))
    };
}
macro_rules! invitation_cols {
    () => {
        "id, organization_id, email, role, inviter, state, created_at, expires_at"
    };
}

fn unknown_role() -> Error {
    Error::field("role", "not a role of this organization")
}

/// Lock the organization row; false when it does not exist.
async fn lock_org<D: Dialect>(tx: &mut Tx<D>, org: Uuid) -> Result<bool> {
    tx.q(sql!(
        "SELECT 1 FROM organizations WHERE id = $1 {FOR UPDATE}"
    ))
    .bind(org)
    .exists()
    .await
}

/// Whether `role` is built in or a custom role of `org`.
async fn role_exists<D: Dialect>(tx: &mut Tx<D>, org: Uuid, role: &str) -> Result<bool> {
    if is_builtin_role(role) {
        return Ok(true);
    }
    tx.q(sql!(
        "SELECT 1 FROM org_roles WHERE organization_id = $1 AND name = $2"
    ))
    .binds((org, role))
    .exists()
    .await
}

/// The role of a member (None: not a member).
async fn role_of<D: Dialect>(
    tx: &mut Tx<D>,
    org: Uuid,
    account: AccountId,
) -> Result<Option<String>> {
    let row = tx
        .q(sql!(
            "SELECT role FROM org_members WHERE organization_id = $1 AND account_id = $2"
        ))
        .binds((org, account.0))
        .fetch_optional()
        .await?;
    row.map(|r| r.get("role")).transpose()
}

async fn owners<D: Dialect>(tx: &mut Tx<D>, org: Uuid) -> Result<i64> {
    tx.q(sql!(
        "SELECT COUNT(*) AS n FROM org_members WHERE organization_id = $1 AND role = 'owner'"
    ))
    .bind(org)
    .fetch_one()
    .await?
    .get("n")
}

/// Which sessions acting for the organization a stale-claims change hits.
enum Hit<'a> {
    /// Those of one account.
    Account(AccountId),
    /// Those of the members with this role.
    Role(&'a str),
    /// All.
    All,
}

/// Raise the epoch of the sessions acting for `org` that `hit` picks
/// (clearing their organization when `clear`), one feed entry each.
async fn stale_claims<D: Dialect>(
    tx: &mut Tx<D>,
    org: Uuid,
    hit: Hit<'_>,
    clear: bool,
    now: i64,
) -> Result<()> {
    let rows = match hit {
        Hit::Account(a) => {
            tx.q(sql!(
                "SELECT session_id, account_id FROM org_sessions \
                 WHERE organization_id = $1 AND account_id = $2 ORDER BY session_id {FOR UPDATE}"
            ))
            .binds((org, a.0))
            .fetch_all()
            .await?
        }
        Hit::Role(role) => {
            tx.q(sql!(
                "SELECT s.session_id, s.account_id FROM org_sessions s JOIN org_members m \
                 ON m.organization_id = s.organization_id AND m.account_id = s.account_id \
                 WHERE s.organization_id = $1 AND m.role = $2 ORDER BY s.session_id {FOR UPDATE}"
            ))
            .binds((org, role))
            .fetch_all()
            .await?
        }
        Hit::All => {
            tx.q(sql!(
                "SELECT session_id, account_id FROM org_sessions \
                 WHERE organization_id = $1 ORDER BY session_id {FOR UPDATE}"
            ))
            .bind(org)
            .fetch_all()
            .await?
        }
    };
    for row in &rows {
        let sid = SessionId(row.get("session_id")?);
        let account = AccountId(row.get("account_id")?);
        if clear {
            tx.q(sql!(
                "UPDATE org_sessions SET epoch = epoch + 1, organization_id = NULL \
                 WHERE session_id = $1"
            ))
            .bind(sid.0)
            .execute()
            .await?;
        } else {
            tx.q(sql!(
                "UPDATE org_sessions SET epoch = epoch + 1 WHERE session_id = $1"
            ))
            .bind(sid.0)
            .execute()
            .await?;
        }
        insert_feed(tx, &Change::OrgClaimsRevoked(sid, account), now).await?;
    }
    Ok(())
}

/// The membership as answered (with the login).
async fn membership_in<D: Dialect>(
    tx: &mut Tx<D>,
    org: Uuid,
    account: AccountId,
) -> Result<Option<Membership>> {
    tx.q(member_select!(
        "m.organization_id = $1 AND m.account_id = $2"
    ))
    .binds((org, account.0))
    .one(member_row)
    .await
}

/// The id of the pending, unexpired invitation of a token hash, locked.
async fn pending_invitation<D: Dialect>(
    tx: &mut Tx<D>,
    hash: &[u8; 32],
    now: i64,
) -> Result<Option<(Invitation, String)>> {
    let row = tx
        .q(sql!(concat!(
            "SELECT ",
            invitation_cols!(),
            ", email_key FROM org_invitations WHERE token_hash = $1 AND state = 'pending' \
             AND expires_at > $2 {FOR UPDATE}"
        )))
        .binds((hash, now))
        .fetch_optional()
        .await?;
    match row {
        Some(r) => Ok(Some((invitation_row(&r)?, r.get("email_key")?))),
        None => Ok(None),
    }
}

async fn set_invitation_state<D: Dialect>(
    tx: &mut Tx<D>,
    id: Uuid,
    state: InvitationState,
) -> Result<()> {
    tx.q(sql!("UPDATE org_invitations SET state = $1 WHERE id = $2"))
        .binds((state.as_str(), id))
        .run()
        .await
}

#[async_trait]
impl<D: Dialect> OrganizationStore for SqlBackend<D> {
    async fn insert_organization(
        &self,
        org: &Organization,
        owner: AccountId,
        audit: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        if !crate::backend::account_exists(&mut tx, owner).await? {
            return Err(Error::NotFound);
        }
        let taken = tx
            .q(sql!("SELECT 1 FROM organizations WHERE slug = $1"))
            .bind(org.slug.as_str())
            .exists()
            .await?;
        if taken {
            return Err(Error::SlugTaken);
        }
        let at = ts(org.created_at)?;
        let properties = json_value(&org.properties)?;
        tx.q(sql!(concat!(
            "INSERT INTO organizations (",
            org_cols!(),
            ") VALUES ($1, $2, $3, $4, $5)"
        )))
        .binds((
            org.id,
            org.slug.as_str(),
            org.name.as_str(),
            properties.as_str(),
            at,
        ))
        .run()
        .await?;
        tx.q(sql!(
            "INSERT INTO org_members (organization_id, account_id, role, joined_at) \
             VALUES ($1, $2, 'owner', $3)"
        ))
        .binds((org.id, owner.0, at))
        .run()
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn organization(&self, id: Uuid) -> Result<Option<Organization>> {
        self.q(sql!(concat!(
            "SELECT ",
            org_cols!(),
            " FROM organizations WHERE id = $1"
        )))
        .bind(id)
        .one(org_row)
        .await
    }

    async fn organization_by_slug(&self, slug: &str) -> Result<Option<Organization>> {
        if !crate::codec::storable(slug) {
            return Ok(None);
        }
        self.q(sql!(concat!(
            "SELECT ",
            org_cols!(),
            " FROM organizations WHERE slug = $1"
        )))
        .bind(slug)
        .one(org_row)
        .await
    }

    async fn update_organization(&self, org: &Organization, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.write().await?;
        let properties = json_value(&org.properties)?;
        let n = tx
            .q(sql!(
                "UPDATE organizations SET name = $1, properties = $2 WHERE id = $3"
            ))
            .binds((org.name.as_str(), properties.as_str(), org.id))
            .execute()
            .await?;
        commit_if_changed(tx, n, audit).await
    }

    async fn delete_organization(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.feed_write().await?;
        if !lock_org(&mut tx, id).await? {
            return Ok(false);
        }
        stale_claims(&mut tx, id, Hit::All, true, ts(now)?).await?;
        for stmt in [
            sql!("DELETE FROM org_invitations WHERE organization_id = $1"),
            sql!("DELETE FROM org_members WHERE organization_id = $1"),
            sql!("DELETE FROM org_roles WHERE organization_id = $1"),
            sql!("DELETE FROM organizations WHERE id = $1"),
        ] {
            tx.q(stmt).bind(id).execute().await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_organizations(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Organization>> {
        self.q(sql!(concat!(
            "SELECT ",
            org_cols!(),
            " FROM organizations WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2"
        )))
        .binds((after, i64::from(limit)))
        .all(org_row)
        .await
    }

    async fn organizations_of(&self, account: AccountId) -> Result<Vec<(Organization, String)>> {
        fn row<D: Dialect>(r: &Record<D>) -> Result<(Organization, String)> {
            Ok((org_row(r)?, r.get("role")?))
        }
        self.q(sql!(
            "SELECT o.id, o.slug, o.name, o.properties, o.created_at, m.role \
             FROM org_members m JOIN organizations o ON o.id = m.organization_id \
             WHERE m.account_id = $1 ORDER BY o.slug"
        ))
        .bind(account.0)
        .all(row)
        .await
    }

    async fn membership(&self, org: Uuid, account: AccountId) -> Result<Option<Membership>> {
        self.q(member_select!(
            "m.organization_id = $1 AND m.account_id = $2"
        ))
        .binds((org, account.0))
        .one(member_row)
        .await
    }

    async fn members(&self, org: Uuid) -> Result<Vec<Membership>> {
        self.q(member_select!(
            "m.organization_id = $1 ORDER BY m.joined_at, m.account_id"
        ))
        .bind(org)
        .all(member_row)
        .await
    }

    async fn set_member_role(
        &self,
        org: Uuid,
        account: AccountId,
        role: &str,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<Option<Membership>> {
        let mut tx = self.feed_write().await?;
        if !lock_org(&mut tx, org).await? {
            return Ok(None);
        }
        let Some(current) = role_of(&mut tx, org, account).await? else {
            return Ok(None);
        };
        if !role_exists(&mut tx, org, role).await? {
            return Err(unknown_role());
        }
        if current == "owner" && role != "owner" && owners(&mut tx, org).await? <= 1 {
            return Err(Error::LastOwner);
        }
        tx.q(sql!(
            "UPDATE org_members SET role = $1 WHERE organization_id = $2 AND account_id = $3"
        ))
        .binds((role, org, account.0))
        .run()
        .await?;
        stale_claims(&mut tx, org, Hit::Account(account), false, ts(now)?).await?;
        insert_audit(&mut tx, audit).await?;
        let m = membership_in(&mut tx, org, account).await?;
        tx.commit().await?;
        Ok(m)
    }

    async fn remove_member(
        &self,
        org: Uuid,
        account: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.feed_write().await?;
        if !lock_org(&mut tx, org).await? {
            return Ok(false);
        }
        let Some(current) = role_of(&mut tx, org, account).await? else {
            return Ok(false);
        };
        if current == "owner" && owners(&mut tx, org).await? <= 1 {
            return Err(Error::LastOwner);
        }
        tx.q(sql!(
            "DELETE FROM org_members WHERE organization_id = $1 AND account_id = $2"
        ))
        .binds((org, account.0))
        .run()
        .await?;
        stale_claims(&mut tx, org, Hit::Account(account), true, ts(now)?).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn custom_roles(&self, org: Uuid) -> Result<Vec<OrgRole>> {
        self.q(sql!(
            "SELECT name, permissions FROM org_roles WHERE organization_id = $1 ORDER BY name"
        ))
        .bind(org)
        .all(role_row)
        .await
    }

    async fn insert_role(&self, org: Uuid, role: &OrgRole, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        if !lock_org(&mut tx, org).await? {
            return Err(Error::NotFound);
        }
        if role_exists(&mut tx, org, &role.name).await? {
            return Err(Error::RoleTaken);
        }
        let perms = json_list(&role.permissions)?;
        tx.q(sql!(
            "INSERT INTO org_roles (organization_id, name, permissions) VALUES ($1, $2, $3)"
        ))
        .binds((org, role.name.as_str(), perms.as_str()))
        .run()
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn update_role(
        &self,
        org: Uuid,
        role: &OrgRole,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.feed_write().await?;
        if !lock_org(&mut tx, org).await? {
            return Ok(false);
        }
        let perms = json_list(&role.permissions)?;
        let n = tx
            .q(sql!(
                "UPDATE org_roles SET permissions = $1 WHERE organization_id = $2 AND name = $3"
            ))
            .binds((perms.as_str(), org, role.name.as_str()))
            .execute()
            .await?;
        if n == 0 {
            return Ok(false);
        }
        stale_claims(&mut tx, org, Hit::Role(&role.name), false, ts(now)?).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_role(&self, org: Uuid, name: &str, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.write().await?;
        if !lock_org(&mut tx, org).await? {
            return Ok(false);
        }
        let exists = tx
            .q(sql!(
                "SELECT 1 FROM org_roles WHERE organization_id = $1 AND name = $2"
            ))
            .binds((org, name))
            .exists()
            .await?;
        if !exists {
            return Ok(false);
        }
        let in_use = tx
            .q(sql!(
                "SELECT 1 FROM org_members WHERE organization_id = $1 AND role = $2 \
                 UNION ALL SELECT 1 FROM org_invitations WHERE organization_id = $1 \
                 AND role = $2 AND state = 'pending'"
            ))
            .binds((org, name))
            .exists()
            .await?;
        if in_use {
            return Err(Error::RoleInUse);
        }
        tx.q(sql!(
            "DELETE FROM org_roles WHERE organization_id = $1 AND name = $2"
        ))
        .binds((org, name))
        .run()
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_invitation(
        &self,
        inv: &Invitation,
        token_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> Result<()> {
        let org = inv.organization;
        let mut tx = self.write().await?;
        if !lock_org(&mut tx, org).await? {
            return Err(Error::NotFound);
        }
        if !role_exists(&mut tx, org, &inv.role).await? {
            return Err(unknown_role());
        }
        let key = normalize_email(&inv.email);
        tx.q(sql!(
            "UPDATE org_invitations SET state = 'revoked' WHERE organization_id = $1 \
             AND email_key = $2 AND state = 'pending'"
        ))
        .binds((org, key.as_str()))
        .execute()
        .await?;
        tx.q(sql!(
            "INSERT INTO org_invitations (id, organization_id, email, email_key, role, \
             token_hash, inviter, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .binds((
            inv.id,
            org,
            inv.email.as_str(),
            key.as_str(),
            inv.role.as_str(),
            token_hash,
            inv.inviter.0,
            inv.state.as_str(),
            ts(inv.created_at)?,
            ts(inv.expires_at)?,
        ))
        .run()
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn invitation_by_token(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<Invitation>> {
        self.q(sql!(concat!(
            "SELECT ",
            invitation_cols!(),
            " FROM org_invitations WHERE token_hash = $1 AND state = 'pending' AND expires_at > $2"
        )))
        .binds((token_hash, ts(now)?))
        .one(invitation_row)
        .await
    }

    async fn pending_invitations(&self, org: Uuid, now: OffsetDateTime) -> Result<Vec<Invitation>> {
        self.q(sql!(concat!(
            "SELECT ",
            invitation_cols!(),
            " FROM org_invitations WHERE organization_id = $1 AND state = 'pending' \
             AND expires_at > $2 ORDER BY created_at DESC, id DESC"
        )))
        .binds((org, ts(now)?))
        .all(invitation_row)
        .await
    }

    async fn revoke_invitation(
        &self,
        org: Uuid,
        id: Uuid,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let n = tx
            .q(sql!(
                "UPDATE org_invitations SET state = 'revoked' WHERE id = $1 \
                 AND organization_id = $2 AND state = 'pending' AND expires_at > $3"
            ))
            .binds((id, org, ts(now)?))
            .execute()
            .await?;
        commit_if_changed(tx, n, audit).await
    }

    async fn accept_invitation(
        &self,
        token_hash: &[u8; 32],
        account: AccountId,
        email_key: &str,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<Membership> {
        let at = ts(now)?;
        let mut tx = self.write().await?;
        if !crate::backend::account_exists(&mut tx, account).await? {
            return Err(Error::NotFound);
        }
        let Some((inv, key)) = pending_invitation(&mut tx, token_hash, at).await? else {
            return Err(Error::InvalidMailToken);
        };
        if key != email_key {
            return Err(Error::Forbidden(
                "this invitation was sent to another email address".into(),
            ));
        }
        let org = inv.organization;
        lock_org(&mut tx, org).await?;
        set_invitation_state(&mut tx, inv.id, InvitationState::Accepted).await?;
        if role_of(&mut tx, org, account).await?.is_none() {
            tx.q(sql!(
                "INSERT INTO org_members (organization_id, account_id, role, joined_at) \
                 VALUES ($1, $2, $3, $4)"
            ))
            .binds((org, account.0, inv.role.as_str(), at))
            .run()
            .await?;
        }
        insert_audit(&mut tx, audit).await?;
        let m = membership_in(&mut tx, org, account)
            .await?
            .ok_or(Error::NotFound)?;
        tx.commit().await?;
        Ok(m)
    }

    async fn decline_invitation(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let Some((inv, _)) = pending_invitation(&mut tx, token_hash, ts(now)?).await? else {
            return Ok(false);
        };
        set_invitation_state(&mut tx, inv.id, InvitationState::Declined).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_active_organization(
        &self,
        session: SessionId,
        account: AccountId,
        org: Option<Uuid>,
    ) -> Result<i64> {
        let mut tx = self.write().await?;
        if let Some(org) = org {
            let member = tx
                .q(sql!(
                    "SELECT 1 FROM org_members WHERE organization_id = $1 AND account_id = $2 \
                     {FOR KEY SHARE}"
                ))
                .binds((org, account.0))
                .exists()
                .await?;
            if !member {
                return Err(Error::NotFound);
            }
        }
        let row = tx
            .q(sql!(
                "SELECT epoch FROM org_sessions WHERE session_id = $1 {FOR UPDATE}"
            ))
            .bind(session.0)
            .fetch_optional()
            .await?;
        let epoch = match row {
            Some(r) => {
                let epoch = r.get::<i64>("epoch")? + 1;
                tx.q(sql!(
                    "UPDATE org_sessions SET organization_id = $1, account_id = $2, epoch = $3 \
                     WHERE session_id = $4"
                ))
                .binds((org, account.0, epoch, session.0))
                .run()
                .await?;
                epoch
            }
            None => {
                tx.q(sql!(
                    "INSERT INTO org_sessions (session_id, account_id, organization_id, epoch) \
                     VALUES ($1, $2, $3, 1)"
                ))
                .binds((session.0, account.0, org))
                .run()
                .await?;
                1
            }
        };
        tx.commit().await?;
        Ok(epoch)
    }

    async fn active_organization(&self, session: SessionId) -> Result<Option<ActiveOrganization>> {
        let row = self
            .q(sql!(
                "SELECT organization_id, epoch FROM org_sessions WHERE session_id = $1"
            ))
            .bind(session.0)
            .fetch_optional()
            .await?;
        match row {
            Some(r) => Ok(Some(ActiveOrganization {
                organization: r.get("organization_id")?,
                epoch: r.get("epoch")?,
            })),
            None => Ok(None),
        }
    }
}
