//! Request and response bodies (the OpenAPI schemas).

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_core::TokenPair;
use warden_core::model::{Account, AccountKind, AuditEvent, Session};

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// API.md `Account.kind`: a person's account, or a service account (no
/// password, acts only through its API keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountKindBody {
    /// A person's account.
    Person,
    /// A service account.
    Service,
}

impl From<AccountKind> for AccountKindBody {
    fn from(k: AccountKind) -> Self {
        match k {
            AccountKind::Person => Self::Person,
            AccountKind::Service => Self::Service,
        }
    }
}

/// API.md `Account`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountBody {
    /// Account id (UUID v7).
    pub id: Uuid,
    /// `person` or `service`.
    pub kind: AccountKindBody,
    /// Login.
    pub login: String,
    /// Email.
    pub email: Option<String>,
    /// Email verified.
    pub email_verified: bool,
    /// May sign in.
    pub active: bool,
    /// Blocked by an admin.
    pub blocked: bool,
    /// Second factor enabled.
    pub mfa_enabled: bool,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Application properties.
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
    /// Creation time (RFC 3339).
    pub created_at: String,
}

impl From<&Account> for AccountBody {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.0,
            kind: a.kind.into(),
            login: a.login.clone(),
            email: a.email.clone(),
            email_verified: a.email_verified,
            active: a.active,
            blocked: a.blocked,
            mfa_enabled: a.mfa_enabled,
            scopes: a.scopes.clone(),
            properties: a.properties.clone(),
            created_at: rfc3339(a.created_at),
        }
    }
}

/// `{"account": Account}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountEnvelope {
    /// The new account.
    pub account: AccountBody,
    /// Its tokens, when `WARDEN_REGISTER_SIGNS_IN=true` signed it in (never
    /// when email verification is required).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenPairBody>,
}

/// API.md `TokenPair`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPairBody {
    /// JWT access token.
    pub access_token: String,
    /// Opaque refresh token; rotated on every use.
    pub refresh_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Access-token lifetime, seconds.
    pub expires_in: i64,
    /// Seconds until the session ends.
    pub refresh_expires_in: i64,
    /// Session id.
    pub session_id: Uuid,
}

impl From<&TokenPair> for TokenPairBody {
    fn from(t: &TokenPair) -> Self {
        Self {
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            token_type: t.token_type.to_owned(),
            expires_in: t.expires_in,
            refresh_expires_in: t.refresh_expires_in,
            session_id: t.session_id.0,
        }
    }
}

/// `POST /register`.
#[derive(Deserialize, ToSchema)]
pub struct RegisterBody {
    /// 3–64 letters, digits, `_ . - @`; case-insensitive and unique.
    pub login: String,
    /// 8–128 characters; common passwords are refused.
    pub password: String,
    /// Email (optional).
    #[serde(default)]
    pub email: Option<String>,
    /// Application properties (a JSON object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
    /// The captcha response token, when the human check is on.
    #[serde(default)]
    pub captcha: Option<String>,
}

/// `POST /login`.
#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    /// Login (case-insensitive).
    pub login: String,
    /// Password.
    pub password: String,
    /// Long session (720 h) instead of short (24 h).
    #[serde(default)]
    pub remember: bool,
    /// The scopes this session's tokens carry (also after the MFA step and
    /// refresh), at most the account's (else 422 on `scopes`). Absent: the
    /// account's scopes.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// The captcha response token, needed when the human check is on and a
    /// login attempt for this login failed recently.
    #[serde(default)]
    pub captcha: Option<String>,
    /// Act for this organization (id or slug) from the start: its claims are
    /// in the tokens (404 when the account is not a member). Not carried
    /// through the MFA step (activate after it).
    #[serde(default)]
    pub organization: Option<String>,
}

/// `POST /refresh` (or send the refresh cookie with an empty body).
#[derive(Deserialize, ToSchema, Default)]
pub struct RefreshBody {
    /// The current refresh token.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Act for this organization (id or slug) from now on (404 when not a
    /// member). Absent: the session keeps its organization.
    #[serde(default)]
    pub organization: Option<String>,
}

/// `POST /password`.
#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    /// The current password.
    pub current_password: String,
    /// The new password (same rules as registration).
    pub new_password: String,
}

/// `POST /fresh`.
#[derive(Deserialize, ToSchema)]
pub struct FreshBody {
    /// The account's password.
    pub password: String,
}

/// `POST /login/change`.
#[derive(Deserialize, ToSchema)]
pub struct LoginChangeBody {
    /// The new login.
    pub new_login: String,
}

/// One session in `GET /sessions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    /// Session id.
    pub id: Uuid,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last login or refresh.
    pub last_seen_at: String,
    /// Absolute end.
    pub expires_at: String,
    /// Client IP.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Long (remember-me) session.
    pub long: bool,
    /// The session of the calling token.
    pub current: bool,
    /// The OAuth client the session was opened for (OpenID Provider).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl SessionBody {
    /// From a stored session.
    pub fn new(s: &Session, current: bool) -> Self {
        Self {
            id: s.id.0,
            created_at: rfc3339(s.created_at),
            last_seen_at: rfc3339(s.last_seen_at),
            expires_at: rfc3339(s.expires_at),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            long: s.long,
            current,
            client_id: s.client_id.clone(),
        }
    }
}

/// `POST /admin/accounts`.
#[derive(Deserialize, ToSchema)]
pub struct AdminCreateBody {
    /// Login.
    pub login: String,
    /// Password (8–128 characters); give this or `password_hash`.
    #[serde(default)]
    pub password: Option<String>,
    /// A hash made by another system, instead of `password`: argon2id/argon2i
    /// (`$argon2id$...`), bcrypt (`$2a$`, `$2b$`, `$2y$`), passlib
    /// pbkdf2-sha256 (`$pbkdf2-sha256$...`), scrypt (`$scrypt$...`) or Django
    /// (`pbkdf2_sha256$...`). The first successful sign-in replaces it with
    /// Argon2id.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Active (default true).
    #[serde(default)]
    pub active: Option<bool>,
    /// Scopes (e.g. `admin`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Application properties.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
}

fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /admin/accounts/{id}`: fields absent are left alone; `email: null` clears it.
#[derive(Deserialize, ToSchema)]
pub struct AdminPatchBody {
    /// Active flag (false revokes every session).
    #[serde(default)]
    pub active: Option<bool>,
    /// Replace scopes.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Replace properties.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
    /// Set or clear (null) the email.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Rename the account (same rules as at creation; 409 `login_taken`).
    #[serde(default)]
    pub login: Option<String>,
}

/// `POST /admin/accounts/{id}/block`.
#[derive(Deserialize, ToSchema)]
pub struct BlockBody {
    /// Why (kept for admins; never shown to the account).
    #[serde(default)]
    pub reason: String,
}

/// `GET /admin/accounts/{id}/block`.
#[derive(Serialize, ToSchema)]
pub struct BlockStatusBody {
    /// Blocked.
    pub blocked: bool,
    /// The admin's reason.
    pub reason: Option<String>,
}

/// A page of accounts.
#[derive(Serialize, ToSchema)]
pub struct AccountPage {
    /// Accounts, ordered by id.
    pub items: Vec<AccountBody>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One audit event.
#[derive(Serialize, ToSchema)]
pub struct AuditEventBody {
    /// Time (RFC 3339).
    pub at: String,
    /// Account concerned.
    pub account_id: Option<Uuid>,
    /// Event name.
    pub event: String,
    /// Client IP.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Small JSON detail.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<&AuditEvent> for AuditEventBody {
    fn from(e: &AuditEvent) -> Self {
        Self {
            at: rfc3339(e.at),
            account_id: e.account_id.map(|a| a.0),
            event: e.event.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            detail: e.detail.clone(),
        }
    }
}
