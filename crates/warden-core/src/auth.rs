//! The engine: every account and session operation of Warden, independent of HTTP.

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, FieldError, Result};
use crate::model::{
    Account, AccountId, AuditEvent, ClientInfo, Session, SessionId, normalize_email,
    normalize_login,
};
use crate::password::{Hasher, Login, PASSWORD_MAX, Password, check_email};
use crate::random;
use crate::settings::Settings;
use crate::store::{AccountQuery, AttemptGate, AuditQuery, Change, Revoke, Rotation, Store};
use crate::token::{Claims, TokenConfig, Tokens, generate_key};
use parking_lot::RwLock;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::{Duration, OffsetDateTime};

const REFRESH_PREFIX: &str = "wrt_";
const ACCOUNT_CACHE_MAX: usize = 100_000;

/// The token pair answered by login, refresh and fresh (API.md `TokenPair`).
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct TokenPair {
    /// JWT access token.
    pub access_token: String,
    /// Opaque refresh token (rotated on every use).
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: i64,
    /// Seconds until the session ends.
    pub refresh_expires_in: i64,
    /// The session id (`sid`).
    pub session_id: SessionId,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("session_id", &self.session_id)
            .finish()
    }
}

/// What a password login produced.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// Signed in.
    Tokens(TokenPair),
    /// The account has a second factor: finish with the MFA step.
    MfaRequired {
        /// Single-use token for the MFA step.
        mfa_token: String,
        /// Accepted methods.
        methods: Vec<&'static str>,
    },
}

impl LoginOutcome {
    /// The tokens, when no second step is needed.
    pub fn tokens(self) -> Option<TokenPair> {
        match self {
            LoginOutcome::Tokens(t) => Some(t),
            LoginOutcome::MfaRequired { .. } => None,
        }
    }
}

/// Input for a new account (registration or admin creation).
#[derive(Clone, Default)]
pub struct NewAccount {
    /// Login (3–64 of letters, digits, `_ . - @`).
    pub login: String,
    /// Password (8–128 characters, not common).
    pub password: String,
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
}

/// Sessions revoked recently, kept until every access token they issued has expired.
#[derive(Default)]
struct Revocations {
    set: RwLock<HashMap<SessionId, OffsetDateTime>>,
}

impl Revocations {
    fn contains(&self, sid: &SessionId) -> bool {
        self.set.read().contains_key(sid)
    }
    fn insert(&self, sid: SessionId, until: OffsetDateTime) {
        self.set.write().insert(sid, until);
    }
    fn prune(&self, now: OffsetDateTime) {
        self.set.write().retain(|_, until| *until > now);
    }
}

struct Inner {
    store: Arc<dyn Store>,
    settings: Settings,
    clock: Arc<dyn Clock>,
    hasher: Hasher,
    tokens: Tokens,
    revoked: Revocations,
    accounts: RwLock<HashMap<AccountId, Arc<Account>>>,
    feed_cursor: AtomicI64,
    sync_lock: tokio::sync::Mutex<()>,
    mfa_key: crate::mfa::EncryptionKey,
    api_keys: crate::api_key::ApiKeyState,
    hooks: RwLock<crate::hooks::Hooks>,
    mail: RwLock<Option<MailSetup>>,
}

/// The installed mailer and its renderer.
#[derive(Clone)]
pub(crate) struct MailSetup {
    pub(crate) mailer: Arc<dyn crate::mail::Mailer>,
    pub(crate) renderer: Arc<dyn crate::mail::MailRenderer>,
}

/// The Warden engine. Cheap to clone; share one per process.
///
/// Account management from Rust code (what the admin API and CLI use):
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use warden_core::{Auth, Error, NewAccount, Settings, model::ClientInfo, store::MemoryStore};
/// use warden_core::password::{HashParams, Login, Password};
///
/// // The field rules are types: reuse them in your own forms.
/// assert!(Login::parse("bob").is_ok());
/// assert!(Password::parse("12345678").is_err());
///
/// let settings = Settings { hash: HashParams { memory_kib: 64, iterations: 1, parallelism: 1 }, ..Settings::default() };
/// let auth = Auth::new(Arc::new(MemoryStore::new()), settings).await?;
/// let by = ClientInfo::default();
///
/// let mut new = NewAccount::new("bob", "correct horse battery");
/// new.scopes = vec!["admin".into()];
/// let bob = auth.create_account(new, &by).await?;
///
/// auth.block_account(bob.id, "chargeback", &by).await?;
/// assert_eq!(auth.block_status(bob.id).await?, (true, Some("chargeback".into())));
/// let refused = auth.login("bob", "correct horse battery", false, &by).await;
/// assert!(matches!(refused, Err(Error::AccountBlocked)));
///
/// auth.unblock_account(bob.id, &by).await?;
/// let bob = auth.set_scopes(bob.id, vec!["reports".into()], &by).await?;
/// assert_eq!(bob.scopes, vec!["reports".to_owned()]);
/// assert!(!auth.mfa_status(bob.id).await?);
/// auth.disable_mfa(bob.id, &by).await?; // a no-op without MFA
///
/// auth.delete_account(bob.id, &by).await?;
/// assert!(matches!(auth.account(bob.id).await, Err(Error::NotFound)));
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

pub(crate) fn valid_scope(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
}

impl Auth {
    /// Build with the system clock.
    pub async fn new(store: Arc<dyn Store>, settings: Settings) -> Result<Self> {
        Self::with_clock(store, settings, Arc::new(SystemClock)).await
    }

    /// Build with a given clock (tests).
    pub async fn with_clock(
        store: Arc<dyn Store>,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        if settings.leeway > Duration::seconds(30) || settings.leeway.is_negative() {
            return Err(Error::Internal("leeway must be between 0 and 30 s".into()));
        }
        let keys = ensure_signing_key(store.as_ref(), &settings, clock.now()).await?;
        let tokens = Tokens::new(
            TokenConfig {
                issuer: settings.issuer.clone(),
                audience: settings.audience.clone(),
                access_ttl: settings.access_ttl,
                leeway: settings.leeway,
            },
            settings.jwt_alg,
            &keys,
            settings.secret.as_deref(),
            clock.clone(),
        )?;
        let hasher = Hasher::new(settings.hash, settings.hash_concurrency)?;
        let mfa_key = crate::mfa_flow::encryption_key(store.as_ref(), &settings).await?;
        let auth = Self {
            inner: Arc::new(Inner {
                store,
                settings,
                clock,
                hasher,
                tokens,
                revoked: Revocations::default(),
                accounts: RwLock::new(HashMap::new()),
                feed_cursor: AtomicI64::new(0),
                sync_lock: tokio::sync::Mutex::new(()),
                mfa_key,
                api_keys: crate::api_key::ApiKeyState::new(),
                hooks: RwLock::new(crate::hooks::Hooks::default()),
                mail: RwLock::new(None),
            }),
        };
        auth.sync().await?;
        Ok(auth)
    }

    /// Install application hooks (replacing any set before).
    pub fn set_hooks(&self, hooks: crate::hooks::Hooks) {
        *self.inner.hooks.write() = hooks;
    }

    /// Install the mailer (and the renderer of its mails) used for
    /// verification, password-reset and email-change mails. Without one those
    /// flows answer 503.
    pub fn set_mailer(
        &self,
        mailer: Arc<dyn crate::mail::Mailer>,
        renderer: Arc<dyn crate::mail::MailRenderer>,
    ) {
        *self.inner.mail.write() = Some(MailSetup { mailer, renderer });
    }

    pub(crate) fn mail_setup(&self) -> Option<MailSetup> {
        self.inner.mail.read().clone()
    }

    /// The installed application hooks.
    pub fn hooks(&self) -> crate::hooks::Hooks {
        self.inner.hooks.read().clone()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }
    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }
    /// The clock.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }
    /// The token signer/verifier.
    pub fn tokens(&self) -> &Tokens {
        &self.inner.tokens
    }
    /// The password hasher.
    pub fn hasher(&self) -> &Hasher {
        &self.inner.hasher
    }
    /// The key that encrypts TOTP secrets.
    pub(crate) fn mfa_key(&self) -> &crate::mfa::EncryptionKey {
        &self.inner.mfa_key
    }

    /// The API-key cache and usage buffer.
    pub(crate) fn api_key_state(&self) -> &crate::api_key::ApiKeyState {
        &self.inner.api_keys
    }

    pub(crate) fn audit(
        &self,
        event: &str,
        account: Option<AccountId>,
        client: &ClientInfo,
        mut detail: serde_json::Value,
    ) -> AuditEvent {
        if let (Some(actor), Some(map)) = (&client.actor, detail.as_object_mut()) {
            use crate::model::Actor;
            let (name, id) = match actor {
                Actor::Account { id, login } => (login.clone(), Some(id.to_string())),
                Actor::AdminSecret => ("admin_secret".to_owned(), None),
                Actor::Cli => ("cli".to_owned(), None),
            };
            map.entry("actor")
                .or_insert(serde_json::Value::String(name));
            if let Some(id) = id {
                map.entry("actor_id")
                    .or_insert(serde_json::Value::String(id));
            }
        }
        AuditEvent {
            at: self.now(),
            account_id: account,
            event: event.to_owned(),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            detail,
        }
    }

    /// Pull the change feed: revoked sessions join the revocation set and changed
    /// accounts leave the cache. Returns how many entries were applied.
    pub async fn sync(&self) -> Result<usize> {
        let _g = self.inner.sync_lock.lock().await;
        let mut applied = 0;
        loop {
            let after = self.inner.feed_cursor.load(Ordering::Acquire);
            let batch = self.inner.store.changes_since(after, 1000).await?;
            let Some(last) = batch.last().map(|e| e.seq) else {
                break;
            };
            let keep = self.inner.settings.access_ttl + self.inner.settings.leeway;
            for e in &batch {
                match &e.change {
                    Change::SessionRevoked(sid, _) => {
                        self.inner.revoked.insert(*sid, e.at + keep);
                    }
                    Change::AccountChanged(id) => {
                        self.inner.accounts.write().remove(id);
                        self.inner.api_keys.forget_account(*id);
                    }
                    Change::ApiKeyRevoked(key, _) => {
                        self.inner.api_keys.forget(*key);
                    }
                }
            }
            applied += batch.len();
            self.inner.feed_cursor.store(last, Ordering::Release);
            if batch.len() < 1000 {
                break;
            }
        }
        Ok(applied)
    }

    /// Housekeeping: prune the revocation set, expired sessions, old feed entries,
    /// expired one-time tokens and OAuth states, and audit events past
    /// retention; reload signing keys.
    pub async fn housekeeping(&self) -> Result<()> {
        let now = self.now();
        self.inner.revoked.prune(now);
        let keep =
            self.inner.settings.access_ttl + self.inner.settings.leeway + Duration::minutes(5);
        self.inner.store.prune(now - keep, now - keep).await?;
        self.inner.store.prune_mfa_challenges(now).await?;
        self.inner.store.prune_one_time(now).await?;
        self.inner.store.prune_oauth_states(now).await?;
        let retention = self.inner.settings.audit_retention;
        if retention.is_positive() {
            self.inner.store.prune_audit(now - retention).await?;
        }
        self.reload_keys().await
    }

    /// Reload signing keys from the store (after `warden keys rotate`).
    pub async fn reload_keys(&self) -> Result<()> {
        let s = &self.inner.settings;
        if s.jwt_alg.is_hmac() {
            return Ok(());
        }
        let keys = self.inner.store.signing_keys().await?;
        let before = self.inner.tokens.current_kid();
        self.inner
            .tokens
            .reload(s.jwt_alg, &keys, s.secret.as_deref())?;
        if before != self.inner.tokens.current_kid() {
            tracing::info!(kid = %self.inner.tokens.current_kid(), "signing key changed");
        }
        Ok(())
    }

    /// Run [`Auth::sync`] every `every` and [`Auth::housekeeping`] every minute,
    /// until the returned handle is aborted.
    pub fn spawn_background(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let auth = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_house = std::time::Instant::now();
            loop {
                tick.tick().await;
                if let Err(e) = auth.sync().await {
                    tracing::warn!(error = %e, "change feed sync failed");
                }
                if last_house.elapsed() >= std::time::Duration::from_secs(60) {
                    last_house = std::time::Instant::now();
                    if let Err(e) = auth.housekeeping().await {
                        tracing::warn!(error = %e, "housekeeping failed");
                    }
                }
            }
        })
    }

    // ----- accounts -------------------------------------------------------

    fn validate_new(
        &self,
        input: &NewAccount,
    ) -> Result<(Login, Password, Option<String>, serde_json::Value)> {
        let mut errors = Vec::new();
        let login = Login::parse(&input.login).map_err(|e| errors.push(e)).ok();
        let password = Password::parse(&input.password)
            .map_err(|e| errors.push(e))
            .ok();
        if let (Some(l), Some(_)) = (&login, &password)
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
        match (login, password) {
            (Some(l), Some(p)) if errors.is_empty() => Ok((l, p, email, properties)),
            _ => Err(Error::Validation(errors)),
        }
    }

    /// Self-service registration (refused with 403 when registration is closed).
    pub async fn register(&self, input: NewAccount, client: &ClientInfo) -> Result<Account> {
        if self.inner.settings.registration == crate::Registration::Closed {
            return Err(Error::Forbidden("registration is closed".into()));
        }
        let input = self.hooks().run_before_register(input, client).await?;
        let require = self.inner.settings.require_verified_email;
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
            self.issue_verification(&account, client).await?;
        }
        Ok(account)
    }

    /// Create an account with any scopes (admin, CLI and application code).
    pub async fn create_account(&self, input: NewAccount, client: &ClientInfo) -> Result<Account> {
        self.create(input, "account.created", client).await
    }

    async fn create(&self, input: NewAccount, event: &str, client: &ClientInfo) -> Result<Account> {
        let (login, password, email, properties) = self.validate_new(&input)?;
        // Refuse a taken login before paying for a hash.
        if self
            .inner
            .store
            .account_by_login(&login.key())
            .await?
            .is_some()
        {
            return Err(Error::LoginTaken);
        }
        let hash = self.inner.hasher.hash(password.expose()).await?;
        let now = self.now();
        let mut scopes = input.scopes.clone();
        scopes.sort();
        scopes.dedup();
        let account = Account {
            id: AccountId::new(),
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
            created_at: now,
            updated_at: now,
        };
        let ev = self.audit(
            event,
            Some(account.id),
            client,
            serde_json::json!({"login": account.login, "scopes": account.scopes}),
        );
        self.inner.store.insert_account(&account, &ev).await?;
        Ok(account)
    }

    /// An account by id, from the cache when possible.
    pub async fn account(&self, id: AccountId) -> Result<Arc<Account>> {
        if let Some(a) = self.inner.accounts.read().get(&id) {
            return Ok(a.clone());
        }
        let a = Arc::new(
            self.inner
                .store
                .account_by_id(id)
                .await?
                .ok_or(Error::NotFound)?,
        );
        let mut cache = self.inner.accounts.write();
        if cache.len() >= ACCOUNT_CACHE_MAX {
            cache.clear();
        }
        cache.insert(id, a.clone());
        Ok(a)
    }

    pub(crate) fn forget_account(&self, id: AccountId) {
        self.inner.accounts.write().remove(&id);
    }

    /// Write an account change (with revocations and audit) and refresh caches.
    pub(crate) async fn write_account(
        &self,
        account: &Account,
        revoke: Revoke,
        audit: &[AuditEvent],
    ) -> Result<()> {
        self.inner
            .store
            .update_account(account, revoke, self.now(), audit)
            .await?;
        self.forget_account(account.id);
        if revoke != Revoke::Nothing {
            self.sync().await?;
        }
        Ok(())
    }

    // ----- login and sessions ----------------------------------------------

    fn lock_key(login_key: &str) -> String {
        format!("login:{login_key}")
    }

    /// Check a password for a login, under the lockout counter. Returns the
    /// account on success. Unknown logins verify a dummy hash (same timing).
    async fn check_password(
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
        let lock = Self::lock_key(&key);
        let s = &self.inner.settings;
        let store = &self.inner.store;
        if let AttemptGate::Locked(secs) = store
            .attempt_begin(&lock, self.now(), s.block_tries)
            .await?
        {
            return Err(Error::TooManyAttempts { retry_after: secs });
        }
        let account = match store.account_by_login(&key).await {
            Ok(a) => a,
            Err(e) => {
                let _ = store.attempt_clear(&lock).await;
                return Err(e);
            }
        };
        let ok = self
            .inner
            .hasher
            .verify(
                password,
                account.as_ref().and_then(|a| a.password_hash.as_deref()),
            )
            .await?;
        if ok && let Some(a) = account {
            store.attempt_clear(&lock).await?;
            return Ok(a);
        }
        let locked = store
            .attempt_failed(
                &lock,
                self.now(),
                s.block_tries,
                s.block_window.whole_seconds().max(1) as u64,
            )
            .await?;
        let id = account.as_ref().map(|a| a.id);
        let reason = if account.is_some() {
            "bad_password"
        } else {
            "unknown_login"
        };
        store
            .append_audit(&self.audit(
                "login.failure",
                id,
                client,
                serde_json::json!({"reason": reason}),
            ))
            .await?;
        if let Some(secs) = locked {
            store
                .append_audit(&self.audit(
                    "login.lockout",
                    id,
                    client,
                    serde_json::json!({"seconds": secs}),
                ))
                .await?;
        }
        Err(Error::InvalidCredentials)
    }

    pub(crate) fn check_usable(account: &Account) -> Result<()> {
        if account.blocked {
            return Err(Error::AccountBlocked);
        }
        if !account.active {
            return Err(Error::AccountInactive);
        }
        Ok(())
    }

    /// Password login. Returns tokens, or the MFA step for accounts with a second factor.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<LoginOutcome> {
        self.login_with_amr(login, password, remember, &["pwd"], client)
            .await
    }

    /// Password login whose session records `amr` (e.g. `["pwd", "cookie"]`
    /// for a server-side cookie session) instead of `["pwd"]`. Accounts with a
    /// second factor get the MFA step, whose session records `["pwd", "otp"]`.
    pub async fn login_with_amr(
        &self,
        login: &str,
        password: &str,
        remember: bool,
        amr: &[&str],
        client: &ClientInfo,
    ) -> Result<LoginOutcome> {
        let account = self.check_password(login, password, client).await?;
        if let Err(e) = Self::check_usable(&account) {
            self.inner
                .store
                .append_audit(&self.audit(
                    "login.failure",
                    Some(account.id),
                    client,
                    serde_json::json!({"reason": e.code()}),
                ))
                .await?;
            return Err(e);
        }
        if self.mfa_required(&account).await? {
            return self.begin_mfa(&account, remember).await;
        }
        let pair = self.start_session(&account, remember, amr, client).await?;
        Ok(LoginOutcome::Tokens(pair))
    }

    /// Open a session for an account whose credentials were just checked.
    pub async fn start_session(
        &self,
        account: &Account,
        remember: bool,
        amr: &[&str],
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        self.start_session_via(account, remember, amr, client, None)
            .await
    }

    /// [`Auth::start_session`] whose `login.success` event names the sign-in
    /// `method` (e.g. `passkey`).
    pub(crate) async fn start_session_via(
        &self,
        account: &Account,
        remember: bool,
        amr: &[&str],
        client: &ClientInfo,
        method: Option<&str>,
    ) -> Result<TokenPair> {
        let now = self.now();
        let s = &self.inner.settings;
        let ttl = if remember {
            s.long_session_ttl
        } else {
            s.session_ttl
        };
        let session = Session {
            id: SessionId::new(),
            account_id: account.id,
            created_at: now,
            last_seen_at: now,
            expires_at: now + ttl,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            long: remember,
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
            revoked_at: None,
        };
        let (refresh, hash) = new_refresh();
        let mut detail = serde_json::json!({"session_id": session.id, "amr": session.amr});
        if let (Some(m), Some(d)) = (method, detail.as_object_mut()) {
            d.insert("method".into(), m.into());
        }
        let ev = self.audit("login.success", Some(account.id), client, detail);
        self.inner
            .store
            .create_session(&session, &hash, &ev)
            .await?;
        let result = match self
            .hooks()
            .run_after_login(account, &session, client)
            .await
        {
            Ok(()) => self.pair(account, &session, refresh, true).await,
            Err(e) => Err(e),
        };
        if result.is_err() {
            // A hook refused the login: the new session must not outlive it.
            let ev = self.audit(
                "login.hook_refused",
                Some(account.id),
                client,
                serde_json::json!({"session_id": session.id}),
            );
            self.inner
                .store
                .revoke_session(session.id, self.now(), &ev)
                .await?;
            self.mark_revoked(session.id);
        }
        result
    }

    async fn pair(
        &self,
        account: &Account,
        session: &Session,
        refresh: String,
        fresh: bool,
    ) -> Result<TokenPair> {
        let extra = self.hooks().run_extra_claims(account, session).await?;
        let mut claims = self.inner.tokens.claims(
            account.id,
            session.id,
            &account.scopes,
            fresh,
            &session.amr,
            session.expires_at,
        );
        claims.extra = extra;
        let access = self.inner.tokens.sign(&claims)?;
        Ok(TokenPair {
            access_token: access,
            refresh_token: refresh,
            token_type: "Bearer",
            expires_in: claims.exp - claims.iat,
            refresh_expires_in: (session.expires_at.unix_timestamp() - claims.iat).max(0),
            session_id: session.id,
        })
    }

    /// Rotate a refresh token. A token presented a second time revokes its session.
    pub async fn refresh(&self, refresh_token: &str, client: &ClientInfo) -> Result<TokenPair> {
        let Some(rest) = refresh_token.strip_prefix(REFRESH_PREFIX) else {
            return Err(Error::InvalidRefreshToken);
        };
        if rest.len() != 43 {
            return Err(Error::InvalidRefreshToken);
        }
        let old = random::sha256(refresh_token.as_bytes());
        let (refresh, new) = new_refresh();
        let rotation = self
            .inner
            .store
            .rotate_refresh(
                &old,
                &new,
                self.now(),
                client.ip.as_deref(),
                client.user_agent.as_deref(),
            )
            .await?;
        match rotation {
            Rotation::Rotated(session) => {
                let account = match self.account(session.account_id).await {
                    Ok(a) => a,
                    Err(Error::NotFound) => return Err(Error::InvalidRefreshToken),
                    Err(e) => return Err(e),
                };
                Self::check_usable(&account)?;
                self.pair(&account, &session, refresh, false).await
            }
            Rotation::Reused(session) => {
                self.mark_revoked(session.id);
                self.sync().await?;
                Err(Error::RefreshTokenReused)
            }
            Rotation::Invalid => Err(Error::InvalidRefreshToken),
        }
    }

    fn mark_revoked(&self, sid: SessionId) {
        let s = &self.inner.settings;
        self.inner
            .revoked
            .insert(sid, self.now() + s.access_ttl + s.leeway);
    }

    /// Verify an access token and check that its session is not revoked. No store query.
    pub fn authenticate(&self, token: &str) -> Result<Arc<Claims>> {
        let claims = self.inner.tokens.verify(token)?;
        if self.inner.revoked.contains(&claims.sid) {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }

    /// Whether a session is in the revocation set.
    pub fn is_revoked(&self, sid: SessionId) -> bool {
        self.inner.revoked.contains(&sid)
    }

    /// Revoke the caller's session.
    pub async fn logout(&self, claims: &Claims, client: &ClientInfo) -> Result<()> {
        let ev = self.audit(
            "logout",
            Some(claims.sub),
            client,
            serde_json::json!({"session_id": claims.sid}),
        );
        self.inner
            .store
            .revoke_session(claims.sid, self.now(), &ev)
            .await?;
        self.mark_revoked(claims.sid);
        Ok(())
    }

    /// Revoke every session of an account.
    pub async fn logout_all(&self, account: AccountId, client: &ClientInfo) -> Result<u64> {
        let ev = self.audit("logout.all", Some(account), client, serde_json::json!({}));
        let n = self
            .inner
            .store
            .revoke_sessions(account, Revoke::All, self.now(), &ev)
            .await?;
        self.sync().await?;
        Ok(n)
    }

    /// Live sessions of an account, newest first.
    pub async fn sessions(&self, account: AccountId) -> Result<Vec<Session>> {
        self.inner.store.live_sessions(account, self.now()).await
    }

    /// Revoke one of the account's own sessions; `NotFound` for anyone else's.
    pub async fn revoke_own_session(
        &self,
        account: AccountId,
        sid: SessionId,
        client: &ClientInfo,
    ) -> Result<()> {
        let session = self.inner.store.session(sid).await?;
        match session {
            Some(s) if s.account_id == account && s.is_live(self.now()) => {
                let ev = self.audit(
                    "session.revoked",
                    Some(account),
                    client,
                    serde_json::json!({"session_id": sid}),
                );
                self.inner
                    .store
                    .revoke_session(sid, self.now(), &ev)
                    .await?;
                self.mark_revoked(sid);
                Ok(())
            }
            _ => Err(Error::NotFound),
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
        if normalize_login(new.expose()) == account.login_key() {
            return Err(Error::field("new_password", "must not be the login"));
        }
        let (mut account, event) = if account.password_hash.is_some() {
            let a = self.verify_own_password(&account, current, client).await?;
            (a, "password.changed")
        } else {
            Self::check_usable(&account)?;
            ((*account).clone(), "password.set")
        };
        let hash = self.inner.hasher.hash(new.expose()).await?;
        let now = self.now();
        account.password_hash = Some(hash);
        account.password_changed_at = now;
        account.updated_at = now;
        let ev = self.audit(
            event,
            Some(account.id),
            client,
            serde_json::json!({"session_id": claims.sid}),
        );
        self.write_account(&account, Revoke::AllExcept(claims.sid), &[ev])
            .await?;
        self.revoke_mail_tokens_on_password_change(account.id).await
    }

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

    /// Re-check the password and issue a fresh access token for the same session
    /// (the refresh token is replaced too).
    pub async fn fresh(
        &self,
        claims: &Claims,
        password: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        let account = self.account(claims.sub).await?;
        let account = self.verify_own_password(&account, password, client).await?;
        Self::check_usable(&account)?;
        let session = self
            .inner
            .store
            .session(claims.sid)
            .await?
            .filter(|s| s.is_live(self.now()))
            .ok_or(Error::InvalidToken)?;
        let (refresh, hash) = new_refresh();
        if !self
            .inner
            .store
            .reissue_refresh(session.id, &hash, self.now())
            .await?
        {
            return Err(Error::InvalidToken);
        }
        self.inner
            .store
            .append_audit(&self.audit(
                "token.fresh",
                Some(account.id),
                client,
                serde_json::json!({"session_id": session.id}),
            ))
            .await?;
        self.pair(&account, &session, refresh, true).await
    }

    /// Change the login (still unique, case-insensitively).
    pub async fn change_login(
        &self,
        account: AccountId,
        new_login: &str,
        client: &ClientInfo,
    ) -> Result<Account> {
        let login = Login::parse(new_login)
            .map_err(|e| Error::Validation(vec![FieldError::new("new_login", e.message)]))?;
        let mut a = (*self.account(account).await?).clone();
        let old = std::mem::replace(&mut a.login, login.as_str().to_owned());
        a.updated_at = self.now();
        let ev = self.audit(
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
        self.inner.store.list_accounts(query).await
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
                events.push(self.audit(
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
        a.updated_at = self.now();
        events.push(self.audit(
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
        let ev = self.audit("account.deleted", Some(id), client, serde_json::json!({}));
        if !self.inner.store.delete_account(id, self.now(), &ev).await? {
            return Err(Error::NotFound);
        }
        self.forget_account(id);
        self.sync().await?;
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
        a.updated_at = self.now();
        let ev = self.audit(
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
        a.updated_at = self.now();
        let ev = self.audit("account.unblocked", Some(id), client, serde_json::json!({}));
        self.write_account(&a, Revoke::Nothing, &[ev]).await?;
        self.inner
            .store
            .attempt_clear(&Self::lock_key(&a.login_key()))
            .await
    }

    /// Whether an account is blocked, and the admin's reason.
    pub async fn block_status(&self, id: AccountId) -> Result<(bool, Option<String>)> {
        let a = self.account(id).await?;
        Ok((a.blocked, a.block_reason.clone()))
    }

    /// Whether the account has a second factor enabled.
    pub async fn mfa_status(&self, id: AccountId) -> Result<bool> {
        Ok(self.account(id).await?.mfa_enabled)
    }

    /// Turn off the account's second factor (admin and CLI): its TOTP secret and
    /// recovery codes are deleted. A no-op for accounts without one.
    pub async fn disable_mfa(&self, id: AccountId, client: &ClientInfo) -> Result<()> {
        self.account(id).await?;
        self.remove_mfa(id, "admin", client).await
    }

    /// Revoke every session of an account (admin).
    pub async fn revoke_all_sessions(&self, id: AccountId, client: &ClientInfo) -> Result<u64> {
        self.account(id).await?;
        let ev = self.audit(
            "sessions.revoked",
            Some(id),
            client,
            serde_json::json!({"by": "admin"}),
        );
        let n = self
            .inner
            .store
            .revoke_sessions(id, Revoke::All, self.now(), &ev)
            .await?;
        self.sync().await?;
        Ok(n)
    }

    /// Query the audit trail, newest first.
    pub async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.inner.store.audit(query).await
    }
}

fn new_refresh() -> (String, [u8; 32]) {
    let token = format!("{REFRESH_PREFIX}{}", random::token(32));
    let hash = random::sha256(token.as_bytes());
    (token, hash)
}

async fn ensure_signing_key(
    store: &dyn Store,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<Vec<crate::model::StoredKey>> {
    if settings.jwt_alg.is_hmac() {
        let secret = settings.secret.as_deref().unwrap_or_default();
        if secret.len() < 32 {
            return Err(Error::Internal(format!(
                "{} needs WARDEN_SECRET of at least 32 bytes",
                settings.jwt_alg.name()
            )));
        }
        return Ok(Vec::new());
    }
    let keys = store.signing_keys().await?;
    let alg = settings.jwt_alg.name();
    if keys.iter().any(|k| k.alg == alg && k.retired_at.is_none()) {
        return Ok(keys);
    }
    let key = generate_key(settings.jwt_alg, now)?;
    store.add_signing_key(&key, Some(now)).await?;
    store.signing_keys().await
}

/// Rotate the signing key: a new key signs from now on; the old ones keep
/// verifying until their tokens expire. Returns the new `kid`.
pub async fn rotate_signing_key(
    store: &dyn Store,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<String> {
    if settings.jwt_alg.is_hmac() {
        return Err(Error::BadRequest(
            "HMAC algorithms use WARDEN_SECRET; change the secret instead".into(),
        ));
    }
    let key = generate_key(settings.jwt_alg, now)?;
    store.add_signing_key(&key, Some(now)).await?;
    Ok(key.kid)
}
