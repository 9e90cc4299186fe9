//! The column lists of the backend's queries and the mapping of result rows
//! to domain values (the same on every database).

use crate::codec::{
    count, from_app_subject, from_json_list, from_json_list_opt, from_json_value, from_ts,
    from_ts_opt,
};
use crate::dialect::{Dialect, Record};
use warden_core::error::{Error, Result};
use warden_core::model::{
    Account, AccountId, AccountKind, ApiKeyId, AuditEvent, Session, SessionId, StoredKey,
};
use warden_core::store::{ApiKey, ApiKeyUsage, Identity, MfaChallenge, Passkey};

/// Columns of `accounts` as the backend selects and inserts them.
macro_rules! account_cols {
    () => {
        "id, login, email, email_verified, active, blocked, block_reason, mfa_enabled, \
         scopes, properties, password_hash, password_changed_at, created_at, updated_at, kind"
    };
}
pub(crate) use account_cols;

/// Columns of `sessions` as the backend selects and inserts them.
macro_rules! session_cols {
    () => {
        "id, account_id, created_at, last_seen_at, expires_at, ip, user_agent, long_lived, \
         amr, revoked_at, scopes, app, client_id"
    };
}
pub(crate) use session_cols;

/// Columns of `api_keys` as the backend selects and inserts them.
macro_rules! api_key_cols {
    () => {
        "id, account_id, name, secret_hash, scopes, created_at, expires_at, revoked_at"
    };
}
pub(crate) use api_key_cols;

/// Columns of `passkeys` as the backend selects and inserts them.
macro_rules! passkey_cols {
    () => {
        "id, account_id, credential_id, name, credential, backup_eligible, backup_state, \
         created_at, last_used_at"
    };
}
pub(crate) use passkey_cols;

/// Columns of `identities` as the backend selects and inserts them.
macro_rules! identity_cols {
    () => {
        "id, account_id, provider, subject, email, created_at"
    };
}
pub(crate) use identity_cols;

/// A `SELECT` of a column list: `select!(account_cols, "accounts WHERE id = $1")`.
macro_rules! select {
    ($cols:ident, $from:literal) => {
        $crate::sql::sql!(concat!("SELECT ", $crate::rows::$cols!(), " FROM ", $from))
    };
}
pub(crate) use select;

/// The stored kind name; anything else is a damaged row.
fn account_kind(s: &str) -> Result<AccountKind> {
    AccountKind::parse(s).ok_or_else(|| Error::Internal(format!("unknown account kind {s:?}")))
}

pub(crate) fn account<D: Dialect>(row: &Record<D>) -> Result<Account> {
    Ok(Account {
        id: AccountId(row.get("id")?),
        kind: account_kind(&row.get::<String>("kind")?)?,
        login: row.get("login")?,
        email: row.get("email")?,
        email_verified: row.get("email_verified")?,
        active: row.get("active")?,
        blocked: row.get("blocked")?,
        block_reason: row.get("block_reason")?,
        mfa_enabled: row.get("mfa_enabled")?,
        scopes: from_json_list(&row.get::<String>("scopes")?)?,
        properties: from_json_value(&row.get::<String>("properties")?)?,
        password_hash: row.get("password_hash")?,
        password_changed_at: from_ts(row.get("password_changed_at")?)?,
        created_at: from_ts(row.get("created_at")?)?,
        updated_at: from_ts(row.get("updated_at")?)?,
    })
}

pub(crate) fn session<D: Dialect>(row: &Record<D>) -> Result<Session> {
    Ok(Session {
        id: SessionId(row.get("id")?),
        account_id: AccountId(row.get("account_id")?),
        created_at: from_ts(row.get("created_at")?)?,
        last_seen_at: from_ts(row.get("last_seen_at")?)?,
        expires_at: from_ts(row.get("expires_at")?)?,
        ip: row.get("ip")?,
        user_agent: row.get("user_agent")?,
        long: row.get("long_lived")?,
        amr: from_json_list(&row.get::<String>("amr")?)?,
        revoked_at: from_ts_opt(row.get("revoked_at")?)?,
        scopes: from_json_list_opt(row.get("scopes")?)?,
        app: from_app_subject(row.get("app")?)?,
        client_id: row.get("client_id")?,
    })
}

pub(crate) fn audit<D: Dialect>(row: &Record<D>) -> Result<AuditEvent> {
    Ok(AuditEvent {
        at: from_ts(row.get("at")?)?,
        account_id: row.get::<Option<uuid::Uuid>>("account_id")?.map(AccountId),
        event: row.get("event")?,
        ip: row.get("ip")?,
        user_agent: row.get("user_agent")?,
        detail: from_json_value(&row.get::<String>("detail")?)?,
    })
}

pub(crate) fn signing_key<D: Dialect>(row: &Record<D>) -> Result<StoredKey> {
    Ok(StoredKey {
        kid: row.get("kid")?,
        alg: row.get("alg")?,
        private_der: row.get("private_der")?,
        created_at: from_ts(row.get("created_at")?)?,
        retired_at: from_ts_opt(row.get("retired_at")?)?,
    })
}

pub(crate) fn challenge<D: Dialect>(row: &Record<D>) -> Result<MfaChallenge> {
    Ok(MfaChallenge {
        account_id: AccountId(row.get("account_id")?),
        remember: row.get("remember")?,
        expires_at: from_ts(row.get("expires_at")?)?,
        attempts: count(row.get("attempts")?),
        scopes: from_json_list_opt(row.get("scopes")?)?,
    })
}

pub(crate) fn api_key<D: Dialect>(row: &Record<D>) -> Result<ApiKey> {
    let hash: Vec<u8> = row.get("secret_hash")?;
    Ok(ApiKey {
        id: ApiKeyId(row.get("id")?),
        account_id: AccountId(row.get("account_id")?),
        name: row.get("name")?,
        secret_hash: hash
            .try_into()
            .map_err(|_| Error::Internal("stored API key hash is not 32 bytes".into()))?,
        scopes: from_json_list(&row.get::<String>("scopes")?)?,
        created_at: from_ts(row.get("created_at")?)?,
        expires_at: from_ts_opt(row.get("expires_at")?)?,
        revoked_at: from_ts_opt(row.get("revoked_at")?)?,
    })
}

pub(crate) fn usage<D: Dialect>(row: &Record<D>) -> Result<ApiKeyUsage> {
    Ok(ApiKeyUsage {
        key_id: ApiKeyId(row.get("key_id")?),
        at: from_ts(row.get("at")?)?,
        ip: row.get("ip")?,
        method: row.get("method")?,
        path: row.get("path")?,
    })
}

pub(crate) fn identity<D: Dialect>(row: &Record<D>) -> Result<Identity> {
    Ok(Identity {
        id: row.get("id")?,
        account_id: AccountId(row.get("account_id")?),
        provider: row.get("provider")?,
        subject: row.get("subject")?,
        email: row.get("email")?,
        created_at: from_ts(row.get("created_at")?)?,
    })
}

pub(crate) fn passkey<D: Dialect>(row: &Record<D>) -> Result<Passkey> {
    Ok(Passkey {
        id: row.get("id")?,
        account_id: AccountId(row.get("account_id")?),
        credential_id: row.get("credential_id")?,
        name: row.get("name")?,
        credential: row.get("credential")?,
        backup_eligible: row.get("backup_eligible")?,
        backup_state: row.get("backup_state")?,
        created_at: from_ts(row.get("created_at")?)?,
        last_used_at: from_ts_opt(row.get("last_used_at")?)?,
    })
}
