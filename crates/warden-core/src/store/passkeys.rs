//! Passkeys (WebAuthn credentials) of accounts.
//!
//! The store keeps the credential as an opaque JSON document (the serialized
//! `webauthn_rs::prelude::Passkey`: public key, counter, backup flags) so that
//! no backend depends on WebAuthn types. The ceremony state of a registration
//! or sign-in in progress is kept with the OAuth authorization states
//! ([`IdentityStore::put_oauth_state`](super::IdentityStore::put_oauth_state)):
//! single use, expiring, shared by every node.
//!
//! The sign-in methods of an account are its password, its passkeys and its
//! linked external identities. [`PasskeyStore::delete_passkey`] and
//! [`IdentityStore::unlink_identity`](super::IdentityStore::unlink_identity)
//! refuse, inside their transaction, to remove the last one
//! ([`Error::LastSignInMethod`](crate::Error::LastSignInMethod)).

use crate::error::Result;
use crate::model::{Account, AccountId, AuditEvent};
use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// A passkey registered to an account.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Passkey {
    /// Passkey id (UUID v7).
    pub id: Uuid,
    /// The account it signs in to.
    pub account_id: AccountId,
    /// The WebAuthn credential id (raw bytes); unique across accounts.
    #[serde(skip)]
    pub credential_id: Vec<u8>,
    /// A name the user chose (or a default such as `Passkey`).
    pub name: String,
    /// The serialized credential (public key, counter, flags).
    #[serde(skip)]
    pub credential: String,
    /// The authenticator may sync the credential to other devices.
    pub backup_eligible: bool,
    /// The credential is currently backed up (synced).
    pub backup_state: bool,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last signed in.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for Passkey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkey")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("name", &self.name)
            .field("backup_eligible", &self.backup_eligible)
            .field("backup_state", &self.backup_state)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .finish_non_exhaustive()
    }
}

/// Passkeys. Every method is atomic.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Register a passkey and record `audit` in one transaction. `NotFound`
    /// when the account does not exist;
    /// [`Error::BadRequest`](crate::Error::BadRequest) when the credential id
    /// is registered already (to any account).
    async fn insert_passkey(&self, passkey: &Passkey, audit: &AuditEvent) -> Result<()>;
    /// Insert a new account together with its first passkey and record
    /// `audit`, all in one transaction (passkey-only sign-up).
    /// `LoginTaken`/`EmailTaken` on conflicts, as `insert_account`.
    async fn insert_account_with_passkey(
        &self,
        account: &Account,
        passkey: &Passkey,
        audit: &[AuditEvent],
    ) -> Result<()>;
    /// Passkeys of an account, oldest first.
    async fn passkeys_of(&self, account: AccountId) -> Result<Vec<Passkey>>;
    /// The passkey with this WebAuthn credential id.
    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>>;
    /// After a sign-in: store the updated credential (counter, backup state)
    /// and set `last_used_at`. False when the passkey is gone.
    async fn passkey_used(
        &self,
        id: Uuid,
        credential: &str,
        backup_state: bool,
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// Rename a passkey of `account`; false when there is no such passkey of that account.
    async fn rename_passkey(&self, account: AccountId, id: Uuid, name: &str) -> Result<bool>;
    /// Delete the passkey `id` if it belongs to `account` and record `audit`;
    /// false when there is no such passkey of that account;
    /// [`Error::LastSignInMethod`](crate::Error::LastSignInMethod) when the
    /// account has no password, no external identity and no other passkey.
    async fn delete_passkey(
        &self,
        account: AccountId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<bool>;
}
