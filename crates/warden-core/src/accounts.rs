//! Accounts: registration and creation, the account cache, the password
//! check under the login gate, password and login changes, and
//! administration (patch, block, delete, the audit trail).

use crate::caches::AccountCache;
use crate::error::{Error, FieldError, Result};
use crate::imported_hash;
use crate::login_gate::{GateKey, LoginGate};
use crate::mail_tokens::MailTokens;
use crate::model::{
    Account, AccountId, AccountPatch, AuditEvent, ClientInfo, NewAccount, normalize_email,
    normalize_login,
};
use crate::password::{Login, PASSWORD_MAX, Password, check_email};
use crate::settings::Registration;
use crate::shared::Shared;
use crate::store::{AccountQuery, AccountStore, AuditQuery, AuditStore, Revoke};
use crate::token::Claims;
use crate::upkeep::Upkeep;
use std::sync::Arc;

/// Whether a scope name is allowed (1–64 printable ASCII, no quote or backslash).
pub(crate) fn valid_scope(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
}

/// `LoginTaken` unless a new login is free: no account (other than `except`,
/// the one being renamed) has its key or its confusable skeleton. Every entry
/// point that takes a new login calls it after [`Login::parse`], before paying
/// for a hash; the store's unique indexes decide races.
pub(crate) async fn ensure_login_free(
    store: &dyn AccountStore,
    login: &Login,
    except: Option<AccountId>,
) -> Result<()> {
    let other = |a: &Option<Account>| a.as_ref().is_some_and(|a| Some(a.id) != except);
    if other(&store.account_by_login(&login.key()).await?)
        || other(&store.account_by_login_skeleton(&login.skeleton()).await?)
    {
        return Err(Error::LoginTaken);
    }
    Ok(())
}

/// The account a typed login names: by its key, and first by its old key (the
/// text lower-cased) when that differs, so that an account stored before the
/// PRECIS rules whose new key collides with another's still signs in with
/// its login as it was typed (see [`crate::store::LoginCollision`]).
pub(crate) async fn account_by_typed_login(
    store: &dyn AccountStore,
    typed: &str,
) -> Result<Option<Account>> {
    let key = normalize_login(typed);
    let legacy = crate::login_rules::legacy_login_key(typed);
    if legacy != key
        && let Some(a) = store.account_by_login(&legacy).await?
    {
        return Ok(Some(a));
    }
    store.account_by_login(&key).await
}

/// `AccountBlocked` / `AccountInactive` unless the account may sign in.
pub(crate) fn check_usable(account: &Account) -> Result<()> {
    if account.blocked {
        return Err(Error::AccountBlocked);
    }
    if !account.active {
        return Err(Error::AccountInactive);
    }
    Ok(())
}

/// How a new account's password arrives: typed (hashed here with Argon2id)
/// or as a hash made by another system (kept until the first sign-in).
enum NewSecret {
    Password(Password),
    Imported(String, imported_hash::Scheme),
}

/// Account operations (see [`crate::Auth::accounts`]).
#[derive(Clone)]
pub struct Accounts {
    pub(crate) store: Arc<dyn AccountStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) cache: Arc<AccountCache>,
    pub(crate) gate: LoginGate,
    pub(crate) mail: MailTokens,
    pub(crate) upkeep: Upkeep,
}

impl Accounts {
    fn validate_new(
        &self,
        input: &NewAccount,
    ) -> Result<(Login, NewSecret, Option<String>, serde_json::Value)> {
        let mut errors = Vec::new();
        let login = Login::parse(&input.login).map_err(|e| errors.push(e)).ok();
        let secret = match (input.password_hash.as_deref(), input.password.is_empty()) {
            (None, _) => Password::parse(&input.password)
                .map(NewSecret::Password)
                .map_err(|e| errors.push(e))
                .ok(),
            (Some(hash), true) => imported_hash::check(hash)
                .map(|scheme| NewSecret::Imported(hash.to_owned(), scheme))
                .map_err(|e| errors.push(e))
                .ok(),
            (Some(_), false) => {
                errors.push(FieldError::new(
                    "password_hash",
                    "give either password or password_hash, not both",
                ));
                None
            }
        };
        if let (Some(l), Some(NewSecret::Password(_))) = (&login, &secret)
            && normalize_login(&input.password) == l.key()
        {
            errors.push(FieldError::new("password", "must not be the login"));
        }
        let email = match input.email.as_deref() {
            None | Some("") => None,
            Some(e) => check_email(e).map_err(|e| errors.push(e)).ok(),
        };
        let properties = match &input.properties {
            None | Some(serde_json::Value::Null) => serde_json::json!({}),
            Some(v @ serde_json::Value::Object(_)) => v.clone(),
            Some(_) => {
                errors.push(FieldError::new("properties", "must be a JSON object"));
                serde_json::json!({})
            }
        };
        for s in &input.scopes {
            if !valid_scope(s) {
                errors.push(FieldError::new("scopes", format!("invalid scope {s:?}")));
            }
        }
        match (login, secret) {
            (Some(l), Some(p)) if errors.is_empty() => Ok((l, p, email, properties)),
            _ => Err(Error::Validation(errors)),
        }
    }

    /// Self-service registration (refused with 403 when registration is closed).
    pub async fn register(&self, input: NewAccount, client: &ClientInfo) -> Result<Account> {
        let settings = &self.shared.settings;
        if settings.registration == Registration::Closed {
            return Err(Error::Forbidden("registration is closed".into()));
        }
        let input = self
            .shared
            .hooks()
            .run_before_register(input, client)
            .await?;
        if input.password_hash.is_some() {
            return Err(Error::field(
                "password_hash",
                "is accepted only when an administrator creates or imports an account",
            ));
        }
        let require = settings.require_verified_email;
        if require && input.email.as_deref().is_none_or(|e| e.trim().is_empty()) {
            return Err(Error::field(
                "email",
                "is required: accounts are active once their email is verified",
            ));
        }
        let input = NewAccount {
            scopes: Vec::new(),
            active: require.then_some(false),
            ..input
        };
        let account = self.create(input, "account.registered", client).await?;
        if require {
            self.mail.issue_verification(&account, client).await?;
        }
        Ok(account)
    }

    /// Create an account with any scopes (admin, CLI and application code),
    /// with a password or an imported `password_hash`.
    pub async fn create_account(&self, input: NewAccount, client: &ClientInfo) -> Result<Account> {
        self.create(input, "account.created", client).await
    }

    async fn create(&self, input: NewAccount, event: &str, client: &ClientInfo) -> Result<Account> {
        self.create_at(input, event, client, None).await
    }

    /// [`Accounts::create`], with the creation time of an imported account
    /// (`None`: now).
    pub(crate) async fn create_at(
        &self,
        input: NewAccount,
        event: &str,
        client: &ClientInfo,
        created_at: Option<time::OffsetDateTime>,
    ) -> Result<Account> {
        let (login, secret, email, properties) = self.validate_new(&input)?;
        let now = self.shared.now();
        if created_at.is_some_and(|t| t > now) {
            return Err(Error::field("created_at", "is in the future"));
        }
        // Refuse a taken (or look-alike) login before paying for a hash.
        ensure_login_free(self.store.as_ref(), &login, None).await?;
        let (hash, imported) = match secret {
            NewSecret::Password(p) => (self.shared.hasher.hash(p.expose()).await?, None),
            NewSecret::Imported(hash, scheme) => (hash, Some(scheme.name())),
        };
        let mut scopes = input.scopes.clone();
        scopes.sort();
        scopes.dedup();
        let account = Account {
            id: AccountId::new(),
            kind: crate::model::AccountKind::Person,
            login: login.as_str().to_owned(),
            email,
            email_verified: false,
            active: input.active.unwrap_or(true),
            blocked: false,
            block_reason: None,
            mfa_enabled: false,
            scopes,
            properties,
            password_hash: Some(hash),
            password_changed_at: now,
            created_at: created_at.unwrap_or(now),
            updated_at: now,
        };
        let mut detail = serde_json::json!({"login": account.login, "scopes": account.scopes});
        if let Some(scheme) = imported {
            detail["password_hash"] = scheme.into();
        }
        let ev = self.shared.audit(event, Some(account.id), client, detail);
        self.store.insert_account(&account, &ev).await?;
        Ok(account)
    }

    /// The account a typed login names (as a sign-in finds it: by the login's
    /// key, see [`crate::login_rules`]), if any.
    pub async fn account_by_login(&self, typed: &str) -> Result<Option<Account>> {
        account_by_typed_login(self.store.as_ref(), typed).await
    }

    /// Accounts stored before the current login rules that could not take
    /// their key or skeleton because an older account holds it (see
    /// [`AccountStore::prepare_logins`]): brings the others up to the rules
    /// and lists these, never merging or changing them.
    pub async fn login_collisions(&self) -> Result<Vec<crate::store::LoginCollision>> {
        self.store.prepare_logins().await
    }

    /// An account by id, from the cache when possible.
    pub async fn account(&self, id: AccountId) -> Result<Arc<Account>> {
        if let Some(a) = self.cache.get(&id) {
            return Ok(a);
        }
        let a = Arc::new(self.store.account_by_id(id).await?.ok_or(Error::NotFound)?);
        self.cache.insert(id, a.clone());
        Ok(a)
    }

    pub(crate) fn forget_account(&self, id: AccountId) {
        self.cache.forget(&id);
    }

    /// Write an account change (with revocations and audit) and refresh caches.
    pub(crate) async fn write_account(
        &self,
        account: &Account,
        revoke: Revoke,
        audit: &[AuditEvent],
    ) -> Result<()> {
        self.store
            .update_account(account, revoke, self.shared.now(), audit)
            .await?;
        self.forget_account(account.id);
        if revoke != Revoke::Nothing {
            self.upkeep.sync().await?;
        }
        Ok(())
    }

    /// Check a password for a login, under the login gate. Returns the
    /// account on success. Unknown logins verify a dummy hash (same timing).
    pub(crate) async fn check_password(
        &self,
        login: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Account> {
        if password.chars().count() > PASSWORD_MAX {
            return Err(Error::field(
                "password",
                format!("must be at most {PASSWORD_MAX} characters"),
            ));
        }
        let key = normalize_login(login);
        let lock = GateKey::Login(key.clone());
        self.gate.begin(&lock).await?;
        let account = match account_by_typed_login(self.store.as_ref(), login).await {
            Ok(a) => a,
            Err(e) => {
                let _ = self.gate.clear(&lock).await;
                return Err(e);
            }
        };
        // A service account never signs in with a password: it verifies the
        // dummy hash, as an unknown login does, and fails the same way.
        let ok = self
            .shared
            .hasher
            .verify(
                password,
                account
                    .as_ref()
                    .filter(|a| !a.is_service())
                    .and_then(|a| a.password_hash.as_deref()),
            )
            .await?;
        if ok && let Some(a) = account {
            self.gate.clear(&lock).await?;
            return self.upgrade_hash(a, password, client).await;
        }
        let locked = self.gate.failed(&lock).await?;
        let id = account.as_ref().map(|a| a.id);
        let reason = match &account {
            Some(a) if a.is_service() => "service_account",
            Some(_) => "bad_password",
            None => "unknown_login",
        };
        self.audit
            .append_audit(&self.shared.audit(
                "login.failure",
                id,
                client,
                serde_json::json!({"reason": reason}),
            ))
            .await?;
        if let Some(secs) = locked {
            self.audit
                .append_audit(&self.shared.audit(
                    "login.lockout",
                    id,
                    client,
                    serde_json::json!({"seconds": secs}),
                ))
                .await?;
        }
        Err(Error::InvalidCredentials)
    }

    /// After a successful check against a hash that is not Warden's Argon2id
    /// (an imported one, or argon2i): hash the password with Argon2id on the
    /// hash pool and swap it in, a compare-and-swap with the hash just
    /// verified (a password change that came first wins), audited as
    /// `password.rehashed` in the same transaction.
    async fn upgrade_hash(
        &self,
        mut account: Account,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Account> {
        let Some(old) = account
            .password_hash
            .clone()
            .filter(|h| imported_hash::needs_upgrade(h))
        else {
            return Ok(account);
        };
        let new = self.shared.hasher.hash(password).await?;
        let from = imported_hash::check(&old).map_or("unknown", imported_hash::Scheme::name);
        let now = self.shared.now();
        let ev = self.shared.audit(
            "password.rehashed",
            Some(account.id),
            client,
            serde_json::json!({"from": from, "to": "argon2id"}),
        );
        if self
            .store
            .replace_password_hash(account.id, &old, &new, now, &ev)
            .await?
        {
            self.forget_account(account.id);
            account.password_hash = Some(new);
            account.updated_at = now;
        }
        Ok(account)
    }

    /// The account's own password, checked as a login is (counted by the gate).
    pub(crate) async fn verify_own_password(
        &self,
        account: &Account,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Account> {
        match self.check_password(&account.login, password, client).await {
            Ok(a) if a.id == account.id => Ok(a),
            Ok(_) => Err(Error::InvalidCredentials),
            Err(e) => Err(e),
        }
    }

    /// Change the password: needs a fresh token and the current password;
    /// every other session is revoked. An account without a password
    /// (passkey-only, or signed up through an external provider) sets its
    /// first one with a fresh token alone (`current` is ignored).
    pub async fn change_password(
        &self,
        claims: &Claims,
        current: &str,
        new: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        if !claims.fresh {
            return Err(Error::FreshTokenRequired);
        }
        let new =
            Password::parse_field(new, "new_password").map_err(|e| Error::Validation(vec![e]))?;
        let account = self.account(claims.sub).await?;
        if account.is_service() {
            return Err(Error::Forbidden("a service account has no password".into()));
        }
        if normalize_login(new.expose()) == account.login_key() {
            return Err(Error::field("new_password", "must not be the login"));
        }
        let (mut account, event) = if account.password_hash.is_some() {
            let a = self.verify_own_password(&account, current, client).await?;
            (a, "password.changed")
        } else {
            check_usable(&account)?;
            ((*account).clone(), "password.set")
        };
        let hash = self.shared.hasher.hash(new.expose()).await?;
        let now = self.shared.now();
        account.password_hash = Some(hash);
        account.password_changed_at = now;
        account.updated_at = now;
        let ev = self.shared.audit(
            event,
            Some(account.id),
            client,
            serde_json::json!({"session_id": claims.sid}),
        );
        self.write_account(&account, Revoke::AllExcept(claims.sid), &[ev])
            .await?;
        self.mail.revoke_on_password_change(account.id).await
    }

    /// Change the login (prepared by the RFC 8265 rules; still unique by key
    /// and by confusable skeleton: `LoginTaken` otherwise).
    pub async fn change_login(
        &self,
        account: AccountId,
        new_login: &str,
        client: &ClientInfo,
    ) -> Result<Account> {
        let login = Login::parse(new_login)
            .map_err(|e| Error::Validation(vec![FieldError::new("new_login", e.message)]))?;
        ensure_login_free(self.store.as_ref(), &login, Some(account)).await?;
        let mut a = (*self.account(account).await?).clone();
        let old = std::mem::replace(&mut a.login, login.as_str().to_owned());
        a.updated_at = self.shared.now();
        let ev = self.shared.audit(
            "login.changed",
            Some(a.id),
            client,
            serde_json::json!({"from": old, "to": a.login}),
        );
        self.write_account(&a, Revoke::Nothing, &[ev]).await?;
        Ok(a)
    }

    // ----- administration ----------------------------------------------------

    /// Accounts page by page (ordered by id; `after` is the cursor).
    pub async fn list_accounts(&self, query: &AccountQuery) -> Result<Vec<Account>> {
        self.store.list_accounts(query).await
    }

    /// Apply an admin patch.
    pub async fn update_account(
        &self,
        id: AccountId,
        patch: AccountPatch,
        client: &ClientInfo,
    ) -> Result<Account> {
        let mut a = (*self.account(id).await?).clone();
        let mut errors = Vec::new();
        let mut detail = serde_json::Map::new();
        let mut events = Vec::new();
        let mut revoke = Revoke::Nothing;
        let mut renamed = None;
        if let Some(new_login) = patch.login.as_deref() {
            match Login::parse(new_login) {
                Ok(l) if l.as_str() != a.login => {
                    ensure_login_free(self.store.as_ref(), &l, Some(a.id)).await?;
                    let old = std::mem::replace(&mut a.login, l.as_str().to_owned());
                    renamed = Some(old);
                }
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        if let Some(active) = patch.active {
            if a.active && !active {
                revoke = Revoke::All;
            }
            a.active = active;
            detail.insert("active".into(), active.into());
        }
        if let Some(mut scopes) = patch.scopes {
            scopes.sort();
            scopes.dedup();
            if let Some(bad) = scopes.iter().find(|s| !valid_scope(s)) {
                errors.push(FieldError::new("scopes", format!("invalid scope {bad:?}")));
            }
            if scopes != a.scopes {
                events.push(self.shared.audit(
                    "account.scopes_changed",
                    Some(id),
                    client,
                    serde_json::json!({"from": a.scopes, "to": scopes}),
                ));
                a.scopes = scopes;
            }
        }
        if let Some(p) = patch.properties {
            if p.is_object() {
                a.properties = p;
                detail.insert("properties".into(), true.into());
            } else {
                errors.push(FieldError::new("properties", "must be a JSON object"));
            }
        }
        if let Some(email) = patch.email {
            match email.as_deref().map(check_email) {
                None => a.email = None,
                Some(Ok(e)) => {
                    if a.email.as_deref().map(normalize_email) != Some(normalize_email(&e)) {
                        a.email_verified = false;
                    }
                    a.email = Some(e);
                }
                Some(Err(e)) => errors.push(e),
            }
            detail.insert("email".into(), true.into());
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        if let Some(old) = renamed {
            detail.insert("login".into(), true.into());
            events.push(self.shared.audit(
                "account.renamed",
                Some(id),
                client,
                serde_json::json!({"from": old, "to": a.login}),
            ));
        }
        a.updated_at = self.shared.now();
        events.push(self.shared.audit(
            "account.updated",
            Some(id),
            client,
            serde_json::Value::Object(detail),
        ));
        self.write_account(&a, revoke, &events).await?;
        Ok(a)
    }

    /// Replace an account's scopes.
    pub async fn set_scopes(
        &self,
        id: AccountId,
        scopes: Vec<String>,
        client: &ClientInfo,
    ) -> Result<Account> {
        self.update_account(
            id,
            AccountPatch {
                scopes: Some(scopes),
                ..AccountPatch::default()
            },
            client,
        )
        .await
    }

    /// Delete an account and every session of it.
    pub async fn delete_account(&self, id: AccountId, client: &ClientInfo) -> Result<()> {
        let ev = self
            .shared
            .audit("account.deleted", Some(id), client, serde_json::json!({}));
        if !self
            .store
            .delete_account(id, self.shared.now(), &ev)
            .await?
        {
            return Err(Error::NotFound);
        }
        self.forget_account(id);
        self.upkeep.sync().await?;
        Ok(())
    }

    /// Block an account: every session is revoked at once; login answers `account_blocked`.
    pub async fn block_account(
        &self,
        id: AccountId,
        reason: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        if reason.chars().count() > 500 {
            return Err(Error::field("reason", "must be at most 500 characters"));
        }
        let mut a = (*self.account(id).await?).clone();
        a.blocked = true;
        a.block_reason = Some(reason.to_owned());
        a.updated_at = self.shared.now();
        let ev = self.shared.audit(
            "account.blocked",
            Some(id),
            client,
            serde_json::json!({"reason": reason}),
        );
        self.write_account(&a, Revoke::All, &[ev]).await
    }

    /// Unblock an account and clear its lockout.
    pub async fn unblock_account(&self, id: AccountId, client: &ClientInfo) -> Result<()> {
        let mut a = (*self.account(id).await?).clone();
        a.blocked = false;
        a.block_reason = None;
        a.updated_at = self.shared.now();
        let ev = self
            .shared
            .audit("account.unblocked", Some(id), client, serde_json::json!({}));
        self.write_account(&a, Revoke::Nothing, &[ev]).await?;
        self.gate.clear(&GateKey::Login(a.login_key())).await
    }

    /// Whether an account is blocked, and the admin's reason.
    pub async fn block_status(&self, id: AccountId) -> Result<(bool, Option<String>)> {
        let a = self.account(id).await?;
        Ok((a.blocked, a.block_reason.clone()))
    }

    /// Query the audit trail, newest first.
    pub async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.audit.audit(query).await
    }
}
