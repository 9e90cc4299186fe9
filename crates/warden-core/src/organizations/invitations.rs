//! Invitations: a mail with a single-use link (a 256-bit token, stored as
//! its SHA-256, expiring in 7 days), accepted by the signed-in account
//! whose verified email is the invited address, or declined.

use super::Organizations;
use crate::error::{Error, Result};
use crate::hooks::OrgEvent;
use crate::mail::{MailContext, MailKind};
use crate::model::{Account, AccountId, ClientInfo, normalize_email};
use crate::password::check_email;
use crate::random;
use crate::store::{AttemptGate, Invitation, InvitationState, Membership, is_builtin_role};
use time::Duration;
use uuid::Uuid;

/// How long an invitation works.
pub const INVITATION_TTL: Duration = Duration::days(7);
/// Prefix of an invitation token.
const TOKEN_PREFIX: &str = "wiv_";

/// An invitation just sent (`POST /organizations/{id}/invitations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentInvitation {
    /// The stored invitation.
    pub invitation: Invitation,
}

fn token_hash(token: &str) -> Result<[u8; 32]> {
    let rest = token
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(Error::InvalidMailToken)?;
    if rest.len() != 43 {
        return Err(Error::InvalidMailToken);
    }
    Ok(random::sha256(token.as_bytes()))
}

impl Organizations {
    /// Invite `email` with `role` (owner, admin; only an owner invites
    /// owners) and mail the link. At most
    /// [`crate::Settings::invitation_sends`] per organization before a wait
    /// of `invitation_window` (`TooManyAttempts`).
    pub async fn invite(
        &self,
        caller: &Account,
        id: Uuid,
        email: &str,
        role: &str,
        client: &ClientInfo,
    ) -> Result<SentInvitation> {
        let (org, me) = self.with_role(caller.id, id, super::manages).await?;
        let email = check_email(email).map_err(super::rules::invalid)?;
        if role == "owner" && me.role != "owner" {
            return Err(Error::Forbidden("only an owner invites owners".into()));
        }
        if !is_builtin_role(role)
            && !self
                .store
                .custom_roles(id)
                .await?
                .iter()
                .any(|r| r.name == role)
        {
            return Err(Error::field("role", "not a role of this organization"));
        }
        let mail = &self.mail;
        mail.mailer()?;
        self.count_send(id).await?;
        let token = format!("{TOKEN_PREFIX}{}", random::token(32));
        let now = self.now();
        let invitation = Invitation {
            id: Uuid::now_v7(),
            organization: id,
            email: email.clone(),
            role: role.to_owned(),
            inviter: caller.id,
            state: InvitationState::Pending,
            created_at: now,
            expires_at: now + INVITATION_TTL,
        };
        let ev = self.event(
            "organization.invitation_sent",
            Some(caller.id),
            id,
            client,
            serde_json::json!({"invitation_id": invitation.id, "email": email, "role": role}),
        );
        let hash = random::sha256(token.as_bytes());
        self.store
            .insert_invitation(&invitation, &hash, &ev)
            .await?;
        let base = self.shared.settings.link_base.trim_end_matches('/');
        let ctx = MailContext {
            kind: MailKind::Invitation,
            to: email,
            login: caller.login.clone(),
            link: format!("{base}/invitations/accept?token={token}"),
            token,
            expires_minutes: INVITATION_TTL.whole_minutes(),
            organization: Some(org.name),
        };
        mail.deliver(&ctx).await;
        self.hook(OrgEvent::InvitationSent(invitation.clone()))
            .await;
        Ok(SentInvitation { invitation })
    }

    /// Count one invitation send of `org` against its budget.
    async fn count_send(&self, org: Uuid) -> Result<()> {
        let s = &self.shared.settings;
        let key = format!("org_invitations:{org}");
        let max = s.invitation_sends.max(1);
        let now = self.now();
        if let AttemptGate::Locked(secs) = self.counters.attempt_begin(&key, now, max).await? {
            return Err(Error::TooManyAttempts { retry_after: secs });
        }
        let window = u64::try_from(s.invitation_window.whole_seconds().max(1)).unwrap_or(3600);
        self.counters.attempt_failed(&key, now, max, window).await?;
        Ok(())
    }

    /// Pending invitations of an organization (owner, admin).
    pub async fn invitations(&self, caller: AccountId, id: Uuid) -> Result<Vec<Invitation>> {
        self.with_role(caller, id, super::manages).await?;
        self.store.pending_invitations(id, self.now()).await
    }

    /// Revoke a pending invitation (owner, admin).
    pub async fn revoke_invitation(
        &self,
        caller: AccountId,
        id: Uuid,
        invitation: Uuid,
        client: &ClientInfo,
    ) -> Result<()> {
        self.with_role(caller, id, super::manages).await?;
        let ev = self.event(
            "organization.invitation_revoked",
            Some(caller),
            id,
            client,
            serde_json::json!({"invitation_id": invitation}),
        );
        if !(self.store)
            .revoke_invitation(id, invitation, self.now(), &ev)
            .await?
        {
            return Err(Error::NotFound);
        }
        self.hook(OrgEvent::InvitationRevoked {
            organization: id,
            id: invitation,
        })
        .await;
        Ok(())
    }

    /// The pending invitation of a token with its organization's name (the
    /// acceptance page). `InvalidMailToken` when it is not pending.
    pub async fn invitation(&self, token: &str) -> Result<(Invitation, String)> {
        let hash = token_hash(token)?;
        let inv = (self.store.invitation_by_token(&hash, self.now()).await?)
            .ok_or(Error::InvalidMailToken)?;
        let org = self.get_any(inv.organization).await?;
        Ok((inv, org.name))
    }

    /// Accept an invitation as `account`, whose verified email must be the
    /// invited address (`Forbidden` otherwise).
    pub async fn accept(
        &self,
        account: AccountId,
        token: &str,
        client: &ClientInfo,
    ) -> Result<Membership> {
        let hash = token_hash(token)?;
        let account = self.accounts.account(account).await?;
        let inv = (self.store.invitation_by_token(&hash, self.now()).await?)
            .ok_or(Error::InvalidMailToken)?;
        let email = match (&account.email, account.email_verified) {
            (Some(e), true) => normalize_email(e),
            _ => {
                return Err(Error::Forbidden(
                    "verify your email address to accept the invitation".into(),
                ));
            }
        };
        let ev = self.event(
            "organization.invitation_accepted",
            Some(account.id),
            inv.organization,
            client,
            serde_json::json!({"invitation_id": inv.id, "role": inv.role}),
        );
        let m = (self.store)
            .accept_invitation(&hash, account.id, &email, self.now(), &ev)
            .await?;
        self.hook(OrgEvent::InvitationAccepted(inv, m.clone()))
            .await;
        self.hook(OrgEvent::MemberAdded(m.clone())).await;
        Ok(m)
    }

    /// Decline an invitation (whoever holds the link).
    pub async fn decline(&self, token: &str, client: &ClientInfo) -> Result<()> {
        let hash = token_hash(token)?;
        let inv = (self.store.invitation_by_token(&hash, self.now()).await?)
            .ok_or(Error::InvalidMailToken)?;
        let ev = self.event(
            "organization.invitation_declined",
            None,
            inv.organization,
            client,
            serde_json::json!({"invitation_id": inv.id}),
        );
        if !self
            .store
            .decline_invitation(&hash, self.now(), &ev)
            .await?
        {
            return Err(Error::InvalidMailToken);
        }
        self.hook(OrgEvent::InvitationDeclined(inv)).await;
        Ok(())
    }
}
