//! Organizations (see [`crate::Auth::organizations`]): teams of accounts
//! with a role each, custom roles, email invitations, and the organization
//! a session acts for, whose id, role and permissions its access tokens
//! then carry ([`claims`]).
//!
//! Who may do what (API.md "Organizations"): any member reads the
//! organization, its members and roles; owners and admins update it,
//! change roles, remove members and manage invitations; only an owner makes
//! owners, changes or removes an owner, manages roles and deletes the
//! organization. A member may always leave. An organization the caller is
//! not a member of is `NotFound`, like one that does not exist.

pub mod claims;
mod invitations;
mod roles;
pub mod rules;

use crate::accounts::Accounts;
use crate::error::{Error, Result};
use crate::hooks::OrgEvent;
use crate::model::{Account, AccountId, ClientInfo};
use crate::sessions::{Sessions, TokenPair};
use crate::shared::Shared;
use crate::store::{CounterStore, Membership, Organization, OrganizationStore};
use crate::token::Claims;
use crate::upkeep::Upkeep;
use rules::{check_name, check_properties, check_slug, invalid};
use std::sync::Arc;
use uuid::Uuid;

pub use claims::{TokenOrg, token_org};
pub use invitations::SentInvitation;

/// Organizations, members, roles and invitations.
#[derive(Clone)]
pub struct Organizations {
    pub(crate) store: Arc<dyn OrganizationStore>,
    pub(crate) counters: Arc<dyn CounterStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) accounts: Accounts,
    pub(crate) sessions: Sessions,
    pub(crate) upkeep: Upkeep,
    pub(crate) mail: crate::mail_tokens::MailTokens,
}

/// A new organization (`POST /organizations`).
#[derive(Debug, Clone, Default)]
pub struct NewOrganization {
    /// Unique slug ([`rules::check_slug`]).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// A JSON object (`{}` when absent).
    pub properties: Option<serde_json::Value>,
}

/// A change of an organization (`PATCH /organizations/{id}`).
#[derive(Debug, Clone, Default)]
pub struct OrganizationPatch {
    /// New name.
    pub name: Option<String>,
    /// New properties (replacing the old).
    pub properties: Option<serde_json::Value>,
}

/// Whether a role may manage the organization (owner or admin).
fn manages(role: &str) -> bool {
    role == "owner" || role == "admin"
}

impl Organizations {
    fn now(&self) -> time::OffsetDateTime {
        self.shared.now()
    }

    fn event(
        &self,
        name: &str,
        actor: Option<AccountId>,
        org: Uuid,
        client: &ClientInfo,
        mut detail: serde_json::Value,
    ) -> crate::model::AuditEvent {
        if let Some(d) = detail.as_object_mut() {
            d.insert("organization".into(), serde_json::json!(org));
            if let Some(a) = actor {
                d.entry("actor_id").or_insert(serde_json::json!(a));
            }
        }
        self.shared.audit(name, actor, client, detail)
    }

    /// The organization `id` with the caller's membership; `NotFound` when
    /// it does not exist or the caller is not a member.
    pub async fn member_of(
        &self,
        caller: AccountId,
        id: Uuid,
    ) -> Result<(Organization, Membership)> {
        let m = self
            .store
            .membership(id, caller)
            .await?
            .ok_or(Error::NotFound)?;
        let org = self.store.organization(id).await?.ok_or(Error::NotFound)?;
        Ok((org, m))
    }

    /// [`Organizations::member_of`] that also needs one of the roles `allowed`
    /// (else `Forbidden`).
    async fn with_role(
        &self,
        caller: AccountId,
        id: Uuid,
        allowed: fn(&str) -> bool,
    ) -> Result<(Organization, Membership)> {
        let (org, m) = self.member_of(caller, id).await?;
        if !allowed(&m.role) {
            return Err(Error::Forbidden(format!(
                "the role {} may not do this in the organization",
                m.role
            )));
        }
        Ok((org, m))
    }

    /// An organization by id or slug (`organization` of login and refresh).
    pub async fn resolve(&self, reference: &str) -> Result<Organization> {
        let found = match Uuid::parse_str(reference) {
            Ok(id) => self.store.organization(id).await?,
            Err(_) => self.store.organization_by_slug(reference).await?,
        };
        found.ok_or(Error::NotFound)
    }

    /// Create an organization; `creator` becomes its owner.
    pub async fn create(
        &self,
        creator: &Account,
        new: NewOrganization,
        client: &ClientInfo,
    ) -> Result<Organization> {
        let mut errors = Vec::new();
        let slug = check_slug(&new.slug).map_err(|e| errors.push(e)).ok();
        let name = check_name(&new.name).map_err(|e| errors.push(e)).ok();
        let properties = new.properties.unwrap_or_else(|| serde_json::json!({}));
        if let Err(e) = check_properties(&properties) {
            errors.push(e);
        }
        let (Some(slug), Some(name), true) = (slug, name, errors.is_empty()) else {
            return Err(Error::Validation(errors));
        };
        let org = Organization {
            id: Uuid::now_v7(),
            slug,
            name,
            properties,
            created_at: self.now(),
        };
        let ev = self.event(
            "organization.created",
            Some(creator.id),
            org.id,
            client,
            serde_json::json!({"slug": org.slug}),
        );
        self.store
            .insert_organization(&org, creator.id, &ev)
            .await?;
        let member = self.store.membership(org.id, creator.id).await?;
        if let Some(m) = member {
            self.hook(OrgEvent::MemberAdded(m)).await;
        }
        Ok(org)
    }

    /// The caller's organizations with the caller's role in each.
    pub async fn mine(&self, caller: AccountId) -> Result<Vec<(Organization, String)>> {
        self.store.organizations_of(caller).await
    }

    /// One organization of the caller.
    pub async fn get(&self, caller: AccountId, id: Uuid) -> Result<Organization> {
        Ok(self.member_of(caller, id).await?.0)
    }

    /// Change name or properties (owner, admin).
    pub async fn update(
        &self,
        caller: AccountId,
        id: Uuid,
        patch: OrganizationPatch,
        client: &ClientInfo,
    ) -> Result<Organization> {
        let (mut org, _) = self.with_role(caller, id, manages).await?;
        if let Some(name) = &patch.name {
            org.name = check_name(name).map_err(invalid)?;
        }
        if let Some(p) = patch.properties {
            check_properties(&p).map_err(invalid)?;
            org.properties = p;
        }
        let ev = self.event(
            "organization.updated",
            Some(caller),
            id,
            client,
            serde_json::json!({}),
        );
        if !self.store.update_organization(&org, &ev).await? {
            return Err(Error::NotFound);
        }
        Ok(org)
    }

    /// Delete an organization (owner): its invitations stop working and the
    /// sessions acting for it lose their organization claims.
    pub async fn delete(&self, caller: AccountId, id: Uuid, client: &ClientInfo) -> Result<()> {
        self.with_role(caller, id, |r| r == "owner").await?;
        self.delete_any(Some(caller), id, client).await
    }

    /// Delete an organization (admin, CLI: no membership needed).
    pub async fn delete_any(
        &self,
        actor: Option<AccountId>,
        id: Uuid,
        client: &ClientInfo,
    ) -> Result<()> {
        let ev = self.event(
            "organization.deleted",
            actor,
            id,
            client,
            serde_json::json!({}),
        );
        if !self.store.delete_organization(id, self.now(), &ev).await? {
            return Err(Error::NotFound);
        }
        self.upkeep.sync().await?;
        Ok(())
    }

    /// Every organization, by id (admin): a page after `after`.
    pub async fn list_all(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<Organization>> {
        self.store
            .list_organizations(after, limit.clamp(1, 500))
            .await
    }

    /// One organization (admin).
    pub async fn get_any(&self, id: Uuid) -> Result<Organization> {
        self.store.organization(id).await?.ok_or(Error::NotFound)
    }

    /// Members of any organization (admin).
    pub async fn members_any(&self, id: Uuid) -> Result<Vec<Membership>> {
        self.get_any(id).await?;
        self.store.members(id).await
    }

    /// Members of one of the caller's organizations.
    pub async fn members(&self, caller: AccountId, id: Uuid) -> Result<Vec<Membership>> {
        self.member_of(caller, id).await?;
        self.store.members(id).await
    }

    /// Give a member another role (owner, admin; only an owner makes owners
    /// or changes an owner's role). The member's next request with a token
    /// of the old role is refused; a refresh carries the new one.
    pub async fn set_role(
        &self,
        caller: AccountId,
        id: Uuid,
        member: AccountId,
        role: &str,
        client: &ClientInfo,
    ) -> Result<Membership> {
        let (_, me) = self.with_role(caller, id, manages).await?;
        let target = self
            .store
            .membership(id, member)
            .await?
            .ok_or(Error::NotFound)?;
        if (role == "owner" || target.role == "owner") && me.role != "owner" {
            return Err(Error::Forbidden(
                "only an owner makes or changes owners".into(),
            ));
        }
        let ev = self.event(
            "organization.member_role_changed",
            Some(caller),
            id,
            client,
            serde_json::json!({"account_id": member, "from": target.role, "to": role}),
        );
        let m = (self.store)
            .set_member_role(id, member, role, self.now(), &ev)
            .await?
            .ok_or(Error::NotFound)?;
        self.upkeep.sync().await?;
        self.hook(OrgEvent::RoleChanged {
            membership: m.clone(),
            from: target.role,
        })
        .await;
        Ok(m)
    }

    /// Remove a member (owner, admin; an owner only by an owner), or leave
    /// (the member itself). `LastOwner` for the last owner.
    pub async fn remove(
        &self,
        caller: AccountId,
        id: Uuid,
        member: AccountId,
        client: &ClientInfo,
    ) -> Result<()> {
        let (_, me) = self.member_of(caller, id).await?;
        let target = self
            .store
            .membership(id, member)
            .await?
            .ok_or(Error::NotFound)?;
        if caller != member {
            if !manages(&me.role) {
                return Err(Error::Forbidden(
                    "only owners and admins remove members".into(),
                ));
            }
            if target.role == "owner" && me.role != "owner" {
                return Err(Error::Forbidden("only an owner removes an owner".into()));
            }
        }
        let name = if caller == member {
            "organization.member_left"
        } else {
            "organization.member_removed"
        };
        let ev = self.event(
            name,
            Some(caller),
            id,
            client,
            serde_json::json!({"account_id": member, "role": target.role}),
        );
        if !self
            .store
            .remove_member(id, member, self.now(), &ev)
            .await?
        {
            return Err(Error::NotFound);
        }
        self.upkeep.sync().await?;
        self.hook(OrgEvent::MemberRemoved(target)).await;
        Ok(())
    }

    /// Make the caller's session act for `org` (id or slug; `NotFound` when
    /// the caller is not a member): a new token pair whose access token
    /// carries the organization claims (the refresh token is replaced).
    pub async fn activate(
        &self,
        claims: &Claims,
        reference: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        let account = self.accounts.account(claims.sub).await?;
        crate::accounts::check_usable(&account)?;
        self.set_active(claims.sid, account.id, reference, client)
            .await?;
        let (session, refresh) = self
            .sessions
            .reissue(claims.sid, crate::sessions::REFRESH_PREFIX)
            .await?;
        self.sessions
            .pair(&account, &session, refresh, claims.fresh)
            .await
    }

    /// Record that session `sid` of `account` acts for the organization
    /// `reference` (id or slug).
    pub(crate) async fn set_active(
        &self,
        sid: crate::model::SessionId,
        account: AccountId,
        reference: &str,
        client: &ClientInfo,
    ) -> Result<Uuid> {
        let org = self.resolve(reference).await?;
        self.store
            .set_active_organization(sid, account, Some(org.id))
            .await?;
        let ev = self.event(
            "organization.activated",
            Some(account),
            org.id,
            client,
            serde_json::json!({"session_id": sid}),
        );
        crate::store::AuditStore::append_audit(&*self.accounts.audit, &ev).await?;
        Ok(org.id)
    }

    /// Sign in with a password and act for `organization` at once (login
    /// with `organization`): the pair of [`Sessions::login`], then
    /// [`Organizations::activate`]. When the caller is not a member, the
    /// new session is revoked and the answer is `NotFound`.
    pub async fn after_login(
        &self,
        pair: TokenPair,
        reference: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        let claims = self.sessions.authenticate(&pair.access_token).await?;
        match self.activate(&claims, reference, client).await {
            Ok(p) => Ok(p),
            Err(e) => {
                let ev = self.shared.audit(
                    "logout",
                    Some(claims.sub),
                    client,
                    serde_json::json!({"session_id": claims.sid, "reason": "organization"}),
                );
                self.sessions.revoke_one(claims.sid, &ev).await?;
                Err(e)
            }
        }
    }

    /// Rotate a refresh token and, with `organization`, act for it from now
    /// on (without, the session keeps its organization).
    pub async fn refresh(
        &self,
        refresh_token: &str,
        organization: Option<&str>,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        let Some(reference) = organization else {
            return self.sessions.refresh(refresh_token, client).await;
        };
        let (session, refresh) = (self.sessions)
            .rotate(refresh_token, crate::sessions::REFRESH_PREFIX, client)
            .await?;
        if session.is_app() {
            return Err(Error::InvalidRefreshToken);
        }
        let account = match self.accounts.account(session.account_id).await {
            Ok(a) => a,
            Err(Error::NotFound) => return Err(Error::InvalidRefreshToken),
            Err(e) => return Err(e),
        };
        crate::accounts::check_usable(&account)?;
        self.set_active(session.id, account.id, reference, client)
            .await?;
        self.sessions.pair(&account, &session, refresh, false).await
    }

    /// Run the application's organization hook (its failure is logged: the
    /// change stands).
    async fn hook(&self, event: OrgEvent) {
        let hooks = self.shared.hooks();
        if let Err(e) = hooks.run_org_event(event).await {
            tracing::warn!(error = %e, "organization hook failed");
        }
    }
}
