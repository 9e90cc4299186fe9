//! Service accounts and the API keys an administrator issues.
//!
//! A service account ([`AccountKind::Service`]) has no password and can never
//! sign in interactively: a login with its name answers `invalid_credentials`
//! exactly as a wrong password does, no session is ever opened for it, and no
//! password-reset mail is sent to it. It acts only through its API keys.
//!
//! An administrator issues keys with [`ApiKeys::admin_create_api_key`]:
//! - without an account, a new service account named after the key is created
//!   with the key, in one transaction;
//! - for a service account, the key gets the scopes the admin gives and the
//!   account's scopes are widened to hold them (same transaction);
//! - for a person's account, the key's scopes must be ones the person holds
//!   (422 otherwise): issuing a key never grants a person a new scope.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use warden_core::{Auth, Error, Settings, model::ClientInfo, store::MemoryStore};
//! use warden_core::api_key::NewApiKey;
//! let mut settings = Settings::default();
//! settings.hash = warden_core::password::HashParams { memory_kib: 64, iterations: 1, parallelism: 1 };
//! let auth = Auth::new(Arc::new(MemoryStore::new()), settings).await?;
//! let by = ClientInfo::default();
//! let key = NewApiKey { scopes: Some(vec!["reports:read".into()]), ..NewApiKey::named("nightly-report") };
//! let issued = auth.api_keys().admin_create_api_key(None, key, &by).await?;
//! let owner = auth.accounts().account(issued.record.account_id).await?;
//! assert!(owner.is_service());
//! assert_eq!(owner.login, "nightly-report");
//! assert!(owner.has_scope("reports:read"));
//! let login = auth.sessions().login("nightly-report", "anything at all", false, &by).await;
//! assert!(matches!(login, Err(Error::InvalidCredentials)));
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```

use crate::accounts::{Accounts, check_usable, valid_scope};
use crate::api_key::{ApiKeys, IssuedApiKey, NewApiKey};
use crate::error::{Error, FieldError, Result};
use crate::model::{Account, AccountId, AccountKind, ClientInfo};
use crate::password::Login;
use time::OffsetDateTime;

/// Input of [`Accounts::create_service_account`].
#[derive(Debug, Clone, Default)]
pub struct NewServiceAccount {
    /// Its name, which is its login (same rules, unique among all logins).
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Application properties (a JSON object).
    pub properties: Option<serde_json::Value>,
}

impl Accounts {
    /// A checked, not yet stored service account; login errors are reported
    /// on `field` (`name`).
    pub(crate) fn service_account_record(
        &self,
        input: &NewServiceAccount,
        now: OffsetDateTime,
    ) -> Result<Account> {
        let mut errors = Vec::new();
        let login = Login::parse(input.name.trim())
            .map_err(|e| errors.push(FieldError::new("name", e.message)))
            .ok();
        let mut scopes = input.scopes.clone();
        scopes.sort();
        scopes.dedup();
        if let Some(bad) = scopes.iter().find(|s| !valid_scope(s)) {
            errors.push(FieldError::new("scopes", format!("invalid scope {bad:?}")));
        }
        let properties = match &input.properties {
            None | Some(serde_json::Value::Null) => serde_json::json!({}),
            Some(v @ serde_json::Value::Object(_)) => v.clone(),
            Some(_) => {
                errors.push(FieldError::new("properties", "must be a JSON object"));
                serde_json::json!({})
            }
        };
        let Some(login) = login.filter(|_| errors.is_empty()) else {
            return Err(Error::Validation(errors));
        };
        Ok(Account {
            id: AccountId::new(),
            kind: AccountKind::Service,
            login: login.as_str().to_owned(),
            email: None,
            email_verified: false,
            active: true,
            blocked: false,
            block_reason: None,
            mfa_enabled: false,
            scopes,
            properties,
            password_hash: None,
            password_changed_at: now,
            created_at: now,
            updated_at: now,
        })
    }

    /// `LoginTaken` when an account holds the login (a stored, prepared
    /// one) or a look-alike of it already.
    pub(crate) async fn check_login_free(&self, login: &str) -> Result<()> {
        let login = Login::parse(login).map_err(|e| Error::Validation(vec![e]))?;
        crate::accounts::ensure_login_free(self.store.as_ref(), &login, None).await
    }

    /// The `service_account.created` event of a new service account.
    pub(crate) fn service_account_event(
        &self,
        a: &Account,
        client: &ClientInfo,
    ) -> crate::model::AuditEvent {
        self.shared.audit(
            "service_account.created",
            Some(a.id),
            client,
            serde_json::json!({"login": a.login, "scopes": a.scopes}),
        )
    }

    /// Create a service account (admin, CLI): no password, no email, never
    /// signs in interactively. 409 `login_taken` when the name is a taken login.
    pub async fn create_service_account(
        &self,
        input: NewServiceAccount,
        client: &ClientInfo,
    ) -> Result<Account> {
        let account = self.service_account_record(&input, self.shared.now())?;
        self.check_login_free(&account.login).await?;
        let ev = self.service_account_event(&account, client);
        self.store.insert_account(&account, &ev).await?;
        Ok(account)
    }
}

impl ApiKeys {
    /// Issue a key as an administrator (see the [module docs](self)): for
    /// `account`, or, without one, for a new service account named after the
    /// key (its login: same rules, errors on `name`; 409 `login_taken`),
    /// created in the same transaction as the key. The key string is shown once.
    pub async fn admin_create_api_key(
        &self,
        account: Option<AccountId>,
        input: NewApiKey,
        client: &ClientInfo,
    ) -> Result<IssuedApiKey> {
        let now = self.shared.now();
        let Some(id) = account else {
            return self.key_with_new_service_account(input, now, client).await;
        };
        let owner = self.accounts.account(id).await?;
        check_usable(&owner)?;
        if !owner.is_service() {
            return self.create_api_key(id, input, client).await;
        }
        let checked = self.check_new_key(&input, &owner.scopes, None, now)?;
        self.check_key_room(id).await?;
        let added: Vec<&String> = checked.1.iter().filter(|s| !owner.has_scope(s)).collect();
        let widened = (!added.is_empty()).then(|| {
            self.shared.audit(
                "account.scopes_changed",
                Some(id),
                client,
                serde_json::json!({"added": added, "reason": "api_key"}),
            )
        });
        let (issued, ev) = self.new_key_record(id, checked, now, client);
        let events: Vec<_> = std::iter::once(ev).chain(widened).collect();
        let done = self
            .store
            .insert_api_key_with_owner(None, &issued.record, &events)
            .await;
        self.accounts.forget_account(id);
        done?;
        Ok(issued)
    }

    async fn key_with_new_service_account(
        &self,
        input: NewApiKey,
        now: OffsetDateTime,
        client: &ClientInfo,
    ) -> Result<IssuedApiKey> {
        let wanted = NewServiceAccount {
            name: input.name.clone(),
            scopes: input.scopes.clone().unwrap_or_default(),
            properties: None,
        };
        let mut errors = Vec::new();
        let owner = match self.accounts.service_account_record(&wanted, now) {
            Ok(a) => Some(a),
            Err(Error::Validation(v)) => {
                errors.extend(v);
                None
            }
            Err(e) => return Err(e),
        };
        let checked = match self.check_new_key(&input, &[], None, now) {
            Ok(c) => Some(c),
            Err(Error::Validation(v)) => {
                // One message per field: the login rules already spoke for `name`.
                for e in v {
                    if !errors.iter().any(|o| o.field == e.field) {
                        errors.push(e);
                    }
                }
                None
            }
            Err(e) => return Err(e),
        };
        let (Some(owner), Some(checked)) = (owner, checked) else {
            return Err(Error::Validation(errors));
        };
        self.accounts.check_login_free(&owner.login).await?;
        let account_ev = self.accounts.service_account_event(&owner, client);
        let (issued, key_ev) = self.new_key_record(owner.id, checked, now, client);
        self.store
            .insert_api_key_with_owner(Some(&owner), &issued.record, &[account_ev, key_ev])
            .await?;
        Ok(issued)
    }
}
