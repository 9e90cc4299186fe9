//! Issuing mailed single-use tokens: a token of a kind is stored (as its
//! SHA-256) with its audit event, and its link mailed through the installed
//! [`crate::mail::Mailer`]. Used by registration (the verification mail),
//! passkey sign-up and the [`crate::EmailFlows`].

use crate::error::{Error, Result};
use crate::mail::{MailContext, MailKind, MailSetup};
use crate::model::{Account, AccountId, ClientInfo, normalize_email};
use crate::random;
use crate::shared::Shared;
use crate::store::{OneTimeTokenStore, TokenKind};
use std::sync::Arc;
use time::Duration;

/// Tokens that die when the password changes.
const PASSWORD_BOUND: [TokenKind; 2] = [TokenKind::ResetPassword, TokenKind::ChangeEmail];

/// Mailed single-use tokens.
#[derive(Clone)]
pub(crate) struct MailTokens {
    pub(crate) one_time: Arc<dyn OneTimeTokenStore>,
    pub(crate) shared: Arc<Shared>,
}

impl MailTokens {
    /// The installed mailer; `Unavailable` without one.
    pub(crate) fn mailer(&self) -> Result<MailSetup> {
        self.shared
            .mail_setup()
            .ok_or_else(|| Error::Unavailable("no mailer is configured".into()))
    }

    /// Issue a token of `kind`, record `event` in the same transaction, and
    /// mail the link to `to`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn issue_and_mail(
        &self,
        account: &Account,
        kind: TokenKind,
        mail: MailKind,
        to: &str,
        path: &str,
        payload: Option<&str>,
        event: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        let s = &self.shared.settings;
        let ttl = match kind {
            TokenKind::VerifyEmail => s.verify_email_ttl,
            TokenKind::ResetPassword => s.reset_password_ttl,
            TokenKind::ChangeEmail => s.change_email_ttl,
        };
        let token = random::token(32);
        let hash = random::sha256(token.as_bytes());
        let now = self.shared.now();
        let ev = self
            .shared
            .audit(event, Some(account.id), client, serde_json::json!({}));
        self.one_time
            .issue(kind, &hash, account.id, now, now + ttl, payload, &ev)
            .await?;
        let ctx = MailContext {
            kind: mail,
            to: to.to_owned(),
            login: account.login.clone(),
            link: format!("{}{path}?token={token}", s.link_base.trim_end_matches('/')),
            token,
            expires_minutes: ttl.whole_minutes(),
            organization: None,
        };
        self.deliver(&ctx).await;
        Ok(())
    }

    pub(crate) async fn deliver(&self, ctx: &MailContext) {
        let Some(setup) = self.shared.mail_setup() else {
            tracing::error!(
                kind = ctx.kind.name(),
                "no mailer is configured; mail not sent"
            );
            return;
        };
        let mail = match setup.renderer.render(ctx) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(kind = ctx.kind.name(), error = %e, "mail template failed");
                return;
            }
        };
        if let Err(e) = setup.mailer.send(mail).await {
            tracing::warn!(kind = ctx.kind.name(), error = %e, "mail not accepted");
        }
    }

    /// Mail a verification link to the account's address.
    pub(crate) async fn issue_verification(
        &self,
        account: &Account,
        client: &ClientInfo,
    ) -> Result<()> {
        let Some(email) = account.email.clone() else {
            return Err(Error::BadRequest("the account has no email address".into()));
        };
        self.issue_and_mail(
            account,
            TokenKind::VerifyEmail,
            MailKind::Verify,
            &email,
            "/email/verify",
            Some(&normalize_email(&email)),
            "email.verification_sent",
            client,
        )
        .await
    }

    /// A password change voids the reset and email-change links of the account.
    pub(crate) async fn revoke_on_password_change(&self, id: AccountId) -> Result<()> {
        self.one_time
            .revoke_for_account(id, &PASSWORD_BOUND)
            .await?;
        Ok(())
    }

    /// `TooManyAttempts` while the last token of `kind` is inside the cool-down.
    pub(crate) async fn check_cooldown(&self, kind: TokenKind, id: AccountId) -> Result<()> {
        let cooldown = self.shared.settings.email_cooldown;
        if let Some(last) = self.one_time.last_issued_at(kind, id).await? {
            let wait = last + cooldown - self.shared.now();
            if wait > Duration::ZERO {
                let secs = wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0);
                return Err(Error::TooManyAttempts {
                    retry_after: secs.max(1) as u64,
                });
            }
        }
        Ok(())
    }
}
