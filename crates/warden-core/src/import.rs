//! Importing accounts from another system (`warden account import`): one
//! account per call, made by the same creation as `POST
//! /auth/admin/accounts` with `password_hash` (the same login rules, the same
//! hash formats of [`crate::imported_hash`]), and idempotent on a re-run.

use crate::accounts::Accounts;
use crate::error::Result;
use crate::model::{Account, ClientInfo, NewAccount};
use crate::password::Login;
use serde::Deserialize;
use time::OffsetDateTime;

/// One account to import: a line of `warden account import`. Unknown keys
/// are refused (a misspelt `scopes` would silently drop them).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedAccount {
    /// The login (prepared and checked as at creation).
    pub login: String,
    /// The email, if any.
    #[serde(default)]
    pub email: Option<String>,
    /// The hash the other system stored (one of [`crate::imported_hash`]'s formats).
    pub password_hash: String,
    /// Scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Application properties (a JSON object).
    #[serde(default)]
    pub properties: Option<serde_json::Value>,
    /// When the other system created it (RFC 3339; default now, never in the future).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for ImportedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedAccount")
            .field("login", &self.login)
            .field("password_hash", &"[redacted]")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// What [`Accounts::import_account`] did.
#[derive(Debug, Clone)]
pub enum ImportOutcome {
    /// A new account.
    Created(Account),
    /// An account with this login and this very hash exists already (an
    /// earlier run imported it): nothing was written.
    Unchanged(Account),
}

impl Accounts {
    /// Import one account, in its own transaction (audited as
    /// `account.created` with the hash's scheme). An account that already
    /// has this login and this hash is [`ImportOutcome::Unchanged`]; any
    /// other clash is the error of a creation (`LoginTaken` for a taken or
    /// look-alike login, `EmailTaken`, a validation error).
    pub async fn import_account(
        &self,
        input: ImportedAccount,
        client: &ClientInfo,
    ) -> Result<ImportOutcome> {
        if let Ok(login) = Login::parse(&input.login)
            && let Some(a) = self.store.account_by_login(&login.key()).await?
            && a.login == login.as_str()
            && a.password_hash.as_deref() == Some(input.password_hash.as_str())
        {
            return Ok(ImportOutcome::Unchanged(a));
        }
        let new = NewAccount {
            login: input.login,
            password: String::new(),
            password_hash: Some(input.password_hash),
            email: input.email,
            properties: input.properties,
            scopes: input.scopes,
            active: None,
        };
        let a = self
            .create_at(new, "account.created", client, input.created_at)
            .await?;
        Ok(ImportOutcome::Created(a))
    }
}
