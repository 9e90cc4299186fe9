//! ID tokens (OpenID Connect Core §2) and the claims of the `profile` and
//! `email` scopes, shared with userinfo.

use super::{OAuthError, Provider};
use crate::model::{Account, Session};
use crate::store::{CodeGrant, OAuthClient};
use crate::token::SigningAlg;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::Digest;

/// The left half of the hash of `token` that `at_hash` holds, with the hash
/// of the signing algorithm (SHA-512 for EdDSA with Ed25519).
pub(crate) fn half_hash(alg: SigningAlg, token: &str) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlg::RS256 | SigningAlg::ES256 | SigningAlg::HS256 => {
            sha2::Sha256::digest(token.as_bytes()).to_vec()
        }
        SigningAlg::HS384 => sha2::Sha384::digest(token.as_bytes()).to_vec(),
        SigningAlg::EdDSA | SigningAlg::HS512 => sha2::Sha512::digest(token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// The claims of the account that `scopes` grant (besides `sub`).
pub(crate) fn scope_claims(account: &Account, scopes: &[String]) -> Map<String, Value> {
    let mut m = Map::new();
    if scopes.iter().any(|s| s == "profile") {
        m.insert("preferred_username".into(), json!(account.login));
        m.insert("name".into(), json!(account.login));
        m.insert(
            "updated_at".into(),
            json!(account.updated_at.unix_timestamp()),
        );
    }
    if scopes.iter().any(|s| s == "email")
        && let Some(email) = &account.email
    {
        m.insert("email".into(), json!(email));
        m.insert("email_verified".into(), json!(account.email_verified));
    }
    m
}

impl Provider {
    /// The ID token of a code exchange.
    pub(crate) fn id_token(
        &self,
        account: &Account,
        client: &OAuthClient,
        session: &Session,
        scopes: &[String],
        grant: &CodeGrant,
        access_token: &str,
    ) -> Result<String, OAuthError> {
        let tokens = &self.sessions.shared.tokens;
        let now = self.now().unix_timestamp();
        let ttl = self
            .sessions
            .shared
            .settings
            .access_ttl
            .whole_seconds()
            .max(300);
        let mfa = grant.amr.iter().any(|m| m != "pwd" && m != "cookie");
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer()));
        claims.insert("sub".into(), json!(account.id.to_string()));
        claims.insert("aud".into(), json!(client.client_id));
        claims.insert("azp".into(), json!(client.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + ttl));
        claims.insert("auth_time".into(), json!(grant.auth_time));
        claims.insert("sid".into(), json!(session.id.to_string()));
        claims.insert("amr".into(), json!(grant.amr));
        claims.insert("acr".into(), json!(if mfa { "1" } else { "0" }));
        claims.insert(
            "at_hash".into(),
            json!(half_hash(tokens.current_alg(), access_token)),
        );
        if let Some(nonce) = &grant.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        claims.extend(scope_claims(account, scopes));
        Ok(tokens.sign_jwt("JWT", &claims)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_hash() {
        // OpenID Connect Core's example is for RS256 (SHA-256): 16 bytes.
        assert_eq!(half_hash(SigningAlg::RS256, "x").len(), 22);
        assert_eq!(half_hash(SigningAlg::EdDSA, "x").len(), 43);
    }
}
