//! Single-use tokens sent by mail (email verification, password reset, email
//! change). Only the SHA-256 of a token is stored; a token dies when it is
//! used, when it expires, when a newer token of the same kind is issued for
//! the account, or when the engine revokes it (e.g. on a password change).

use crate::error::Result;
use crate::model::{AccountId, AuditEvent};
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a one-time token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Proves the account owns its email address (24 h).
    VerifyEmail,
    /// Sets a new password without the old one (30 min).
    ResetPassword,
    /// Confirms a new email address; the payload is the new address (24 h).
    ChangeEmail,
}

impl TokenKind {
    /// Every kind.
    pub const ALL: [TokenKind; 3] = [
        TokenKind::VerifyEmail,
        TokenKind::ResetPassword,
        TokenKind::ChangeEmail,
    ];

    /// The stored name (`verify_email`, `reset_password`, `change_email`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::VerifyEmail => "verify_email",
            TokenKind::ResetPassword => "reset_password",
            TokenKind::ChangeEmail => "change_email",
        }
    }
}

/// A one-time token as returned by [`OneTimeTokenStore::consume`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedToken {
    /// The account it was issued for.
    pub account_id: AccountId,
    /// Data stored with it (the new address of an email change).
    pub payload: Option<String>,
}

/// Single-use mail tokens. Every method is atomic.
#[async_trait]
pub trait OneTimeTokenStore: Send + Sync {
    /// In one transaction: delete every token of `kind` of the account, store
    /// the new one (by hash) and record `audit`. `NotFound` when the account
    /// does not exist.
    #[allow(clippy::too_many_arguments)]
    async fn issue(
        &self,
        kind: TokenKind,
        hash: &[u8; 32],
        account: AccountId,
        issued_at: OffsetDateTime,
        expires_at: OffsetDateTime,
        payload: Option<&str>,
        audit: &AuditEvent,
    ) -> Result<()>;
    /// Delete the token of `kind` with this hash and return it when it was
    /// unexpired at `now`. Of two concurrent calls at most one gets `Some`.
    async fn consume(
        &self,
        kind: TokenKind,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<ConsumedToken>>;
    /// Delete every token of these kinds of the account; returns how many.
    async fn revoke_for_account(&self, account: AccountId, kinds: &[TokenKind]) -> Result<u64>;
    /// When the current (unused) token of `kind` of the account was issued.
    async fn last_issued_at(
        &self,
        kind: TokenKind,
        account: AccountId,
    ) -> Result<Option<OffsetDateTime>>;
    /// Delete tokens that expired before `before`; returns how many.
    async fn prune_one_time(&self, before: OffsetDateTime) -> Result<u64>;
}
