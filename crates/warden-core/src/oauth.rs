//! External sign-in (OAuth 2.0 / OpenID Connect) in the engine: the
//! server-side state of an authorization request (PKCE verifier, nonce,
//! where to go back to), sign-in or sign-up by an external identity, and
//! linking / unlinking identities. The HTTP exchanges with the providers live
//! outside the domain (`warden-axum` defines the provider trait, the `warden`
//! server implements it); this module only sees their verified result, an
//! [`ExternalProfile`].
//!
//! Rules:
//! - a known `(provider, subject)` signs in to its account;
//! - an unknown identity links to the account with the same email only when
//!   the provider vouches the email is verified; an unverified email that
//!   belongs to an account is refused (`email_taken`), never linked;
//! - otherwise a new account without a password is made (unless registration
//!   is closed: 403), its login derived from the provider's login or the
//!   email's local part, made unique;
//! - sessions opened this way carry `amr: ["ext"]`; accounts with TOTP still
//!   need the second factor (the MFA step, whose session records
//!   `["pwd", "otp"]` as for a password login: the challenge does not keep
//!   the first factor);
//! - an identity can be unlinked unless it is the last way to sign in.

use crate::accounts::{Accounts, check_usable, ensure_login_free};
use crate::error::{Error, Result};
use crate::model::{Account, AccountId, ClientInfo, normalize_email};
use crate::password::Login;
use crate::random;
use crate::sessions::{LoginOutcome, Sessions};
use crate::settings::Registration;
use crate::shared::Shared;
use crate::store::{AccountStore, AuditStore, Identity, IdentityStore};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::Duration;

/// How long an authorization request may take (10 minutes).
pub const OAUTH_STATE_TTL: Duration = Duration::minutes(10);

/// The `amr` of sessions opened by an external sign-in.
pub const AMR_EXTERNAL: &str = "ext";

/// What a provider told us about the user, after the code exchange and (for
/// OpenID Connect) the ID token were verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalProfile {
    /// Provider name (`google`, `github`, or a configured OIDC name).
    pub provider: String,
    /// The provider's stable user id.
    pub subject: String,
    /// Email address, if the provider gave one.
    pub email: Option<String>,
    /// Whether the provider vouches that `email` belongs to the user.
    pub email_verified: bool,
    /// A login the user has at the provider (GitHub login, OIDC
    /// `preferred_username`), used to derive the login of a new account.
    pub preferred_login: Option<String>,
}

/// The server-side state of one authorization request, stored under the
/// SHA-256 of its `state` parameter, single use, for [`OAUTH_STATE_TTL`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthState {
    /// Provider name.
    pub provider: String,
    /// PKCE code verifier (RFC 7636).
    pub pkce_verifier: String,
    /// OpenID Connect nonce, when the provider uses ID tokens.
    pub nonce: Option<String>,
    /// Where to send the browser afterwards (already checked against the allow-list).
    pub redirect_to: String,
    /// Set when a signed-in account asked to link the identity.
    #[serde(default)]
    pub link_account: Option<AccountId>,
}

impl std::fmt::Debug for OAuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthState")
            .field("provider", &self.provider)
            .field("pkce_verifier", &"[redacted]")
            .field("redirect_to", &self.redirect_to)
            .field("link_account", &self.link_account)
            .finish_non_exhaustive()
    }
}

impl OAuthState {
    /// A new state for `provider` with a fresh PKCE verifier and, when
    /// `with_nonce`, a fresh nonce.
    pub fn new(provider: &str, with_nonce: bool, redirect_to: String) -> Self {
        Self {
            provider: provider.to_owned(),
            pkce_verifier: random::token(32),
            nonce: with_nonce.then(|| random::token(32)),
            redirect_to,
            link_account: None,
        }
    }

    /// The PKCE S256 code challenge of the verifier.
    pub fn pkce_challenge(&self) -> String {
        pkce_challenge(&self.pkce_verifier)
    }
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 S256).
///
/// ```
/// // The example of RFC 7636, appendix B.
/// let c = warden_core::oauth::pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
/// assert_eq!(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
/// ```
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(random::sha256(verifier.as_bytes()))
}

/// Check a `redirect_to` against the allow-list: a relative path starting
/// with a single `/`, or an absolute URL that starts with one of `allowlist`
/// (origins like `https://app.example.com`, or URL prefixes), the match
/// ending at a `/`, `?`, `#` or the end (so `https://app.example.com.evil`
/// and `https://app.example.com@evil` do not match). Backslashes, control
/// characters and whitespace are refused anywhere. `None` or empty gives `/`.
///
/// ```
/// use warden_core::oauth::check_redirect;
/// let allow = vec!["https://app.example.com".to_owned()];
/// assert_eq!(check_redirect(&allow, Some("/home")).unwrap(), "/home");
/// assert!(check_redirect(&allow, Some("https://app.example.com/x")).is_ok());
/// assert!(check_redirect(&allow, Some("//evil.com")).is_err());
/// assert!(check_redirect(&allow, Some("https://app.example.com.evil.com")).is_err());
/// ```
pub fn check_redirect(allowlist: &[String], redirect_to: Option<&str>) -> Result<String> {
    let bad = || Error::BadRequest("redirect_to is not allowed".into());
    let Some(to) = redirect_to.filter(|t| !t.is_empty()) else {
        return Ok("/".to_owned());
    };
    if to.len() > 2048
        || to
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    {
        return Err(bad());
    }
    if to.starts_with('/') {
        return if to.starts_with("//") {
            Err(bad())
        } else {
            Ok(to.to_owned())
        };
    }
    let allowed = allowlist.iter().any(|entry| {
        let entry = entry.trim();
        if entry.is_empty()
            || !(entry.starts_with("https://") || entry.starts_with("http://"))
            || !to.starts_with(entry)
        {
            return false;
        }
        entry.ends_with('/')
            || matches!(
                to[entry.len()..].chars().next(),
                None | Some('/' | '?' | '#')
            )
    });
    if allowed {
        Ok(to.to_owned())
    } else {
        Err(bad())
    }
}

/// `redirect_to` with `params` added to its query (before any fragment).
pub fn with_query(redirect_to: &str, params: &[(&str, &str)]) -> String {
    let (base, fragment) = match redirect_to.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (redirect_to, None),
    };
    let mut out = base.to_owned();
    for (i, (k, v)) in params.iter().enumerate() {
        let sep = if i == 0 && !base.contains('?') {
            '?'
        } else {
            '&'
        };
        out.push(sep);
        out.push_str(&url_encode(k));
        out.push('=');
        out.push_str(&url_encode(v));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Percent-encode everything but RFC 3986 unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What an external sign-in did.
#[derive(Debug, Clone)]
pub struct ExternalSignIn {
    /// Tokens, or the second-factor step.
    pub outcome: LoginOutcome,
    /// The account signed in to.
    pub account_id: AccountId,
    /// Whether the account was made by this sign-in.
    pub created: bool,
}

/// A login candidate: allowed characters only, 3 to 40 characters.
fn login_base(profile: &ExternalProfile) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            .take(40)
            .collect()
    };
    let from_profile = profile
        .preferred_login
        .as_deref()
        .map(clean)
        .filter(|s| s.len() >= 3)
        .or_else(|| {
            profile
                .email
                .as_deref()
                .and_then(|e| e.split('@').next())
                .map(clean)
                .filter(|s| s.len() >= 3)
        });
    from_profile.unwrap_or_else(|| clean(&format!("{}_{}", profile.provider, profile.subject)))
}

/// External identities: OAuth sign-in, linking and unlinking (see
/// [`crate::Auth::identities`]).
#[derive(Clone)]
pub struct Identities {
    pub(crate) store: Arc<dyn IdentityStore>,
    pub(crate) account_store: Arc<dyn AccountStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) accounts: Accounts,
    pub(crate) sessions: Sessions,
}

impl Identities {
    /// Store an authorization request; returns its `state` parameter
    /// (256 random bits; only its SHA-256 is stored).
    pub async fn oauth_save_state(&self, state: &OAuthState) -> Result<String> {
        let token = random::token(32);
        let payload = serde_json::to_string(state).map_err(Error::internal)?;
        self.store
            .put_oauth_state(
                &random::sha256(token.as_bytes()),
                &payload,
                self.shared.now() + OAUTH_STATE_TTL,
            )
            .await?;
        Ok(token)
    }

    /// Take (and so end) the authorization request of a `state` parameter.
    /// Unknown, used or expired: `OAuthFailed`.
    pub async fn oauth_take_state(&self, state: &str) -> Result<OAuthState> {
        let failed = || Error::OAuthFailed("unknown or expired state".into());
        if state.is_empty() || state.len() > 256 {
            return Err(failed());
        }
        let payload = self
            .store
            .take_oauth_state(&random::sha256(state.as_bytes()), self.shared.now())
            .await?
            .ok_or_else(failed)?;
        serde_json::from_str(&payload).map_err(|_| failed())
    }

    /// Sign in (or up) with a verified external identity. See the module
    /// documentation for the rules. Audits `oauth.login`, and
    /// `oauth.account_created` / `identity.linked` when it makes them.
    pub async fn oauth_sign_in(
        &self,
        profile: &ExternalProfile,
        client: &ClientInfo,
    ) -> Result<ExternalSignIn> {
        let (account, created) = self.oauth_account(profile, client).await?;
        if let Err(e) = check_usable(&account) {
            self.audit
                .append_audit(&self.shared.audit(
                    "login.failure",
                    Some(account.id),
                    client,
                    serde_json::json!({"reason": e.code(), "provider": profile.provider}),
                ))
                .await?;
            return Err(e);
        }
        self.audit
            .append_audit(&self.shared.audit(
                "oauth.login",
                Some(account.id),
                client,
                serde_json::json!({"provider": profile.provider, "created": created}),
            ))
            .await?;
        let outcome = if self.sessions.mfa_required(&account).await? {
            self.sessions.begin_mfa(&account, false, None).await?
        } else {
            LoginOutcome::Tokens(
                self.sessions
                    .start_session(&account, false, &[AMR_EXTERNAL], client)
                    .await?,
            )
        };
        Ok(ExternalSignIn {
            outcome,
            account_id: account.id,
            created,
        })
    }

    /// The account of an identity: known, linked by verified email, or new.
    async fn oauth_account(
        &self,
        profile: &ExternalProfile,
        client: &ClientInfo,
    ) -> Result<(Account, bool)> {
        let store = &self.store;
        if let Some(identity) = store
            .identity_by_subject(&profile.provider, &profile.subject)
            .await?
        {
            let account = self
                .account_store
                .account_by_id(identity.account_id)
                .await?
                .ok_or(Error::NotFound)?;
            return Ok((account, false));
        }
        if let Some(email) = profile.email.as_deref()
            && let Some(existing) = self
                .account_store
                .account_by_email(&normalize_email(email))
                .await?
        {
            if !profile.email_verified {
                // Never hand an account to whoever typed its address at a provider.
                return Err(Error::EmailTaken);
            }
            self.oauth_link_identity(existing.id, profile, "verified_email", client)
                .await?;
            return Ok((existing, false));
        }
        if self.shared.settings.registration == Registration::Closed {
            return Err(Error::Forbidden("registration is closed".into()));
        }
        let account = self.oauth_create_account(profile, client).await?;
        match self
            .oauth_link_identity(account.id, profile, "sign_up", client)
            .await
        {
            Ok(_) => Ok((account, true)),
            Err(Error::IdentityTaken) => {
                // A concurrent first sign-in of the same identity won: use its account.
                let ev = self.shared.audit(
                    "account.deleted",
                    Some(account.id),
                    client,
                    serde_json::json!({"reason": "oauth_sign_up_race"}),
                );
                self.account_store
                    .delete_account(account.id, self.shared.now(), &ev)
                    .await?;
                let identity = store
                    .identity_by_subject(&profile.provider, &profile.subject)
                    .await?
                    .ok_or(Error::IdentityTaken)?;
                let existing = self
                    .account_store
                    .account_by_id(identity.account_id)
                    .await?
                    .ok_or(Error::NotFound)?;
                Ok((existing, false))
            }
            Err(e) => Err(e),
        }
    }

    async fn oauth_create_account(
        &self,
        profile: &ExternalProfile,
        client: &ClientInfo,
    ) -> Result<Account> {
        let base = login_base(profile);
        let now = self.shared.now();
        let require = self.shared.settings.require_verified_email;
        for attempt in 0..8u32 {
            let login = match attempt {
                0 => base.clone(),
                1..=3 => format!("{base}_{}", attempt + 1),
                _ => format!("{base}_{}", &random::token(6)[..8]),
            };
            // The same rules as every new login: prepared, and free by key
            // and by confusable skeleton.
            let Ok(login) = Login::parse(&login) else {
                continue;
            };
            match ensure_login_free(self.account_store.as_ref(), &login, None).await {
                Ok(()) => {}
                Err(Error::LoginTaken) => continue,
                Err(e) => return Err(e),
            }
            let account = Account {
                id: AccountId::new(),
                kind: crate::model::AccountKind::Person,
                login: login.as_str().to_owned(),
                email: profile.email.clone(),
                email_verified: profile.email.is_some() && profile.email_verified,
                active: !require || profile.email_verified,
                blocked: false,
                block_reason: None,
                mfa_enabled: false,
                scopes: Vec::new(),
                properties: serde_json::json!({}),
                password_hash: None,
                password_changed_at: now,
                created_at: now,
                updated_at: now,
            };
            let ev = self.shared.audit(
                "oauth.account_created",
                Some(account.id),
                client,
                serde_json::json!({"login": account.login, "provider": profile.provider}),
            );
            match self.account_store.insert_account(&account, &ev).await {
                Ok(()) => return Ok(account),
                Err(Error::LoginTaken) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::LoginTaken)
    }

    async fn oauth_link_identity(
        &self,
        account: AccountId,
        profile: &ExternalProfile,
        how: &str,
        client: &ClientInfo,
    ) -> Result<Identity> {
        let identity = Identity {
            id: uuid::Uuid::now_v7(),
            account_id: account,
            provider: profile.provider.clone(),
            subject: profile.subject.clone(),
            email: profile.email.clone(),
            created_at: self.shared.now(),
        };
        let ev = self.shared.audit(
            "identity.linked",
            Some(account),
            client,
            serde_json::json!({"provider": profile.provider, "identity_id": identity.id, "how": how}),
        );
        self.store.link_identity(&identity, &ev).await?;
        Ok(identity)
    }

    /// Link an external identity to a signed-in account. Linking one already
    /// linked to this account is a no-op; one linked to another account is
    /// `IdentityTaken`.
    pub async fn oauth_link(
        &self,
        account: AccountId,
        profile: &ExternalProfile,
        client: &ClientInfo,
    ) -> Result<Identity> {
        let a = self.accounts.account(account).await?;
        check_usable(&a)?;
        if let Some(existing) = self
            .store
            .identity_by_subject(&profile.provider, &profile.subject)
            .await?
        {
            return if existing.account_id == account {
                Ok(existing)
            } else {
                Err(Error::IdentityTaken)
            };
        }
        self.oauth_link_identity(account, profile, "user", client)
            .await
    }

    /// The identities linked to an account, oldest first.
    pub async fn list(&self, account: AccountId) -> Result<Vec<Identity>> {
        self.store.identities_of(account).await
    }

    /// Unlink an identity of the account. `NotFound` if it is not the
    /// account's; `LastSignInMethod` when the account has no password and
    /// this is its only identity.
    pub async fn unlink_identity(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        client: &ClientInfo,
    ) -> Result<()> {
        let list = self.store.identities_of(account).await?;
        let Some(identity) = list.iter().find(|i| i.id == id) else {
            return Err(Error::NotFound);
        };
        // The store refuses to remove the last sign-in method (password,
        // identities, passkeys) inside its transaction: `LastSignInMethod`.
        let ev = self.shared.audit(
            "identity.unlinked",
            Some(account),
            client,
            serde_json::json!({"provider": identity.provider, "identity_id": id}),
        );
        if self.store.unlink_identity(account, id, &ev).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn redirects() {
        let allow = vec![
            "https://app.example.com".to_owned(),
            "http://localhost:3000/cb".to_owned(),
        ];
        for bad in [
            "//evil.com",
            "https://evil.com",
            "javascript:alert(1)",
            "/\\evil.com",
            "\\\\evil.com",
            "https://app.example.com.evil.com",
            "https://app.example.com@evil.com",
            "http://localhost:3000/cbx",
            "/ok\nSet-Cookie: x",
            "HTTPS://evil.com",
            "data:text/html,x",
        ] {
            assert!(check_redirect(&allow, Some(bad)).is_err(), "{bad}");
        }
        for good in [
            "/",
            "/home?x=1",
            "https://app.example.com",
            "https://app.example.com/a/b?c#d",
            "http://localhost:3000/cb?x",
        ] {
            assert_eq!(check_redirect(&allow, Some(good)).unwrap(), good);
        }
        assert_eq!(check_redirect(&allow, None).unwrap(), "/");
    }

    #[test]
    fn query_added_before_fragment() {
        assert_eq!(
            with_query("/a#f", &[("error", "access denied")]),
            "/a?error=access%20denied#f"
        );
        assert_eq!(with_query("/a?x=1", &[("e", "1")]), "/a?x=1&e=1");
    }

    #[test]
    fn login_from_profile() {
        let mut p = ExternalProfile {
            provider: "github".into(),
            subject: "42".into(),
            email: Some("Jane.Doe+x@example.com".into()),
            email_verified: true,
            preferred_login: None,
        };
        assert_eq!(login_base(&p), "Jane.Doex");
        p.preferred_login = Some("octo cat".into());
        assert_eq!(login_base(&p), "octocat");
        p.preferred_login = None;
        p.email = None;
        assert_eq!(login_base(&p), "github_42");
    }
}
