//! Identifiers and records of the domain.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (UUID v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// Parse from the canonical text form.
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
        }
        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

id_type!(
    /// Identifies an account.
    AccountId
);
id_type!(
    /// Identifies a session (a refresh-token family).
    SessionId
);

impl AccountId {
    /// The owner id under which the sessions of an app subject (a user the
    /// application keeps itself, see [`crate::app_tokens`]) are stored: a
    /// UUID of version 8 made from the SHA-256 of the subject, the same on
    /// every node. Accounts have version-7 ids, so it is never an account's.
    ///
    /// ```
    /// use warden_core::model::AccountId;
    /// let key = AccountId::of_app_subject("user-42");
    /// assert_eq!(key, AccountId::of_app_subject("user-42"));
    /// assert!(key.is_app_subject());
    /// assert!(!AccountId::new().is_app_subject());
    /// ```
    pub fn of_app_subject(subject: &str) -> Self {
        let mut input = b"warden app subject\0".to_vec();
        input.extend_from_slice(subject.as_bytes());
        let digest = crate::random::sha256(&input);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }
    /// Whether this is the owner id of an app subject ([`AccountId::of_app_subject`]).
    pub fn is_app_subject(&self) -> bool {
        self.0.get_version_num() == 8
    }
}
id_type!(
    /// Identifies an API key (its public part; the secret is separate).
    ApiKeyId
);

/// What an account is for: a person, who signs in, or a service, which has no
/// password, never signs in interactively and acts only through its API keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// A person's account (the default).
    #[default]
    Person,
    /// A service account.
    Service,
}

impl AccountKind {
    /// The stored and JSON name: `person` or `service`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Service => "service",
        }
    }
    /// The kind of a stored name; `None` for anything else.
    ///
    /// ```
    /// use warden_core::model::AccountKind;
    /// assert_eq!(AccountKind::parse("service"), Some(AccountKind::Service));
    /// assert_eq!(AccountKind::parse("robot"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "person" => Some(Self::Person),
            "service" => Some(Self::Service),
            _ => None,
        }
    }
}

/// A stored account. `password_hash` never appears in `Debug` output or API bodies.
#[derive(Clone, PartialEq)]
pub struct Account {
    /// Account id (UUID v7).
    pub id: AccountId,
    /// Person or service account; fixed when the account is created.
    pub kind: AccountKind,
    /// Login in its prepared form (RFC 8265 `UsernameCasePreserved`: width
    /// mapping and NFC applied, case kept; see [`crate::login_rules`]).
    pub login: String,
    /// Email address, if given.
    pub email: Option<String>,
    /// Whether the email has been verified.
    pub email_verified: bool,
    /// Whether the account may sign in.
    pub active: bool,
    /// Blocked by an admin.
    pub blocked: bool,
    /// The reason an admin gave for the block (never shown to the account).
    pub block_reason: Option<String>,
    /// Whether a second factor is enabled.
    pub mfa_enabled: bool,
    /// Granted scopes (e.g. `admin`).
    pub scopes: Vec<String>,
    /// Free-form JSON object for the application.
    pub properties: serde_json::Value,
    /// PHC string of the Argon2id hash (None for accounts without a password).
    pub password_hash: Option<String>,
    /// When the password last changed.
    pub password_changed_at: OffsetDateTime,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last modification time.
    pub updated_at: OffsetDateTime,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("login", &self.login)
            .field("email", &self.email)
            .field("active", &self.active)
            .field("blocked", &self.blocked)
            .field("mfa_enabled", &self.mfa_enabled)
            .field("scopes", &self.scopes)
            .field("password_hash", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl Account {
    /// A new, active person's account with `login` as given and nothing else
    /// set (no email, password, scopes or properties), created at `now`.
    ///
    /// ```
    /// use warden_core::model::{Account, AccountKind};
    /// let a = Account::person("alice", time::OffsetDateTime::UNIX_EPOCH);
    /// assert_eq!((a.kind, a.login.as_str(), a.active), (AccountKind::Person, "alice", true));
    /// assert!(a.email.is_none() && a.scopes.is_empty() && a.password_hash.is_none());
    /// ```
    pub fn person(login: &str, now: OffsetDateTime) -> Self {
        Self {
            id: AccountId::new(),
            kind: AccountKind::Person,
            login: login.to_owned(),
            email: None,
            email_verified: false,
            active: true,
            blocked: false,
            block_reason: None,
            mfa_enabled: false,
            scopes: Vec::new(),
            properties: serde_json::json!({}),
            password_hash: None,
            password_changed_at: now,
            created_at: now,
            updated_at: now,
        }
    }

    /// The login's key, used for uniqueness and lookup (RFC 8265
    /// `UsernameCaseMapped`; see [`crate::login_rules::login_key`]).
    pub fn login_key(&self) -> String {
        normalize_login(&self.login)
    }
    /// Whether this is a service account (no password, no interactive sign-in).
    pub fn is_service(&self) -> bool {
        self.kind == AccountKind::Service
    }
    /// The login's TR39 confusable skeleton (see
    /// [`crate::login_rules::login_skeleton`]).
    pub fn login_skeleton(&self) -> String {
        crate::login_rules::login_skeleton(&self.login)
    }
    /// Whether the account has a scope.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// The key of a typed login (width-mapped, lower-cased, NFC: RFC 8265
/// `UsernameCaseMapped`), as stored and looked up; see [`crate::login_rules`].
pub fn normalize_login(login: &str) -> String {
    crate::login_rules::login_key(login)
}

/// Emails compare case-insensitively: this is the stored key.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A stored session: one refresh-token family of one device. Serializable, so
/// that a store may keep it as one document (the Redis session store does).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Session id (the `sid` claim).
    pub id: SessionId,
    /// Owner.
    pub account_id: AccountId,
    /// Created at login.
    pub created_at: OffsetDateTime,
    /// Last refresh or login.
    pub last_seen_at: OffsetDateTime,
    /// Absolute end of the session.
    pub expires_at: OffsetDateTime,
    /// Client IP at last use.
    pub ip: Option<String>,
    /// Client user agent at last use.
    pub user_agent: Option<String>,
    /// `remember: true` at login.
    pub long: bool,
    /// Authentication methods used (`pwd`, `otp`, ...).
    pub amr: Vec<String>,
    /// When revoked, if revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// The scopes asked for at login (`None`: the account's). Its tokens carry
    /// these as far as the account still has them. An app subject's session
    /// always has its scopes here.
    pub scopes: Option<Vec<String>>,
    /// Set for the session of an app subject (opened by
    /// [`crate::app_tokens::AppTokens::issue`]): then `account_id` is
    /// [`AccountId::of_app_subject`] of its subject and no account exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppSubject>,
    /// Set for a session opened for an OAuth client of Warden's OpenID
    /// Provider ([`crate::provider`]): the client's id. Its tokens go to
    /// that client only, and deleting the client revokes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Who an app subject's session belongs to, and the claims its tokens carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSubject {
    /// The application's own id of the user (the tokens' `sub`).
    pub subject: String,
    /// The extra claims the application chose at issue; every access token
    /// of the session carries them.
    #[serde(default)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl Session {
    /// Whether the session can still be used at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
    /// Whether this is an app subject's session (no account behind it).
    pub fn is_app(&self) -> bool {
        self.app.is_some()
    }
}

/// One row of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The account concerned, if known.
    pub account_id: Option<AccountId>,
    /// Event name, e.g. `login.success`.
    pub event: String,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Small JSON detail; never holds a secret.
    pub detail: serde_json::Value,
}

/// Where a request came from; recorded on sessions and audit events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// Client IP (from the socket, or a trusted proxy header).
    pub ip: Option<String>,
    /// User agent header, truncated.
    pub user_agent: Option<String>,
    /// Who acts, when it is not the account the event is about: an admin
    /// (by token, API key or page session), the admin secret, or the CLI.
    /// Recorded in audit events as `actor` (and `actor_id`).
    pub actor: Option<Actor>,
}

/// Who performed an administrative change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An account with the `admin` scope.
    Account {
        /// The admin's id.
        id: AccountId,
        /// The admin's login at the time.
        login: String,
    },
    /// A caller holding the shared admin secret.
    AdminSecret,
    /// The `warden` command line.
    Cli,
}

/// A signing key as stored.
#[derive(Clone, PartialEq)]
pub struct StoredKey {
    /// Key id (`kid`).
    pub kid: String,
    /// Algorithm name (`EdDSA`, `RS256`, `ES256`).
    pub alg: String,
    /// Private key, PKCS#8 DER.
    pub private_der: Vec<u8>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// When it stopped signing (retired keys still verify until tokens expire).
    pub retired_at: Option<OffsetDateTime>,
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_der", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

/// Input for a new account (registration or admin creation).
#[derive(Clone, Default)]
pub struct NewAccount {
    /// Login (3–64 of letters, digits, `_ . - @`).
    pub login: String,
    /// Password (8–128 characters, not common). Empty when `password_hash` is given.
    pub password: String,
    /// A password hash made by another system, instead of `password` (admin
    /// creation and import only): one of the formats of
    /// [`crate::imported_hash`]. The first successful sign-in replaces it
    /// with Argon2id.
    pub password_hash: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Application properties (a JSON object).
    pub properties: Option<serde_json::Value>,
    /// Scopes (admin creation only).
    pub scopes: Vec<String>,
    /// Active (admin creation only; default true).
    pub active: Option<bool>,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("login", &self.login)
            .field("password", &"[redacted]")
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "[redacted]"),
            )
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl NewAccount {
    /// A login and password; everything else default.
    pub fn new(login: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            login: login.into(),
            password: password.into(),
            ..Self::default()
        }
    }
}

/// Changes an admin may make to an account; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    /// Active flag.
    pub active: Option<bool>,
    /// Replace scopes.
    pub scopes: Option<Vec<String>>,
    /// Replace properties (a JSON object).
    pub properties: Option<serde_json::Value>,
    /// Set (`Some(Some)`) or clear (`Some(None)`) the email.
    pub email: Option<Option<String>>,
    /// Rename: a new login (same rules as at creation, still unique).
    pub login: Option<String>,
}
