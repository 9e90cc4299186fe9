//! Second-factor storage: TOTP secrets (encrypted by the engine before they get
//! here), recovery-code hashes, and the single-use tokens of pending MFA logins.

use crate::error::Result;
use crate::model::{AccountId, AuditEvent};
use async_trait::async_trait;
use time::OffsetDateTime;

/// The active TOTP secret of an account.
#[derive(Clone, PartialEq, Eq)]
pub struct ActiveTotp {
    /// The secret, encrypted (never the plain secret).
    pub secret: Vec<u8>,
    /// The newest time step accepted so far; codes of this step or older are refused.
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for ActiveTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveTotp")
            .field("secret", &"[redacted]")
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// A password login waiting for its second factor (the `mfa_token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    /// The account whose password was checked.
    pub account_id: AccountId,
    /// `remember` of the login (long session).
    pub remember: bool,
    /// The token is dead after this time.
    pub expires_at: OffsetDateTime,
    /// Attempts made so far (counted when they begin).
    pub attempts: u32,
    /// The scopes asked for at login (`None`: the account's), for the session
    /// the MFA step opens.
    pub scopes: Option<Vec<String>>,
}

/// Second-factor state. Every method is atomic.
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// Store a pending (not yet confirmed) TOTP secret for an account, replacing
    /// any earlier pending one; an active secret is left alone. Records `audit`
    /// in the same transaction. `NotFound` when the account does not exist.
    async fn set_pending_totp(
        &self,
        account: AccountId,
        secret: &[u8],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<()>;
    /// The pending secret of an account.
    async fn pending_totp(&self, account: AccountId) -> Result<Option<Vec<u8>>>;
    /// The active secret of an account.
    async fn active_totp(&self, account: AccountId) -> Result<Option<ActiveTotp>>;
    /// In one transaction: if the pending secret still equals `secret`, make it
    /// the active one with `last_step = step`, replace the recovery codes with
    /// `recovery_hashes`, set the account's `mfa_enabled` (and `updated_at`),
    /// append [`crate::store::Change::AccountChanged`] and record `audit`.
    /// False (and nothing written) when the pending secret is gone or differs.
    async fn enable_totp(
        &self,
        account: AccountId,
        secret: &[u8],
        step: i64,
        recovery_hashes: &[[u8; 32]],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// In one transaction: delete the account's secrets (active and pending) and
    /// recovery codes and clear `mfa_enabled`. When the second factor was
    /// enabled, also set `updated_at`, append `AccountChanged` and record `audit`.
    /// Returns whether it was enabled.
    async fn disable_totp(
        &self,
        account: AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Compare-and-set of `last_step`: true (and stored) only when the account
    /// has an active secret whose `last_step` is unset or older than `step`.
    /// Of two concurrent calls with the same step at most one gets true.
    async fn use_totp_step(&self, account: AccountId, step: i64) -> Result<bool>;
    /// Delete the recovery code with this hash. Returns the number of codes
    /// left, or `None` when the account has no such code. Of two concurrent
    /// calls with the same code at most one gets `Some`.
    async fn use_recovery_code(&self, account: AccountId, hash: &[u8; 32]) -> Result<Option<u32>>;
    /// How many unused recovery codes the account has.
    async fn recovery_codes_left(&self, account: AccountId) -> Result<u32>;
    /// Store a new MFA login token (by hash).
    async fn create_mfa_challenge(&self, hash: &[u8; 32], challenge: &MfaChallenge) -> Result<()>;
    /// Begin one attempt on a token: when it is known, unexpired at `now` and has
    /// fewer than `max` attempts, count the attempt and return the challenge
    /// (with the new count). Otherwise delete it (if present) and return `None`.
    async fn begin_mfa_attempt(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
        max: u32,
    ) -> Result<Option<MfaChallenge>>;
    /// The attempt failed: returns the attempts left, deleting the token when
    /// none are (0 for an unknown token).
    async fn mfa_attempt_failed(&self, hash: &[u8; 32], max: u32) -> Result<u32>;
    /// Consume a token: delete it and return it when it is known and unexpired at
    /// `now`. Of two concurrent calls at most one gets `Some`.
    async fn take_mfa_challenge(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<MfaChallenge>>;
    /// Delete tokens that expired before `before`; returns how many.
    async fn prune_mfa_challenges(&self, before: OffsetDateTime) -> Result<u64>;
}
