//! Client registration (admin): create, list, read, change, delete, rotate
//! the secret; client authentication and redirect-URI matching.

use super::{CLIENT_ID_PREFIX, CLIENT_SECRET_PREFIX, GRANT_TYPES, OAuthError, Provider};
use crate::error::{Error, Result};
use crate::model::ClientInfo;
use crate::random;
use crate::store::OAuthClient;
use crate::store::Revoke;

/// The most redirect URIs (and post-logout URIs) of one client.
const MAX_URIS: usize = 20;
/// The longest redirect URI.
const MAX_URI_LEN: usize = 2000;

/// A client to register.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    /// Display name (1–100 characters).
    pub name: String,
    /// Redirect URIs (at least one unless only `client_credentials`).
    pub redirect_uris: Vec<String>,
    /// URIs allowed as `post_logout_redirect_uri`.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types; `authorization_code` and `refresh_token` when empty.
    pub grant_types: Option<Vec<String>>,
    /// Account scopes the client may ask for.
    pub scopes: Vec<String>,
    /// A public client: no secret, PKCE required.
    pub public: bool,
    /// Pre-consented (no consent page).
    pub first_party: bool,
}

/// Changes to a client; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ClientPatch {
    /// Name.
    pub name: Option<String>,
    /// Redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Grant types.
    pub grant_types: Option<Vec<String>>,
    /// Scopes.
    pub scopes: Option<Vec<String>>,
    /// First party.
    pub first_party: Option<bool>,
}

/// A client just registered, with its secret (shown once).
#[derive(Debug, Clone)]
pub struct CreatedClient {
    /// The stored client.
    pub client: OAuthClient,
    /// The secret of a confidential client.
    pub secret: Option<String>,
}

/// Whether `uri` is a loopback redirect URI (`http://127.0.0.1`, `[::1]`,
/// `localhost`), whose port may differ from the registered one (RFC 8252 §7.3).
fn loopback(uri: &url::Url) -> bool {
    uri.scheme() == "http" && matches!(uri.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
}

/// Whether a redirect URI of a request is registered: exactly equal, or a
/// loopback URI equal but for the port.
pub fn redirect_registered(client: &OAuthClient, uri: &str) -> bool {
    if client.redirect_uris.iter().any(|r| r == uri) {
        return true;
    }
    let Ok(asked) = url::Url::parse(uri) else {
        return false;
    };
    if !loopback(&asked) {
        return false;
    }
    client.redirect_uris.iter().any(|r| {
        url::Url::parse(r).is_ok_and(|mut reg| {
            loopback(&reg) && reg.set_port(asked.port()).is_ok() && reg == asked
        })
    })
}

fn check_uris(field: &str, uris: &[String]) -> Result<Vec<String>> {
    if uris.len() > MAX_URIS {
        return Err(Error::field(field, format!("at most {MAX_URIS}")));
    }
    let mut out = Vec::with_capacity(uris.len());
    for u in uris {
        let bad = |why: &str| Error::field(field, format!("{u:?}: {why}"));
        if u.len() > MAX_URI_LEN || u.contains('*') || u.chars().any(char::is_control) {
            return Err(bad("an absolute URI without wildcards, at most 2000 bytes"));
        }
        let parsed = url::Url::parse(u).map_err(|_| bad("not an absolute URI"))?;
        if parsed.fragment().is_some() {
            return Err(bad("must not have a fragment"));
        }
        let scheme = parsed.scheme();
        if !(scheme == "https" || scheme == "http" || scheme.contains('.')) {
            return Err(bad(
                "https, http or a private-use scheme (reverse domain name)",
            ));
        }
        if !out.contains(u) {
            out.push(u.clone());
        }
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::field("name", "1 to 100 characters"));
    }
    Ok(name.to_owned())
}

fn check_grants(grants: &[String], public: bool) -> Result<Vec<String>> {
    let mut g = grants.to_vec();
    g.sort();
    g.dedup();
    if g.is_empty() {
        return Err(Error::field("grant_types", "at least one"));
    }
    if let Some(bad) = g.iter().find(|x| !GRANT_TYPES.contains(&x.as_str())) {
        return Err(Error::field(
            "grant_types",
            format!("{bad:?} is not one of {}", GRANT_TYPES.join(", ")),
        ));
    }
    if public && g.iter().any(|x| x == "client_credentials") {
        return Err(Error::field(
            "grant_types",
            "a public client cannot use client_credentials",
        ));
    }
    Ok(g)
}

fn check_scopes(scopes: &[String]) -> Result<Vec<String>> {
    let mut s = scopes.to_vec();
    s.sort();
    s.dedup();
    if let Some(bad) = (s.iter()).find(|x| {
        x.is_empty() || x.len() > 64 || x.contains(|c: char| c.is_whitespace() || c.is_control())
    }) {
        return Err(Error::field("scopes", format!("{bad:?} is not a scope")));
    }
    Ok(s)
}

/// The checked fields of a client (redirect URIs required for the code grant).
fn check_client(c: &mut OAuthClient) -> Result<()> {
    c.name = check_name(&c.name)?;
    c.redirect_uris = check_uris("redirect_uris", &c.redirect_uris)?;
    c.post_logout_redirect_uris =
        check_uris("post_logout_redirect_uris", &c.post_logout_redirect_uris)?;
    c.grant_types = check_grants(&c.grant_types, c.public)?;
    c.scopes = check_scopes(&c.scopes)?;
    if c.grant_types.iter().any(|g| g == "authorization_code") && c.redirect_uris.is_empty() {
        return Err(Error::field(
            "redirect_uris",
            "at least one for the authorization_code grant",
        ));
    }
    Ok(())
}

fn new_secret() -> (String, [u8; 32]) {
    let secret = format!("{CLIENT_SECRET_PREFIX}{}", random::token(32));
    let hash = random::sha256(secret.as_bytes());
    (secret, hash)
}

impl Provider {
    /// Register a client. A confidential client's secret comes back once
    /// (stored as its SHA-256). Audit: `oauth_client.created`.
    pub async fn create_client(&self, new: NewClient, by: &ClientInfo) -> Result<CreatedClient> {
        let now = self.now();
        let (secret, hash) = if new.public {
            (None, None)
        } else {
            let (s, h) = new_secret();
            (Some(s), Some(h))
        };
        let mut client = OAuthClient {
            client_id: format!("{CLIENT_ID_PREFIX}{}", random::token(16)),
            secret_hash: hash,
            name: new.name,
            redirect_uris: new.redirect_uris,
            post_logout_redirect_uris: new.post_logout_redirect_uris,
            grant_types: new.grant_types.unwrap_or_else(|| {
                vec!["authorization_code".to_owned(), "refresh_token".to_owned()]
            }),
            scopes: new.scopes,
            public: new.public,
            first_party: new.first_party,
            created_at: now,
            updated_at: now,
        };
        check_client(&mut client)?;
        let ev = self.audit_client("oauth_client.created", &client, by);
        self.store.insert_oauth_client(&client, &ev).await?;
        Ok(CreatedClient { client, secret })
    }

    /// Every client, oldest first.
    pub async fn clients(&self) -> Result<Vec<OAuthClient>> {
        self.store.oauth_clients().await
    }

    /// A client; `NotFound` if there is none.
    pub async fn client(&self, client_id: &str) -> Result<OAuthClient> {
        self.store
            .oauth_client(client_id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Change a client. Audit: `oauth_client.updated`.
    pub async fn update_client(
        &self,
        client_id: &str,
        patch: ClientPatch,
        by: &ClientInfo,
    ) -> Result<OAuthClient> {
        let mut c = self.client(client_id).await?;
        if let Some(v) = patch.name {
            c.name = v;
        }
        if let Some(v) = patch.redirect_uris {
            c.redirect_uris = v;
        }
        if let Some(v) = patch.post_logout_redirect_uris {
            c.post_logout_redirect_uris = v;
        }
        if let Some(v) = patch.grant_types {
            c.grant_types = v;
        }
        if let Some(v) = patch.scopes {
            c.scopes = v;
        }
        if let Some(v) = patch.first_party {
            c.first_party = v;
        }
        c.updated_at = self.now();
        check_client(&mut c)?;
        let ev = self.audit_client("oauth_client.updated", &c, by);
        if !self.store.update_oauth_client(&c, &ev).await? {
            return Err(Error::NotFound);
        }
        Ok(c)
    }

    /// A new secret for a confidential client (the old one stops working at
    /// once). Audit: `oauth_client.secret_rotated`. A public client has no
    /// secret: a validation error.
    pub async fn rotate_secret(&self, client_id: &str, by: &ClientInfo) -> Result<String> {
        let mut c = self.client(client_id).await?;
        if c.public {
            return Err(Error::field("client_id", "a public client has no secret"));
        }
        let (secret, hash) = new_secret();
        c.secret_hash = Some(hash);
        c.updated_at = self.now();
        let ev = self.audit_client("oauth_client.secret_rotated", &c, by);
        if !self.store.update_oauth_client(&c, &ev).await? {
            return Err(Error::NotFound);
        }
        Ok(secret)
    }

    /// Delete a client with its codes and consents, then revoke every
    /// session issued to it (of each account that consented, and its own
    /// `client_credentials` sessions). Audit: `oauth_client.deleted`.
    pub async fn delete_client(&self, client_id: &str, by: &ClientInfo) -> Result<()> {
        let c = self.client(client_id).await?;
        let ev = self.audit_client("oauth_client.deleted", &c, by);
        let Some(accounts) = self.store.delete_oauth_client(client_id, &ev).await? else {
            return Err(Error::NotFound);
        };
        for account in accounts {
            self.revoke_client_sessions(account, client_id, "oauth_client.deleted", by)
                .await?;
        }
        let owner = super::grants::client_owner(client_id);
        let ev = self.sessions.shared.audit(
            "sessions.revoked",
            Some(owner),
            by,
            serde_json::json!({"client_id": client_id, "by": "oauth_client.deleted"}),
        );
        let s = &self.sessions;
        (s.store)
            .revoke_sessions(owner, Revoke::All, self.now(), &ev)
            .await?;
        s.upkeep.sync().await?;
        Ok(())
    }

    /// Revoke the live sessions of `account` issued to `client_id`.
    pub(crate) async fn revoke_client_sessions(
        &self,
        account: crate::model::AccountId,
        client_id: &str,
        reason: &str,
        by: &ClientInfo,
    ) -> Result<()> {
        let s = &self.sessions;
        for session in s.list(account).await? {
            if session.client_id.as_deref() == Some(client_id) {
                let ev = s.shared.audit(
                    "session.revoked",
                    Some(account),
                    by,
                    serde_json::json!({"session_id": session.id, "client_id": client_id, "by": reason}),
                );
                s.revoke_one(session.id, &ev).await?;
            }
        }
        Ok(())
    }

    fn audit_client(
        &self,
        event: &str,
        c: &OAuthClient,
        by: &ClientInfo,
    ) -> crate::model::AuditEvent {
        self.sessions.shared.audit(
            event,
            None,
            by,
            serde_json::json!({
                "client_id": c.client_id,
                "name": c.name,
                "redirect_uris": c.redirect_uris,
                "grant_types": c.grant_types,
                "public": c.public,
                "first_party": c.first_party,
            }),
        )
    }

    /// Authenticate a client at the token, introspection or revocation
    /// endpoint: a confidential client by its secret (constant-time compare
    /// of the hashes), a public client by its id alone (`secret: None`).
    /// Any failure is `invalid_client`.
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: Option<&str>,
    ) -> std::result::Result<OAuthClient, OAuthError> {
        let client = self.store.oauth_client(client_id).await?;
        let Some(client) = client else {
            return Err(OAuthError::client());
        };
        match (&client.secret_hash, secret) {
            (None, None) if client.public => Ok(client),
            (Some(hash), Some(s)) if random::ct_eq(hash, &random::sha256(s.as_bytes())) => {
                Ok(client)
            }
            _ => Err(OAuthError::client()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn client(uris: &[&str]) -> OAuthClient {
        OAuthClient {
            client_id: "c".into(),
            secret_hash: None,
            name: "n".into(),
            redirect_uris: uris.iter().map(|s| (*s).to_owned()).collect(),
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            scopes: vec![],
            public: true,
            first_party: false,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn redirect_uris_match_exactly_except_the_loopback_port() {
        let c = client(&["https://app.example/cb", "http://127.0.0.1/cb"]);
        assert!(redirect_registered(&c, "https://app.example/cb"));
        assert!(!redirect_registered(&c, "https://app.example/cb/"));
        assert!(!redirect_registered(&c, "https://app.example/cb?x=1"));
        assert!(!redirect_registered(&c, "https://app.example:444/cb"));
        assert!(redirect_registered(&c, "http://127.0.0.1:51234/cb"));
        assert!(!redirect_registered(&c, "http://127.0.0.1:51234/other"));
        assert!(!redirect_registered(&c, "http://127.0.0.2:51234/cb"));
    }

    #[test]
    fn registration_refuses_wildcards_and_fragments() {
        assert!(check_uris("r", &["https://*.example/cb".into()]).is_err());
        assert!(check_uris("r", &["https://a.example/cb#x".into()]).is_err());
        assert!(check_uris("r", &["javascript:alert(1)".into()]).is_err());
        assert!(check_uris("r", &["https://a.example/c\0b".into()]).is_err());
        assert!(check_uris("r", &["com.example.app:/cb".into()]).is_ok());
    }
}
