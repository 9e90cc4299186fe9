//! The mail flows of the engine: email verification, password reset by mail
//! and email change. Tokens are `random::token(32)` (256 bits), stored as
//! SHA-256 by the [`crate::store::OneTimeTokenStore`], single use and expiring;
//! issuing one deletes the older token of the same kind of the account, and a
//! password change deletes reset and email-change tokens.
//!
//! Mails go to the installed [`crate::mail::Mailer`]; a mailer error is logged
//! (without the link) and never fails the request.

use crate::auth::{Auth, MailSetup};
use crate::error::{Error, Result};
use crate::mail::{MailContext, MailKind};
use crate::model::{Account, AccountId, ClientInfo, normalize_email, normalize_login};
use crate::password::{Password, check_email};
use crate::random;
use crate::store::{Revoke, TokenKind};
use time::Duration;

/// Tokens that die when the password changes.
const PASSWORD_BOUND: [TokenKind; 2] = [TokenKind::ResetPassword, TokenKind::ChangeEmail];

fn token_hash(token: &str) -> Option<[u8; 32]> {
    // 32 random bytes are 43 URL-safe base64 characters.
    (token.len() == 43).then(|| random::sha256(token.as_bytes()))
}

impl Auth {
    fn mailer(&self) -> Result<MailSetup> {
        self.mail_setup()
            .ok_or_else(|| Error::Unavailable("no mailer is configured".into()))
    }

    /// Issue a token of `kind`, record `event` in the same transaction, and
    /// mail the link to `to`.
    #[allow(clippy::too_many_arguments)]
    async fn issue_and_mail(
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
        let s = self.settings();
        let ttl = match kind {
            TokenKind::VerifyEmail => s.verify_email_ttl,
            TokenKind::ResetPassword => s.reset_password_ttl,
            TokenKind::ChangeEmail => s.change_email_ttl,
        };
        let token = random::token(32);
        let hash = random::sha256(token.as_bytes());
        let now = self.now();
        let ev = self.audit(event, Some(account.id), client, serde_json::json!({}));
        self.store()
            .issue(kind, &hash, account.id, now, now + ttl, payload, &ev)
            .await?;
        let ctx = MailContext {
            kind: mail,
            to: to.to_owned(),
            login: account.login.clone(),
            link: format!("{}{path}?token={token}", s.link_base.trim_end_matches('/')),
            token,
            expires_minutes: ttl.whole_minutes(),
        };
        self.deliver(&ctx).await;
        Ok(())
    }

    async fn deliver(&self, ctx: &MailContext) {
        let Some(setup) = self.mail_setup() else {
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

    pub(crate) async fn revoke_mail_tokens_on_password_change(&self, id: AccountId) -> Result<()> {
        self.store().revoke_for_account(id, &PASSWORD_BOUND).await?;
        Ok(())
    }

    /// The account's email and whether it is verified.
    pub async fn email_status(&self, id: AccountId) -> Result<(Option<String>, bool)> {
        let a = self.account(id).await?;
        Ok((a.email.clone(), a.email_verified))
    }

    /// Mail a verification link to the account's address. `BadRequest` when
    /// it has none or it is verified; `TooManyAttempts` inside the cool-down.
    pub async fn send_verification(&self, id: AccountId, client: &ClientInfo) -> Result<()> {
        self.mailer()?;
        let a = self.account(id).await?;
        if a.email.is_none() {
            return Err(Error::BadRequest("the account has no email address".into()));
        }
        if a.email_verified {
            return Err(Error::BadRequest(
                "the email address is already verified".into(),
            ));
        }
        self.check_cooldown(TokenKind::VerifyEmail, id).await?;
        self.issue_verification(&a, client).await
    }

    async fn check_cooldown(&self, kind: TokenKind, id: AccountId) -> Result<()> {
        let cooldown = self.settings().email_cooldown;
        if let Some(last) = self.store().last_issued_at(kind, id).await? {
            let wait = last + cooldown - self.now();
            if wait > Duration::ZERO {
                let secs = wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0);
                return Err(Error::TooManyAttempts {
                    retry_after: secs.max(1) as u64,
                });
            }
        }
        Ok(())
    }

    /// Use a token mailed by [`Auth::send_verification`] (the address is
    /// verified; with `require_verified_email` an account waiting for it
    /// becomes active) or by [`Auth::request_email_change`] (the new address
    /// replaces the old one, verified). `InvalidMailToken` when the token is
    /// unknown, expired or used; `EmailTaken` when the new address was taken
    /// meanwhile.
    pub async fn verify_email(&self, token: &str, client: &ClientInfo) -> Result<()> {
        let hash = token_hash(token).ok_or(Error::InvalidMailToken)?;
        let now = self.now();
        let store = self.store();
        if let Some(t) = store.consume(TokenKind::VerifyEmail, &hash, now).await? {
            let mut a = match self.fresh_account(t.account_id).await? {
                Some(a) => a,
                None => return Err(Error::InvalidMailToken),
            };
            // The token verifies the address it was sent to, not a later one.
            let current = a.email.as_deref().map(normalize_email);
            match (&current, &t.payload) {
                (Some(c), Some(p)) if random::ct_eq(c.as_bytes(), p.as_bytes()) => {}
                _ => return Err(Error::InvalidMailToken),
            }
            let mut detail = serde_json::json!({});
            if self.settings().require_verified_email && !a.email_verified && !a.active {
                a.active = true;
                detail = serde_json::json!({"activated": true});
            }
            a.email_verified = true;
            a.updated_at = now;
            let ev = self.audit("email.verified", Some(a.id), client, detail);
            return self.write_account(&a, Revoke::Nothing, &[ev]).await;
        }
        if let Some(t) = store.consume(TokenKind::ChangeEmail, &hash, now).await? {
            let Some(new_email) = t.payload else {
                return Err(Error::InvalidMailToken);
            };
            let mut a = match self.fresh_account(t.account_id).await? {
                Some(a) => a,
                None => return Err(Error::InvalidMailToken),
            };
            if let Some(other) = store.account_by_email(&normalize_email(&new_email)).await?
                && other.id != a.id
            {
                return Err(Error::EmailTaken);
            }
            a.email = Some(new_email);
            a.email_verified = true;
            a.updated_at = now;
            let ev = self.audit("email.changed", Some(a.id), client, serde_json::json!({}));
            self.write_account(&a, Revoke::Nothing, &[ev]).await?;
            // Links sent to the old address are void.
            store
                .revoke_for_account(a.id, &[TokenKind::VerifyEmail])
                .await?;
            return Ok(());
        }
        Err(Error::InvalidMailToken)
    }

    async fn fresh_account(&self, id: AccountId) -> Result<Option<Account>> {
        self.store().account_by_id(id).await
    }

    /// Mail a password-reset link when an account has this email; do nothing
    /// otherwise (the caller answers the same either way, and should call this
    /// off the request path so the timing is the same too). Inside the
    /// cool-down of the account no new mail is sent.
    pub async fn request_password_reset(&self, email: &str, client: &ClientInfo) -> Result<()> {
        self.mailer()?;
        let key = normalize_email(email);
        if key.is_empty() || key.len() > 254 {
            return Ok(());
        }
        let Some(a) = self.store().account_by_email(&key).await? else {
            return Ok(());
        };
        let Some(to) = a.email.clone() else {
            return Ok(());
        };
        if self
            .check_cooldown(TokenKind::ResetPassword, a.id)
            .await
            .is_err()
        {
            tracing::info!(account = %a.id, "password reset asked again inside the cool-down; no mail");
            return Ok(());
        }
        self.issue_and_mail(
            &a,
            TokenKind::ResetPassword,
            MailKind::Reset,
            &to,
            "/password/reset",
            None,
            "password.reset_requested",
            client,
        )
        .await
    }

    /// Set a new password with a reset token: every session is revoked, the
    /// login lockout is cleared, and reset/email-change tokens die.
    ///
    /// Not one transaction: the token is consumed first (so it is single use
    /// even under concurrency), then the account is written together with the
    /// revocation of its sessions and the audit event in one transaction.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        let new = Password::parse_field(new_password, "new_password")
            .map_err(|e| Error::Validation(vec![e]))?;
        let hash = token_hash(token).ok_or(Error::InvalidMailToken)?;
        let t = self
            .store()
            .consume(TokenKind::ResetPassword, &hash, self.now())
            .await?
            .ok_or(Error::InvalidMailToken)?;
        let Some(mut a) = self.fresh_account(t.account_id).await? else {
            return Err(Error::InvalidMailToken);
        };
        if normalize_login(new.expose()) == a.login_key() {
            return Err(Error::field("new_password", "must not be the login"));
        }
        let phc = self.hasher().hash(new.expose()).await?;
        let now = self.now();
        a.password_hash = Some(phc);
        a.password_changed_at = now;
        a.updated_at = now;
        let ev = self.audit("password.reset", Some(a.id), client, serde_json::json!({}));
        self.write_account(&a, Revoke::All, &[ev]).await?;
        self.revoke_mail_tokens_on_password_change(a.id).await?;
        self.store()
            .attempt_clear(&format!("login:{}", a.login_key()))
            .await
    }

    /// Ask to change the account's email (the password is checked): a link
    /// goes to the new address, and the change happens when it is used through
    /// [`Auth::verify_email`]. `EmailTaken` when another account has it.
    pub async fn request_email_change(
        &self,
        id: AccountId,
        new_email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        self.mailer()?;
        let new_email = check_email(new_email).map_err(|e| {
            Error::Validation(vec![crate::error::FieldError::new("new_email", e.message)])
        })?;
        let a = self.account(id).await?;
        let a = self.verify_own_password(&a, password, client).await?;
        let key = normalize_email(&new_email);
        if a.email.as_deref().map(normalize_email).as_deref() == Some(key.as_str()) {
            return Err(Error::BadRequest(
                "that is already the account's email".into(),
            ));
        }
        if self.store().account_by_email(&key).await?.is_some() {
            return Err(Error::EmailTaken);
        }
        self.issue_and_mail(
            &a,
            TokenKind::ChangeEmail,
            MailKind::EmailChange,
            &new_email,
            "/email/verify",
            Some(&new_email),
            "email.change_requested",
            client,
        )
        .await
    }
}
