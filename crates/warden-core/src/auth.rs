//! The composition root of the engine: [`Auth`] builds the services by
//! capability and hands them out. Each service holds only the store traits
//! it uses, plus the shared pieces (settings, clock, hooks, token issuer).

use crate::accounts::Accounts;
use crate::api_key::ApiKeys;
use crate::app_tokens::AppTokens;
use crate::caches::{AccountCache, Revocations};
use crate::clock::{Clock, SystemClock};
use crate::email_flow::EmailFlows;
use crate::error::{Error, Result};
use crate::hooks::Hooks;
use crate::key_cache::ApiKeyState;
use crate::login_gate::LoginGate;
use crate::mail::{MailRenderer, MailSetup, Mailer};
use crate::mail_tokens::MailTokens;
use crate::mfa_flow::Mfa;
use crate::oauth::Identities;
use crate::organizations::Organizations;
use crate::passkey::Passkeys;
use crate::password::Hasher;
use crate::provider::Provider;
use crate::sessions::Sessions;
use crate::settings::Settings;
use crate::shared::Shared;
use crate::store::Store;
use crate::token::{TokenConfig, Tokens, generate_key};
use crate::upkeep::Upkeep;
use parking_lot::RwLock;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use time::{Duration, OffsetDateTime};

struct Inner {
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    gate: LoginGate,
    upkeep: Upkeep,
    accounts: Accounts,
    sessions: Sessions,
    mfa: Mfa,
    api_keys: ApiKeys,
    email: EmailFlows,
    passkeys: Passkeys,
    identities: Identities,
    app_tokens: AppTokens,
    provider: Provider,
    organizations: Organizations,
}

/// The Warden engine. Cheap to clone; share one per process. Its
/// operations are grouped by capability: [`Auth::accounts`],
/// [`Auth::sessions`], [`Auth::app_tokens`], [`Auth::mfa`], [`Auth::api_keys`], [`Auth::email`],
/// [`Auth::passkeys`], [`Auth::identities`] and [`Auth::upkeep`].
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
/// let accounts = auth.accounts();
///
/// let mut new = NewAccount::new("bob", "correct horse battery");
/// new.scopes = vec!["admin".into()];
/// let bob = accounts.create_account(new, &by).await?;
///
/// accounts.block_account(bob.id, "chargeback", &by).await?;
/// assert_eq!(accounts.block_status(bob.id).await?, (true, Some("chargeback".into())));
/// let refused = auth.sessions().login("bob", "correct horse battery", false, &by).await;
/// assert!(matches!(refused, Err(Error::AccountBlocked)));
///
/// accounts.unblock_account(bob.id, &by).await?;
/// let bob = accounts.set_scopes(bob.id, vec!["reports".into()], &by).await?;
/// assert_eq!(bob.scopes, vec!["reports".to_owned()]);
/// assert!(!auth.mfa().mfa_status(bob.id).await?);
/// auth.mfa().disable_mfa(bob.id, &by).await?; // a no-op without MFA
///
/// accounts.delete_account(bob.id, &by).await?;
/// assert!(matches!(accounts.account(bob.id).await, Err(Error::NotFound)));
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
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
                cache_size: settings.token_cache_size,
            },
            settings.jwt_alg,
            &keys,
            settings.secret.as_deref(),
            clock.clone(),
        )?;
        let hasher = Hasher::new(settings.hash, settings.hash_concurrency)?;
        let mfa_key = crate::mfa_flow::encryption_key(store.as_ref(), &settings).await?;
        let gate = LoginGate::new(store.clone(), clock.clone(), &settings);
        let shared = Arc::new(Shared {
            settings,
            clock,
            hooks: RwLock::new(Hooks::default()),
            tokens,
            hasher,
            mail: RwLock::new(None),
        });
        let revoked = Arc::new(Revocations::default());
        let cache = Arc::new(AccountCache::new(shared.settings.account_cache_size));
        let key_state = Arc::new(ApiKeyState::new(shared.settings.api_key_cache_size));
        let upkeep = Upkeep {
            feed: store.clone(),
            sessions: store.clone(),
            mfa: store.clone(),
            one_time: store.clone(),
            identities: store.clone(),
            provider: store.clone(),
            audit: store.clone(),
            keys: store.clone(),
            orgs: store.clone(),
            shared: shared.clone(),
            revoked: revoked.clone(),
            accounts: cache.clone(),
            api_keys: key_state.clone(),
            cursor: Arc::new(AtomicI64::new(0)),
            lock: Arc::new(tokio::sync::Mutex::new(())),
        };
        let mail = MailTokens {
            one_time: store.clone(),
            shared: shared.clone(),
        };
        let accounts = Accounts {
            store: store.clone(),
            audit: store.clone(),
            shared: shared.clone(),
            cache,
            gate: gate.clone(),
            mail: mail.clone(),
            upkeep: upkeep.clone(),
        };
        let sessions = Sessions {
            store: store.clone(),
            audit: store.clone(),
            mfa: store.clone(),
            shared: shared.clone(),
            revoked,
            accounts: accounts.clone(),
            upkeep: upkeep.clone(),
            orgs: store.clone(),
        };
        let mfa = Mfa {
            store: store.clone(),
            account_store: store.clone(),
            audit: store.clone(),
            shared: shared.clone(),
            key: mfa_key,
            accounts: accounts.clone(),
            sessions: sessions.clone(),
        };
        let api_keys = ApiKeys {
            store: store.clone(),
            audit: store.clone(),
            shared: shared.clone(),
            state: key_state,
            accounts: accounts.clone(),
        };
        let email = EmailFlows {
            one_time: store.clone(),
            account_store: store.clone(),
            shared: shared.clone(),
            accounts: accounts.clone(),
            mail: mail.clone(),
        };
        let organizations = Organizations {
            store: store.clone(),
            counters: store.clone(),
            shared: shared.clone(),
            accounts: accounts.clone(),
            sessions: sessions.clone(),
            upkeep: upkeep.clone(),
            mail: mail.clone(),
        };
        let passkeys = Passkeys {
            store: store.clone(),
            account_store: store.clone(),
            states: store.clone(),
            audit: store.clone(),
            shared: shared.clone(),
            mail,
            sessions: sessions.clone(),
        };
        let identities = Identities {
            store: store.clone(),
            account_store: store.clone(),
            audit: store.clone(),
            shared: shared.clone(),
            accounts: accounts.clone(),
            sessions: sessions.clone(),
        };
        let app_tokens = AppTokens {
            sessions: sessions.clone(),
        };
        let provider = Provider {
            store: store.clone(),
            sessions: sessions.clone(),
        };
        let auth = Self {
            inner: Arc::new(Inner {
                store,
                shared,
                gate,
                upkeep,
                accounts,
                sessions,
                mfa,
                api_keys,
                email,
                passkeys,
                identities,
                app_tokens,
                provider,
                organizations,
            }),
        };
        auth.inner.upkeep.sync().await?;
        Ok(auth)
    }

    /// Accounts: registration, the account cache, password and login
    /// changes, administration and the audit trail.
    pub fn accounts(&self) -> &Accounts {
        &self.inner.accounts
    }
    /// Sign-in, sessions and tokens: login, refresh, token verification, logout.
    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }
    /// Tokens for users the application keeps itself (app subjects, no
    /// accounts): issue, verify, refresh, freshness, logout.
    pub fn app_tokens(&self) -> &AppTokens {
        &self.inner.app_tokens
    }
    /// Warden as an OpenID Provider for other apps: OAuth clients, the
    /// code flow, the token endpoint, userinfo, introspection, revocation.
    pub fn provider(&self) -> &Provider {
        &self.inner.provider
    }
    /// The second factor (TOTP, recovery codes, the MFA step of a login).
    pub fn mfa(&self) -> &Mfa {
        &self.inner.mfa
    }
    /// API keys.
    pub fn api_keys(&self) -> &ApiKeys {
        &self.inner.api_keys
    }
    /// The mail flows: email verification, password reset, email change.
    pub fn email(&self) -> &EmailFlows {
        &self.inner.email
    }
    /// Passkeys (WebAuthn).
    pub fn passkeys(&self) -> &Passkeys {
        &self.inner.passkeys
    }
    /// External identities (OAuth / OpenID Connect sign-in and linking).
    pub fn identities(&self) -> &Identities {
        &self.inner.identities
    }
    /// Organizations: members with roles, custom roles, invitations, and
    /// the organization a session acts for.
    pub fn organizations(&self) -> &Organizations {
        &self.inner.organizations
    }
    /// Feed sync, housekeeping and key reloads.
    pub fn upkeep(&self) -> &Upkeep {
        &self.inner.upkeep
    }
    /// The login gate (lockout counters and failed-login memory).
    pub fn login_gate(&self) -> &LoginGate {
        &self.inner.gate
    }

    /// Install application hooks (replacing any set before).
    pub fn set_hooks(&self, hooks: Hooks) {
        *self.inner.shared.hooks.write() = hooks;
    }

    /// Install the mailer (and the renderer of its mails) used for
    /// verification, password-reset and email-change mails. Without one those
    /// flows answer 503.
    pub fn set_mailer(&self, mailer: Arc<dyn Mailer>, renderer: Arc<dyn MailRenderer>) {
        *self.inner.shared.mail.write() = Some(MailSetup { mailer, renderer });
    }

    /// Wait until the installed mailer has delivered (or given up) every mail
    /// it accepted; see [`Mailer::flush`]. `true` without a mailer.
    pub async fn flush_mail(&self, limit: std::time::Duration) -> bool {
        match self.inner.shared.mail_setup() {
            Some(setup) => setup.mailer.flush(limit).await,
            None => true,
        }
    }

    /// The installed application hooks.
    pub fn hooks(&self) -> Hooks {
        self.inner.shared.hooks()
    }
    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }
    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.shared.settings
    }
    /// The clock.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.shared.now()
    }
    /// The token signer/verifier.
    pub fn tokens(&self) -> &Tokens {
        &self.inner.shared.tokens
    }
    /// The password hasher.
    pub fn hasher(&self) -> &Hasher {
        &self.inner.shared.hasher
    }
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
