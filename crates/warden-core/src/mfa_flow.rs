//! The second-factor operations of the engine: TOTP setup, confirmation and
//! removal, and the MFA step of a password login.

use crate::accounts::{Accounts, check_usable};
use crate::error::{Error, Result};
use crate::login_gate::GateKey;
use crate::mfa::{self, EncryptionKey};
use crate::model::{AccountId, ClientInfo};
use crate::random;
use crate::sessions::{MFA_TOKEN_PREFIX, Sessions, TokenPair};
use crate::settings::Settings;
use crate::shared::Shared;
use crate::store::{AccountStore, AuditStore, KeyStore, MfaChallenge, MfaStore};
use std::sync::Arc;

/// Name of the store setting that keeps a generated encryption key.
const KEY_SETTING: &str = "encryption_key";
/// A new, not yet confirmed TOTP secret, as shown to the account once.
#[derive(Clone)]
pub struct TotpSetup {
    /// The secret in base 32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/<issuer>:<login>?secret=...&issuer=...`.
    pub otpauth_uri: String,
    /// The URI as a QR code (an SVG document).
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup([redacted])")
    }
}

/// The key that encrypts TOTP secrets: from the settings, else the one stored
/// in the store (generated and stored on first start).
pub(crate) async fn encryption_key(
    store: &dyn KeyStore,
    settings: &Settings,
) -> Result<EncryptionKey> {
    if settings.otp_block_tries == 0 {
        return Err(Error::Internal("otp_block_tries must be at least 1".into()));
    }
    if settings.otp_issuer.is_empty() || settings.otp_issuer.contains(':') {
        return Err(Error::Internal(
            "otp_issuer must be non-empty and must not contain ':'".into(),
        ));
    }
    if let Some(k) = &settings.encryption_key {
        return Ok(k.clone());
    }
    let stored = store
        .setting_or_insert(KEY_SETTING, &EncryptionKey::generate().to_base64())
        .await?;
    EncryptionKey::from_base64(&stored)
        .map_err(|e| Error::Internal(format!("stored encryption key {e}")))
}

/// Associated data binding a sealed secret to its account.
fn context(account: AccountId) -> Vec<u8> {
    let mut c = b"warden-totp:".to_vec();
    c.extend_from_slice(account.0.as_bytes());
    c
}

/// What a presented code turned out to be.
enum Factor {
    Totp,
    Recovery { left: u32 },
    Wrong(&'static str),
}

/// The second factor (see [`crate::Auth::mfa`]).
#[derive(Clone)]
pub struct Mfa {
    pub(crate) store: Arc<dyn MfaStore>,
    pub(crate) account_store: Arc<dyn AccountStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) key: EncryptionKey,
    pub(crate) accounts: Accounts,
    pub(crate) sessions: Sessions,
}

impl Mfa {
    /// Whether the account has a second factor enabled.
    pub async fn mfa_status(&self, id: AccountId) -> Result<bool> {
        Ok(self.accounts.account(id).await?.mfa_enabled)
    }

    /// Turn off the account's second factor (admin and CLI): its TOTP secret and
    /// recovery codes are deleted. A no-op for accounts without one.
    pub async fn disable_mfa(&self, id: AccountId, client: &ClientInfo) -> Result<()> {
        self.accounts.account(id).await?;
        self.remove_mfa(id, "admin", client).await
    }

    /// Start TOTP enrolment: a new secret is stored encrypted as pending
    /// (replacing an earlier pending one) until [`Mfa::totp_confirm`].
    /// Refused while a second factor is already enabled.
    pub async fn totp_setup(&self, account: AccountId, client: &ClientInfo) -> Result<TotpSetup> {
        if !self.shared.settings.otp_enabled {
            return Err(Error::Forbidden("TOTP is disabled on this server".into()));
        }
        let account = self.accounts.account(account).await?;
        if account.mfa_enabled {
            return Err(Error::BadRequest(
                "TOTP is already enabled; disable it first".into(),
            ));
        }
        let secret = mfa::new_secret();
        let otpauth_uri =
            mfa::otpauth_uri(&secret, &self.shared.settings.otp_issuer, &account.login)?;
        let qr_svg = mfa::qr_svg(&otpauth_uri)?;
        let sealed = self.key.seal(&secret, &context(account.id))?;
        let ev = self
            .shared
            .audit("mfa.setup", Some(account.id), client, serde_json::json!({}));
        self.store
            .set_pending_totp(account.id, &sealed, self.shared.now(), &ev)
            .await?;
        Ok(TotpSetup {
            secret: mfa::secret_base32(&secret),
            otpauth_uri,
            qr_svg,
        })
    }

    /// The pending (not yet confirmed) TOTP setup of an account, shown again
    /// (e.g. after a wrong confirmation code); `None` without one.
    pub async fn totp_pending(&self, account: AccountId) -> Result<Option<TotpSetup>> {
        let Some(sealed) = self.store.pending_totp(account).await? else {
            return Ok(None);
        };
        let a = self.accounts.account(account).await?;
        let secret = self.key.open(&sealed, &context(account))?;
        let otpauth_uri = mfa::otpauth_uri(&secret, &self.shared.settings.otp_issuer, &a.login)?;
        let qr_svg = mfa::qr_svg(&otpauth_uri)?;
        Ok(Some(TotpSetup {
            secret: mfa::secret_base32(&secret),
            otpauth_uri,
            qr_svg,
        }))
    }

    /// Confirm enrolment with a code of the pending secret: the second factor
    /// is enabled and the recovery codes (shown once; stored hashed) returned.
    /// A wrong code is `InvalidMfaCode` and changes nothing.
    pub async fn totp_confirm(
        &self,
        account: AccountId,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Vec<String>> {
        if !self.shared.settings.otp_enabled {
            return Err(Error::Forbidden("TOTP is disabled on this server".into()));
        }
        let store = &self.store;
        let Some(sealed) = store.pending_totp(account).await? else {
            return Err(Error::BadRequest(
                "no pending TOTP setup; call setup first".into(),
            ));
        };
        let secret = self.key.open(&sealed, &context(account))?;
        let Some(step) = mfa::verify(&secret, code, self.shared.now().unix_timestamp(), None)
        else {
            self.audit
                .append_audit(&self.shared.audit(
                    "mfa.failure",
                    Some(account),
                    client,
                    serde_json::json!({"stage": "confirm", "reason": "wrong_code"}),
                ))
                .await?;
            return Err(Error::InvalidMfaCode);
        };
        let codes: Vec<String> = (0..mfa::RECOVERY_CODES)
            .map(|_| mfa::new_recovery_code())
            .collect();
        let hashes: Vec<[u8; 32]> = codes
            .iter()
            .filter_map(|c| mfa::recovery_code_hash(c))
            .collect();
        if hashes.len() != codes.len() {
            return Err(Error::Internal("recovery code generation".into()));
        }
        let ev = self.shared.audit(
            "mfa.enabled",
            Some(account),
            client,
            serde_json::json!({"method": "totp", "recovery_codes": codes.len()}),
        );
        let enabled = store
            .enable_totp(account, &sealed, step, &hashes, self.shared.now(), &ev)
            .await?;
        self.accounts.forget_account(account);
        if !enabled {
            return Err(Error::BadRequest(
                "the pending TOTP setup changed; start again".into(),
            ));
        }
        Ok(codes)
    }

    /// Turn off the caller's own second factor; needs the account's password
    /// (wrong: `InvalidCredentials`, counted by the login lockout).
    pub async fn totp_disable(
        &self,
        account: AccountId,
        password: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        let a = self.accounts.account(account).await?;
        self.accounts
            .verify_own_password(&a, password, client)
            .await?;
        self.remove_mfa(account, "self", client).await
    }

    /// Delete the second factor of an account and clear its flag (audit
    /// `mfa.disabled` with `by`, when it was enabled).
    pub(crate) async fn remove_mfa(
        &self,
        account: AccountId,
        by: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        let ev = self.shared.audit(
            "mfa.disabled",
            Some(account),
            client,
            serde_json::json!({ "by": by }),
        );
        self.store
            .disable_totp(account, self.shared.now(), &ev)
            .await?;
        self.accounts.forget_account(account);
        Ok(())
    }

    /// Unused recovery codes of an account.
    pub async fn recovery_codes_left(&self, account: AccountId) -> Result<u32> {
        self.store.recovery_codes_left(account).await
    }

    /// Finish a login with its `mfa_token` and a TOTP or recovery code. The
    /// session's tokens carry `amr: ["pwd","otp"]`. After `otp_block_tries`
    /// wrong codes, on expiry (5 minutes) and after use the token is dead:
    /// every further call is `InvalidMfaCode` and the login starts over.
    ///
    /// Wrong codes also count against the account across tokens (the login
    /// lockout rules: `block_tries` failures lock for `block_window`, doubling),
    /// so that starting over does not give unlimited guesses.
    pub async fn login_mfa(
        &self,
        mfa_token: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        self.login_mfa_with_amr(mfa_token, code, &[], client).await
    }

    /// [`Mfa::login_mfa`] whose session records `extra_amr` after
    /// `["pwd","otp"]` (e.g. `cookie` for a server-side cookie session).
    pub async fn login_mfa_with_amr(
        &self,
        mfa_token: &str,
        code: &str,
        extra_amr: &[&str],
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        let well_formed = mfa_token
            .strip_prefix(MFA_TOKEN_PREFIX)
            .is_some_and(|rest| rest.len() == 43);
        if !well_formed {
            return Err(Error::InvalidMfaCode);
        }
        let hash = random::sha256(mfa_token.as_bytes());
        let store = &self.store;
        let s = &self.shared.settings;
        let Some(challenge) = store
            .begin_mfa_attempt(&hash, self.shared.now(), s.otp_block_tries)
            .await?
        else {
            return Err(Error::InvalidMfaCode);
        };
        let lock = GateKey::Mfa(challenge.account_id);
        let gate = &self.accounts.gate;
        gate.begin(&lock).await?;
        let result = self
            .finish_mfa(&hash, &challenge, code, extra_amr, client)
            .await;
        match &result {
            Ok(_) => gate.clear(&lock).await?,
            Err(_) => {
                if let Some(secs) = gate.failed(&lock).await? {
                    self.audit
                        .append_audit(&self.shared.audit(
                            "mfa.lockout",
                            Some(challenge.account_id),
                            client,
                            serde_json::json!({ "seconds": secs }),
                        ))
                        .await?;
                }
            }
        }
        result
    }

    /// The MFA step once the token's attempt and the account counter are taken.
    async fn finish_mfa(
        &self,
        hash: &[u8; 32],
        challenge: &MfaChallenge,
        code: &str,
        extra_amr: &[&str],
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        let store = &self.store;
        let id = challenge.account_id;
        let Some(account) = self.account_store.account_by_id(id).await? else {
            store.take_mfa_challenge(hash, self.shared.now()).await?;
            return Err(Error::InvalidMfaCode);
        };
        if let Err(e) = check_usable(&account) {
            store.take_mfa_challenge(hash, self.shared.now()).await?;
            return Err(e);
        }
        let method = match self.check_factor(id, code).await? {
            Factor::Totp => "totp",
            Factor::Recovery { left } => {
                self.audit
                    .append_audit(&self.shared.audit(
                        "mfa.recovery_code_used",
                        Some(id),
                        client,
                        serde_json::json!({ "remaining": left }),
                    ))
                    .await?;
                "recovery_code"
            }
            Factor::Wrong(reason) => {
                let left = store
                    .mfa_attempt_failed(hash, self.shared.settings.otp_block_tries)
                    .await?;
                self.audit
                    .append_audit(&self.shared.audit(
                        "mfa.failure",
                        Some(id),
                        client,
                        serde_json::json!({"stage": "login", "reason": reason, "attempts_left": left}),
                    ))
                    .await?;
                return Err(Error::InvalidMfaCode);
            }
        };
        // Single use: of two concurrent completions only one takes the token.
        let Some(challenge) = store.take_mfa_challenge(hash, self.shared.now()).await? else {
            return Err(Error::InvalidMfaCode);
        };
        tracing::debug!(account = %id, method, "second factor passed");
        let mut amr = vec!["pwd", "otp"];
        amr.extend_from_slice(extra_amr);
        // The scopes asked for at login (tokens carry those the account still has).
        self.sessions
            .start_session_via(
                &account,
                challenge.remember,
                &amr,
                challenge.scopes,
                client,
                None,
            )
            .await
    }

    /// Check a TOTP or recovery code of an account, consuming it when right.
    async fn check_factor(&self, account: AccountId, code: &str) -> Result<Factor> {
        let store = &self.store;
        if mfa::looks_like_totp(code) {
            let Some(active) = store.active_totp(account).await? else {
                return Ok(Factor::Wrong("no_totp"));
            };
            let secret = self.key.open(&active.secret, &context(account))?;
            let now = self.shared.now().unix_timestamp();
            return Ok(match mfa::verify(&secret, code, now, active.last_step) {
                Some(step) if store.use_totp_step(account, step).await? => Factor::Totp,
                Some(_) => Factor::Wrong("replay"),
                None if mfa::verify(&secret, code, now, None).is_some() => Factor::Wrong("replay"),
                None => Factor::Wrong("wrong_code"),
            });
        }
        let Some(hash) = mfa::recovery_code_hash(code) else {
            return Ok(Factor::Wrong("malformed_code"));
        };
        Ok(match store.use_recovery_code(account, &hash).await? {
            Some(left) => Factor::Recovery { left },
            None => Factor::Wrong("wrong_recovery_code"),
        })
    }
}
