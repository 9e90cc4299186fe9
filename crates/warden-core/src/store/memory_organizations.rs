//! [`OrganizationStore`] of the in-memory store.

use super::*;
use uuid::Uuid;

/// A stored membership (the login is read from the account).
#[derive(Clone)]
pub(super) struct MemberRow {
    role: String,
    joined_at: OffsetDateTime,
}

/// A stored invitation with its token hash.
struct InvitationRow {
    invitation: Invitation,
    hash: [u8; 32],
}

/// The organizations part of [`Inner`].
#[derive(Default)]
pub(super) struct OrgData {
    orgs: BTreeMap<Uuid, Organization>,
    pub(super) members: BTreeMap<(Uuid, AccountId), MemberRow>,
    roles: BTreeMap<(Uuid, String), Vec<String>>,
    invitations: Vec<InvitationRow>,
    active: HashMap<SessionId, (AccountId, ActiveOrganization)>,
}

impl Inner {
    /// [`OrganizationStore::active_organization`] of `session`.
    pub(super) fn active_organization(&self, session: SessionId) -> Option<ActiveOrganization> {
        self.orgs.active.get(&session).map(|(_, a)| *a)
    }

    fn membership_of(&self, org: Uuid, account: AccountId) -> Option<Membership> {
        let row = self.orgs.members.get(&(org, account))?;
        let login = self.accounts.get(&account)?.login.clone();
        Some(Membership {
            organization: org,
            account_id: account,
            login,
            role: row.role.clone(),
            joined_at: row.joined_at,
        })
    }

    fn role_exists(&self, org: Uuid, role: &str) -> bool {
        is_builtin_role(role) || self.orgs.roles.contains_key(&(org, role.to_owned()))
    }

    /// Raise the epoch of the sessions acting for `org` of the accounts
    /// `who` picks, clearing their organization when `clear`, with one feed
    /// entry each.
    fn stale_claims(
        &mut self,
        org: Uuid,
        who: impl Fn(AccountId) -> bool,
        clear: bool,
        now: OffsetDateTime,
    ) {
        let mut hit = Vec::new();
        for (sid, (owner, a)) in &mut self.orgs.active {
            let owner = *owner;
            if a.organization != Some(org) || !who(owner) {
                continue;
            }
            a.epoch += 1;
            if clear {
                a.organization = None;
            }
            hit.push((*sid, owner));
        }
        for (sid, owner) in hit {
            self.push_feed(Change::OrgClaimsRevoked(sid, owner), now);
        }
    }

    fn owners(&self, org: Uuid) -> usize {
        (self.orgs.members.iter())
            .filter(|((o, _), m)| *o == org && m.role == "owner")
            .count()
    }

    fn pending_by_hash(&mut self, hash: &[u8; 32], now: OffsetDateTime) -> Option<&mut Invitation> {
        self.orgs
            .invitations
            .iter_mut()
            .find(|r| {
                r.hash == *hash
                    && r.invitation.state == InvitationState::Pending
                    && r.invitation.expires_at > now
            })
            .map(|r| &mut r.invitation)
    }
}

fn unknown_role() -> Error {
    Error::field("role", "not a role of this organization")
}

#[async_trait]
impl OrganizationStore for MemoryStore {
    async fn insert_organization(
        &self,
        org: &Organization,
        owner: AccountId,
        audit: &AuditEvent,
    ) -> Result<()> {
        let mut g = self.inner.lock();
        if !g.accounts.contains_key(&owner) {
            return Err(Error::NotFound);
        }
        if g.orgs.orgs.values().any(|o| o.slug == org.slug) {
            return Err(Error::SlugTaken);
        }
        g.orgs.orgs.insert(org.id, org.clone());
        let row = MemberRow {
            role: "owner".into(),
            joined_at: org.created_at,
        };
        g.orgs.members.insert((org.id, owner), row);
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn organization(&self, id: Uuid) -> Result<Option<Organization>> {
        Ok(self.inner.lock().orgs.orgs.get(&id).cloned())
    }

    async fn organization_by_slug(&self, slug: &str) -> Result<Option<Organization>> {
        let g = self.inner.lock();
        Ok(g.orgs.orgs.values().find(|o| o.slug == slug).cloned())
    }

    async fn update_organization(&self, org: &Organization, audit: &AuditEvent) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(stored) = g.orgs.orgs.get_mut(&org.id) else {
            return Ok(false);
        };
        stored.name.clone_from(&org.name);
        stored.properties.clone_from(&org.properties);
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn delete_organization(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        if g.orgs.orgs.remove(&id).is_none() {
            return Ok(false);
        }
        g.stale_claims(id, |_| true, true, now);
        g.orgs.members.retain(|(o, _), _| *o != id);
        g.orgs.roles.retain(|(o, _), _| *o != id);
        g.orgs
            .invitations
            .retain(|r| r.invitation.organization != id);
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn list_organizations(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Organization>> {
        let g = self.inner.lock();
        Ok(g.orgs
            .orgs
            .values()
            .filter(|o| after.is_none_or(|a| o.id > a))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn organizations_of(&self, account: AccountId) -> Result<Vec<(Organization, String)>> {
        let g = self.inner.lock();
        let mut out: Vec<(Organization, String)> = (g.orgs.members.iter())
            .filter(|((_, a), _)| *a == account)
            .filter_map(|((o, _), m)| Some((g.orgs.orgs.get(o)?.clone(), m.role.clone())))
            .collect();
        out.sort_by(|a, b| a.0.slug.cmp(&b.0.slug));
        Ok(out)
    }

    async fn membership(&self, org: Uuid, account: AccountId) -> Result<Option<Membership>> {
        Ok(self.inner.lock().membership_of(org, account))
    }

    async fn members(&self, org: Uuid) -> Result<Vec<Membership>> {
        let g = self.inner.lock();
        let mut out: Vec<Membership> = (g.orgs.members.keys())
            .filter(|(o, _)| *o == org)
            .filter_map(|(o, a)| g.membership_of(*o, *a))
            .collect();
        out.sort_by_key(|m| (m.joined_at, m.account_id));
        Ok(out)
    }

    async fn set_member_role(
        &self,
        org: Uuid,
        account: AccountId,
        role: &str,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<Option<Membership>> {
        let mut g = self.inner.lock();
        let Some(current) = g.orgs.members.get(&(org, account)).map(|m| m.role.clone()) else {
            return Ok(None);
        };
        if !g.role_exists(org, role) {
            return Err(unknown_role());
        }
        if current == "owner" && role != "owner" && g.owners(org) <= 1 {
            return Err(Error::LastOwner);
        }
        if let Some(m) = g.orgs.members.get_mut(&(org, account)) {
            role.clone_into(&mut m.role);
        }
        g.stale_claims(org, |a| a == account, false, now);
        g.audit.push(audit.clone());
        Ok(g.membership_of(org, account))
    }

    async fn remove_member(
        &self,
        org: Uuid,
        account: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(current) = g.orgs.members.get(&(org, account)).map(|m| m.role.clone()) else {
            return Ok(false);
        };
        if current == "owner" && g.owners(org) <= 1 {
            return Err(Error::LastOwner);
        }
        g.orgs.members.remove(&(org, account));
        g.stale_claims(org, |a| a == account, true, now);
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn custom_roles(&self, org: Uuid) -> Result<Vec<OrgRole>> {
        let g = self.inner.lock();
        Ok((g.orgs.roles.iter())
            .filter(|((o, _), _)| *o == org)
            .map(|((_, name), perms)| OrgRole {
                name: name.clone(),
                permissions: perms.clone(),
                builtin: false,
            })
            .collect())
    }

    async fn insert_role(&self, org: Uuid, role: &OrgRole, audit: &AuditEvent) -> Result<()> {
        let mut g = self.inner.lock();
        if !g.orgs.orgs.contains_key(&org) {
            return Err(Error::NotFound);
        }
        if g.role_exists(org, &role.name) {
            return Err(Error::RoleTaken);
        }
        (g.orgs.roles).insert((org, role.name.clone()), role.permissions.clone());
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn update_role(
        &self,
        org: Uuid,
        role: &OrgRole,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(perms) = g.orgs.roles.get_mut(&(org, role.name.clone())) else {
            return Ok(false);
        };
        perms.clone_from(&role.permissions);
        let holders: Vec<AccountId> = (g.orgs.members.iter())
            .filter(|((o, _), m)| *o == org && m.role == role.name)
            .map(|((_, a), _)| *a)
            .collect();
        g.stale_claims(org, |a| holders.contains(&a), false, now);
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn delete_role(&self, org: Uuid, name: &str, audit: &AuditEvent) -> Result<bool> {
        let mut g = self.inner.lock();
        let key = (org, name.to_owned());
        if !g.orgs.roles.contains_key(&key) {
            return Ok(false);
        }
        let held = (g.orgs.members.iter()).any(|((o, _), m)| *o == org && m.role == name);
        let invited = g.orgs.invitations.iter().any(|r| {
            let i = &r.invitation;
            i.organization == org && i.role == name && i.state == InvitationState::Pending
        });
        if held || invited {
            return Err(Error::RoleInUse);
        }
        g.orgs.roles.remove(&key);
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn insert_invitation(
        &self,
        invitation: &Invitation,
        token_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> Result<()> {
        let mut g = self.inner.lock();
        let org = invitation.organization;
        if !g.orgs.orgs.contains_key(&org) {
            return Err(Error::NotFound);
        }
        if !g.role_exists(org, &invitation.role) {
            return Err(unknown_role());
        }
        let email = normalize_email(&invitation.email);
        for r in &mut g.orgs.invitations {
            let i = &mut r.invitation;
            if i.organization == org
                && i.state == InvitationState::Pending
                && normalize_email(&i.email) == email
            {
                i.state = InvitationState::Revoked;
            }
        }
        g.orgs.invitations.push(InvitationRow {
            invitation: invitation.clone(),
            hash: *token_hash,
        });
        g.audit.push(audit.clone());
        Ok(())
    }

    async fn invitation_by_token(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<Invitation>> {
        let mut g = self.inner.lock();
        Ok(g.pending_by_hash(token_hash, now).map(|i| i.clone()))
    }

    async fn pending_invitations(&self, org: Uuid, now: OffsetDateTime) -> Result<Vec<Invitation>> {
        let g = self.inner.lock();
        let mut out: Vec<Invitation> = (g.orgs.invitations.iter())
            .map(|r| &r.invitation)
            .filter(|i| {
                i.organization == org && i.state == InvitationState::Pending && i.expires_at > now
            })
            .cloned()
            .collect();
        out.sort_by_key(|i| std::cmp::Reverse((i.created_at, i.id)));
        Ok(out)
    }

    async fn revoke_invitation(
        &self,
        org: Uuid,
        id: Uuid,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(i) = (g.orgs.invitations.iter_mut())
            .map(|r| &mut r.invitation)
            .find(|i| {
                i.id == id
                    && i.organization == org
                    && i.state == InvitationState::Pending
                    && i.expires_at > now
            })
        else {
            return Ok(false);
        };
        i.state = InvitationState::Revoked;
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn accept_invitation(
        &self,
        token_hash: &[u8; 32],
        account: AccountId,
        email_key: &str,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<Membership> {
        let mut g = self.inner.lock();
        if !g.accounts.contains_key(&account) {
            return Err(Error::NotFound);
        }
        let Some(i) = g.pending_by_hash(token_hash, now) else {
            return Err(Error::InvalidMailToken);
        };
        if normalize_email(&i.email) != email_key {
            return Err(Error::Forbidden(
                "this invitation was sent to another email address".into(),
            ));
        }
        i.state = InvitationState::Accepted;
        let (org, role) = (i.organization, i.role.clone());
        g.orgs.members.entry((org, account)).or_insert(MemberRow {
            role,
            joined_at: now,
        });
        g.audit.push(audit.clone());
        g.membership_of(org, account).ok_or(Error::NotFound)
    }

    async fn decline_invitation(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(i) = g.pending_by_hash(token_hash, now) else {
            return Ok(false);
        };
        i.state = InvitationState::Declined;
        g.audit.push(audit.clone());
        Ok(true)
    }

    async fn set_active_organization(
        &self,
        session: SessionId,
        account: AccountId,
        org: Option<Uuid>,
    ) -> Result<i64> {
        let mut g = self.inner.lock();
        if let Some(org) = org
            && !g.orgs.members.contains_key(&(org, account))
        {
            return Err(Error::NotFound);
        }
        let (owner, row) = g.orgs.active.entry(session).or_insert((
            account,
            ActiveOrganization {
                organization: None,
                epoch: 0,
            },
        ));
        *owner = account;
        row.organization = org;
        row.epoch += 1;
        Ok(row.epoch)
    }

    async fn active_organization(&self, session: SessionId) -> Result<Option<ActiveOrganization>> {
        Ok(self.inner.lock().active_organization(session))
    }
}
