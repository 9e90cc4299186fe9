//! Sign-in and sessions: password login (with the MFA step it may lead
//! to), opening a session, access tokens and their verification, refresh
//! rotation, logout and the revocation set.

use crate::accounts::{Accounts, check_usable};
use crate::caches::Revocations;
use crate::error::{Error, Result};
use crate::hooks::Hooks;
use crate::model::{
    Account, AccountId, AppSubject, AuditEvent, ClientInfo, NewAccount, Session, SessionId,
};
use crate::random;
use crate::shared::Shared;
use crate::store::{ActiveOrg, AuditStore, MfaChallenge, MfaStore, Revoke, Rotation, SessionStore};
use crate::token::{Claims, SubjectKind};
use crate::upkeep::Upkeep;
use serde::Serialize;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

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

/// Prefix of an `mfa_token`.
pub(crate) const MFA_TOKEN_PREFIX: &str = "wmf_";
/// Lifetime of an `mfa_token`.
const MFA_TOKEN_TTL: Duration = Duration::minutes(5);
/// Methods accepted by the MFA step of a login.
const METHODS: [&str; 2] = ["totp", "recovery_code"];
/// Prefix of an account's refresh token.
pub(crate) const REFRESH_PREFIX: &str = "wrt_";

/// The scopes asked for at login, sorted and without duplicates, when all are
/// the account's; else a validation error on `scopes` naming the others.
pub(crate) fn requested_scopes(
    account: &Account,
    scopes: Option<Vec<String>>,
) -> Result<Option<Vec<String>>> {
    let Some(mut scopes) = scopes else {
        return Ok(None);
    };
    scopes.sort();
    scopes.dedup();
    let foreign: Vec<&str> = (scopes.iter())
        .filter(|s| !account.has_scope(s))
        .map(String::as_str)
        .collect();
    if !foreign.is_empty() {
        return Err(Error::field(
            "scopes",
            format!("not scopes of the account: {}", foreign.join(" ")),
        ));
    }
    Ok(Some(scopes))
}

/// A new refresh token with `prefix` and its hash.
pub(crate) fn new_refresh(prefix: &str) -> (String, [u8; 32]) {
    let token = format!("{prefix}{}", random::token(32));
    let hash = random::sha256(token.as_bytes());
    (token, hash)
}

/// Sign-in, sessions and their tokens (see [`crate::Auth::sessions`]).
#[derive(Clone)]
pub struct Sessions {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) mfa: Arc<dyn MfaStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) revoked: Arc<Revocations>,
    pub(crate) accounts: Accounts,
    pub(crate) upkeep: Upkeep,
    /// Where the organization a session acts for is kept.
    pub(crate) orgs: Arc<dyn crate::store::OrganizationStore>,
}

impl Sessions {
    fn now(&self) -> OffsetDateTime {
        self.shared.now()
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

    /// [`Sessions::login`] whose session (also the one the MFA step opens)
    /// carries only `scopes` (`None`: the account's). They must be scopes
    /// of the account, else a validation error on `scopes`.
    pub async fn login_scoped(
        &self,
        login: &str,
        password: &str,
        remember: bool,
        scopes: Option<Vec<String>>,
        client: &ClientInfo,
    ) -> Result<LoginOutcome> {
        let outcome = self
            .password_login(login, password, remember, &["pwd"], scopes, client)
            .await;
        self.accounts.gate.remember(login, &outcome);
        outcome
    }

    /// Password login whose session records `amr` (e.g. `["pwd", "cookie"]`
    /// for a server-side cookie session) instead of `["pwd"]`. Accounts with a
    /// second factor get the MFA step, whose session records `["pwd", "otp"]`.
    /// The login gate remembers the outcome (see
    /// [`crate::login_gate::LoginGate::failed_recently`]).
    pub async fn login_with_amr(
        &self,
        login: &str,
        password: &str,
        remember: bool,
        amr: &[&str],
        client: &ClientInfo,
    ) -> Result<LoginOutcome> {
        let outcome = self
            .password_login(login, password, remember, amr, None, client)
            .await;
        self.accounts.gate.remember(login, &outcome);
        outcome
    }

    async fn password_login(
        &self,
        login: &str,
        password: &str,
        remember: bool,
        amr: &[&str],
        scopes: Option<Vec<String>>,
        client: &ClientInfo,
    ) -> Result<LoginOutcome> {
        let account = self
            .accounts
            .check_password(login, password, client)
            .await?;
        if let Err(e) = check_usable(&account) {
            self.audit
                .append_audit(&self.shared.audit(
                    "login.failure",
                    Some(account.id),
                    client,
                    serde_json::json!({"reason": e.code()}),
                ))
                .await?;
            return Err(e);
        }
        let scopes = requested_scopes(&account, scopes)?;
        if self.mfa_required(&account).await? {
            return self.begin_mfa(&account, remember, scopes).await;
        }
        let pair = self
            .start_session_via(&account, remember, amr, scopes, client, None)
            .await?;
        Ok(LoginOutcome::Tokens(pair))
    }

    /// Whether a login of this account (just read from the store) needs the
    /// second factor: its flag is set, or it has an active secret.
    pub(crate) async fn mfa_required(&self, account: &Account) -> Result<bool> {
        if account.mfa_enabled {
            return Ok(true);
        }
        Ok(self.mfa.active_totp(account.id).await?.is_some())
    }

    /// The first factor passed and the account has a second one: issue the
    /// single-use `mfa_token` (no session yet).
    pub(crate) async fn begin_mfa(
        &self,
        account: &Account,
        remember: bool,
        scopes: Option<Vec<String>>,
    ) -> Result<LoginOutcome> {
        let token = format!("{MFA_TOKEN_PREFIX}{}", random::token(32));
        let challenge = MfaChallenge {
            account_id: account.id,
            remember,
            expires_at: self.now() + MFA_TOKEN_TTL,
            attempts: 0,
            scopes,
        };
        self.mfa
            .create_mfa_challenge(&random::sha256(token.as_bytes()), &challenge)
            .await?;
        Ok(LoginOutcome::MfaRequired {
            mfa_token: token,
            methods: METHODS.to_vec(),
        })
    }

    /// Self-service registration ([`Accounts::register`]). With
    /// `register_signs_in` set (and `require_verified_email` not), the new
    /// account is signed in at once as by a password login (`amr: ["pwd"]`,
    /// short session) and its tokens come back too.
    pub async fn register(
        &self,
        input: NewAccount,
        client: &ClientInfo,
    ) -> Result<(Account, Option<TokenPair>)> {
        let account = self.accounts.register(input, client).await?;
        let s = &self.shared.settings;
        if !s.register_signs_in || s.require_verified_email || check_usable(&account).is_err() {
            return Ok((account, None));
        }
        let pair = self
            .start_session(&account, false, &["pwd"], client)
            .await?;
        Ok((account, Some(pair)))
    }

    /// Open a session for an account whose credentials were just checked.
    pub async fn start_session(
        &self,
        account: &Account,
        remember: bool,
        amr: &[&str],
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        self.start_session_via(account, remember, amr, None, client, None)
            .await
    }

    /// [`Sessions::start_session`] whose session carries only `scopes`
    /// (`None`: the account's; checked by the caller to be the account's) and
    /// whose `login.success` event names the sign-in `method` (e.g.
    /// `passkey`). Every session is opened here: with
    /// `max_sessions_per_account` set, the least recently used live sessions
    /// over the limit are revoked in the same store transaction
    /// (`session.evicted`).
    pub(crate) async fn start_session_via(
        &self,
        account: &Account,
        remember: bool,
        amr: &[&str],
        scopes: Option<Vec<String>>,
        client: &ClientInfo,
        method: Option<&str>,
    ) -> Result<TokenPair> {
        if account.is_service() {
            // Service accounts act only through API keys, never in a session.
            return Err(Error::InvalidCredentials);
        }
        let session = self.new_session(account.id, remember, amr, scopes, client, None);
        let (refresh, hash) = new_refresh(REFRESH_PREFIX);
        let mut detail = serde_json::json!({"session_id": session.id, "amr": session.amr});
        if let (Some(m), Some(d)) = (method, detail.as_object_mut()) {
            d.insert("method".into(), m.into());
        }
        let ev = self
            .shared
            .audit("login.success", Some(account.id), client, detail);
        self.open_session(&session, &hash, &ev, client).await?;
        let result = match self
            .shared
            .hooks()
            .run_after_login(account, &session, client)
            .await
        {
            Ok(()) => self.pair(account, &session, refresh, true).await,
            Err(e) => Err(e),
        };
        if result.is_err() {
            // A hook refused the login: the new session must not outlive it.
            let ev = self.shared.audit(
                "login.hook_refused",
                Some(account.id),
                client,
                serde_json::json!({"session_id": session.id}),
            );
            self.revoke_one(session.id, &ev).await?;
        }
        result
    }

    /// A new session of `owner` (an account, or an app subject's owner id
    /// with `app` set) from now, short or long.
    pub(crate) fn new_session(
        &self,
        owner: AccountId,
        remember: bool,
        amr: &[&str],
        scopes: Option<Vec<String>>,
        client: &ClientInfo,
        app: Option<AppSubject>,
    ) -> Session {
        let now = self.now();
        let s = &self.shared.settings;
        let ttl = if remember {
            s.long_session_ttl
        } else {
            s.session_ttl
        };
        Session {
            id: SessionId::new(),
            account_id: owner,
            created_at: now,
            last_seen_at: now,
            expires_at: now + ttl,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            long: remember,
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
            revoked_at: None,
            scopes,
            app,
            client_id: None,
        }
    }

    /// Store a new session with its first refresh token and audit event.
    /// With `max_sessions_per_account` set, the least recently used live
    /// sessions of its owner over the limit are revoked in the same store
    /// transaction (`session.evicted`), at once on this node too.
    pub(crate) async fn open_session(
        &self,
        session: &Session,
        hash: &[u8; 32],
        ev: &AuditEvent,
        client: &ClientInfo,
    ) -> Result<()> {
        match self.shared.settings.max_sessions_per_account {
            0 => self.store.create_session(session, hash, ev).await,
            max => {
                let evicted = self.shared.audit(
                    "session.evicted",
                    Some(session.account_id),
                    client,
                    serde_json::json!({"by_session_id": session.id, "max_sessions": max}),
                );
                let ids = (self.store)
                    .create_session_capped(session, hash, ev, max, &evicted)
                    .await?;
                for id in ids {
                    self.mark_revoked(id);
                }
                Ok(())
            }
        }
    }

    /// Sign an access token of `session` for `sub` and answer the pair.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sign_pair<S: Serialize>(
        &self,
        sub: S,
        kind: Option<SubjectKind>,
        session: &Session,
        scopes: &[String],
        fresh: bool,
        extra: serde_json::Map<String, serde_json::Value>,
        refresh: String,
    ) -> Result<TokenPair> {
        let tokens = &self.shared.tokens;
        let mut claims = tokens.claims(
            sub,
            session.id,
            scopes,
            fresh,
            &session.amr,
            session.expires_at,
        );
        claims.sub_kind = kind;
        claims.extra = extra;
        let access = tokens.sign(&claims)?;
        Ok(TokenPair {
            access_token: access,
            refresh_token: refresh,
            token_type: "Bearer",
            expires_in: claims.exp - claims.iat,
            refresh_expires_in: (session.expires_at.unix_timestamp() - claims.iat).max(0),
            session_id: session.id,
        })
    }

    pub(crate) async fn pair(
        &self,
        account: &Account,
        session: &Session,
        refresh: String,
        fresh: bool,
    ) -> Result<TokenPair> {
        self.pair_with(account, session, refresh, fresh, ActiveOrg::Unread)
            .await
    }

    /// [`Sessions::pair`] with the organization the session acts for when
    /// already `read` (by its rotation).
    async fn pair_with(
        &self,
        account: &Account,
        session: &Session,
        refresh: String,
        fresh: bool,
        read: ActiveOrg,
    ) -> Result<TokenPair> {
        let mut extra = self
            .shared
            .hooks()
            .run_extra_claims(account, session)
            .await?;
        let claim = &self.shared.settings.org_permissions_claim;
        let org = crate::organizations::claims::org_claims(
            &*self.orgs,
            claim,
            session.id,
            account.id,
            read,
        );
        extra.extend(org.await?);
        // A session's own scopes, as far as the account still has them.
        let scopes: Vec<String> = match &session.scopes {
            None => account.scopes.clone(),
            Some(own) => own
                .iter()
                .filter(|s| account.has_scope(s))
                .cloned()
                .collect(),
        };
        self.sign_pair(account.id, None, session, &scopes, fresh, extra, refresh)
    }

    /// Rotate a refresh token. A token presented a second time revokes its
    /// session. An app subject's refresh token (`wart_`) is refused here
    /// (`invalid_refresh_token`): it rotates only through
    /// [`crate::app_tokens::AppTokens::refresh`].
    pub async fn refresh(&self, refresh_token: &str, client: &ClientInfo) -> Result<TokenPair> {
        let (session, org, refresh) =
            (self.rotate_read(refresh_token, REFRESH_PREFIX, client)).await?;
        if session.is_app() || session.client_id.is_some() {
            return Err(Error::InvalidRefreshToken);
        }
        let account = match self.accounts.account(session.account_id).await {
            Ok(a) => a,
            Err(Error::NotFound) => return Err(Error::InvalidRefreshToken),
            Err(e) => return Err(e),
        };
        check_usable(&account)?;
        self.pair_with(&account, &session, refresh, false, org)
            .await
    }

    /// Rotate a refresh token that must start with `prefix`: the rotated
    /// session and its new refresh token. A token presented a second time
    /// revokes its session (at once on this node, and on the others through
    /// the feed): `refresh_token_reused`.
    pub(crate) async fn rotate(
        &self,
        refresh_token: &str,
        prefix: &str,
        client: &ClientInfo,
    ) -> Result<(Session, String)> {
        let (session, _, refresh) = self.rotate_read(refresh_token, prefix, client).await?;
        Ok((session, refresh))
    }

    /// [`Sessions::rotate`], with what the rotation read of the organization
    /// the session acts for.
    async fn rotate_read(
        &self,
        refresh_token: &str,
        prefix: &str,
        client: &ClientInfo,
    ) -> Result<(Session, ActiveOrg, String)> {
        let Some(rest) = refresh_token.strip_prefix(prefix) else {
            return Err(Error::InvalidRefreshToken);
        };
        if rest.len() != 43 {
            return Err(Error::InvalidRefreshToken);
        }
        let old = random::sha256(refresh_token.as_bytes());
        let (refresh, new) = new_refresh(prefix);
        let rotation = self
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
            Rotation::Rotated(session, org) => Ok((session, org, refresh)),
            Rotation::Reused(session) => {
                self.mark_revoked(session.id);
                self.upkeep.sync().await?;
                Err(Error::RefreshTokenReused)
            }
            Rotation::Invalid => Err(Error::InvalidRefreshToken),
        }
    }

    /// The live session `sid` with a new refresh token (starting with
    /// `prefix`); every earlier token of it now counts as reused.
    /// `invalid_token` when the session is not live.
    pub(crate) async fn reissue(&self, sid: SessionId, prefix: &str) -> Result<(Session, String)> {
        let session = self
            .store
            .session(sid)
            .await?
            .filter(|s| s.is_live(self.now()))
            .ok_or(Error::InvalidToken)?;
        let (refresh, hash) = new_refresh(prefix);
        if !self
            .store
            .reissue_refresh(session.id, &hash, self.now())
            .await?
        {
            return Err(Error::InvalidToken);
        }
        Ok((session, refresh))
    }

    /// Revoke one session (if live) with its audit event, at once on this node.
    pub(crate) async fn revoke_one(&self, sid: SessionId, ev: &AuditEvent) -> Result<()> {
        self.store.revoke_session(sid, self.now(), ev).await?;
        self.mark_revoked(sid);
        Ok(())
    }

    fn mark_revoked(&self, sid: SessionId) {
        let s = &self.shared.settings;
        self.revoked
            .insert(sid, self.now() + s.access_ttl + s.leeway);
    }

    /// Verify an account's access token and check that its session is not
    /// revoked (no store query), then ask the application's
    /// [`crate::hooks::TokenDenylist`], if one is installed. An app
    /// subject's token is refused (`invalid_token`).
    pub async fn authenticate(&self, token: &str) -> Result<Arc<Claims>> {
        let claims = self.shared.tokens.verify(token)?;
        self.admit(&claims).await?;
        Ok(claims)
    }

    /// The checks after the signature: the revocation set, then the
    /// application's denylist (which fails closed).
    pub(crate) async fn admit<S: ToString>(&self, claims: &Claims<S>) -> Result<()> {
        if self.revoked.contains(&claims.sid) {
            return Err(Error::InvalidToken);
        }
        if let Some(epoch) = crate::organizations::claims::token_org_epoch(claims)
            && self.revoked.org_claims_revoked(&claims.sid, epoch)
        {
            return Err(Error::InvalidToken);
        }
        let denylist = self.shared.hooks.read().denylist();
        if let Some(denylist) = denylist {
            Hooks::check_denylist(denylist.as_ref(), &claims.to_subject()).await?;
        }
        Ok(())
    }

    /// Whether a session is in the revocation set.
    pub fn is_revoked(&self, sid: SessionId) -> bool {
        self.revoked.contains(&sid)
    }

    /// Revoke the caller's session.
    pub async fn logout(&self, claims: &Claims, client: &ClientInfo) -> Result<()> {
        let ev = self.shared.audit(
            "logout",
            Some(claims.sub),
            client,
            serde_json::json!({"session_id": claims.sid}),
        );
        self.revoke_one(claims.sid, &ev).await
    }

    /// Revoke every session of an account.
    pub async fn logout_all(&self, account: AccountId, client: &ClientInfo) -> Result<u64> {
        let ev = self
            .shared
            .audit("logout.all", Some(account), client, serde_json::json!({}));
        let n = self
            .store
            .revoke_sessions(account, Revoke::All, self.now(), &ev)
            .await?;
        self.upkeep.sync().await?;
        Ok(n)
    }

    /// Live sessions of an account, newest first.
    pub async fn list(&self, account: AccountId) -> Result<Vec<Session>> {
        self.store.live_sessions(account, self.now()).await
    }

    /// Revoke one of the account's own sessions; `NotFound` for anyone else's.
    pub async fn revoke_own_session(
        &self,
        account: AccountId,
        sid: SessionId,
        client: &ClientInfo,
    ) -> Result<()> {
        let session = self.store.session(sid).await?;
        match session {
            Some(s) if s.account_id == account && s.is_live(self.now()) => {
                let ev = self.shared.audit(
                    "session.revoked",
                    Some(account),
                    client,
                    serde_json::json!({"session_id": sid}),
                );
                self.revoke_one(sid, &ev).await
            }
            _ => Err(Error::NotFound),
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
        let account = self.accounts.account(claims.sub).await?;
        let account = self
            .accounts
            .verify_own_password(&account, password, client)
            .await?;
        check_usable(&account)?;
        let (session, refresh) = self.reissue(claims.sid, REFRESH_PREFIX).await?;
        self.audit
            .append_audit(&self.shared.audit(
                "token.fresh",
                Some(account.id),
                client,
                serde_json::json!({"session_id": session.id}),
            ))
            .await?;
        self.pair(&account, &session, refresh, true).await
    }

    /// Revoke every session of an account (admin).
    pub async fn revoke_all_sessions(&self, id: AccountId, client: &ClientInfo) -> Result<u64> {
        self.accounts.account(id).await?;
        let ev = self.shared.audit(
            "sessions.revoked",
            Some(id),
            client,
            serde_json::json!({"by": "admin"}),
        );
        let n = self
            .store
            .revoke_sessions(id, Revoke::All, self.now(), &ev)
            .await?;
        self.upkeep.sync().await?;
        Ok(n)
    }
}
