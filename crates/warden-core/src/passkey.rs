//! Passkeys (WebAuthn, through `webauthn-rs`): registration for a signed-in
//! account, passkey-only sign-up, and sign-in with discoverable credentials
//! (no login name needed).
//!
//! - Every ceremony has two steps, `begin` and `finish`. `begin` answers a
//!   `challenge_id` and the options for `navigator.credentials.create()` /
//!   `get()`; the ceremony state (the serialized `webauthn-rs` state) is kept
//!   in the store under the SHA-256 of the kind and the `challenge_id`, with
//!   the OAuth authorization states, so any node can finish it. A challenge
//!   is single use (taken atomically), expires after [`CHALLENGE_TTL`] and is
//!   bound to its kind: an unknown, used, expired or foreign challenge is
//!   [`Error::InvalidMailToken`] (400 `invalid_token`).
//! - Registration asks for a discoverable credential (`residentKey:
//!   "required"`) with user verification, so every passkey can sign in
//!   without a login name.
//! - A passkey sign-in counts as two factors (possession and the
//!   authenticator's user verification) and never asks for TOTP. The session
//!   `amr` is `["hwk"]` when the browser reports `authenticatorAttachment:
//!   "cross-platform"` (a security key or a phone), else `["swk"]`.
//! - The sign-in methods of an account are its password, its passkeys and its
//!   external identities; the last one can never be removed
//!   ([`Error::LastSignInMethod`], enforced by the store in its transaction).

use crate::accounts::{check_usable, ensure_login_free};
use crate::error::{Error, FieldError, Result};
use crate::mail_tokens::MailTokens;
use crate::model::{Account, AccountId, ClientInfo, NewAccount, normalize_email};
use crate::password::{Login, check_email};
use crate::random;
use crate::sessions::{Sessions, TokenPair};
use crate::settings::Registration;
pub use crate::settings::WebauthnSettings;
use crate::shared::Shared;
use crate::store::{AccountStore, AuditStore, IdentityStore, Passkey, PasskeyStore};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::Duration;
use webauthn_rs::prelude as wa;

/// Lifetime of a ceremony (begin to finish).
pub const CHALLENGE_TTL: Duration = Duration::minutes(5);
/// Most passkeys an account may register.
pub const MAX_PASSKEYS: usize = 50;
/// Longest passkey name, in characters.
pub const NAME_MAX: usize = 64;
/// Longest credential id accepted (WebAuthn level 3, § 6.5.1).
pub const CREDENTIAL_ID_MAX: usize = 1023;
/// The name of a passkey registered without one.
pub const DEFAULT_NAME: &str = "Passkey";

impl WebauthnSettings {
    /// Check the settings: `Err` holds a one-line reason.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.build().map(|_| ())
    }

    fn build(&self) -> std::result::Result<wa::Webauthn, String> {
        let origin = wa::Url::parse(&self.origin)
            .map_err(|e| format!("webauthn origin {:?} is not a URL: {e}", self.origin))?;
        if !matches!(origin.scheme(), "https" | "http") || origin.host_str().is_none() {
            return Err(format!(
                "webauthn origin {:?} must be an http(s) origin",
                self.origin
            ));
        }
        if self.rp_name.trim().is_empty() {
            return Err("webauthn rp_name must not be empty".into());
        }
        wa::WebauthnBuilder::new(&self.rp_id, &origin)
            .map_err(|_| {
                format!(
                    "webauthn rp_id {:?} must be the host (a domain name, not an IP address) of the origin {:?} or a parent domain of it",
                    self.rp_id, self.origin
                )
            })?
            .rp_name(&self.rp_name)
            .timeout(std::time::Duration::from_secs(
                CHALLENGE_TTL.whole_seconds().unsigned_abs(),
            ))
            .build()
            .map_err(|e| format!("webauthn settings: {e}"))
    }
}

/// The answer of a `begin` step.
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyChallenge {
    /// Pass it back to the `finish` step.
    pub challenge_id: String,
    /// `{"publicKey": {...}}` for `navigator.credentials.create()` or
    /// `get()`, binary fields in base64url.
    pub options: serde_json::Value,
}

/// The outcome of a passkey-only sign-up.
#[derive(Debug, Clone)]
pub struct PasskeySignup {
    /// The new account.
    pub account: Account,
    /// Its first session; `None` when the account waits for its email to be
    /// verified (`require_verified_email`).
    pub tokens: Option<TokenPair>,
}

/// Ceremony kinds; part of the state key, so a challenge only finishes its own kind.
const REGISTER: &str = "register";
const SIGNUP: &str = "signup";
const LOGIN: &str = "login";

/// What is kept between `begin` and `finish`.
#[derive(Serialize, Deserialize)]
struct Ceremony {
    kind: String,
    account_id: Option<AccountId>,
    login: Option<String>,
    email: Option<String>,
    name: Option<String>,
    state: serde_json::Value,
}

fn state_key(kind: &str, challenge_id: &str) -> [u8; 32] {
    random::sha256(format!("webauthn:{kind}:{challenge_id}").as_bytes())
}

fn check_name(name: Option<&str>) -> Result<Option<String>> {
    let Some(name) = name.map(str::trim) else {
        return Ok(None);
    };
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(Error::field(
            "name",
            format!("must be 1 to {NAME_MAX} characters, without control characters"),
        ));
    }
    Ok(Some(name.to_owned()))
}

/// Ask for a discoverable credential: sign-in needs no login name.
fn require_resident_key(options: &mut serde_json::Value) {
    if let Some(sel) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(serde_json::Value::as_object_mut)
    {
        sel.insert("residentKey".into(), "required".into());
        sel.insert("requireResidentKey".into(), true.into());
    }
}

/// `hwk` for a roaming authenticator (security key, phone), else `swk`.
fn amr_of(credential: &serde_json::Value) -> &'static str {
    match credential
        .get("authenticatorAttachment")
        .and_then(serde_json::Value::as_str)
    {
        Some("cross-platform") => "hwk",
        _ => "swk",
    }
}

fn bad_credential(e: impl std::fmt::Display) -> Error {
    Error::BadRequest(format!("the passkey could not be verified: {e}"))
}

/// The stored form of a new credential.
fn to_stored(
    account: AccountId,
    name: Option<String>,
    pk: &wa::Passkey,
    now: time::OffsetDateTime,
) -> Result<Passkey> {
    if pk.cred_id().len() > CREDENTIAL_ID_MAX {
        return Err(bad_credential(format!(
            "credential id longer than {CREDENTIAL_ID_MAX} bytes"
        )));
    }
    let json = serde_json::to_value(pk).map_err(Error::internal)?;
    let flag = |f: &str| {
        json.pointer(&format!("/cred/{f}"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    };
    Ok(Passkey {
        id: uuid::Uuid::now_v7(),
        account_id: account,
        credential_id: pk.cred_id().to_vec(),
        name: name.unwrap_or_else(|| DEFAULT_NAME.to_owned()),
        credential: json.to_string(),
        backup_eligible: flag("backup_eligible"),
        backup_state: flag("backup_state"),
        created_at: now,
        last_used_at: None,
    })
}

/// Passkeys (see [`crate::Auth::passkeys`]).
#[derive(Clone)]
pub struct Passkeys {
    pub(crate) store: Arc<dyn PasskeyStore>,
    pub(crate) account_store: Arc<dyn AccountStore>,
    /// Ceremony states are kept with the OAuth authorization states.
    pub(crate) states: Arc<dyn IdentityStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) mail: MailTokens,
    pub(crate) sessions: Sessions,
}

impl Passkeys {
    fn webauthn(&self) -> Result<wa::Webauthn> {
        let Some(s) = &self.shared.settings.webauthn else {
            return Err(Error::Forbidden(
                "passkeys are not configured on this server (WARDEN_WEBAUTHN_RP_ID)".into(),
            ));
        };
        s.build().map_err(Error::Internal)
    }

    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<String> {
        let challenge_id = random::token(32);
        let payload = serde_json::to_string(ceremony).map_err(Error::internal)?;
        self.states
            .put_oauth_state(
                &state_key(&ceremony.kind, &challenge_id),
                &payload,
                self.shared.now() + CHALLENGE_TTL,
            )
            .await?;
        Ok(challenge_id)
    }

    async fn take_ceremony(&self, kind: &str, challenge_id: &str) -> Result<Ceremony> {
        if challenge_id.is_empty() || challenge_id.len() > 128 {
            return Err(Error::InvalidMailToken);
        }
        let payload = self
            .states
            .take_oauth_state(&state_key(kind, challenge_id), self.shared.now())
            .await?
            .ok_or(Error::InvalidMailToken)?;
        let ceremony: Ceremony = serde_json::from_str(&payload).map_err(Error::internal)?;
        if ceremony.kind != kind {
            return Err(Error::InvalidMailToken);
        }
        Ok(ceremony)
    }

    fn challenge<T: Serialize>(
        &self,
        challenge_id: String,
        options: &T,
    ) -> Result<PasskeyChallenge> {
        Ok(PasskeyChallenge {
            challenge_id,
            options: serde_json::to_value(options).map_err(Error::internal)?,
        })
    }

    // ----- registration for a signed-in account ----------------------------

    /// Begin registering a passkey for `account` (its other passkeys are excluded).
    pub async fn passkey_register_begin(
        &self,
        account: AccountId,
        name: Option<&str>,
    ) -> Result<PasskeyChallenge> {
        let webauthn = self.webauthn()?;
        let name = check_name(name)?;
        let a = self
            .account_store
            .account_by_id(account)
            .await?
            .ok_or(Error::NotFound)?;
        check_usable(&a)?;
        let existing = self.store.passkeys_of(account).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(Error::Validation(vec![FieldError::new(
                "name",
                format!("an account has at most {MAX_PASSKEYS} passkeys"),
            )]));
        }
        let exclude: Vec<wa::CredentialID> = existing
            .iter()
            .map(|p| wa::CredentialID::from(p.credential_id.clone()))
            .collect();
        let (ccr, state) = webauthn
            .start_passkey_registration(account.0, &a.login, &a.login, Some(exclude))
            .map_err(Error::internal)?;
        let mut options = serde_json::to_value(&ccr).map_err(Error::internal)?;
        require_resident_key(&mut options);
        let challenge_id = self
            .put_ceremony(&Ceremony {
                kind: REGISTER.into(),
                account_id: Some(account),
                login: None,
                email: None,
                name,
                state: serde_json::to_value(&state).map_err(Error::internal)?,
            })
            .await?;
        self.challenge(challenge_id, &options)
    }

    /// Finish registering: verify the browser's `credential` (the JSON of a
    /// `PublicKeyCredential` with binary fields in base64url) and store the passkey.
    pub async fn passkey_register_finish(
        &self,
        account: AccountId,
        challenge_id: &str,
        credential: &serde_json::Value,
        name: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Passkey> {
        let webauthn = self.webauthn()?;
        let name = check_name(name)?;
        let ceremony = self.take_ceremony(REGISTER, challenge_id).await?;
        if ceremony.account_id != Some(account) {
            return Err(Error::InvalidMailToken);
        }
        let reg: wa::RegisterPublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(bad_credential)?;
        let state: wa::PasskeyRegistration =
            serde_json::from_value(ceremony.state).map_err(Error::internal)?;
        let pk = webauthn
            .finish_passkey_registration(&reg, &state)
            .map_err(bad_credential)?;
        let passkey = to_stored(account, name.or(ceremony.name), &pk, self.shared.now())?;
        let ev = self.shared.audit(
            "passkey.registered",
            Some(account),
            client,
            serde_json::json!({"passkey_id": passkey.id, "name": passkey.name}),
        );
        self.store.insert_passkey(&passkey, &ev).await?;
        Ok(passkey)
    }

    // ----- passkey-only sign-up -------------------------------------------

    /// Begin a passkey-only sign-up (no password): the login and email follow
    /// the rules of registration, which must be open.
    pub async fn passkey_signup_begin(
        &self,
        login: &str,
        email: Option<&str>,
        client: &ClientInfo,
    ) -> Result<PasskeyChallenge> {
        let webauthn = self.webauthn()?;
        if self.shared.settings.registration == Registration::Closed {
            return Err(Error::Forbidden("registration is closed".into()));
        }
        let input = NewAccount {
            login: login.to_owned(),
            email: email.map(str::to_owned),
            ..NewAccount::default()
        };
        let input = self
            .shared
            .hooks()
            .run_before_register(input, client)
            .await?;
        let mut errors = Vec::new();
        let login = Login::parse(&input.login).map_err(|e| errors.push(e)).ok();
        let email = match input.email.as_deref() {
            None | Some("") => None,
            Some(e) => check_email(e).map_err(|e| errors.push(e)).ok(),
        };
        if self.shared.settings.require_verified_email && email.is_none() && errors.is_empty() {
            errors.push(FieldError::new(
                "email",
                "is required: accounts are active once their email is verified",
            ));
        }
        let Some(login) = login.filter(|_| errors.is_empty()) else {
            return Err(Error::Validation(errors));
        };
        ensure_login_free(self.account_store.as_ref(), &login, None).await?;
        if let Some(e) = &email
            && self
                .account_store
                .account_by_email(&normalize_email(e))
                .await?
                .is_some()
        {
            return Err(Error::EmailTaken);
        }
        let id = AccountId::new();
        let (ccr, state) = webauthn
            .start_passkey_registration(id.0, login.as_str(), login.as_str(), None)
            .map_err(Error::internal)?;
        let mut options = serde_json::to_value(&ccr).map_err(Error::internal)?;
        require_resident_key(&mut options);
        let challenge_id = self
            .put_ceremony(&Ceremony {
                kind: SIGNUP.into(),
                account_id: Some(id),
                login: Some(login.as_str().to_owned()),
                email,
                name: None,
                state: serde_json::to_value(&state).map_err(Error::internal)?,
            })
            .await?;
        self.challenge(challenge_id, &options)
    }

    /// Finish a passkey-only sign-up: the account (without a password) and
    /// its passkey are created together, and a session is opened as by a
    /// passkey sign-in. `LoginTaken`/`EmailTaken` when someone took the login
    /// or email in the meantime.
    pub async fn passkey_signup_finish(
        &self,
        challenge_id: &str,
        credential: &serde_json::Value,
        client: &ClientInfo,
    ) -> Result<PasskeySignup> {
        let webauthn = self.webauthn()?;
        let ceremony = self.take_ceremony(SIGNUP, challenge_id).await?;
        let (Some(id), Some(login)) = (ceremony.account_id, ceremony.login) else {
            return Err(Error::InvalidMailToken);
        };
        let reg: wa::RegisterPublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(bad_credential)?;
        let state: wa::PasskeyRegistration =
            serde_json::from_value(ceremony.state).map_err(Error::internal)?;
        let pk = webauthn
            .finish_passkey_registration(&reg, &state)
            .map_err(bad_credential)?;
        let now = self.shared.now();
        let require = self.shared.settings.require_verified_email;
        let account = Account {
            id,
            kind: crate::model::AccountKind::Person,
            login,
            email: ceremony.email,
            email_verified: false,
            active: !require,
            blocked: false,
            block_reason: None,
            mfa_enabled: false,
            scopes: Vec::new(),
            properties: serde_json::json!({}),
            password_hash: None,
            password_changed_at: now,
            created_at: now,
            updated_at: now,
        };
        let passkey = to_stored(id, None, &pk, now)?;
        let events = [
            self.shared.audit(
                "account.registered",
                Some(id),
                client,
                serde_json::json!({"login": account.login, "scopes": account.scopes, "method": "passkey"}),
            ),
            self.shared.audit(
                "passkey.registered",
                Some(id),
                client,
                serde_json::json!({"passkey_id": passkey.id, "name": passkey.name}),
            ),
        ];
        self.store
            .insert_account_with_passkey(&account, &passkey, &events)
            .await?;
        if require {
            self.mail.issue_verification(&account, client).await?;
            return Ok(PasskeySignup {
                account,
                tokens: None,
            });
        }
        let tokens = self
            .sessions
            .start_session_via(
                &account,
                false,
                &[amr_of(credential)],
                None,
                client,
                Some("passkey"),
            )
            .await?;
        Ok(PasskeySignup {
            account,
            tokens: Some(tokens),
        })
    }

    // ----- sign-in ----------------------------------------------------------

    /// Begin a passkey sign-in with a discoverable credential (no login name).
    /// The options carry no `mediation`; a page that wants the autofill UI
    /// adds `mediation: "conditional"` itself.
    pub async fn passkey_login_begin(&self) -> Result<PasskeyChallenge> {
        let webauthn = self.webauthn()?;
        let (mut rcr, state) = webauthn
            .start_discoverable_authentication()
            .map_err(Error::internal)?;
        rcr.mediation = None;
        let challenge_id = self
            .put_ceremony(&Ceremony {
                kind: LOGIN.into(),
                account_id: None,
                login: None,
                email: None,
                name: None,
                state: serde_json::to_value(&state).map_err(Error::internal)?,
            })
            .await?;
        self.challenge(challenge_id, &rcr)
    }

    async fn passkey_login_failed(
        &self,
        account: Option<AccountId>,
        reason: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        self.audit
            .append_audit(&self.shared.audit(
                "login.failure",
                account,
                client,
                serde_json::json!({"method": "passkey", "reason": reason}),
            ))
            .await
    }

    /// Finish a passkey sign-in: tokens as a password login gives, with `amr`
    /// `["hwk"]` or `["swk"]`; never an MFA step. An unknown credential or a
    /// signature that does not verify is `InvalidCredentials`; a blocked or
    /// inactive account is refused as at password login.
    pub async fn passkey_login_finish(
        &self,
        challenge_id: &str,
        credential: &serde_json::Value,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        let webauthn = self.webauthn()?;
        let ceremony = self.take_ceremony(LOGIN, challenge_id).await?;
        let cred: wa::PublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(bad_credential)?;
        let state: wa::DiscoverableAuthentication =
            serde_json::from_value(ceremony.state).map_err(Error::internal)?;
        let Ok((user, cred_id)) = webauthn.identify_discoverable_authentication(&cred) else {
            self.passkey_login_failed(None, "no_user_handle", client)
                .await?;
            return Err(Error::InvalidCredentials);
        };
        let stored = match self.store.passkey_by_credential(cred_id).await? {
            Some(p) if p.account_id.0 == user => p,
            _ => {
                self.passkey_login_failed(None, "unknown_credential", client)
                    .await?;
                return Err(Error::InvalidCredentials);
            }
        };
        let mut pk: wa::Passkey =
            serde_json::from_str(&stored.credential).map_err(Error::internal)?;
        let result = match webauthn.finish_discoverable_authentication_v2(&cred, state, &pk) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "passkey assertion refused");
                self.passkey_login_failed(Some(stored.account_id), "bad_assertion", client)
                    .await?;
                return Err(Error::InvalidCredentials);
            }
        };
        let Some(account) = self.account_store.account_by_id(stored.account_id).await? else {
            return Err(Error::InvalidCredentials);
        };
        if let Err(e) = check_usable(&account) {
            self.passkey_login_failed(Some(account.id), e.code(), client)
                .await?;
            return Err(e);
        }
        pk.update_credential(&result);
        let json = serde_json::to_string(&pk).map_err(Error::internal)?;
        self.store
            .passkey_used(stored.id, &json, result.backup_state(), self.shared.now())
            .await?;
        self.sessions
            .start_session_via(
                &account,
                remember,
                &[amr_of(credential)],
                None,
                client,
                Some("passkey"),
            )
            .await
    }

    // ----- management ---------------------------------------------------------

    /// The passkeys of an account, oldest first.
    pub async fn list(&self, account: AccountId) -> Result<Vec<Passkey>> {
        self.store.passkeys_of(account).await
    }

    /// Rename a passkey of `account`; `NotFound` for another account's.
    pub async fn rename_passkey(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        name: &str,
    ) -> Result<Passkey> {
        let Some(name) = check_name(Some(name))? else {
            return Err(Error::field("name", "is required"));
        };
        if !self.store.rename_passkey(account, id, &name).await? {
            return Err(Error::NotFound);
        }
        self.store
            .passkeys_of(account)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(Error::NotFound)
    }

    /// Delete a passkey of `account` (`by_admin` is recorded in the audit
    /// event). `NotFound` for another account's; `LastSignInMethod` when it
    /// is the account's last way to sign in.
    pub async fn delete_passkey(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        by_admin: bool,
        client: &ClientInfo,
    ) -> Result<()> {
        let ev = self.shared.audit(
            "passkey.deleted",
            Some(account),
            client,
            serde_json::json!({"passkey_id": id, "by": if by_admin { "admin" } else { "self" }}),
        );
        if self.store.delete_passkey(account, id, &ev).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn settings(rp_id: &str, origin: &str) -> WebauthnSettings {
        WebauthnSettings {
            rp_id: rp_id.into(),
            rp_name: "Warden".into(),
            origin: origin.into(),
        }
    }

    #[test]
    fn validate() {
        assert!(
            settings("example.com", "https://auth.example.com")
                .validate()
                .is_ok()
        );
        assert!(
            settings("localhost", "http://localhost:8080")
                .validate()
                .is_ok()
        );
        assert!(
            settings("example.com", "https://example.org")
                .validate()
                .is_err()
        );
        assert!(
            settings("127.0.0.1", "http://127.0.0.1:8080")
                .validate()
                .is_err()
        );
        assert!(settings("example.com", "not a url").validate().is_err());
        assert!(
            settings("example.com", "ftp://example.com")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn amr_rule() {
        assert_eq!(
            amr_of(&serde_json::json!({"authenticatorAttachment": "cross-platform"})),
            "hwk"
        );
        assert_eq!(
            amr_of(&serde_json::json!({"authenticatorAttachment": "platform"})),
            "swk"
        );
        assert_eq!(amr_of(&serde_json::json!({})), "swk");
    }

    #[test]
    fn names() {
        assert_eq!(check_name(None).unwrap(), None);
        assert_eq!(check_name(Some(" Laptop ")).unwrap(), Some("Laptop".into()));
        assert!(check_name(Some("")).is_err());
        assert!(check_name(Some(&"x".repeat(65))).is_err());
        assert!(check_name(Some("a\nb")).is_err());
    }
}
