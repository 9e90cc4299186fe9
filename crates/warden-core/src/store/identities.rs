//! External identities (OAuth 2.0 / OpenID Connect): which account a
//! `(provider, subject)` pair signs in to, and the short-lived server-side
//! state of an authorization request.
//!
//! The authorization state is kept here rather than in the
//! [`OneTimeTokenStore`](super::OneTimeTokenStore) because a sign-in starts
//! before there is an account, and one-time tokens belong to an account.

use crate::error::Result;
use crate::model::{AccountId, AuditEvent};
use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// An external identity linked to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Identity id (UUID v7).
    pub id: Uuid,
    /// The account it signs in to.
    pub account_id: AccountId,
    /// Provider name (`google`, `github`, or a configured OIDC issuer name).
    pub provider: String,
    /// The provider's stable user id (`sub`, or the GitHub user id).
    pub subject: String,
    /// The email the provider reported when the identity was linked.
    pub email: Option<String>,
    /// When it was linked.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// External identities and OAuth authorization state. Every method is atomic.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Link an identity and record `audit` in one transaction. `NotFound` when
    /// the account does not exist; `IdentityTaken` when `(provider, subject)`
    /// is already linked (to any account).
    async fn link_identity(&self, identity: &Identity, audit: &AuditEvent) -> Result<()>;
    /// The identity of `(provider, subject)`.
    async fn identity_by_subject(&self, provider: &str, subject: &str) -> Result<Option<Identity>>;
    /// Identities of an account, oldest first.
    async fn identities_of(&self, account: AccountId) -> Result<Vec<Identity>>;
    /// Delete the identity `id` if it belongs to `account` and record `audit`;
    /// false when there is no such identity of that account.
    async fn unlink_identity(
        &self,
        account: AccountId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Store the state of an authorization request under the SHA-256 of its
    /// `state` parameter.
    async fn put_oauth_state(
        &self,
        hash: &[u8; 32],
        payload: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()>;
    /// Delete the state with this hash and return its payload when it was
    /// unexpired at `now`. Of two concurrent calls at most one gets `Some`.
    async fn take_oauth_state(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<String>>;
    /// Delete states that expired before `before`; returns how many.
    async fn prune_oauth_states(&self, before: OffsetDateTime) -> Result<u64>;
}
