//! The signing and verification of [`Tokens`] for Warden's OpenID Provider
//! ([`crate::provider`]): ID tokens, client access tokens, `id_token_hint`.

use super::*;

impl Tokens {
    /// Sign any claims with the current key, with header `typ` (`JWT` for an
    /// OpenID Connect ID token) and `kid` set.
    pub fn sign_jwt<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String> {
        let key = self.ring.read().current.clone();
        let header = signer::encoded_header(key.alg, typ, &key.kid)?;
        signer::encode(&header, claims, &key.signer)
    }

    /// Verify an access token issued to an OAuth client of the OpenID
    /// Provider (`iss` = `issuer`): as [`Tokens::verify_subject`], except
    /// that `aud` must be the token's `client_id` claim (so Warden's own routes, which want
    /// their configured audience or none, never accept it). Not cached.
    pub fn verify_client_token(&self, token: &str, issuer: &str) -> Result<SubjectClaims> {
        let claims: SubjectClaims = self.decode_with(token, ACCESS_TYP, issuer)?;
        let client = claims.extra.get("client_id").and_then(|v| v.as_str());
        if client.is_none() || claims.aud.as_deref() != client {
            return Err(Error::InvalidToken);
        }
        let now = self.clock.now().unix_timestamp();
        check_times(Arc::new(claims), now, self.cfg.leeway.whole_seconds()).map(|c| (*c).clone())
    }

    /// The claims of an ID token this issuer signed (`typ: JWT`, a known
    /// key, `iss` = `issuer`), expired or not: what an `id_token_hint` names.
    pub fn verify_id_token_hint(&self, token: &str, issuer: &str) -> Result<serde_json::Value> {
        self.decode_with(token, "JWT", issuer)
    }

    fn decode_with<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
    ) -> Result<T> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::InvalidToken);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::InvalidToken)?;
        let ring = self.ring.read().clone();
        let kid = header.kid.as_deref().ok_or(Error::InvalidToken)?;
        let key = ring.by_kid.get(kid).ok_or(Error::InvalidToken)?;
        if header.alg != key.alg.jwt() || header.typ.as_deref() != Some(typ) {
            return Err(Error::InvalidToken);
        }
        let mut v = Validation::new(key.alg.jwt());
        v.required_spec_claims.clear();
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.leeway = 0;
        v.set_issuer(&[issuer]);
        v.set_required_spec_claims(&["iss"]);
        jsonwebtoken::decode::<T>(token, &key.dec, &v)
            .map(|d| d.claims)
            .map_err(|_| Error::InvalidToken)
    }
}
