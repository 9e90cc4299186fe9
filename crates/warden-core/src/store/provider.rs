//! What Warden's OpenID Provider ([`crate::provider`]) keeps: the OAuth
//! clients an administrator registered, the authorization codes of the
//! code flow (single use, 60 s) and the consents (account × client →
//! scopes). The tokens a client gets are ordinary sessions
//! ([`crate::model::Session::client_id`]), kept by the [`super::SessionStore`].

use crate::error::Result;
use crate::model::{AccountId, AuditEvent, SessionId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A registered OAuth client.
#[derive(Clone, PartialEq)]
pub struct OAuthClient {
    /// The public client id (`wc_` + random).
    pub client_id: String,
    /// SHA-256 of the client secret (confidential clients only).
    pub secret_hash: Option<[u8; 32]>,
    /// Display name ("Signed in to <name>").
    pub name: String,
    /// Registered redirect URIs (matched exactly; loopback any port).
    pub redirect_uris: Vec<String>,
    /// Registered `post_logout_redirect_uri` values.
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed grant types.
    pub grant_types: Vec<String>,
    /// Account scopes the client may ask for (besides the OpenID scopes).
    pub scopes: Vec<String>,
    /// A public client (no secret, PKCE required).
    pub public: bool,
    /// Pre-consented: no consent page.
    pub first_party: bool,
    /// Registration time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("secret_hash", &self.secret_hash.map(|_| "[redacted]"))
            .field("name", &self.name)
            .field("redirect_uris", &self.redirect_uris)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// What an authorization code stands for, besides its keys (stored as one
/// JSON document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeGrant {
    /// The `redirect_uri` of the authorization request.
    pub redirect_uri: String,
    /// The PKCE `code_challenge` (S256), if one was sent.
    pub code_challenge: Option<String>,
    /// The `nonce` of the request.
    pub nonce: Option<String>,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// The browser's Warden session the account signed in with.
    pub browser_session: SessionId,
    /// When the account authenticated (unix seconds).
    pub auth_time: i64,
    /// How it authenticated.
    pub amr: Vec<String>,
}

/// An authorization code as stored (by the SHA-256 of the code).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthCode {
    /// SHA-256 of the code.
    pub hash: [u8; 32],
    /// The client it was issued to.
    pub client_id: String,
    /// The account that authorized it.
    pub account_id: AccountId,
    /// The request it answers.
    pub grant: CodeGrant,
    /// End of its life (60 s after issue).
    pub expires_at: OffsetDateTime,
    /// When it was exchanged.
    pub used_at: Option<OffsetDateTime>,
    /// The session opened by the exchange.
    pub session_id: Option<SessionId>,
}

/// What presenting a code did ([`ProviderStore::use_auth_code`]).
#[derive(Debug, Clone, PartialEq)]
pub enum CodeUse {
    /// Unused and live: now used, bound to the session given.
    Fresh(AuthCode),
    /// Already used: the session issued from it should be revoked.
    Reused(AuthCode),
    /// Unknown or expired.
    Invalid,
}

/// An account's consent to a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    /// The account.
    pub account_id: AccountId,
    /// The client.
    pub client_id: String,
    /// The scopes consented to.
    pub scopes: Vec<String>,
    /// When (last) granted.
    pub granted_at: OffsetDateTime,
}

/// OAuth clients, authorization codes and consents of the OpenID Provider.
#[async_trait]
pub trait ProviderStore: Send + Sync {
    /// Register a client (its id is new) with its audit event.
    async fn insert_oauth_client(&self, client: &OAuthClient, audit: &AuditEvent) -> Result<()>;
    /// A client by id.
    async fn oauth_client(&self, client_id: &str) -> Result<Option<OAuthClient>>;
    /// Every client, oldest first.
    async fn oauth_clients(&self) -> Result<Vec<OAuthClient>>;
    /// Replace a client's row (matched by id) and record `audit`; false if gone.
    async fn update_oauth_client(&self, client: &OAuthClient, audit: &AuditEvent) -> Result<bool>;
    /// Delete a client with its codes and consents, recording `audit`, in one
    /// transaction. `None` if absent, else the accounts that had consented
    /// (whose sessions of the client the caller revokes).
    async fn delete_oauth_client(
        &self,
        client_id: &str,
        audit: &AuditEvent,
    ) -> Result<Option<Vec<AccountId>>>;
    /// Store a new authorization code with its audit event. `NotFound` when
    /// the client or the account is gone.
    async fn insert_auth_code(&self, code: &AuthCode, audit: &AuditEvent) -> Result<()>;
    /// Atomically use a code: an unused, unexpired code becomes used at
    /// `now`, bound to `session` ([`CodeUse::Fresh`]); a used one (expired
    /// or not) is [`CodeUse::Reused`] with the session it was bound to;
    /// anything else [`CodeUse::Invalid`]. Of two concurrent calls with one
    /// code, exactly one gets `Fresh`.
    async fn use_auth_code(
        &self,
        hash: &[u8; 32],
        session: SessionId,
        now: OffsetDateTime,
    ) -> Result<CodeUse>;
    /// Insert or replace the consent of (account, client) with its audit event.
    async fn put_consent(&self, consent: &Consent, audit: &AuditEvent) -> Result<()>;
    /// The consent of an account to a client.
    async fn consent(&self, account: AccountId, client_id: &str) -> Result<Option<Consent>>;
    /// Every consent of an account, oldest first.
    async fn consents_of(&self, account: AccountId) -> Result<Vec<Consent>>;
    /// Withdraw a consent, recording `audit`; false if there was none.
    async fn delete_consent(
        &self,
        account: AccountId,
        client_id: &str,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Delete codes that expired before `before`; returns how many.
    async fn prune_auth_codes(&self, before: OffsetDateTime) -> Result<u64>;
}
