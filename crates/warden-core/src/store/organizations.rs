//! Organizations: teams of accounts with a role each, custom roles, email
//! invitations, and the organization a session acts for.
//!
//! Rules every backend keeps inside its transactions:
//! - slugs are unique ([`Error::SlugTaken`](crate::Error::SlugTaken));
//! - an organization always keeps at least one `owner`: removing or demoting
//!   the last one is [`Error::LastOwner`](crate::Error::LastOwner), counted
//!   under a lock of the organization's row, so two concurrent changes
//!   cannot both take the last two owners;
//! - an invitation is used once (accepted, declined or revoked, never twice);
//! - a role still held by a member or a pending invitation cannot be deleted
//!   ([`Error::RoleInUse`](crate::Error::RoleInUse));
//! - a change that makes the organization claims of sessions stale (a role
//!   change, a removal, new permissions of a role, a deleted organization)
//!   raises the sessions' [`ActiveOrganization::epoch`] and appends one
//!   [`Change::OrgClaimsRevoked`](super::Change::OrgClaimsRevoked) per
//!   session to the change feed: every node then refuses the sessions'
//!   access tokens with organization claims of an older epoch.

use crate::error::Result;
use crate::model::{AccountId, AuditEvent, SessionId};
use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// The built-in roles, most powerful first.
pub const BUILTIN_ROLES: [&str; 3] = ["owner", "admin", "member"];

/// Whether `name` is a built-in role.
pub fn is_builtin_role(name: &str) -> bool {
    BUILTIN_ROLES.contains(&name)
}

/// An organization (API.md `Organization`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Organization {
    /// Id (UUID v7).
    pub id: Uuid,
    /// Unique slug: lower-case letters, digits and `-`, 3–63 characters.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Free-form JSON object of the application.
    pub properties: serde_json::Value,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A member of an organization (API.md `Membership`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    /// The organization.
    pub organization: Uuid,
    /// The member.
    pub account_id: AccountId,
    /// The member's login (read with the membership).
    pub login: String,
    /// The member's role: a built-in role or a custom role of the organization.
    pub role: String,
    /// When the account joined.
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

/// A role of an organization (API.md `Role`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgRole {
    /// Name, unique in the organization.
    pub name: String,
    /// Permission strings (`invoices:read`), sorted, without duplicates.
    pub permissions: Vec<String>,
    /// Whether it is one of `owner`, `admin`, `member`.
    pub builtin: bool,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InvitationState {
    /// Sent, not used yet (it may have expired).
    Pending,
    /// Accepted: the invitee is a member.
    Accepted,
    /// Declined by the invitee.
    Declined,
    /// Revoked by the organization (or the organization was deleted).
    Revoked,
}

impl InvitationState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationState::Pending => "pending",
            InvitationState::Accepted => "accepted",
            InvitationState::Declined => "declined",
            InvitationState::Revoked => "revoked",
        }
    }
    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => InvitationState::Pending,
            "accepted" => InvitationState::Accepted,
            "declined" => InvitationState::Declined,
            "revoked" => InvitationState::Revoked,
            _ => return None,
        })
    }
}

/// An invitation to join an organization. The token itself is never
/// stored: the store keeps its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invitation {
    /// Id (UUID v7).
    pub id: Uuid,
    /// The organization.
    pub organization: Uuid,
    /// The invited address, as given.
    pub email: String,
    /// The role the invitee gets.
    pub role: String,
    /// Who sent it.
    pub inviter: AccountId,
    /// Where it stands.
    pub state: InvitationState,
    /// When it was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The organization a session acts for, and the epoch of its organization
/// claims (raised by every change that makes them stale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveOrganization {
    /// The organization (None: the session acts for none any more).
    pub organization: Option<Uuid>,
    /// Access tokens of the session with organization claims of an older
    /// epoch are refused.
    pub epoch: i64,
}

/// Organizations, members, roles, invitations. Every method is atomic.
#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// Insert an organization with `owner` as its first owner and record
    /// `audit`. `SlugTaken` when the slug is another's; `NotFound` when the
    /// owner account does not exist.
    async fn insert_organization(
        &self,
        org: &Organization,
        owner: AccountId,
        audit: &AuditEvent,
    ) -> Result<()>;
    /// By id.
    async fn organization(&self, id: Uuid) -> Result<Option<Organization>>;
    /// By slug.
    async fn organization_by_slug(&self, slug: &str) -> Result<Option<Organization>>;
    /// Replace name and properties (matched by id) and record `audit`.
    /// False when it is gone.
    async fn update_organization(&self, org: &Organization, audit: &AuditEvent) -> Result<bool>;
    /// Delete an organization with its members, roles and invitations; the
    /// sessions acting for it lose their organization (feed). False when absent.
    async fn delete_organization(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Organizations ordered by id, after `after`, at most `limit`.
    async fn list_organizations(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Organization>>;
    /// The organizations of an account with its role in each, by slug.
    async fn organizations_of(&self, account: AccountId) -> Result<Vec<(Organization, String)>>;
    /// One membership.
    async fn membership(&self, org: Uuid, account: AccountId) -> Result<Option<Membership>>;
    /// Members of an organization, by join time.
    async fn members(&self, org: Uuid) -> Result<Vec<Membership>>;
    /// Give a member another role (built-in, or a custom role of the
    /// organization, else a validation error on `role`) and record `audit`;
    /// the member's sessions acting for the organization get a new epoch
    /// (feed). `None` when not a member; `LastOwner` when it would demote
    /// the last owner.
    async fn set_member_role(
        &self,
        org: Uuid,
        account: AccountId,
        role: &str,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<Option<Membership>>;
    /// Remove a member and record `audit`; its sessions acting for the
    /// organization act for none any more (feed). False when not a member;
    /// `LastOwner` when it is the last owner.
    async fn remove_member(
        &self,
        org: Uuid,
        account: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// The custom roles of an organization, by name.
    async fn custom_roles(&self, org: Uuid) -> Result<Vec<OrgRole>>;
    /// Add a custom role and record `audit`. `RoleTaken` when the name is
    /// one of the organization's roles (or built in); `NotFound` when the
    /// organization is gone.
    async fn insert_role(&self, org: Uuid, role: &OrgRole, audit: &AuditEvent) -> Result<()>;
    /// Replace the permissions of a custom role and record `audit`; the
    /// sessions of its members acting for the organization get a new epoch
    /// (feed). False when there is no such custom role.
    async fn update_role(
        &self,
        org: Uuid,
        role: &OrgRole,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Delete a custom role and record `audit`. False when there is no such
    /// custom role; `RoleInUse` when a member or a pending invitation has it.
    async fn delete_role(&self, org: Uuid, name: &str, audit: &AuditEvent) -> Result<bool>;
    /// Store an invitation with the hash of its token and record `audit`;
    /// earlier pending invitations of the organization to the same address
    /// (case-insensitive) are revoked. `NotFound` when the organization is
    /// gone; a validation error on `role` for an unknown role.
    async fn insert_invitation(
        &self,
        invitation: &Invitation,
        token_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> Result<()>;
    /// The pending, unexpired invitation with this token hash.
    async fn invitation_by_token(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<Invitation>>;
    /// Pending, unexpired invitations of an organization, newest first.
    async fn pending_invitations(&self, org: Uuid, now: OffsetDateTime) -> Result<Vec<Invitation>>;
    /// Revoke a pending invitation of `org` and record `audit`. False when
    /// there is no such pending invitation of that organization.
    async fn revoke_invitation(
        &self,
        org: Uuid,
        id: Uuid,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Accept the pending, unexpired invitation with this token hash for
    /// `account`, whose verified email key (lower-case) is `email_key`: the
    /// account becomes a member with the invitation's role (an existing
    /// membership stays as it is), the invitation is accepted, `audit` is
    /// recorded. `InvalidMailToken` when there is no such invitation;
    /// `Forbidden` (and the invitation stays pending) when it was sent to
    /// another address.
    async fn accept_invitation(
        &self,
        token_hash: &[u8; 32],
        account: AccountId,
        email_key: &str,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<Membership>;
    /// Decline the pending, unexpired invitation with this token hash and
    /// record `audit`. False when there is no such invitation.
    async fn decline_invitation(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Make `session` (of `account`) act for `org` (None: for none), with
    /// a new epoch, which is returned. `NotFound` when `account` is not a
    /// member of `org`.
    async fn set_active_organization(
        &self,
        session: SessionId,
        account: AccountId,
        org: Option<Uuid>,
    ) -> Result<i64>;
    /// The organization a session acts for, if it ever did.
    async fn active_organization(&self, session: SessionId) -> Result<Option<ActiveOrganization>>;
}
