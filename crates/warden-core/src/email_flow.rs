//! The mail flows of the engine: email verification, password reset by mail
//! and email change. Tokens are `random::token(32)` (256 bits), stored as
//! SHA-256 by the [`crate::store::OneTimeTokenStore`], single use and expiring;
//! issuing one deletes the older token of the same kind of the account, and a
//! password change deletes reset and email-change tokens.
//!
//! Mails go to the installed [`crate::mail::Mailer`]; a mailer error is logged
//! (without the link) and never fails the request.

use crate::accounts::Accounts;
use crate::error::{Error, Result};
use crate::login_gate::GateKey;
use crate::mail::MailKind;
use crate::mail_tokens::MailTokens;
use crate::model::{Account, AccountId, ClientInfo, normalize_email, normalize_login};
use crate::password::{Password, check_email};
use crate::random;
use crate::shared::Shared;
use crate::store::{AccountStore, OneTimeTokenStore, Revoke, TokenKind};
use std::sync::Arc;

fn token_hash(token: &str) -> Option<[u8; 32]> {
    // 32 random bytes are 43 URL-safe base64 characters.
    (token.len() == 43).then(|| random::sha256(token.as_bytes()))
}

/// The mail flows (see [`crate::Auth::email`]).
#[derive(Clone)]
pub struct EmailFlows {
    pub(crate) one_time: Arc<dyn OneTimeTokenStore>,
    pub(crate) account_store: Arc<dyn AccountStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) accounts: Accounts,
    pub(crate) mail: MailTokens,
}

impl EmailFlows {
    /// The account's email and whether it is verified.
    pub async fn email_status(&self, id: AccountId) -> Result<(Option<String>, bool)> {
        let a = self.accounts.account(id).await?;
        Ok((a.email.clone(), a.email_verified))
    }

    /// Mail a verification link to the account's address. `BadRequest` when
    /// it has none or it is verified; `TooManyAttempts` inside the cool-down.
    pub async fn send_verification(&self, id: AccountId, client: &ClientInfo) -> Result<()> {
        self.mail.mailer()?;
        let a = self.accounts.account(id).await?;
        if a.email.is_none() {
            return Err(Error::BadRequest("the account has no email address".into()));
        }
        if a.email_verified {
            return Err(Error::BadRequest(
                "the email address is already verified".into(),
            ));
        }
        self.mail.check_cooldown(TokenKind::VerifyEmail, id).await?;
        self.mail.issue_verification(&a, client).await
    }

    /// Use a token mailed by [`EmailFlows::send_verification`] (the address is
    /// verified; with `require_verified_email` an account waiting for it
    /// becomes active) or by [`EmailFlows::request_email_change`] (the new address
    /// replaces the old one, verified). `InvalidMailToken` when the token is
    /// unknown, expired or used; `EmailTaken` when the new address was taken
    /// meanwhile.
    pub async fn verify_email(&self, token: &str, client: &ClientInfo) -> Result<()> {
        let hash = token_hash(token).ok_or(Error::InvalidMailToken)?;
        let now = self.shared.now();
        let store = &self.one_time;
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
            if self.shared.settings.require_verified_email && !a.email_verified && !a.active {
                a.active = true;
                detail = serde_json::json!({"activated": true});
            }
            a.email_verified = true;
            a.updated_at = now;
            let ev = self
                .shared
                .audit("email.verified", Some(a.id), client, detail);
            return self
                .accounts
                .write_account(&a, Revoke::Nothing, &[ev])
                .await;
        }
        if let Some(t) = store.consume(TokenKind::ChangeEmail, &hash, now).await? {
            let Some(new_email) = t.payload else {
                return Err(Error::InvalidMailToken);
            };
            let mut a = match self.fresh_account(t.account_id).await? {
                Some(a) => a,
                None => return Err(Error::InvalidMailToken),
            };
            if let Some(other) = self
                .account_store
                .account_by_email(&normalize_email(&new_email))
                .await?
                && other.id != a.id
            {
                return Err(Error::EmailTaken);
            }
            a.email = Some(new_email);
            a.email_verified = true;
            a.updated_at = now;
            let ev = self
                .shared
                .audit("email.changed", Some(a.id), client, serde_json::json!({}));
            self.accounts
                .write_account(&a, Revoke::Nothing, &[ev])
                .await?;
            // Links sent to the old address are void.
            store
                .revoke_for_account(a.id, &[TokenKind::VerifyEmail])
                .await?;
            return Ok(());
        }
        Err(Error::InvalidMailToken)
    }

    async fn fresh_account(&self, id: AccountId) -> Result<Option<Account>> {
        self.account_store.account_by_id(id).await
    }

    /// Mail a password-reset link when an account has this email; do nothing
    /// otherwise (the caller answers the same either way, and should call this
    /// off the request path so the timing is the same too). Inside the
    /// cool-down of the account no new mail is sent.
    pub async fn request_password_reset(&self, email: &str, client: &ClientInfo) -> Result<()> {
        self.mail.mailer()?;
        let key = normalize_email(email);
        if key.is_empty() || key.len() > 254 {
            return Ok(());
        }
        let Some(a) = self.account_store.account_by_email(&key).await? else {
            return Ok(());
        };
        if a.is_service() {
            // A service account has no password to reset.
            return Ok(());
        }
        let Some(to) = a.email.clone() else {
            return Ok(());
        };
        if self
            .mail
            .check_cooldown(TokenKind::ResetPassword, a.id)
            .await
            .is_err()
        {
            tracing::info!(account = %a.id, "password reset asked again inside the cool-down; no mail");
            return Ok(());
        }
        self.mail
            .issue_and_mail(
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
            .one_time
            .consume(TokenKind::ResetPassword, &hash, self.shared.now())
            .await?
            .ok_or(Error::InvalidMailToken)?;
        let Some(mut a) = self.fresh_account(t.account_id).await? else {
            return Err(Error::InvalidMailToken);
        };
        if a.is_service() {
            return Err(Error::InvalidMailToken);
        }
        if normalize_login(new.expose()) == a.login_key() {
            return Err(Error::field("new_password", "must not be the login"));
        }
        let phc = self.shared.hasher.hash(new.expose()).await?;
        let now = self.shared.now();
        a.password_hash = Some(phc);
        a.password_changed_at = now;
        a.updated_at = now;
        let ev = self
            .shared
            .audit("password.reset", Some(a.id), client, serde_json::json!({}));
        self.accounts.write_account(&a, Revoke::All, &[ev]).await?;
        self.mail.revoke_on_password_change(a.id).await?;
        self.accounts
            .gate
            .clear(&GateKey::Login(a.login_key()))
            .await
    }

    /// Ask to change the account's email (the password is checked): a link
    /// goes to the new address, and the change happens when it is used through
    /// [`EmailFlows::verify_email`]. `EmailTaken` when another account has it.
    pub async fn request_email_change(
        &self,
        id: AccountId,
        new_email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        self.mail.mailer()?;
        let new_email = check_email(new_email).map_err(|e| {
            Error::Validation(vec![crate::error::FieldError::new("new_email", e.message)])
        })?;
        let a = self.accounts.account(id).await?;
        let a = self
            .accounts
            .verify_own_password(&a, password, client)
            .await?;
        let key = normalize_email(&new_email);
        if a.email.as_deref().map(normalize_email).as_deref() == Some(key.as_str()) {
            return Err(Error::BadRequest(
                "that is already the account's email".into(),
            ));
        }
        if self.account_store.account_by_email(&key).await?.is_some() {
            return Err(Error::EmailTaken);
        }
        self.mail
            .issue_and_mail(
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
